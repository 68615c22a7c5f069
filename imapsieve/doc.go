// Package imapsieve runs Sieve scripts on IMAP events (RFC 6785), as Pigeonhole's
// imapsieve plugin does for the [[sieve.imapsieve]] rules of the configuration: when a
// client appends a message to a mailbox, copies or moves one into it, or changes a
// message's flags there, the rules naming that mailbox and cause run their scripts
// (before, the user's personal script of that name, after) on the message.
//
// The IMAP server only reports the event (imap.SieveEvents: a non-blocking send into a
// bounded queue) and answers the client; a worker (Run) runs the scripts off the
// command's path and applies the outcome through the IMAP server (imap.Server's
// ApplySieve), so a slow or looping script never stalls a client, and each run is
// bounded by the engine's limits (steps, actions, 2 s CPU). The semantics are RFC
// 6785's: the environment has imap.cause, imap.mailbox, imap.changedflags, imap.user
// and imap.email; imap4flags starts from the message's flags and the final flags
// become the message's; keep leaves the message where it is, fileinto copies it into
// another mailbox, and without a keep (discard, or fileinto/redirect alone) the
// message is removed from the mailbox. Redirect and enotify go through the delivery
// agent (Sender) with delivery's checks (held messages, loops, the notification limits),
// after the user's outbound rates (Rates, the [limits] per-user counters submission
// uses) allowed them; a held message is refused before the rates are counted, since
// nothing of it is sent. Vacation, reject and editheader have no meaning on a stored
// message and are ignored, with a log line.
//
// The queue (queue.go) is bounded in total and per user, and merges a message's FLAG
// events, so a client flooding STOREs neither grows memory nor starves other users.
// The queue is in memory: events not yet run when the daemon stops are not run (the
// messages themselves are stored and untouched); a full queue drops events rather than
// block the client. Every dropped event is an event.IMAPSieveDropped (the metric
// postern_imapsieve_events_dropped_total, by reason: queue_full, user_share_full,
// shutdown), and the 1st, 2nd, 4th... drop a log line.
package imapsieve
