package imap

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// dirStamps remembers, per folder directory, the modification times of new/ and cur/ at
// the last rescan. Any file added, renamed or removed changes a directory's mtime, so
// comparing two stats tells whether another program touched the folder since.
type dirStamps struct {
	mu      sync.Mutex
	m       map[string]dirStamp
	checked map[string]time.Time // when each folder was last stat'ed
}

type dirStamp struct {
	newM, curM time.Time
	dirty      bool // a rescan left files for a delivery in flight: look again
}

func statStamp(dir string) (dirStamp, error) {
	var st dirStamp
	fi, err := os.Stat(filepath.Join(dir, "new"))
	if err != nil {
		return st, err
	}
	st.newM = fi.ModTime()
	if fi, err = os.Stat(filepath.Join(dir, "cur")); err != nil {
		return st, err
	}
	st.curM = fi.ModTime()
	return st, nil
}

func (d *dirStamps) unchanged(dir string, now dirStamp) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	prev, ok := d.m[dir]
	return ok && !prev.dirty && prev.newM.Equal(now.newM) && prev.curM.Equal(now.curM)
}

// markChecked records that dir was stat'ed at t.
func (d *dirStamps) markChecked(dir string, t time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.checked == nil || len(d.checked) >= maxKeywordDirs {
		d.checked = map[string]time.Time{}
	}
	d.checked[dir] = t
}

// checkedWithin says whether dir was stat'ed less than d before now.
func (d *dirStamps) checkedWithin(dir string, now time.Time, within time.Duration) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.checked[dir]
	return ok && now.Sub(t) < within && !now.Before(t)
}

func (d *dirStamps) known(dir string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.m[dir]
	return ok
}

func (d *dirStamps) set(dir string, st dirStamp) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.m == nil {
		d.m = map[string]dirStamp{}
	}
	d.m[dir] = st
}

// rescan makes the index of one folder match its files if the folder changed on disk
// since we last looked, and says whether it synced the index. Our own writes record
// the new stamp themselves (ownChange); the cost of a change by another program is one
// readdir of the folder. A missing folder is an error wrapping fs.ErrNotExist.
func (s *Server) rescan(ctx context.Context, user, mailbox, dir string) (bool, error) {
	st, err := statStamp(dir)
	if err != nil {
		return false, fmt.Errorf("imap: rescan %q: %w", mailbox, err)
	}
	s.dirs.markChecked(dir, s.opts.Now())
	if s.dirs.unchanged(dir, st) {
		return false, nil
	}
	if !s.dirs.known(dir) && s.persistedStampMatches(ctx, user, mailbox, st) {
		// First look since this process started, and the folder is as it was at
		// the last sync (migration 0006): no need to read the whole directory.
		s.dirs.set(dir, st)
		return false, nil
	}
	unlock := s.locks.lock(user)
	defer unlock()
	// The stamp is taken before the scan: a change during the scan makes the next
	// comparison fail and is picked up then.
	if st, err = statStamp(dir); err != nil {
		return false, fmt.Errorf("imap: rescan %q: %w", mailbox, err)
	}
	entries, err := maildir.Scan(dir)
	if err != nil {
		return false, fmt.Errorf("imap: rescan %q: %w", mailbox, err)
	}
	young := s.opts.Now().Add(-s.opts.RescanGrace)
	var files, pending []store.IndexedFile
	for _, e := range entries {
		f := store.ScannedFile(e)
		if e.New && e.ModTime.After(young) {
			pending = append(pending, f)
		} else {
			files = append(files, f)
		}
	}
	res, leftOut, err := s.opts.Store.SyncMailboxIndex(ctx, user, mailbox, files, pending)
	if err != nil {
		return false, fmt.Errorf("imap: rescan %q: %w", mailbox, err)
	}
	st.dirty = leftOut > 0
	s.dirs.set(dir, st)
	if !st.dirty {
		fs := store.FolderStamp{NewNs: st.newM.UnixNano(), CurNs: st.curM.UnixNano()}
		if err := s.opts.Store.SetFolderStamp(ctx, user, mailbox, fs); err != nil {
			s.log.Warn("imap: storing folder stamp", "user", user, "mailbox", mailbox, "err", err)
		}
	}
	if res.Added+res.Removed+res.Updated > 0 {
		s.log.Info("imap: folder changed on disk", "user", user, "mailbox", mailbox,
			"added", res.Added, "removed", res.Removed, "updated", res.Updated)
		s.hub.notify(user, mailbox, nil)
	}
	return true, nil
}

// persistedStampMatches says whether the stamp stored with the mailbox at its last sync
// equals st. A zero (never synced) or unreadable stamp does not match.
func (s *Server) persistedStampMatches(ctx context.Context, user, mailbox string, st dirStamp) bool {
	ps, err := s.opts.Store.GetFolderStamp(ctx, user, mailbox)
	if err != nil || ps.NewNs == 0 || ps.CurNs == 0 {
		return false
	}
	return ps.NewNs == st.newM.UnixNano() && ps.CurNs == st.curM.UnixNano()
}

// ownChange is taken, under the user's lock, before this process changes a folder's
// files itself (flag renames, expunges), so that afterwards the folder's new stamp can
// be recorded without a rescan: the index is updated by the same command. It does so
// only if the folder was in step before; otherwise the next poll rescans as usual.
type ownChange struct {
	dirs   *dirStamps
	dir    string
	inStep bool
}

func (s *Server) beginOwnChange(dir string) ownChange {
	st, err := statStamp(dir)
	return ownChange{dirs: &s.dirs, dir: dir, inStep: err == nil && s.dirs.unchanged(dir, st)}
}

// done records the folder's stamp after the change. A file another program dropped in
// between the two stats would wait for the folder's next change (or a restart) to be
// indexed; the window is the length of one command.
func (o ownChange) done() {
	if !o.inStep {
		return
	}
	if st, err := statStamp(o.dir); err == nil {
		o.dirs.set(o.dir, st)
	}
}
