package queue

import (
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// A message delivered at its first attempt never gets a status file: the
// first attempt is marked on the message file itself, by its mode, and the
// status file is created only for a record that must outlive the attempt (a
// deferred or failed recipient, a hold, a later attempt). So a message
// relayed at once costs one file, created and removed, as in Postfix, not
// two: on ext4 without a journal, whose inode allocator scans past every
// inode freed in the last minutes, each file created costs more the more
// were removed recently (docs/BENCHMARKS.md, Sending).
const (
	modeQueued    os.FileMode = 0o600 // as Enqueue writes it
	modeAttempted os.FileMode = 0o700 // the first attempt has started (owner execute)
)

// markAttempt records that attempt n of e starts, before the Transport is
// called: the first on the message file's mode, a later one as an "attempt"
// record. Neither is fsynced (scheduler.go says why). marked says which: the
// status file, if any (a hold before the first attempt makes one), then lacks
// attempt 1's record, which record writes with the results.
func (q *Queue) markAttempt(e *entry, n int, start time.Time) (marked bool, err error) {
	if n == 1 {
		if err := os.Chmod(q.msgPath(e.id), modeAttempted); err != nil {
			return false, fmt.Errorf("queue: mark attempt: %w", err)
		}
		return true, nil
	}
	return false, q.appendStatus(e, []record{{Kind: recAttempt, At: start.UTC(), N: n}}, false)
}

// appendStatus appends recs to e's status file, creating it with its first
// record. A synced record in a new file also gets its directory entry synced.
func (q *Queue) appendStatus(e *entry, recs []record, sync bool) error {
	var syncDir func() error
	if sync {
		syncDir = q.syncer.sync
	}
	return appendRecords(q.statusPath(e.id), recs, syncDir)
}

// readMark applies what the message file's mode says to e (at Open, before
// the status records): a first attempt that started, at the file's change
// time (the chmod; a later change of the inode, a hard link, only moves it
// later) or now if that is earlier (a clock set back), so that a message
// whose first attempt crashed the process waits out the backoff.
func (q *Queue) readMark(e *entry, now time.Time) error {
	var st unix.Stat_t
	if err := unix.Stat(q.msgPath(e.id), &st); err != nil {
		return fmt.Errorf("queue: stat message: %w", err)
	}
	if os.FileMode(st.Mode)&0o100 != 0 {
		sec, nsec := st.Ctim.Unix()
		e.attempts, e.lastAttempt = 1, minTime(time.Unix(sec, nsec), now).UTC()
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
