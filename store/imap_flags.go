package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
)

// FlagBatch is the outcome of SetFlagsBatch: the MODSEQ given to each UID that was
// still indexed, and the mailbox's HIGHESTMODSEQ before and after.
type FlagBatch struct {
	ModSeqs  map[uint32]uint64
	From, To uint64
}

// SetFlagsBatch is SetFlagsBulk that also reports the mailbox's HIGHESTMODSEQ before
// and after, so a caller holding a copy of the mailbox's state knows whether the batch
// followed on directly from it (see FlagBatchTx).
func (s *Store) SetFlagsBatch(ctx context.Context, mailboxID int64, updates []FlagUpdate) (FlagBatch, error) {
	b, err := s.BeginFlagBatch(ctx, mailboxID)
	if err != nil {
		return FlagBatch{}, err
	}
	defer b.Rollback()
	if err := b.Add(ctx, updates); err != nil {
		return FlagBatch{}, err
	}
	return b.Commit(ctx)
}

// FlagBatchTx is a flag update of many messages of one mailbox in one write
// transaction, fed in parts: the IMAP layer renames the Maildir files of a large STORE
// in chunks and adds each chunk here as soon as its files are renamed, so the index
// work overlaps the renames while every row still changes after its file (and the
// commit after all of them). The updates whose message is still indexed get the next
// MODSEQs in order, as in SetFlagsBulk (RFC 7162 section 3.1.1). The transaction holds
// the index's writer from BeginFlagBatch to Commit or Rollback. Add may be called from
// another goroutine than Begin, but not concurrently.
type FlagBatchTx struct {
	conn      *sql.Conn // the writer connection, held until Commit or Rollback
	tx        *sql.Tx
	upd       *sql.Stmt
	mailboxID int64
	modseq    int64
	out       FlagBatch
	done      bool
}

// BeginFlagBatch starts a FlagBatchTx; ErrNotFound if the mailbox is gone.
func (s *Store) BeginFlagBatch(ctx context.Context, mailboxID int64) (*FlagBatchTx, error) {
	c, err := s.writer(ctx, false) // synced: MODSEQs must not go back
	if err != nil {
		return nil, err
	}
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	b := &FlagBatchTx{conn: c, tx: tx, mailboxID: mailboxID, out: FlagBatch{ModSeqs: map[uint32]uint64{}}}
	err = tx.QueryRowContext(ctx, "SELECT highest_modseq FROM mailboxes WHERE id = ?", mailboxID).Scan(&b.modseq)
	if errors.Is(err, sql.ErrNoRows) {
		err = fmt.Errorf("mailbox %d: %w", mailboxID, ErrNotFound)
	} else if err == nil {
		b.upd, err = tx.PrepareContext(ctx, "UPDATE messages SET flags = ?, modseq = ? WHERE mailbox_id = ? AND uid = ?")
		err = wrapDB("set flags", err)
	} else {
		err = wrapDB("set flags", err)
	}
	if err != nil {
		tx.Rollback()
		c.Close()
		return nil, err
	}
	b.out.From = uint64(b.modseq)
	return b, nil
}

// Add updates the flags of some messages; UIDs no longer indexed are skipped.
func (b *FlagBatchTx) Add(ctx context.Context, updates []FlagUpdate) error {
	for _, u := range updates {
		f, err := normalizeFlags(u.Flags)
		if err != nil {
			return err
		}
		res, err := b.upd.ExecContext(ctx, strings.Join(f, " "), b.modseq+1, b.mailboxID, u.UID)
		if err != nil {
			return wrapDB("set flags", err)
		}
		if n, _ := res.RowsAffected(); n > 0 {
			b.modseq++
			b.out.ModSeqs[u.UID] = uint64(b.modseq)
		}
	}
	return nil
}

// Commit records the new HIGHESTMODSEQ and commits (fsync'd). To is the last MODSEQ
// given (From when nothing changed).
func (b *FlagBatchTx) Commit(ctx context.Context) (FlagBatch, error) {
	b.out.To = uint64(b.modseq)
	if b.out.To != b.out.From {
		if _, err := b.tx.ExecContext(ctx, "UPDATE mailboxes SET highest_modseq = ? WHERE id = ?", b.modseq, b.mailboxID); err != nil {
			return FlagBatch{}, wrapDB("set flags", err)
		}
	}
	b.upd.Close()
	b.done = true
	err := b.tx.Commit()
	b.conn.Close()
	if err != nil {
		return FlagBatch{}, fmt.Errorf("store: commit: %w", err)
	}
	return b.out, nil
}

// Rollback abandons the batch unless it was committed; safe to defer.
func (b *FlagBatchTx) Rollback() {
	if b.done {
		return
	}
	b.done = true
	b.upd.Close()
	b.tx.Rollback()
	b.conn.Close()
}
