package server

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/postern/postern/server/deliver"
	"github.com/postern/postern/store"
	"github.com/postern/postern/store/durable"
	"github.com/postern/postern/store/maildir"
)

// runningMarker exists in state_dir while a daemon runs; finding it at start means the
// last run ended without a clean stop (crash, kill -9, power loss).
const runningMarker = "postern.running"

// recoverIfUnclean makes the index match the Maildirs after an unclean stop. Delivery
// writes and fsyncs the file before it indexes it and answers 250 only after both, so a
// crash between the two can leave a complete, fsynced message file that the index does
// not know (and whose sender got no 250 and will try again). The Maildir is the source
// of truth: the reconcile indexes such files and drops index entries whose file is gone.
// Delivery's index commits do not wait for the disk (store.IndexDeliveries), so after a
// power loss the same reconcile also restores the entries those commits lost.
// Stale tmp/ files are left to the Maildir convention (removed after 36 hours).
func (s *Server) recoverIfUnclean(ctx context.Context) error {
	marker := filepath.Join(s.cfg.StateDir, runningMarker)
	if _, err := os.Stat(marker); err == nil {
		s.log.Warn("the last run did not stop cleanly; reconciling the index with the Maildirs")
		// First the counters: a delivery commit lost in a power loss may have shown UIDs
		// that the reconcile below must not hand out again (store.IndexDeliveries).
		moved, err := s.store.RecoverCounters(ctx)
		if err != nil {
			return fmt.Errorf("recovering after an unclean stop: %w", err)
		}
		if moved > 0 {
			s.log.Info("mailbox counters raised past values possibly handed out before the stop", "mailboxes", moved)
		}
		n, err := s.reindexAll(ctx)
		if err != nil {
			return fmt.Errorf("recovering after an unclean stop: %w", err)
		}
		s.log.Info("index reconciled", "mailboxes", n)
	}
	return durable.WriteFile(marker, []byte("running\n"), 0o600)
}

// markClean records a clean stop.
func (s *Server) markClean() {
	if err := durable.Remove(filepath.Join(s.cfg.StateDir, runningMarker)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		s.log.Warn("could not record the clean stop", "err", err)
	}
}

func (s *Server) reindexAll(ctx context.Context) (int, error) {
	users, err := s.store.ListUsers(ctx, "")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range users {
		res, err := reindexUser(ctx, s.store, s.cfg.MailDir(), u.Address)
		if err != nil {
			return n, err
		}
		n += len(res)
	}
	return n, nil
}

// mailboxReindex is the outcome for one mailbox of reindexUser.
type mailboxReindex struct {
	Mailbox string
	store.ReindexResult
}

// reindexUser rebuilds a user's index from their Maildir (`postern reindex USER`, and
// recovery after a crash): every folder on disk is scanned and the index made to match,
// keeping UIDs of known files (see store.ReplaceMailboxIndex for when UIDVALIDITY moves).
func reindexUser(ctx context.Context, st *store.Store, mailRoot, user string) ([]mailboxReindex, error) {
	root := deliver.UserRoot(mailRoot, user)
	if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	m := &maildir.Maildir{Root: root}
	folders, err := m.Folders()
	if err != nil {
		return nil, err
	}
	var out []mailboxReindex
	for _, name := range folders {
		dir, err := m.FolderDir(name)
		if err != nil {
			return out, err
		}
		entries, err := maildir.Scan(dir)
		if err != nil {
			return out, err
		}
		files := make([]store.IndexedFile, len(entries))
		for i, e := range entries {
			files[i] = store.ScannedFile(e)
		}
		res, err := st.ReplaceMailboxIndex(ctx, user, name, files)
		if err != nil {
			return out, fmt.Errorf("mailbox %s: %w", name, err)
		}
		out = append(out, mailboxReindex{Mailbox: name, ReindexResult: res})
	}
	return out, nil
}
