package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/postern/postern/store/maildir"
)

// IndexedFile is a message file found on disk by a Maildir scan.
type IndexedFile struct {
	Filename     string // base name without ":2,..."
	Size         int64
	InternalDate time.Time
	Flags        []string
}

// ScannedFile is the index row of a file a Maildir scan found: its size is the W= size
// of its name when it has one (the message with CRLF line ends, what IMAP reports), else
// its size on disk.
func ScannedFile(e maildir.Entry) IndexedFile {
	size := e.VSize
	if size < 0 {
		size = e.Size
	}
	return IndexedFile{Filename: e.Base, Size: size, InternalDate: e.ModTime, Flags: e.Flags}
}

// ReindexResult says what ReplaceMailboxIndex changed.
type ReindexResult struct {
	MailboxID          int64
	UIDValidity        uint32
	Kept               int // files already indexed, UID unchanged (flags/size refreshed)
	Updated            int // of the kept, those whose flags, size or date changed
	Added              int // new files, given UIDs from UIDNEXT on
	Removed            int // index entries whose file is gone
	UIDValidityChanged bool
}

// ReplaceMailboxIndex makes the index of one mailbox match the files found on disk,
// creating the mailbox if needed, in one transaction:
//
//   - a file already indexed (same base name) keeps its UID; changed flags, size or date
//     are refreshed with a new MODSEQ;
//   - a new file gets the next UIDs, in (internal date, name) order;
//   - an index entry whose file is gone is dropped (HIGHESTMODSEQ moves on).
//
// None of that needs a new UIDVALIDITY: UIDs stay unique and ascending and are never
// reused (RFC 3501 section 2.3.1.1). UIDVALIDITY changes only when it must: when the new
// files would not fit below the 32-bit UID limit, every message is renumbered from 1
// under a new UIDVALIDITY, which tells clients to drop their caches. A mailbox rebuilt
// from an empty index is new and gets a fresh UIDVALIDITY as any new mailbox does.
func (s *Store) ReplaceMailboxIndex(ctx context.Context, user, name string, files []IndexedFile) (ReindexResult, error) {
	var res ReindexResult
	addr, err := NormalizeAddress(user)
	if err != nil {
		return res, err
	}
	if name, err = NormalizeMailboxName(name); err != nil {
		return res, err
	}
	onDisk := make(map[string]IndexedFile, len(files))
	for _, f := range files {
		n, err := normalizeNewMessage(NewMessage{User: addr, Mailbox: name, Filename: f.Filename, Size: f.Size, InternalDate: f.InternalDate, Flags: f.Flags})
		if err != nil {
			return res, err
		}
		if _, dup := onDisk[n.Filename]; dup {
			return res, fmt.Errorf("%w: file %s listed twice", ErrInvalid, n.Filename)
		}
		f.Flags = n.Flags
		onDisk[n.Filename] = f
	}
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		r, err := s.reindexTx(ctx, tx, addr, name, onDisk)
		res = r
		return err
	})
	return res, err
}

type indexRow struct {
	uid   int64
	file  string
	size  int64
	date  int64
	flags string
}

func (s *Store) reindexTx(ctx context.Context, tx *sql.Tx, addr, name string, onDisk map[string]IndexedFile) (ReindexResult, error) {
	var res ReindexResult
	id, _, err := s.ensureMailboxTx(ctx, tx, addr, name, "")
	if err != nil {
		return res, err
	}
	res.MailboxID = id
	var uidnext, modseq int64
	if err := tx.QueryRowContext(ctx, "SELECT uidvalidity, uidnext, highest_modseq FROM mailboxes WHERE id = ?", id).
		Scan(&res.UIDValidity, &uidnext, &modseq); err != nil {
		return res, wrapDB("reindex", err)
	}
	indexed, err := loadIndex(ctx, tx, id)
	if err != nil {
		return res, err
	}

	var kept []indexRow
	known := map[string]bool{}
	for _, row := range indexed {
		if _, ok := onDisk[row.file]; ok {
			kept = append(kept, row)
			known[row.file] = true
		}
	}
	var added []IndexedFile
	for fn, f := range onDisk {
		if !known[fn] {
			f.Filename = fn
			added = append(added, f)
		}
	}
	slices.SortFunc(added, func(a, b IndexedFile) int {
		if c := a.InternalDate.Compare(b.InternalDate); c != 0 {
			return c
		}
		return strings.Compare(a.Filename, b.Filename)
	})
	res.Kept, res.Added, res.Removed = len(kept), len(added), len(indexed)-len(kept)

	if uidnext+int64(len(added))-1 > maxUID {
		return s.renumberTx(ctx, tx, addr, res, kept, added, onDisk, modseq)
	}

	if res.Removed > 0 {
		del, err := tx.PrepareContext(ctx, "DELETE FROM messages WHERE mailbox_id = ? AND uid = ?")
		if err != nil {
			return res, wrapDB("reindex", err)
		}
		defer del.Close()
		for _, row := range indexed {
			if !known[row.file] {
				if _, err := del.ExecContext(ctx, id, row.uid); err != nil {
					return res, wrapDB("reindex", err)
				}
			}
		}
		modseq++
	}
	upd, err := tx.PrepareContext(ctx, "UPDATE messages SET size = ?, internal_date = ?, flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?")
	if err != nil {
		return res, wrapDB("reindex", err)
	}
	defer upd.Close()
	for _, row := range kept {
		f := onDisk[row.file]
		flags := strings.Join(f.Flags, " ")
		if f.Size == row.size && f.InternalDate.Unix() == row.date && flags == row.flags {
			continue
		}
		modseq++
		res.Updated++
		if _, err := upd.ExecContext(ctx, f.Size, f.InternalDate.Unix(), flags, modseq, id, row.uid); err != nil {
			return res, wrapDB("reindex", err)
		}
	}
	if err := insertFiles(ctx, tx, id, added, &uidnext, &modseq); err != nil {
		return res, err
	}
	_, err = tx.ExecContext(ctx, "UPDATE mailboxes SET uidnext = ?, highest_modseq = ? WHERE id = ?", uidnext, modseq, id)
	return res, wrapDB("reindex", err)
}

// renumberTx is the rare path: UIDs are exhausted, so every message gets a new UID from
// 1 under a new UIDVALIDITY, the kept ones first in their old order.
func (s *Store) renumberTx(ctx context.Context, tx *sql.Tx, addr string, res ReindexResult, kept []indexRow, added []IndexedFile, onDisk map[string]IndexedFile, modseq int64) (ReindexResult, error) {
	all := make([]IndexedFile, 0, len(kept)+len(added))
	for _, row := range kept {
		f := onDisk[row.file]
		f.Filename = row.file
		all = append(all, f)
	}
	all = append(all, added...)
	if int64(len(all)) > maxUID {
		return res, fmt.Errorf("%w: %d messages do not fit in one mailbox", ErrInvalid, len(all))
	}
	uv, err := s.nextUIDValidity(ctx, tx, addr)
	if err != nil {
		return res, err
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM messages WHERE mailbox_id = ?", res.MailboxID); err != nil {
		return res, wrapDB("reindex", err)
	}
	uidnext := int64(1)
	if err := insertFiles(ctx, tx, res.MailboxID, all, &uidnext, &modseq); err != nil {
		return res, err
	}
	_, err = tx.ExecContext(ctx, "UPDATE mailboxes SET uidvalidity = ?, uidnext = ?, highest_modseq = ? WHERE id = ?",
		uv, uidnext, modseq, res.MailboxID)
	res.UIDValidity, res.UIDValidityChanged = uv, true
	s.log.Warn("store: mailbox UIDs exhausted; renumbered under a new UIDVALIDITY", "user", addr, "mailbox_id", res.MailboxID, "uidvalidity", uv)
	return res, wrapDB("reindex", err)
}

func loadIndex(ctx context.Context, tx *sql.Tx, id int64) ([]indexRow, error) {
	rows, err := tx.QueryContext(ctx, "SELECT uid, filename, size, internal_date, flags FROM messages WHERE mailbox_id = ? ORDER BY uid", id)
	if err != nil {
		return nil, wrapDB("reindex", err)
	}
	defer rows.Close()
	var out []indexRow
	for rows.Next() {
		var r indexRow
		if err := rows.Scan(&r.uid, &r.file, &r.size, &r.date, &r.flags); err != nil {
			return nil, wrapDB("reindex", err)
		}
		out = append(out, r)
	}
	return out, wrapDB("reindex", rows.Err())
}

func insertFiles(ctx context.Context, tx *sql.Tx, id int64, files []IndexedFile, uidnext, modseq *int64) error {
	if len(files) == 0 {
		return nil
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO messages(mailbox_id, uid, filename, size, internal_date, flags, modseq)
		VALUES (?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return wrapDB("reindex", err)
	}
	defer ins.Close()
	for _, f := range files {
		*modseq++
		if _, err := ins.ExecContext(ctx, id, *uidnext, f.Filename, f.Size, f.InternalDate.Unix(), strings.Join(f.Flags, " "), *modseq); err != nil {
			return wrapDB("reindex", err)
		}
		*uidnext++
	}
	return nil
}
