package store

import (
	"context"
	"database/sql"
	"time"
)

// TraceChunk is one stored batch of trace events (package trace decides what is in it).
type TraceChunk struct {
	Seq             int64 // assigned by AppendTrace; arrival order
	FirstAt, LastAt time.Time
	Events          []byte   // JSON lines
	Size            int64    // what it counts against [trace] max_size
	Keys            []string // the keys its events carry (migration 0009); written, not read back
}

// AppendTrace stores one chunk and its keys in a transaction whose commit does not
// wait for the disk (a trace is a diagnosis, not mail: a power loss may lose the last
// few chunks).
func (s *Store) AppendTrace(ctx context.Context, c TraceChunk) error {
	return s.writeTxRelaxed(ctx, func(tx *sql.Tx, _ bool) error {
		res, err := tx.ExecContext(ctx, "INSERT INTO trace_chunks (first_at, last_at, events, size) VALUES (?, ?, ?, ?)",
			c.FirstAt.UnixNano(), c.LastAt.UnixNano(), c.Events, c.Size)
		if err != nil {
			return wrapDB("trace", err)
		}
		seq, err := res.LastInsertId()
		if err != nil {
			return wrapDB("trace", err)
		}
		if len(c.Keys) == 0 {
			return nil
		}
		st, err := tx.PrepareContext(ctx, "INSERT OR IGNORE INTO trace_keys (key, seq) VALUES (?, ?)")
		if err != nil {
			return wrapDB("trace", err)
		}
		defer st.Close()
		for _, k := range c.Keys {
			if _, err := st.ExecContext(ctx, k, seq); err != nil {
				return wrapDB("trace", err)
			}
		}
		return nil
	})
}

// TraceSize is the sum of the stored chunks' sizes.
func (s *Store) TraceSize(ctx context.Context) (int64, error) {
	var n int64
	err := s.r.QueryRowContext(ctx, "SELECT coalesce(sum(size), 0) FROM trace_chunks").Scan(&n)
	return n, wrapDB("trace size", err)
}

// PruneTrace deletes the chunks whose events are all older than before (none when
// before is zero), then the oldest chunks until at least excess more bytes are gone,
// with their keys, and returns the size it freed. Chunks go as a prefix of seq.
func (s *Store) PruneTrace(ctx context.Context, before time.Time, excess int64) (int64, error) {
	var freed int64
	err := s.writeTxRelaxed(ctx, func(tx *sql.Tx, _ bool) error {
		freed = 0
		rows, err := tx.QueryContext(ctx, "SELECT seq, last_at, size FROM trace_chunks ORDER BY seq")
		if err != nil {
			return wrapDB("trace prune", err)
		}
		var upTo int64
		for rows.Next() {
			var seq, last, size int64
			if err := rows.Scan(&seq, &last, &size); err != nil {
				rows.Close()
				return wrapDB("trace prune", err)
			}
			if freed >= excess && (before.IsZero() || last >= before.UnixNano()) {
				break
			}
			upTo, freed = seq, freed+size
		}
		rows.Close()
		if err := rows.Err(); err != nil || upTo == 0 {
			return wrapDB("trace prune", err)
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM trace_keys WHERE seq <= ?", upTo); err != nil {
			return wrapDB("trace prune", err)
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM trace_chunks WHERE seq <= ?", upTo)
		return wrapDB("trace prune", err)
	})
	return freed, err
}

// DeleteTraceWith deletes the chunks whose events carry key, with their keys (an
// import of day files interrupted part-way is done again from the start this way).
func (s *Store) DeleteTraceWith(ctx context.Context, key string) error {
	return s.writeTxRelaxed(ctx, func(tx *sql.Tx, _ bool) error {
		const seqs = "SELECT seq FROM trace_keys WHERE key = ?"
		if _, err := tx.ExecContext(ctx, "DELETE FROM trace_chunks WHERE seq IN ("+seqs+")", key); err != nil {
			return wrapDB("trace delete", err)
		}
		_, err := tx.ExecContext(ctx, "DELETE FROM trace_keys WHERE seq IN ("+seqs+")", key)
		return wrapDB("trace delete", err)
	})
}

// TraceChunksWith returns the seqs of the chunks whose events carry any of keys,
// oldest first, at most limit.
func (s *Store) TraceChunksWith(ctx context.Context, keys []string, limit int) ([]int64, error) {
	var out []int64
	err := inParts(keys, func(marks string, args []any) error {
		if len(out) >= limit {
			return nil
		}
		seqs, err := s.traceSeqs(ctx, "SELECT DISTINCT seq FROM trace_keys WHERE key IN ("+marks+") ORDER BY seq LIMIT ?",
			append(args, limit-len(out))...)
		out = append(out, seqs...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// TraceChunksBetween returns the seqs of the chunks with events in since..until (zero:
// open), oldest first, at most limit.
func (s *Store) TraceChunksBetween(ctx context.Context, since, until time.Time, limit int) ([]int64, error) {
	hi := int64(1<<63 - 1)
	if !until.IsZero() {
		hi = until.UnixNano()
	}
	return s.traceSeqs(ctx, "SELECT seq FROM trace_chunks WHERE last_at >= ? AND first_at <= ? ORDER BY seq LIMIT ?",
		since.UnixNano(), hi, limit)
}

// RecentTraceChunks returns the seqs of the newest chunks with events since since,
// newest first, at most limit.
func (s *Store) RecentTraceChunks(ctx context.Context, since time.Time, limit int) ([]int64, error) {
	return s.traceSeqs(ctx, "SELECT seq FROM trace_chunks WHERE last_at >= ? ORDER BY seq DESC LIMIT ?", since.UnixNano(), limit)
}

// TraceEvents returns the events (JSON lines) of the chunk seq; nil when it is gone.
func (s *Store) TraceEvents(ctx context.Context, seq int64) ([]byte, error) {
	var b []byte
	err := s.r.QueryRowContext(ctx, "SELECT events FROM trace_chunks WHERE seq = ?", seq).Scan(&b)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return b, wrapDB("trace", err)
}

func (s *Store) traceSeqs(ctx context.Context, q string, args ...any) ([]int64, error) {
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, wrapDB("trace", err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, wrapDB("trace", err)
		}
		out = append(out, seq)
	}
	return out, wrapDB("trace", rows.Err())
}
