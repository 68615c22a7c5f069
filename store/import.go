package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ImportedMailbox is a mailbox brought over from another server with the state its
// clients have seen: UIDVALIDITY, UIDNEXT and each message's UID.
type ImportedMailbox struct {
	Name        string
	UIDValidity uint32
	UIDNext     uint32
	SpecialUse  string
	Subscribed  bool
	Messages    []ImportedMessage
}

// ImportedMessage is one message of an ImportedMailbox; its file is already in the
// mailbox's Maildir folder under Filename (the base name, without ":2,").
type ImportedMessage struct {
	UID          uint32
	Filename     string
	Size         int64 // RFC822.SIZE
	InternalDate time.Time
	Flags        []string
}

// ImportResult says what ImportMailbox changed.
type ImportResult struct {
	Created bool // the mailbox was new (or empty and took the imported UIDVALIDITY)
	Added   int  // messages indexed
	Kept    int  // messages already indexed under the same UID, left alone
}

// ImportMailbox indexes a mailbox from another server in one transaction, keeping its
// UIDVALIDITY, UIDNEXT and UIDs, so clients that synced with the old server see the
// same mailbox. It is idempotent: importing the same mailbox again adds only messages
// whose UID is not indexed yet and changes nothing else. A mailbox that exists but is
// empty and has never held mail (UIDNEXT 1) takes the imported UIDVALIDITY; one that
// holds mail under another UIDVALIDITY is refused with ErrExists, since merging would
// renumber what its clients have seen. The user's last_uidvalidity is raised past the
// imported value so mailboxes created later still get new ones.
func (s *Store) ImportMailbox(ctx context.Context, user string, m ImportedMailbox) (ImportResult, error) {
	var res ImportResult
	addr, err := NormalizeAddress(user)
	if err != nil {
		return res, err
	}
	if m.Name, err = NormalizeMailboxName(m.Name); err != nil {
		return res, err
	}
	if err := checkSpecialUse(m.SpecialUse); err != nil {
		return res, err
	}
	if m.UIDValidity == 0 {
		return res, fmt.Errorf("%w: UIDVALIDITY 0", ErrInvalid)
	}
	for i, msg := range m.Messages {
		n, err := normalizeNewMessage(NewMessage{User: addr, Mailbox: m.Name, Filename: msg.Filename, Size: msg.Size, InternalDate: msg.InternalDate, Flags: msg.Flags})
		if err != nil {
			return res, err
		}
		if msg.UID == 0 {
			return res, fmt.Errorf("%w: message %s has UID 0", ErrInvalid, msg.Filename)
		}
		m.Messages[i].Flags = n.Flags
		if msg.UID >= m.UIDNext {
			m.UIDNext = msg.UID + 1
		}
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		r, err := s.importTx(ctx, tx, addr, m)
		res = r
		return err
	})
	return res, err
}

func (s *Store) importTx(ctx context.Context, tx *sql.Tx, addr string, m ImportedMailbox) (ImportResult, error) {
	var res ImportResult
	id, err := s.importMailboxRow(ctx, tx, addr, m, &res)
	if err != nil {
		return res, err
	}
	known := map[int64]bool{}
	files := map[string]bool{}
	rows, err := loadIndex(ctx, tx, id)
	if err != nil {
		return res, err
	}
	for _, r := range rows {
		known[r.uid], files[r.file] = true, true
	}
	var modseq, uidnext int64
	if err := tx.QueryRowContext(ctx, "SELECT highest_modseq, uidnext FROM mailboxes WHERE id = ?", id).Scan(&modseq, &uidnext); err != nil {
		return res, wrapDB("import", err)
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO messages(mailbox_id, uid, filename, size, internal_date, flags, modseq)
		VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return res, wrapDB("import", err)
	}
	defer ins.Close()
	for _, msg := range m.Messages {
		if known[int64(msg.UID)] {
			res.Kept++
			continue
		}
		if files[msg.Filename] {
			return res, fmt.Errorf("%w: file %s is indexed under another UID in %s", ErrExists, msg.Filename, m.Name)
		}
		modseq++
		if _, err := ins.ExecContext(ctx, id, msg.UID, msg.Filename, msg.Size, msg.InternalDate.Unix(), strings.Join(msg.Flags, " "), modseq); err != nil {
			return res, wrapDB("import", err)
		}
		files[msg.Filename] = true
		res.Added++
	}
	_, err = tx.ExecContext(ctx, "UPDATE mailboxes SET uidnext = ?, highest_modseq = ? WHERE id = ?", max(uidnext, int64(m.UIDNext)), modseq, id)
	return res, wrapDB("import", err)
}

// importMailboxRow finds or creates the mailbox row for an import.
func (s *Store) importMailboxRow(ctx context.Context, tx *sql.Tx, addr string, m ImportedMailbox, res *ImportResult) (int64, error) {
	var id, uidnext, count int64
	var uv uint32
	err := tx.QueryRowContext(ctx, `SELECT id, uidvalidity, uidnext, (SELECT count(*) FROM messages WHERE mailbox_id = mailboxes.id)
		FROM mailboxes WHERE user = ? AND name = ?`, addr, m.Name).Scan(&id, &uv, &uidnext, &count)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if ok, err := exists(ctx, tx, "SELECT 1 FROM users WHERE address = ?", addr); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("user %s: %w", addr, ErrNotFound)
			}
			return 0, err
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO mailboxes(user, name, uidvalidity, uidnext, special_use, created_at)
			VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, addr, m.Name, m.UIDValidity, m.UIDNext, m.SpecialUse, s.unix()).Scan(&id)
		if err != nil {
			return 0, wrapDB("import mailbox", err)
		}
		res.Created = true
	case err != nil:
		return 0, wrapDB("import mailbox", err)
	case uv == m.UIDValidity:
		// Imported before: only a special use given now (a Dovecot config read this
		// time) is taken over.
		if m.SpecialUse != "" {
			_, err = tx.ExecContext(ctx, "UPDATE mailboxes SET special_use = ? WHERE id = ?", m.SpecialUse, id)
		}
		return id, wrapDB("import mailbox", err)
	case count == 0 && uidnext == 1:
		_, err = tx.ExecContext(ctx, `UPDATE mailboxes SET uidvalidity = ?, uidnext = ?,
			special_use = CASE WHEN ? = '' THEN special_use ELSE ? END WHERE id = ?`,
			m.UIDValidity, m.UIDNext, m.SpecialUse, m.SpecialUse, id)
		if err != nil {
			return 0, wrapDB("import mailbox", err)
		}
		res.Created = true
	default:
		return 0, fmt.Errorf("%w: mailbox %s of %s already holds mail under UIDVALIDITY %d (importing %d)", ErrExists, m.Name, addr, uv, m.UIDValidity)
	}
	if err := importSubscriptionTx(ctx, tx, addr, m); err != nil {
		return 0, err
	}
	_, err = tx.ExecContext(ctx, "UPDATE users SET last_uidvalidity = max(last_uidvalidity, ?) WHERE address = ?", m.UIDValidity, addr)
	return id, wrapDB("import mailbox", err)
}

// importSubscriptionTx subscribes or unsubscribes an imported mailbox as its source had it.
func importSubscriptionTx(ctx context.Context, tx *sql.Tx, addr string, m ImportedMailbox) error {
	q := "DELETE FROM subscriptions WHERE user = ? AND name = ?"
	if m.Subscribed {
		q = "INSERT OR IGNORE INTO subscriptions(user, name) VALUES (?, ?)"
	}
	_, err := tx.ExecContext(ctx, q, addr, m.Name)
	return wrapDB("import subscription", err)
}
