package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// This file holds the message cache of migration 0003: each message's ENVELOPE and
// BODYSTRUCTURE in the IMAP layer's own encoding, so FETCH of those items reads the
// index instead of every file. The store treats the bytes as opaque. Entries are keyed
// by (mailbox, Maildir base name) and dropped by triggers when the message row goes or
// its size changes; a missing entry only means "compute it from the file".

// CachedMessage is an indexed message with its cached summaries; Envelope or Structure
// is nil when not computed yet.
type CachedMessage struct {
	Message
	Envelope  []byte
	Structure []byte
}

// CacheEntry is what PutMessageCache stores for one message. A nil field leaves the
// stored value as it is.
type CacheEntry struct {
	Filename  string
	Envelope  []byte
	Structure []byte
}

// ListMessagesRangeCached is ListMessagesRange with each message's cache entry joined in.
func (s *Store) ListMessagesRangeCached(ctx context.Context, mailboxID int64, minUID, maxUID uint32) ([]CachedMessage, error) {
	const op = "list cached messages"
	rows, err := s.r.QueryContext(ctx, `SELECT x.uid, x.filename, x.size, x.internal_date, x.flags, x.modseq, c.envelope, c.structure
		FROM messages x LEFT JOIN message_cache c ON c.mailbox_id = x.mailbox_id AND c.filename = x.filename
		WHERE x.mailbox_id = ? AND x.uid BETWEEN ? AND ? ORDER BY x.uid`, mailboxID, minUID, maxUID)
	if err != nil {
		return nil, wrapDB(op, err)
	}
	defer rows.Close()
	var out []CachedMessage
	for rows.Next() {
		m := CachedMessage{Message: Message{MailboxID: mailboxID}}
		var date, modseq int64
		var flags string
		if err := rows.Scan(&m.UID, &m.Filename, &m.Size, &date, &flags, &modseq, &m.Envelope, &m.Structure); err != nil {
			return nil, wrapDB(op, err)
		}
		m.InternalDate, m.Flags, m.ModSeq = time.Unix(date, 0).UTC(), splitFlags(flags), uint64(modseq)
		out = append(out, m)
	}
	return out, wrapDB(op, rows.Err())
}

// PutMessageCache stores cache entries for messages of one mailbox in one transaction.
// An entry for a message that is no longer indexed is skipped, so a FETCH racing an
// EXPUNGE cannot leave an orphan. The cache is derived data: losing the last commit to a
// crash costs only a recomputation, but the write still goes through the one writer.
func (s *Store) PutMessageCache(ctx context.Context, mailboxID int64, entries []CacheEntry) error {
	if len(entries) == 0 {
		return nil
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT INTO message_cache(mailbox_id, filename, envelope, structure)
			SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM messages WHERE mailbox_id = ?1 AND filename = ?2)
			ON CONFLICT (mailbox_id, filename) DO UPDATE SET
				envelope = coalesce(excluded.envelope, envelope),
				structure = coalesce(excluded.structure, structure)`)
		if err != nil {
			return wrapDB("put message cache", err)
		}
		defer st.Close()
		for _, e := range entries {
			if e.Envelope == nil && e.Structure == nil {
				continue
			}
			if _, err := st.ExecContext(ctx, mailboxID, e.Filename, nullBytes(e.Envelope), nullBytes(e.Structure)); err != nil {
				return wrapDB("put message cache", err)
			}
		}
		return nil
	})
}

// CopyMessageCache copies cache entries from one mailbox to another after COPY or MOVE
// made new files with the same bytes; names maps each source base name to the copy's.
func (s *Store) CopyMessageCache(ctx context.Context, fromMailbox, toMailbox int64, names map[string]string) error {
	if len(names) == 0 {
		return nil
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		st, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO message_cache(mailbox_id, filename, envelope, structure)
			SELECT ?1, ?2, envelope, structure FROM message_cache WHERE mailbox_id = ?3 AND filename = ?4
			AND EXISTS (SELECT 1 FROM messages WHERE mailbox_id = ?1 AND filename = ?2)`)
		if err != nil {
			return wrapDB("copy message cache", err)
		}
		defer st.Close()
		for from, to := range names {
			if _, err := st.ExecContext(ctx, toMailbox, to, fromMailbox, from); err != nil {
				return wrapDB("copy message cache", err)
			}
		}
		return nil
	})
}

// nullBytes stores nil as NULL (not computed) rather than as an empty blob.
func nullBytes(b []byte) any {
	if b == nil {
		return nil
	}
	return b
}

// LookupMailbox returns the id and counters of the user's mailbox name without the
// aggregate counts GetMailbox computes (three scans of the mailbox's messages), so IMAP
// SELECT on a large mailbox costs one row. ErrNotFound if there is none.
func (s *Store) LookupMailbox(ctx context.Context, user, name string) (int64, MailboxState, error) {
	var st MailboxState
	addr, err := NormalizeAddress(user)
	if err != nil {
		return 0, st, err
	}
	if name, err = NormalizeMailboxName(name); err != nil {
		return 0, st, err
	}
	var id, uv, next, hms int64
	err = s.r.QueryRowContext(ctx, "SELECT id, uidvalidity, uidnext, highest_modseq FROM mailboxes WHERE user = ? AND name = ?", addr, name).
		Scan(&id, &uv, &next, &hms)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, st, fmt.Errorf("mailbox %q of %s: %w", name, addr, ErrNotFound)
	}
	if err != nil {
		return 0, st, wrapDB("lookup mailbox", err)
	}
	st.UIDValidity, st.UIDNext, st.HighestModSeq = uint32(uv), uint32(next), uint64(hms)
	return id, st, nil
}
