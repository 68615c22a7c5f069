package imap

import (
	"context"
	"sync"
	"time"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// summarizer computes the message-cache entries (ENVELOPE, BODYSTRUCTURE) of newly
// delivered messages in the background, shortly after the delivery agent reports
// them through MailboxChanged: the files are still in the page cache then, and the
// first FETCH of the new mail reads no file. It waits for a quiet moment: it runs once
// no delivery has been reported for SummaryDelay, or once the oldest unhandled report
// is summaryMaxWait old, so during a burst of mail it stays out of the deliveries'
// way and then handles the whole burst in one batch (one read, one write
// transaction). The work runs on one goroutine so it never takes more than one CPU
// from the deliveries.
//
// It remembers, per mailbox, the highest UID it has looked at; the first time it sees
// a mailbox it looks at the newest maxBackfill messages and those that arrived since
// the server started only, so an old mailbox never indexed this way is not read in
// full because one message arrived (its older messages fill in on their first FETCH,
// as before).
type summarizer struct {
	srv     *Server
	started time.Time // when the server was made: see firstLook

	mu      sync.Mutex
	pending map[hubKey]struct{}
	first   time.Time // when the oldest report in pending came
	last    time.Time // when the newest report came
	running bool
	stopped bool
	quit    chan struct{}
	after   map[int64]uint32
}

// maxBackfill bounds the first look at a mailbox; batchSize the messages per batch.
const (
	maxBackfill    = 1000
	summaryBatch   = 500
	maxSummaryBoxs = 10000
	// summaryMaxWait bounds how long a steady stream of deliveries can hold the
	// summarizer back.
	summaryMaxWait = 5 * time.Second
)

// kick notes that (user, mailbox) got new mail.
func (z *summarizer) kick(user, mailbox string) {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.stopped {
		return
	}
	if z.pending == nil {
		z.pending = map[hubKey]struct{}{}
		z.quit = make(chan struct{})
	}
	now := time.Now()
	if len(z.pending) == 0 {
		z.first = now
	}
	z.last = now
	z.pending[hubKey{user, mailbox}] = struct{}{}
	if !z.running && z.srv.goBackground(z.run) {
		z.running = true
	}
}

// stop ends the background work at its next step; Shutdown waits for it.
func (z *summarizer) stop() {
	z.mu.Lock()
	defer z.mu.Unlock()
	if !z.stopped && z.quit != nil {
		close(z.quit)
	}
	z.stopped = true
}

// wait returns how long run should still wait before it takes the pending reports:
// zero once the deliveries have been quiet for SummaryDelay or the oldest report is
// summaryMaxWait old. The caller holds z.mu.
func (z *summarizer) wait(now time.Time) time.Duration {
	if len(z.pending) == 0 {
		return z.srv.opts.SummaryDelay
	}
	quiet := z.last.Add(z.srv.opts.SummaryDelay).Sub(now)
	return max(min(quiet, z.first.Add(summaryMaxWait).Sub(now)), 0)
}

func (z *summarizer) run() {
	for {
		z.mu.Lock()
		quit := z.quit
		d := z.wait(time.Now())
		z.mu.Unlock()
		t := time.NewTimer(d)
		select {
		case <-quit:
		case <-t.C:
		}
		t.Stop()
		z.mu.Lock()
		if d := z.wait(time.Now()); d > 0 && len(z.pending) > 0 && !z.stopped {
			z.mu.Unlock()
			continue
		}
		batch := z.pending
		z.pending = map[hubKey]struct{}{}
		if len(batch) == 0 || z.stopped {
			z.running = false
			z.mu.Unlock()
			return
		}
		z.mu.Unlock()
		for k := range batch {
			if err := z.summarizeNew(k.user, k.mailbox); err != nil {
				z.srv.log.Warn("imap: summarising new messages", "user", k.user, "mailbox", k.mailbox, "err", err)
			}
		}
	}
}

func (z *summarizer) isStopped() bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.stopped
}

// firstLook is where the first look at a mailbox starts (the UID before it): the newest
// maxBackfill messages, and every message that arrived since this server started (a
// burst of deliveries this process made, whose first report came when the burst was
// already under way: its files are the ones in the page cache, and its first FETCH
// should read none of them).
func (z *summarizer) firstLook(ctx context.Context, id int64, uidNext uint32) uint32 {
	var after uint32
	if uidNext > maxBackfill+1 {
		after = uidNext - maxBackfill - 1
	}
	if uid, ok, err := z.srv.opts.Store.FirstUIDSince(ctx, id, z.started); err == nil && ok && uid-1 < after {
		after = uid - 1
	}
	return after
}

// summarizeNew computes the cache entries of the messages of one mailbox that arrived
// since the last look.
func (z *summarizer) summarizeNew(user, mailbox string) error {
	s := z.srv
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	id, state, err := s.opts.Store.LookupMailbox(ctx, user, mailbox)
	if err != nil {
		return err
	}
	z.mu.Lock()
	after, seen := z.after[id]
	z.mu.Unlock()
	if !seen {
		after = z.firstLook(ctx, id, state.UIDNext)
	}
	md := &maildir.Maildir{Root: s.opts.MaildirRoot(user)}
	dir, err := md.FolderDir(mailbox)
	if err != nil {
		return err
	}
	f, err := s.newFolder(dir)
	if err != nil {
		return err
	}
	for !z.isStopped() {
		rows, err := s.opts.Store.MessagesWithoutCache(ctx, id, after, summaryBatch)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			break
		}
		fills, _, err := s.computeSummaries(f, z.cells(id, rows), true, true, 1)
		if err != nil {
			return err
		}
		if err := s.opts.Store.PutMessageCache(ctx, id, fills); err != nil {
			return err
		}
		after = rows[len(rows)-1].UID
	}
	z.mu.Lock()
	if z.after == nil || len(z.after) >= maxSummaryBoxs {
		z.after = map[int64]uint32{}
	}
	z.after[id] = after
	z.mu.Unlock()
	return nil
}

// cells pairs rows with the summary cells of a snapshot of the mailbox in memory, so
// its sessions get the summaries too, or with fresh cells.
func (z *summarizer) cells(id int64, rows []store.Message) []snapMsg {
	var v *snapView
	if snap := z.srv.snaps.peek(id); snap != nil {
		v = snap.loaded()
	}
	out := make([]snapMsg, len(rows))
	for i, m := range rows {
		out[i] = snapMsg{Message: m, cell: reuseCell(v, m)}
	}
	return out
}
