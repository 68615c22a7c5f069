package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// This file holds the queries behind the IMAP layer's in-memory mailbox snapshots: a
// consistent "what changed since MODSEQ n" read, and the rows the background
// summariser still has to compute cache entries for.

// MailboxDelta is what changed in a mailbox since a MODSEQ, read in one transaction so
// the parts agree: the counters, the rows with a higher MODSEQ (new messages and flag
// changes), and, when messages were expunged, the UID list.
type MailboxDelta struct {
	State   MailboxState
	Changed []Message
	// UIDs is every UID of the mailbox, in order, when the message count shows that
	// some of the caller's messages are gone; nil otherwise.
	UIDs []uint32
}

// MailboxChangesSince reads the MailboxDelta of mailbox id since the caller's copy of
// it, which held known messages at HIGHESTMODSEQ modseq and UIDNEXT uidNext. When the
// HIGHESTMODSEQ is still modseq it reads nothing else. Expunges leave no row but bump
// HIGHESTMODSEQ: UIDs only grow, so the changed rows at or above uidNext are the new
// messages, and a count below known plus those says some of the known ones went; only
// then is the UID list read. ErrNotFound if the mailbox is gone.
func (s *Store) MailboxChangesSince(ctx context.Context, mailboxID int64, modseq uint64, known int, uidNext uint32) (MailboxDelta, error) {
	var d MailboxDelta
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return d, wrapDB("mailbox changes", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var uv, next, hms int64
	err = tx.QueryRowContext(ctx, "SELECT uidvalidity, uidnext, highest_modseq FROM mailboxes WHERE id = ?", mailboxID).
		Scan(&uv, &next, &hms)
	if errors.Is(err, sql.ErrNoRows) {
		return d, fmt.Errorf("mailbox %d: %w", mailboxID, ErrNotFound)
	}
	if err != nil {
		return d, wrapDB("mailbox changes", err)
	}
	d.State = MailboxState{UIDValidity: uint32(uv), UIDNext: uint32(next), HighestModSeq: uint64(hms)}
	if d.State.HighestModSeq == modseq {
		return d, nil
	}
	rows, err := tx.QueryContext(ctx, `SELECT uid, filename, size, internal_date, flags, modseq
		FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid`, mailboxID, int64(modseq))
	if err != nil {
		return d, wrapDB("mailbox changes", err)
	}
	d.Changed, err = scanMessages(rows, mailboxID, "mailbox changes")
	if err != nil {
		return d, err
	}
	want := known
	for _, m := range d.Changed {
		if m.UID >= uidNext {
			want++
		}
	}
	var count int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM messages WHERE mailbox_id = ?", mailboxID).Scan(&count); err != nil {
		return d, wrapDB("mailbox changes", err)
	}
	if count == want {
		return d, nil
	}
	uids, err := tx.QueryContext(ctx, "SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid", mailboxID)
	if err != nil {
		return d, wrapDB("mailbox changes", err)
	}
	defer uids.Close()
	d.UIDs = make([]uint32, 0, count)
	for uids.Next() {
		var uid uint32
		if err := uids.Scan(&uid); err != nil {
			return d, wrapDB("mailbox changes", err)
		}
		d.UIDs = append(d.UIDs, uid)
	}
	return d, wrapDB("mailbox changes", uids.Err())
}

// ListAllMessages returns every message of the mailbox in UID order with its counters,
// read in one transaction: the base of an IMAP snapshot.
func (s *Store) ListAllMessages(ctx context.Context, mailboxID int64) (MailboxState, []Message, error) {
	var st MailboxState
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return st, nil, wrapDB("list all messages", err)
	}
	defer tx.Rollback() //nolint:errcheck // read-only
	var uv, next, hms int64
	err = tx.QueryRowContext(ctx, "SELECT uidvalidity, uidnext, highest_modseq FROM mailboxes WHERE id = ?", mailboxID).
		Scan(&uv, &next, &hms)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil, fmt.Errorf("mailbox %d: %w", mailboxID, ErrNotFound)
	}
	if err != nil {
		return st, nil, wrapDB("list all messages", err)
	}
	st = MailboxState{UIDValidity: uint32(uv), UIDNext: uint32(next), HighestModSeq: uint64(hms)}
	rows, err := tx.QueryContext(ctx, `SELECT uid, filename, size, internal_date, flags, modseq
		FROM messages WHERE mailbox_id = ? ORDER BY uid`, mailboxID)
	if err != nil {
		return st, nil, wrapDB("list all messages", err)
	}
	msgs, err := scanMessages(rows, mailboxID, "list all messages")
	return st, msgs, err
}

// scanMessages reads message rows (uid, filename, size, internal_date, flags, modseq)
// and closes rows. Rows with the same flags share one (clipped) flags slice: a
// snapshot of a large mailbox holds a handful of distinct flag sets, not one per
// message. Callers must not modify the slices in place.
func scanMessages(rows *sql.Rows, mailboxID int64, op string) ([]Message, error) {
	defer rows.Close()
	var out []Message
	shared := map[string][]string{}
	for rows.Next() {
		m := Message{MailboxID: mailboxID}
		var date, modseq int64
		var flags string
		if err := rows.Scan(&m.UID, &m.Filename, &m.Size, &date, &flags, &modseq); err != nil {
			return nil, wrapDB(op, err)
		}
		fl, ok := shared[flags]
		if !ok {
			fl = splitFlags(flags)
			if fl != nil {
				fl = fl[:len(fl):len(fl)]
			}
			shared[flags] = fl
		}
		m.InternalDate, m.Flags, m.ModSeq = time.Unix(date, 0).UTC(), fl, uint64(modseq)
		out = append(out, m)
	}
	return out, wrapDB(op, rows.Err())
}

// MessagesWithoutCache returns up to limit messages with a UID above afterUID whose
// cache entry lacks the envelope or the structure, in UID order: the work list of the
// IMAP layer's background summariser.
func (s *Store) MessagesWithoutCache(ctx context.Context, mailboxID int64, afterUID uint32, limit int) ([]Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT x.uid, x.filename, x.size, x.internal_date, x.flags, x.modseq
		FROM messages x LEFT JOIN message_cache c ON c.mailbox_id = x.mailbox_id AND c.filename = x.filename
		WHERE x.mailbox_id = ? AND x.uid > ? AND (c.envelope IS NULL OR c.structure IS NULL)
		ORDER BY x.uid LIMIT ?`, mailboxID, afterUID, limit)
	if err != nil {
		return nil, wrapDB("messages without cache", err)
	}
	return scanMessages(rows, mailboxID, "messages without cache")
}

// FirstUIDSince returns the lowest UID of the mailbox's messages with an internal date
// at or after t; ok is false when there is none.
func (s *Store) FirstUIDSince(ctx context.Context, mailboxID int64, t time.Time) (uid uint32, ok bool, err error) {
	var v sql.NullInt64
	err = s.r.QueryRowContext(ctx, "SELECT min(uid) FROM messages WHERE mailbox_id = ? AND internal_date >= ?", mailboxID, t.Unix()).Scan(&v)
	if err != nil {
		return 0, false, wrapDB("first uid since", err)
	}
	return uint32(v.Int64), v.Valid, nil
}

// MessageCacheEntries returns the cache entries of the named messages of one mailbox
// (base names); names without an entry are absent from the result.
func (s *Store) MessageCacheEntries(ctx context.Context, mailboxID int64, names []string) (map[string]CacheEntry, error) {
	out := make(map[string]CacheEntry, len(names))
	err := inParts(names, func(marks string, args []any) error {
		q := "SELECT filename, envelope, structure FROM message_cache WHERE mailbox_id = ? AND filename IN (" + marks + ")"
		rows, err := s.r.QueryContext(ctx, q, append([]any{mailboxID}, args...)...)
		if err != nil {
			return wrapDB("message cache entries", err)
		}
		defer rows.Close()
		for rows.Next() {
			var e CacheEntry
			if err := rows.Scan(&e.Filename, &e.Envelope, &e.Structure); err != nil {
				return wrapDB("message cache entries", err)
			}
			out[e.Filename] = e
		}
		return wrapDB("message cache entries", rows.Err())
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// MailboxCacheEntries returns every cache entry of the mailbox, keyed by base name:
// cheaper than MessageCacheEntries when most of a mailbox is wanted.
func (s *Store) MailboxCacheEntries(ctx context.Context, mailboxID int64) (map[string]CacheEntry, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT filename, envelope, structure FROM message_cache WHERE mailbox_id = ?", mailboxID)
	if err != nil {
		return nil, wrapDB("mailbox cache entries", err)
	}
	defer rows.Close()
	out := map[string]CacheEntry{}
	for rows.Next() {
		var e CacheEntry
		if err := rows.Scan(&e.Filename, &e.Envelope, &e.Structure); err != nil {
			return nil, wrapDB("mailbox cache entries", err)
		}
		out[e.Filename] = e
	}
	return out, wrapDB("mailbox cache entries", rows.Err())
}
