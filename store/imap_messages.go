package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file holds index queries the IMAP layer needs beyond the delivery path: UID lists
// for sequence-number maps, range reads for FETCH, MODSEQ deltas for CONDSTORE and
// session updates, and bulk flag updates for STORE.

// MailboxState is the part of a mailbox's row that changes as mail comes and goes.
type MailboxState struct {
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
}

// GetMailboxState returns the counters of mailbox id without the aggregate counts
// GetMailbox computes, so it is cheap enough to call after every IMAP command.
// ErrNotFound if the mailbox is gone.
func (s *Store) GetMailboxState(ctx context.Context, mailboxID int64) (MailboxState, error) {
	var st MailboxState
	var uv, next, hms int64
	err := s.r.QueryRowContext(ctx, "SELECT uidvalidity, uidnext, highest_modseq FROM mailboxes WHERE id = ?", mailboxID).
		Scan(&uv, &next, &hms)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("mailbox %d: %w", mailboxID, ErrNotFound)
	}
	if err != nil {
		return st, wrapDB("mailbox state", err)
	}
	st.UIDValidity, st.UIDNext, st.HighestModSeq = uint32(uv), uint32(next), uint64(hms)
	return st, nil
}

// MessageUIDs returns every UID of the mailbox in ascending order: the sequence-number
// map of an IMAP session (RFC 3501 section 2.3.1.2).
func (s *Store) MessageUIDs(ctx context.Context, mailboxID int64) ([]uint32, error) {
	rows, err := s.r.QueryContext(ctx, "SELECT uid FROM messages WHERE mailbox_id = ? ORDER BY uid", mailboxID)
	if err != nil {
		return nil, wrapDB("message uids", err)
	}
	defer rows.Close()
	var out []uint32
	for rows.Next() {
		var uid uint32
		if err := rows.Scan(&uid); err != nil {
			return nil, wrapDB("message uids", err)
		}
		out = append(out, uid)
	}
	return out, wrapDB("message uids", rows.Err())
}

// ListMessagesRange returns the messages with minUID <= UID <= maxUID, in UID order.
func (s *Store) ListMessagesRange(ctx context.Context, mailboxID int64, minUID, maxUID uint32) ([]Message, error) {
	return s.queryMessages(ctx, "list messages", `SELECT uid, filename, size, internal_date, flags, modseq
		FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid`, mailboxID, minUID, maxUID)
}

// MessagesChangedSince returns the messages whose MODSEQ is above modseq (new or with
// changed flags; RFC 7162 section 3.1.4), in UID order.
func (s *Store) MessagesChangedSince(ctx context.Context, mailboxID int64, modseq uint64) ([]Message, error) {
	return s.queryMessages(ctx, "changed messages", `SELECT uid, filename, size, internal_date, flags, modseq
		FROM messages WHERE mailbox_id = ? AND modseq > ? ORDER BY uid`, mailboxID, int64(modseq))
}

func (s *Store) queryMessages(ctx context.Context, op, query string, mailboxID int64, args ...any) ([]Message, error) {
	rows, err := s.r.QueryContext(ctx, query, append([]any{mailboxID}, args...)...)
	if err != nil {
		return nil, wrapDB(op, err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m := Message{MailboxID: mailboxID}
		var date, modseq int64
		var flags string
		if err := rows.Scan(&m.UID, &m.Filename, &m.Size, &date, &flags, &modseq); err != nil {
			return nil, wrapDB(op, err)
		}
		m.InternalDate, m.Flags, m.ModSeq = time.Unix(date, 0).UTC(), splitFlags(flags), uint64(modseq)
		out = append(out, m)
	}
	return out, wrapDB(op, rows.Err())
}

// FlagUpdate is one message's new flags for SetFlagsBulk.
type FlagUpdate struct {
	UID   uint32
	Flags []string
}

// SetFlagsBulk replaces the flags of several messages of one mailbox in one transaction
// (IMAP STORE on a set), each message getting its own new MODSEQ (RFC 7162 section
// 3.1.1). It returns the MODSEQ given to each UID; UIDs no longer indexed are skipped and
// absent from the result. As with SetMessageFlags, the Maildir files are renamed first.
func (s *Store) SetFlagsBulk(ctx context.Context, mailboxID int64, updates []FlagUpdate) (map[uint32]uint64, error) {
	norm := make([]string, len(updates))
	for i, u := range updates {
		f, err := normalizeFlags(u.Flags)
		if err != nil {
			return nil, err
		}
		norm[i] = strings.Join(f, " ")
	}
	out := make(map[uint32]uint64, len(updates))
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var modseq int64
		err := tx.QueryRowContext(ctx, "SELECT highest_modseq FROM mailboxes WHERE id = ?", mailboxID).Scan(&modseq)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mailbox %d: %w", mailboxID, ErrNotFound)
		}
		if err != nil {
			return wrapDB("set flags", err)
		}
		upd, err := tx.PrepareContext(ctx, "UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?")
		if err != nil {
			return wrapDB("set flags", err)
		}
		defer upd.Close()
		for i, u := range updates {
			res, err := upd.ExecContext(ctx, norm[i], modseq+1, mailboxID, u.UID)
			if err != nil {
				return wrapDB("set flags", err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				modseq++
				out[u.UID] = uint64(modseq)
			}
		}
		_, err = tx.ExecContext(ctx, "UPDATE mailboxes SET highest_modseq = ? WHERE id = ?", modseq, mailboxID)
		return wrapDB("set flags", err)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SyncMailboxIndex is ReplaceMailboxIndex for a live mailbox that a delivery may be
// writing to at the same moment. files are the messages certainly on disk; pending are
// files seen on disk that may be a delivery in flight (written to new/ but not indexed
// yet by its own AddMessages). Inside the write transaction, a pending file that is
// already indexed is kept as on disk, and one that is not is left alone: indexing it here
// would make the delivery's AddMessages fail as a duplicate; leftOut counts those, and the
// caller looks again later if it is not zero.
func (s *Store) SyncMailboxIndex(ctx context.Context, user, name string, files, pending []IndexedFile) (res ReindexResult, leftOut int, err error) {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return res, 0, err
	}
	if name, err = NormalizeMailboxName(name); err != nil {
		return res, 0, err
	}
	onDisk := make(map[string]IndexedFile, len(files))
	norm := func(f IndexedFile) (IndexedFile, error) {
		n, err := normalizeNewMessage(NewMessage{User: addr, Mailbox: name, Filename: f.Filename, Size: f.Size, InternalDate: f.InternalDate, Flags: f.Flags})
		f.Flags = n.Flags
		return f, err
	}
	for _, f := range files {
		if f, err = norm(f); err != nil {
			return res, 0, err
		}
		onDisk[f.Filename] = f
	}
	var pend []IndexedFile
	for _, f := range pending {
		if f, err = norm(f); err != nil {
			return res, 0, err
		}
		pend = append(pend, f)
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		leftOut = 0
		for _, f := range pend {
			ok, err := exists(ctx, tx, `SELECT 1 FROM messages x JOIN mailboxes m ON m.id = x.mailbox_id
				WHERE m.user = ? AND m.name = ? AND x.filename = ?`, addr, name, f.Filename)
			if err != nil {
				return err
			}
			if ok {
				onDisk[f.Filename] = f
			} else {
				leftOut++
			}
		}
		r, err := s.reindexTx(ctx, tx, addr, name, onDisk)
		res = r
		return err
	})
	return res, leftOut, err
}

// IndexedByName returns the index entry of the file with base name filename in the
// user's mailbox: what AddMessages would have returned for it. An IMAP APPEND whose
// AddMessages fails with ErrExists asks for it, because a concurrent rescan (another
// session noticing the folder changed) indexed the new file first. ErrNotFound if there
// is no such entry.
func (s *Store) IndexedByName(ctx context.Context, user, mailbox, filename string) (AddedMessage, error) {
	var a AddedMessage
	var uv, uid, modseq int64
	err := s.r.QueryRowContext(ctx, `SELECT mb.id, mb.uidvalidity, m.uid, m.modseq FROM messages m
		JOIN mailboxes mb ON mb.id = m.mailbox_id
		WHERE mb.user = ? AND mb.name = ? AND m.filename = ?`, user, mailbox, filename).
		Scan(&a.MailboxID, &uv, &uid, &modseq)
	if errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("message %s in %q of %s: %w", filename, mailbox, user, ErrNotFound)
	}
	if err != nil {
		return a, wrapDB("indexed by name", err)
	}
	a.UIDValidity, a.UID, a.ModSeq = uint32(uv), uint32(uid), uint64(modseq)
	return a, nil
}

// FirstUnseenUID returns the lowest UID without \Seen (0 if every message is seen), for
// the UNSEEN code of an IMAP4rev1 SELECT. It stops at the first such row.
func (s *Store) FirstUnseenUID(ctx context.Context, mailboxID int64) (uint32, error) {
	var uid int64
	err := s.r.QueryRowContext(ctx, `SELECT uid FROM messages WHERE mailbox_id = ?
		AND ' ' || flags || ' ' NOT LIKE '% \Seen %' ORDER BY uid LIMIT 1`, mailboxID).Scan(&uid)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, wrapDB("first unseen", err)
	}
	return uint32(uid), nil
}

// CountMessagesAbove returns how many messages of the mailbox have a UID above uid
// (STATUS RECENT counts the messages above the \Recent floor).
func (s *Store) CountMessagesAbove(ctx context.Context, mailboxID int64, uid uint32) (int, error) {
	var n int
	err := s.r.QueryRowContext(ctx, "SELECT count(*) FROM messages WHERE mailbox_id = ? AND uid > ?", mailboxID, uid).Scan(&n)
	if err != nil {
		return 0, wrapDB("count messages", err)
	}
	return n, nil
}
