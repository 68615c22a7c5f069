package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// IMAPQueries are the statements the IMAP layer runs after nearly every command,
// prepared once on the read pool: parsing the SQL again each time would cost more than
// running it.
type IMAPQueries struct {
	state *sql.Stmt
}

// PrepareIMAPQueries prepares the IMAP layer's hot statements. Close releases them.
func (s *Store) PrepareIMAPQueries(ctx context.Context) (*IMAPQueries, error) {
	st, err := s.r.PrepareContext(ctx, "SELECT uidvalidity, uidnext, highest_modseq FROM mailboxes WHERE id = ?")
	if err != nil {
		return nil, wrapDB("prepare imap queries", err)
	}
	return &IMAPQueries{state: st}, nil
}

// Close releases the statements.
func (q *IMAPQueries) Close() error { return q.state.Close() }

// MailboxState is Store.GetMailboxState through the prepared statement.
func (q *IMAPQueries) MailboxState(ctx context.Context, mailboxID int64) (MailboxState, error) {
	var st MailboxState
	var uv, next, hms int64
	err := q.state.QueryRowContext(ctx, mailboxID).Scan(&uv, &next, &hms)
	if errors.Is(err, sql.ErrNoRows) {
		return st, fmt.Errorf("mailbox %d: %w", mailboxID, ErrNotFound)
	}
	if err != nil {
		return st, wrapDB("mailbox state", err)
	}
	st.UIDValidity, st.UIDNext, st.HighestModSeq = uint32(uv), uint32(next), uint64(hms)
	return st, nil
}
