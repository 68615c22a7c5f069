package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// NewMessage is a message just written to a Maildir folder, to be indexed.
type NewMessage struct {
	User         string
	Mailbox      string // client-visible name; created in the index if missing
	Filename     string // Maildir base name, without ":2,..."
	Size         int64
	InternalDate time.Time
	Flags        []string // IMAP flags, e.g. `\Seen`, `$Junk`
}

// AddedMessage is where AddMessages put a NewMessage.
type AddedMessage struct {
	MailboxID   int64
	UIDValidity uint32
	UID         uint32
	ModSeq      uint64
}

// Message is one indexed message.
type Message struct {
	MailboxID    int64
	UID          uint32
	Filename     string
	Size         int64
	InternalDate time.Time
	Flags        []string
	ModSeq       uint64
}

const maxUID = 0xFFFFFFFF // UIDs are 32-bit (RFC 3501 section 2.3.1.1)

// AddMessages indexes messages, possibly in different users' mailboxes, in ONE write
// transaction with one fsync'd commit. UIDs come from each mailbox's UIDNEXT, which only
// grows, and every new message gets a new MODSEQ. A missing mailbox is created (the file
// is already in its folder on disk; the index follows the disk). All or nothing: on any
// error (unknown user ErrNotFound, duplicate file name ErrExists) nothing is indexed.
// IMAP APPEND, COPY and MOVE use it; delivery uses IndexDeliveries.
func (s *Store) AddMessages(ctx context.Context, msgs []NewMessage) ([]AddedMessage, error) {
	return s.addMessages(ctx, msgs, false)
}

// uidReserve is how far past the counters a delivery's unsynced commit may hand out
// UIDs and MODSEQs before a commit must wait for the disk to move the ceilings: one
// synced commit per this many deliveries to a mailbox, and after a power loss at most
// this many UIDs are skipped.
const uidReserve = 256

// IndexDeliveries is AddMessages for the delivery path, which calls it (through a group
// commit) once per incoming message after the files and their directory entries are
// fsynced and before it acknowledges. Its commit is visible at once and survives a crash
// of the process, but normally does not wait for an fsync of the WAL: the message is
// already safe in the Maildir, and after a power loss the reconcile that runs at the
// next start (the daemon's unclean-stop marker) indexes any file whose entry was lost.
// What must survive a power loss is the promise that a UID or MODSEQ a client may have
// seen is never handed out again: a commit hands out values only below each mailbox's
// uid_ceiling and modseq_ceiling, and a commit that has to raise a ceiling, or that
// creates a mailbox, waits for the disk. RecoverCounters applies the ceilings.
func (s *Store) IndexDeliveries(ctx context.Context, msgs []NewMessage) ([]AddedMessage, error) {
	return s.addMessages(ctx, msgs, true)
}

func (s *Store) addMessages(ctx context.Context, msgs []NewMessage, lazy bool) ([]AddedMessage, error) {
	type mbKey struct{ user, name string }
	norm := make([]NewMessage, len(msgs))
	for i, m := range msgs {
		var err error
		if norm[i], err = normalizeNewMessage(m); err != nil {
			return nil, err
		}
	}
	out := make([]AddedMessage, len(msgs))
	run := s.writeTx
	if lazy {
		run = func(ctx context.Context, fn func(tx *sql.Tx) error) error {
			return s.writeTxRelaxed(ctx, func(tx *sql.Tx, relaxed bool) error {
				lazy = relaxed
				return fn(tx)
			})
		}
	}
	err := run(ctx, func(tx *sql.Tx) error {
		// state tracks each touched mailbox's counters in memory, written back once.
		type state struct {
			id, uidnext, modseq    int64
			uidCeiling, modCeiling int64
			uidvalidity            uint32
		}
		boxes := map[mbKey]*state{}
		var order []*state
		find := tx.StmtContext(ctx, s.hot.findMailbox)
		insert := tx.StmtContext(ctx, s.hot.insertMessage)
		update := tx.StmtContext(ctx, s.hot.updateCounters)
		for i, m := range norm {
			k := mbKey{m.User, m.Mailbox}
			st := boxes[k]
			if st == nil {
				st = &state{}
				scan := func() error {
					return find.QueryRowContext(ctx, m.User, m.Mailbox).Scan(&st.id, &st.uidvalidity, &st.uidnext, &st.modseq, &st.uidCeiling, &st.modCeiling)
				}
				err := scan()
				if errors.Is(err, sql.ErrNoRows) {
					if _, _, err = s.ensureMailboxTx(ctx, tx, m.User, m.Mailbox, ""); err != nil {
						return err
					}
					if lazy {
						// A new mailbox's UIDVALIDITY must not be handed out twice either.
						return errNeedSync
					}
					err = scan()
				}
				if err != nil {
					return wrapDB("add messages", err)
				}
				boxes[k] = st
				order = append(order, st)
			}
			if st.uidnext > maxUID {
				return fmt.Errorf("mailbox %q of %s has used all 2^32 UIDs; reindex it: %w", m.Mailbox, m.User, ErrInUse)
			}
			st.modseq++
			_, err := insert.ExecContext(ctx, st.id, st.uidnext, m.Filename, m.Size, m.InternalDate.Unix(), strings.Join(m.Flags, " "), st.modseq)
			if err != nil {
				return fmt.Errorf("index %s in %q of %s: %w", m.Filename, m.Mailbox, m.User, wrapDB("add messages", err))
			}
			out[i] = AddedMessage{MailboxID: st.id, UIDValidity: st.uidvalidity, UID: uint32(st.uidnext), ModSeq: uint64(st.modseq)}
			st.uidnext++
		}
		for _, st := range order {
			if lazy && (st.uidnext > st.uidCeiling || st.modseq > st.modCeiling) {
				return errNeedSync
			}
			if !lazy {
				// A synced commit moves the ceilings ahead, so the relaxed commits after
				// it have room.
				st.uidCeiling = max(st.uidCeiling, min(st.uidnext+uidReserve, maxUID+1))
				st.modCeiling = max(st.modCeiling, st.modseq+uidReserve)
			}
			if _, err := update.ExecContext(ctx, st.uidnext, st.modseq, st.uidCeiling, st.modCeiling, st.id); err != nil {
				return wrapDB("add messages", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// RecoverCounters raises every mailbox's UIDNEXT and HIGHESTMODSEQ to its ceilings (see
// IndexDeliveries), so that no value handed out by a commit lost in a power loss is used
// again. Run it after an unclean stop, before the Maildir reconcile; it returns how many
// mailboxes moved. Values skipped this way are gaps, which IMAP allows.
func (s *Store) RecoverCounters(ctx context.Context) (int64, error) {
	var n int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = MAX(uidnext, uid_ceiling),
			highest_modseq = MAX(highest_modseq, modseq_ceiling)
			WHERE uid_ceiling > uidnext OR modseq_ceiling > highest_modseq`)
		if err != nil {
			return wrapDB("recover counters", err)
		}
		n, err = r.RowsAffected()
		return wrapDB("recover counters", err)
	})
	return n, err
}

// hotStatements are prepared once on the writer connection for the delivery path;
// database/sql re-prepares them transparently if the connection is ever replaced.
type hotStatements struct {
	findMailbox, insertMessage, updateCounters *sql.Stmt
}

func (h *hotStatements) prepare(ctx context.Context, db *sql.DB) error {
	var err error
	for _, p := range []struct {
		dst **sql.Stmt
		sql string
	}{
		{&h.findMailbox, `SELECT id, uidvalidity, uidnext, highest_modseq, uid_ceiling, modseq_ceiling
			FROM mailboxes WHERE user = ? AND name = ?`},
		{&h.insertMessage, `INSERT INTO messages(mailbox_id, uid, filename, size, internal_date, flags, modseq)
			VALUES (?, ?, ?, ?, ?, ?, ?)`},
		{&h.updateCounters, "UPDATE mailboxes SET uidnext = ?, highest_modseq = ?, uid_ceiling = ?, modseq_ceiling = ? WHERE id = ?"},
	} {
		if *p.dst, err = db.PrepareContext(ctx, p.sql); err != nil {
			return wrapDB("prepare", err)
		}
	}
	return nil
}

func (h *hotStatements) close() {
	for _, st := range []*sql.Stmt{h.findMailbox, h.insertMessage, h.updateCounters} {
		if st != nil {
			st.Close()
		}
	}
}

func normalizeNewMessage(m NewMessage) (NewMessage, error) {
	var err error
	if m.User, err = NormalizeAddress(m.User); err != nil {
		return m, err
	}
	if m.Mailbox, err = NormalizeMailboxName(m.Mailbox); err != nil {
		return m, err
	}
	if err := checkFilename(m.Filename); err != nil {
		return m, err
	}
	if m.Size < 0 {
		return m, fmt.Errorf("%w: negative size for %s", ErrInvalid, m.Filename)
	}
	if m.Flags, err = normalizeFlags(m.Flags); err != nil {
		return m, err
	}
	return m, nil
}

func checkFilename(f string) error {
	if f == "" || len(f) > 255 || strings.ContainsAny(f, "/\x00") || f == "." || f == ".." {
		return fmt.Errorf("%w: Maildir file name %q", ErrInvalid, clip(f))
	}
	return nil
}

// normalizeFlags checks IMAP flags (RFC 3501 section 9: flag = "\" atom or keyword atom),
// drops duplicates and keeps them in the given order.
func normalizeFlags(flags []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, f := range flags {
		body := strings.TrimPrefix(f, `\`)
		if body == "" || len(f) > 128 {
			return nil, fmt.Errorf("%w: flag %q", ErrInvalid, clip(f))
		}
		for _, r := range body {
			if r <= ' ' || r >= 0x7f || strings.ContainsRune(`(){%*"\]`, r) || unicode.IsSpace(r) {
				return nil, fmt.Errorf("%w: flag %q", ErrInvalid, clip(f))
			}
		}
		if k := strings.ToLower(f); !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out, nil
}

func splitFlags(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// UserUsage returns the bytes the user's indexed messages take, for quota checks.
// ErrNotFound if the user does not exist.
func (s *Store) UserUsage(ctx context.Context, user string) (int64, error) {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return 0, err
	}
	var n int64
	err = s.r.QueryRowContext(ctx, "SELECT used_bytes FROM users WHERE address = ?", addr).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("user %s: %w", addr, ErrNotFound)
	}
	return n, wrapDB("user usage", err)
}

// ListMessages returns the messages of a mailbox with UID >= sinceUID, in UID order.
func (s *Store) ListMessages(ctx context.Context, mailboxID int64, sinceUID uint32) ([]Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT uid, filename, size, internal_date, flags, modseq
		FROM messages WHERE mailbox_id = ? AND uid >= ? ORDER BY uid`, mailboxID, sinceUID)
	if err != nil {
		return nil, wrapDB("list messages", err)
	}
	defer rows.Close()
	var out []Message
	for rows.Next() {
		m := Message{MailboxID: mailboxID}
		var date, modseq int64
		var flags string
		if err := rows.Scan(&m.UID, &m.Filename, &m.Size, &date, &flags, &modseq); err != nil {
			return nil, wrapDB("list messages", err)
		}
		m.InternalDate, m.Flags, m.ModSeq = time.Unix(date, 0).UTC(), splitFlags(flags), uint64(modseq)
		out = append(out, m)
	}
	return out, wrapDB("list messages", rows.Err())
}

// SetMessageFlags replaces a message's flags and gives it a new MODSEQ (RFC 7162 section
// 3.1.1), returned. ErrNotFound if there is no such message. The caller renames the
// Maildir file first: the file name is the truth, this is the index catching up.
func (s *Store) SetMessageFlags(ctx context.Context, mailboxID int64, uid uint32, flags []string) (uint64, error) {
	flags, err := normalizeFlags(flags)
	if err != nil {
		return 0, err
	}
	var modseq int64
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = ? RETURNING highest_modseq", mailboxID).Scan(&modseq)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mailbox %d: %w", mailboxID, ErrNotFound)
		}
		if err != nil {
			return wrapDB("set flags", err)
		}
		res, err := tx.ExecContext(ctx, "UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?",
			strings.Join(flags, " "), modseq, mailboxID, uid)
		if err != nil {
			return wrapDB("set flags", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return fmt.Errorf("message %d in mailbox %d: %w", uid, mailboxID, ErrNotFound)
		}
		return nil
	})
	return uint64(modseq), err
}

// RemoveMessages drops messages from the index (IMAP EXPUNGE, after the files are gone)
// and bumps the mailbox's HIGHESTMODSEQ. UIDs that are not indexed are ignored; it
// returns how many were removed.
func (s *Store) RemoveMessages(ctx context.Context, mailboxID int64, uids []uint32) (int, error) {
	removed := 0
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		del, err := tx.PrepareContext(ctx, "DELETE FROM messages WHERE mailbox_id = ? AND uid = ?")
		if err != nil {
			return wrapDB("remove messages", err)
		}
		defer del.Close()
		for _, uid := range uids {
			res, err := del.ExecContext(ctx, mailboxID, uid)
			if err != nil {
				return wrapDB("remove messages", err)
			}
			n, _ := res.RowsAffected()
			removed += int(n)
		}
		if removed > 0 {
			_, err = tx.ExecContext(ctx, "UPDATE mailboxes SET highest_modseq = highest_modseq + 1 WHERE id = ?", mailboxID)
		}
		return wrapDB("remove messages", err)
	})
	return removed, err
}
