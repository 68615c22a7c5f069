package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// querier is what *sql.DB and *sql.Tx share.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func exists(ctx context.Context, q querier, query string, args ...any) (bool, error) {
	var one int
	err := q.QueryRowContext(ctx, query, args...).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, wrapDB("lookup", err)
	}
	return true, nil
}

// wrapDB adds context to a database error and maps constraint violations to the sentinel
// errors, as a backstop to the explicit checks (which give better messages).
func wrapDB(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("store: %s: %w (%v)", op, ErrExists, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("store: %s: %w (%v)", op, ErrNotFound, err)
		}
	}
	return fmt.Errorf("store: %s: %w", op, err)
}

// maxInValues is the most values one "IN (...)" list binds: well under SQLite's limit on
// bound parameters, with room for the query's others.
const maxInValues = 500

// inParts calls fn for successive parts of vals, at most maxInValues each, with the
// part's parameter marks for an IN list ("?,?,?") and the part as arguments.
func inParts(vals []string, fn func(marks string, args []any) error) error {
	for len(vals) > 0 {
		part := vals[:min(len(vals), maxInValues)]
		vals = vals[len(part):]
		args := make([]any, len(part), len(part)+2)
		for i, v := range part {
			args[i] = v
		}
		if err := fn(strings.TrimSuffix(strings.Repeat("?,", len(part)), ","), args); err != nil {
			return err
		}
	}
	return nil
}
