package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Mailbox is one IMAP mailbox of a user, as indexed. Name is the client-visible name in
// UTF-8 with '/' as the hierarchy separator ("Archive/2024"); the IMAP layer converts to
// and from modified UTF-7. "INBOX" is always spelled so (RFC 3501 section 5.1: the name
// is case-insensitive).
type Mailbox struct {
	ID            int64
	User          string
	Name          string
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	SpecialUse    string // RFC 6154 attribute such as `\Drafts`, or ""
	Subscribed    bool   // its name is on the subscription list (see Subscriptions)
	CreatedAt     time.Time
	Messages      int   // number of indexed messages
	Unseen        int   // messages without \Seen
	Size          int64 // sum of message sizes
}

// InboxName is the one mailbox every user has.
const InboxName = "INBOX"

// Special-use attributes (RFC 6154 section 2) that EnsureMailbox accepts.
const (
	SpecialAll     = `\All`
	SpecialArchive = `\Archive`
	SpecialDrafts  = `\Drafts`
	SpecialFlagged = `\Flagged`
	SpecialJunk    = `\Junk`
	SpecialSent    = `\Sent`
	SpecialTrash   = `\Trash`
)

// DefaultMailboxes are created by CreateDefaultMailboxes, in this order.
func DefaultMailboxes() []struct{ Name, SpecialUse string } {
	return []struct{ Name, SpecialUse string }{
		{InboxName, ""},
		{"Drafts", SpecialDrafts},
		{"Sent", SpecialSent},
		{"Junk", SpecialJunk},
		{"Trash", SpecialTrash},
		{"Archive", SpecialArchive},
	}
}

const maxMailboxName = 512

// NormalizeMailboxName validates a client-visible mailbox name and returns its canonical
// spelling: INBOX in any case becomes "INBOX" (also as the first component, "inbox/x" ->
// "INBOX/x"). Components must be non-empty, must not be "." or "..", and must not hold
// control characters, '\\', '%' or '*' (the LIST wildcards, RFC 3501 section 6.3.8).
func NormalizeMailboxName(name string) (string, error) {
	if name == "" || len(name) > maxMailboxName || !utf8.ValidString(name) {
		return "", fmt.Errorf("%w: mailbox name %q must be 1 to %d bytes of UTF-8", ErrInvalid, clip(name), maxMailboxName)
	}
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if p == "" || p == "." || p == ".." {
			return "", fmt.Errorf("%w: mailbox name %q has an empty, '.' or '..' component", ErrInvalid, clip(name))
		}
		for _, r := range p {
			if unicode.IsControl(r) || r == '\\' || r == '%' || r == '*' || r == utf8.RuneError {
				return "", fmt.Errorf("%w: mailbox name %q contains %q", ErrInvalid, clip(name), r)
			}
		}
		if i == 0 && strings.EqualFold(p, InboxName) {
			parts[0] = InboxName
		}
	}
	return strings.Join(parts, "/"), nil
}

// normalizeUserMailbox normalises a user's address and one of their mailbox names.
func normalizeUserMailbox(user, name string) (string, string, error) {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return "", "", err
	}
	name, err = NormalizeMailboxName(name)
	return addr, name, err
}

func checkSpecialUse(su string) error {
	switch su {
	case "", SpecialAll, SpecialArchive, SpecialDrafts, SpecialFlagged, SpecialJunk, SpecialSent, SpecialTrash:
		return nil
	}
	return fmt.Errorf("%w: unknown special-use attribute %q", ErrInvalid, su)
}

// CreateDefaultMailboxes makes sure the user has INBOX, Drafts, Sent, Junk, Trash and
// Archive with their special-use attributes. Idempotent: existing ones are left alone.
func (s *Store) CreateDefaultMailboxes(ctx context.Context, user string) error {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		for _, m := range DefaultMailboxes() {
			if _, _, err := s.ensureMailboxTx(ctx, tx, addr, m.Name, m.SpecialUse); err != nil {
				return err
			}
		}
		return nil
	})
}

// EnsureMailbox returns the user's mailbox name, creating it (with specialUse) if it does
// not exist. An existing mailbox keeps its special use. A mailbox it creates (as do
// CreateDefaultMailboxes, delivery and reindexing: a folder the user did not ask for by
// IMAP) is subscribed. ErrNotFound if the user does not exist.
func (s *Store) EnsureMailbox(ctx context.Context, user, name, specialUse string) (Mailbox, error) {
	return s.addMailbox(ctx, user, name, specialUse, false)
}

// CreateMailbox creates a mailbox that must not exist yet (IMAP CREATE); ErrExists if it
// does. It does not subscribe it (RFC 3501 6.3.3: the client subscribes what it wants);
// a subscription the name already had stays.
func (s *Store) CreateMailbox(ctx context.Context, user, name, specialUse string) (Mailbox, error) {
	return s.addMailbox(ctx, user, name, specialUse, true)
}

// addMailbox is EnsureMailbox, or with mustCreate CreateMailbox.
func (s *Store) addMailbox(ctx context.Context, user, name, specialUse string, mustCreate bool) (Mailbox, error) {
	addr, name, err := normalizeUserMailbox(user, name)
	if err != nil {
		return Mailbox{}, err
	}
	if err := checkSpecialUse(specialUse); err != nil {
		return Mailbox{}, err
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		_, created, err := s.addMailboxTx(ctx, tx, addr, name, specialUse, !mustCreate)
		if err == nil && mustCreate && !created {
			err = fmt.Errorf("mailbox %q of %s: %w", name, addr, ErrExists)
		}
		return err
	})
	if err != nil {
		return Mailbox{}, err
	}
	return s.GetMailbox(ctx, addr, name)
}

// ensureMailboxTx returns the id of (addr, name), creating (and subscribing) the mailbox
// if needed. name must be normalised.
func (s *Store) ensureMailboxTx(ctx context.Context, tx *sql.Tx, addr, name, specialUse string) (id int64, created bool, err error) {
	return s.addMailboxTx(ctx, tx, addr, name, specialUse, true)
}

// addMailboxTx is ensureMailboxTx; subscribe says whether a mailbox it creates is
// subscribed.
func (s *Store) addMailboxTx(ctx context.Context, tx *sql.Tx, addr, name, specialUse string, subscribe bool) (id int64, created bool, err error) {
	err = tx.QueryRowContext(ctx, "SELECT id FROM mailboxes WHERE user = ? AND name = ?", addr, name).Scan(&id)
	if err == nil {
		return id, false, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, false, wrapDB("find mailbox", err)
	}
	uv, err := s.nextUIDValidity(ctx, tx, addr)
	if err != nil {
		return 0, false, err
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO mailboxes(user, name, uidvalidity, special_use, created_at)
		VALUES (?, ?, ?, ?, ?) RETURNING id`, addr, name, uv, specialUse, s.unix()).Scan(&id)
	if err != nil {
		return 0, false, wrapDB("create mailbox", err)
	}
	if subscribe {
		if _, err := tx.ExecContext(ctx, "INSERT OR IGNORE INTO subscriptions(user, name) VALUES (?, ?)", addr, name); err != nil {
			return 0, false, wrapDB("subscribe", err)
		}
	}
	return id, true, nil
}

// nextUIDValidity hands out the user's next UIDVALIDITY: the current Unix time, or one
// more than the last value given to this user if that is larger, so a mailbox deleted
// and recreated within a second still gets a new value (RFC 3501 section 2.3.1.1).
func (s *Store) nextUIDValidity(ctx context.Context, tx *sql.Tx, addr string) (uint32, error) {
	var last int64
	err := tx.QueryRowContext(ctx, "SELECT last_uidvalidity FROM users WHERE address = ?", addr).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("user %s: %w", addr, ErrNotFound)
	}
	if err != nil {
		return 0, wrapDB("uidvalidity", err)
	}
	uv := max(s.unix(), last+1)
	if uv > 0xFFFFFFFF || uv < 1 {
		uv = 1 // after 2106, or a clock before 1970: wrap rather than fail
	}
	if _, err := tx.ExecContext(ctx, "UPDATE users SET last_uidvalidity = ? WHERE address = ?", uv, addr); err != nil {
		return 0, wrapDB("uidvalidity", err)
	}
	return uint32(uv), nil
}

const mailboxSelect = `SELECT m.id, m.user, m.name, m.uidvalidity, m.uidnext, m.highest_modseq,
	m.special_use, EXISTS (SELECT 1 FROM subscriptions s WHERE s.user = m.user AND s.name = m.name), m.created_at,
	(SELECT count(*) FROM messages x WHERE x.mailbox_id = m.id),
	(SELECT count(*) FROM messages x WHERE x.mailbox_id = m.id AND ' ' || x.flags || ' ' NOT LIKE '% \Seen %'),
	(SELECT coalesce(sum(size), 0) FROM messages x WHERE x.mailbox_id = m.id)
	FROM mailboxes m`

func scanMailbox(r rowScanner) (Mailbox, error) {
	var m Mailbox
	var uv, next, created int64
	var hms int64
	err := r.Scan(&m.ID, &m.User, &m.Name, &uv, &next, &hms, &m.SpecialUse, &m.Subscribed, &created,
		&m.Messages, &m.Unseen, &m.Size)
	m.UIDValidity, m.UIDNext, m.HighestModSeq = uint32(uv), uint32(next), uint64(hms)
	m.CreatedAt = fromUnix(created)
	return m, err
}

// GetMailbox returns the user's mailbox name; ErrNotFound if there is none.
func (s *Store) GetMailbox(ctx context.Context, user, name string) (Mailbox, error) {
	addr, name, err := normalizeUserMailbox(user, name)
	if err != nil {
		return Mailbox{}, err
	}
	m, err := scanMailbox(s.r.QueryRowContext(ctx, mailboxSelect+" WHERE m.user = ? AND m.name = ?", addr, name))
	if errors.Is(err, sql.ErrNoRows) {
		return Mailbox{}, fmt.Errorf("mailbox %q of %s: %w", name, addr, ErrNotFound)
	}
	if err != nil {
		return Mailbox{}, wrapDB("get mailbox", err)
	}
	return m, nil
}

// ListMailboxes returns the user's mailboxes, INBOX first, then by name.
func (s *Store) ListMailboxes(ctx context.Context, user string) ([]Mailbox, error) {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return nil, err
	}
	rows, err := s.r.QueryContext(ctx, mailboxSelect+" WHERE m.user = ? ORDER BY m.name != 'INBOX', m.name", addr)
	if err != nil {
		return nil, wrapDB("list mailboxes", err)
	}
	defer rows.Close()
	var out []Mailbox
	for rows.Next() {
		m, err := scanMailbox(rows)
		if err != nil {
			return nil, wrapDB("list mailboxes", err)
		}
		out = append(out, m)
	}
	return out, wrapDB("list mailboxes", rows.Err())
}

// DeleteMailbox removes a mailbox and its message index (not its Maildir folder); its
// subscription stays (RFC 3501 section 6.3.6). INBOX cannot be deleted (6.3.4).
func (s *Store) DeleteMailbox(ctx context.Context, user, name string) error {
	addr, name, err := normalizeUserMailbox(user, name)
	if err != nil {
		return err
	}
	if name == InboxName {
		return fmt.Errorf("%w: INBOX cannot be deleted", ErrInvalid)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, "SELECT id FROM mailboxes WHERE user = ? AND name = ?", addr, name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mailbox %q of %s: %w", name, addr, ErrNotFound)
		}
		if err != nil {
			return wrapDB("delete mailbox", err)
		}
		// Messages first, while the mailbox row still exists: the usage trigger finds
		// the user through it.
		if _, err := tx.ExecContext(ctx, "DELETE FROM messages WHERE mailbox_id = ?", id); err != nil {
			return wrapDB("delete mailbox", err)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM mailboxes WHERE id = ?", id)
		return wrapDB("delete mailbox", err)
	})
}

// RenameMailbox renames a mailbox and its children ("A" -> "B" also moves "A/x" to
// "B/x"), keeping UIDs and UIDVALIDITY (RFC 3501 section 6.3.5). Renaming INBOX is not
// supported here (IMAP's INBOX rename moves its messages; that is the caller's job).
func (s *Store) RenameMailbox(ctx context.Context, user, from, to string) error {
	addr, err := NormalizeAddress(user)
	if err != nil {
		return err
	}
	if from, err = NormalizeMailboxName(from); err != nil {
		return err
	}
	if to, err = NormalizeMailboxName(to); err != nil {
		return err
	}
	if from == InboxName || to == InboxName || strings.HasPrefix(to, from+"/") {
		return fmt.Errorf("%w: cannot rename %q to %q", ErrInvalid, from, to)
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if ok, err := exists(ctx, tx, "SELECT 1 FROM mailboxes WHERE user = ? AND name = ?", addr, from); err != nil || !ok {
			if err == nil {
				err = fmt.Errorf("mailbox %q of %s: %w", from, addr, ErrNotFound)
			}
			return err
		}
		if ok, err := exists(ctx, tx, "SELECT 1 FROM mailboxes WHERE user = ?1 AND (name = ?2 OR substr(name, 1, length(?2) + 1) = ?2 || '/')",
			addr, to); err != nil || ok {
			if err == nil {
				err = fmt.Errorf("mailbox %q of %s: %w", to, addr, ErrExists)
			}
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE mailboxes SET name = ?3 || substr(name, length(?2) + 1)
			WHERE user = ?1 AND (name = ?2 OR substr(name, 1, length(?2) + 1) = ?2 || '/')`, addr, from, to)
		if err != nil {
			return wrapDB("rename mailbox", err)
		}
		// Subscriptions follow the names they were for (as Dovecot); one the new name
		// already had is kept, once.
		_, err = tx.ExecContext(ctx, `UPDATE OR REPLACE subscriptions SET name = ?3 || substr(name, length(?2) + 1)
			WHERE user = ?1 AND (name = ?2 OR substr(name, 1, length(?2) + 1) = ?2 || '/')`, addr, from, to)
		return wrapDB("rename subscriptions", err)
	})
}
