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

// flagBatchRows bounds one UPDATE statement (three bound parameters per row).
const flagBatchRows = 500

// SetFlagsBatch is SetFlagsBulk with one UPDATE ... FROM (VALUES ...) statement per
// few hundred messages instead of one statement per message: the IMAP STORE on a large
// set spends its time in statement overhead otherwise. The i-th update gets MODSEQ
// From+1+i (RFC 7162 section 3.1.1 asks only that MODSEQs grow, so a UID that is no
// longer indexed just leaves a gap) and HIGHESTMODSEQ becomes To = From+len(updates)
// when anything changed.
func (s *Store) SetFlagsBatch(ctx context.Context, mailboxID int64, updates []FlagUpdate) (FlagBatch, error) {
	var out FlagBatch
	norm := make([]string, len(updates))
	for i, u := range updates {
		f, err := normalizeFlags(u.Flags)
		if err != nil {
			return out, err
		}
		norm[i] = strings.Join(f, " ")
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		out.ModSeqs = make(map[uint32]uint64, len(updates))
		var base int64
		err := tx.QueryRowContext(ctx, "SELECT highest_modseq FROM mailboxes WHERE id = ?", mailboxID).Scan(&base)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("mailbox %d: %w", mailboxID, ErrNotFound)
		}
		if err != nil {
			return wrapDB("set flags", err)
		}
		out.From, out.To = uint64(base), uint64(base)
		for start := 0; start < len(updates); start += flagBatchRows {
			end := min(start+flagBatchRows, len(updates))
			if err := updateFlagRows(ctx, tx, mailboxID, updates[start:end], norm[start:end], base+int64(start)+1, out.ModSeqs); err != nil {
				return err
			}
		}
		if len(out.ModSeqs) == 0 {
			return nil
		}
		out.To = uint64(base) + uint64(len(updates))
		_, err = tx.ExecContext(ctx, "UPDATE mailboxes SET highest_modseq = ? WHERE id = ?", int64(out.To), mailboxID)
		return wrapDB("set flags", err)
	})
	return out, err
}

func updateFlagRows(ctx context.Context, tx *sql.Tx, mailboxID int64, updates []FlagUpdate, flags []string, firstModSeq int64, got map[uint32]uint64) error {
	var q strings.Builder
	q.WriteString("UPDATE messages SET flags = v.column2, modseq = v.column3 FROM (VALUES ")
	args := make([]any, 0, 3*len(updates)+1)
	for i, u := range updates {
		if i > 0 {
			q.WriteString(",")
		}
		q.WriteString("(?,?,?)")
		args = append(args, u.UID, flags[i], firstModSeq+int64(i))
	}
	q.WriteString(") AS v WHERE messages.mailbox_id = ? AND messages.uid = v.column1 RETURNING messages.uid, messages.modseq")
	args = append(args, mailboxID)
	rows, err := tx.QueryContext(ctx, q.String(), args...)
	if err != nil {
		return wrapDB("set flags", err)
	}
	defer rows.Close()
	for rows.Next() {
		var uid uint32
		var modseq int64
		if err := rows.Scan(&uid, &modseq); err != nil {
			return wrapDB("set flags", err)
		}
		got[uid] = uint64(modseq)
	}
	return wrapDB("set flags", rows.Err())
}
