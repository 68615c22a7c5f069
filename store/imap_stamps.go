package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// FolderStamp is the pair of directory mtimes (Unix nanoseconds of new/ and cur/) of a
// mailbox's Maildir folder at its last full sync with the index (migration 0006).
// Zero values mean never synced.
type FolderStamp struct {
	NewNs, CurNs int64
}

// GetFolderStamp returns the stamp stored for the user's mailbox name; ErrNotFound if
// there is no such mailbox.
func (s *Store) GetFolderStamp(ctx context.Context, user, name string) (FolderStamp, error) {
	var st FolderStamp
	addr, err := NormalizeAddress(user)
	if err != nil {
		return st, err
	}
	if name, err = NormalizeMailboxName(name); err != nil {
		return st, err
	}
	err = s.r.QueryRowContext(ctx, "SELECT scan_new_ns, scan_cur_ns FROM mailboxes WHERE user = ? AND name = ?", addr, name).
		Scan(&st.NewNs, &st.CurNs)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("mailbox %q of %s: %w", name, addr, ErrNotFound)
	}
	return st, wrapDB("folder stamp", err)
}

// SetFolderStamp records that the index of the user's mailbox name matches its folder
// as of st. The caller takes st before scanning, so a change during the scan makes the
// next comparison fail. A missing mailbox is not an error (nothing to remember).
func (s *Store) SetFolderStamp(ctx context.Context, user, name string, st FolderStamp) error {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return err
	}
	if name, err = NormalizeMailboxName(name); err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE mailboxes SET scan_new_ns = ?, scan_cur_ns = ? WHERE user = ? AND name = ?",
			st.NewNs, st.CurNs, addr, name)
		return wrapDB("set folder stamp", err)
	})
}
