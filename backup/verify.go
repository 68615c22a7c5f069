package backup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/postern/postern/store"
	"github.com/postern/postern/store/maildir"
)

// Index is what Verify needs of the store.
type Index interface {
	ListUsers(ctx context.Context, domain string) ([]store.User, error)
	ReplaceMailboxIndex(ctx context.Context, user, name string, files []store.IndexedFile) (store.ReindexResult, error)
	RaiseCounters(ctx context.Context, cs []store.MailboxCounter) (int, error)
}

// VerifyReport sums up what Verify found and fixed.
type VerifyReport struct {
	Users, Mailboxes, Messages int
	Missing                    int // indexed, file gone: dropped from the index
	Unindexed                  int // file present, not indexed: indexed with new UIDs
	Renumbered                 []string
}

// Verify makes the index match the message files of every user, keeping the UID of
// every file the index knows (store.ReplaceMailboxIndex), and reports the differences.
// The mailboxes' counters are first raised to counters (the backup's Manifest.Counters),
// so files the index does not know get UIDs above every UID handed out before the
// backup ended.
func Verify(ctx context.Context, ix Index, mailRoot string, counters []store.MailboxCounter) (VerifyReport, error) {
	var rep VerifyReport
	if _, err := ix.RaiseCounters(ctx, counters); err != nil {
		return rep, err
	}
	users, err := ix.ListUsers(ctx, "")
	if err != nil {
		return rep, err
	}
	for _, u := range users {
		rep.Users++
		local, domain := store.SplitAddress(u.Address)
		root := filepath.Join(mailRoot, domain, local)
		if _, err := os.Stat(root); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := verifyUser(ctx, ix, u.Address, &maildir.Maildir{Root: root}, &rep); err != nil {
			return rep, fmt.Errorf("verify %s: %w", u.Address, err)
		}
	}
	return rep, nil
}

func verifyUser(ctx context.Context, ix Index, user string, md *maildir.Maildir, rep *VerifyReport) error {
	folders, err := md.Folders()
	if err != nil {
		return err
	}
	for _, name := range folders {
		dir, err := md.FolderDir(name)
		if err != nil {
			return err
		}
		if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
			continue
		}
		entries, err := maildir.Scan(dir)
		if err != nil {
			return err
		}
		files := make([]store.IndexedFile, len(entries))
		for i, e := range entries {
			files[i] = store.ScannedFile(e)
		}
		res, err := ix.ReplaceMailboxIndex(ctx, user, name, files)
		if err != nil {
			return fmt.Errorf("mailbox %s: %w", name, err)
		}
		rep.Mailboxes++
		rep.Messages += len(files)
		rep.Missing += res.Removed
		rep.Unindexed += res.Added
		if res.UIDValidityChanged {
			rep.Renumbered = append(rep.Renumbered, user+" "+name)
		}
	}
	return nil
}
