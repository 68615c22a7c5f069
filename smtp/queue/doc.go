// Package queue is Postern's durable outbound queue: messages for other
// domains wait here until the smart host (or an MX host) accepts them, with
// retries, per-recipient status and DSN bounces.
//
// # Wiring (server/outbound)
//
//	q, err := queue.Open(filepath.Join(stateDir, "queue"), queue.Options{
//		Transport: router,        // Send(ctx, *Message, rcpts) []Result
//		Hostname:  cfg.Hostname,
//		Logger:    logger,
//	})
//	go q.Run(ctx, bouncer)            // the one scheduler; bouncer.Bounce(ctx, *Bounce) delivers DSNs
//	id, err := q.Enqueue(ctx, queue.Envelope{From: from, Rcpts: rcpts, Origin: "..."}, body)
//	// err == nil: the message is on disk; answer 250.
//	q.List(); q.ListSubmittedBy(uid, max); q.Show(id); q.Flush(); q.Retry(id); q.Hold(id); q.Release(id); q.Delete(id)
//	queue.WriteMailq(os.Stdout, q.List(), nil)
//	q.Close()                         // after Run has returned
//
// # On disk
//
// Everything lives in one flat directory, so one directory fsync covers
// every new entry:
//
//	ID         the message: a magic line, a JSON line with the envelope and
//	           arrival time, the message text, and a trailer with the text
//	           length and a CRC-32C (see msgfile.go). Written once, never
//	           changed but for its mode: 0600 as written, 0700 once its
//	           first attempt has started (mark.go).
//	ID.status  an append-only log of records (attempt, per-recipient
//	           result, bounce sent, hold/release), each line with its own
//	           CRC (see status.go). Created with its first record: a message
//	           delivered at its first attempt never has one.
//
// Ids are the arrival time in microseconds and four random digits, base 36,
// upper case; they sort by arrival.
//
// # Durability and speed
//
// fsync costs about 5 ms on the reference machine, so the fsyncs per message
// are what bound throughput. Enqueue creates the message file under its
// final name (no temp file and rename: the trailer tells a complete file
// from a partial one), then fsyncs it while a shared directory fsync runs
// (group commit: all Enqueue calls that arrive while one directory fsync
// runs share the next one). So an Enqueue waits for about one fsync, and
// concurrent ones share the directory fsync. Enqueue returns only after
// both: the caller may then answer 250.
//
// A delivery attempt costs no fsync: before the Transport is called the
// attempt is marked (the first one on the message file's mode, a later one
// by an "attempt" record in the status file), and results are appended
// after it, without fsync. Both survive kill -9 in the page cache, which is
// what the mark is for (a message that crashes the process is not retried in
// a hot loop); a power cut can only cause an early retry or a duplicate
// delivery, never a loss. A finished message's files are unlinked without a
// directory fsync for the same reason. So a message relayed at once costs
// its Enqueue's fsyncs and one file, created and removed, as in Postfix.
//
// # Scheduling
//
// Run keeps a heap of waiting messages ordered by next attempt time and
// starts attempts for due ones, at most MaxConcurrency at once. A failed
// attempt (temporary failure for some recipient) schedules the next after
// MinBackoff doubled per failed attempt, capped at MaxBackoff, with +-20%
// jitter. Only recipients not yet final are retried. A 5xx (a Result neither
// Delivered nor Temporary) fails that recipient at once; a message older
// than Lifetime after an attempt fails its remaining recipients (4.4.7).
// Failed recipients are reported to the envelope sender in one RFC 3464 DSN
// per attempt through the Bouncer, except for the null sender. With
// DelayWarning set, one "delayed" DSN is sent when a message has waited that
// long. A message is removed when every recipient is delivered or failed
// and reported.
//
// # Crashes
//
// Open rescans the directory: a message file that fails its trailer or CRC
// was never acknowledged and is removed; a torn status record is cut off;
// a status file without a message is removed; a message whose mode or
// status file records an attempt waits out the backoff from that attempt (an
// attempt in progress at the crash counts as failed), so a message that
// crashes the server cannot make it loop. Kill -9 at any point loses no message whose
// Enqueue returned, and duplicates only deliveries whose result had not
// reached the status file.
//
// # Locking
//
// One mutex guards the index (entries and heap). Disk writes happen outside
// it; each message's status file is written only by the attempt running for
// it or by Hold/Release, which only append whole lines with O_APPEND.
// Only one process may open a queue directory; server/ holds the
// state-directory lock.
package queue
