package store

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Snapshot writes a consistent copy of the whole database to path (which must not
// exist) with VACUUM INTO on the writer connection: the copy holds exactly the
// transactions committed before it began, and writers queue behind it for its duration
// (milliseconds for an index of tens of thousands of messages) instead of interleaving.
// The copy is fsynced and created mode 0600 (it holds password hashes).
func (s *Store) Snapshot(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%w: snapshot %s exists", ErrExists, path)
	}
	if err := vacuumInto(ctx, s.w, path); err != nil {
		return err
	}
	return syncFile(path)
}

func vacuumInto(ctx context.Context, db *sql.DB, path string) error {
	// Create it empty first so its mode is ours; VACUUM INTO accepts an empty file.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	f.Close()
	if _, err := db.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		os.Remove(path)
		return fmt.Errorf("store: snapshot: %w", err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return fmt.Errorf("store: snapshot: %w", err)
	}
	defer d.Close()
	return d.Sync()
}

// MigrationBackupDir is where Open keeps the copy of the database it takes before
// applying schema migrations: STATE_DIR/backups next to postern.db.
func MigrationBackupDir(dbPath string) string {
	return filepath.Join(filepath.Dir(dbPath), "backups")
}

// migrationBackupName is postern.db.schema-N.UNIXTIME: the version the copy is at.
func migrationBackupName(version int, t time.Time) string {
	return "postern.db.schema-" + strconv.Itoa(version) + "." + strconv.FormatInt(t.Unix(), 10)
}

// newestBackupAtMost names the newest migration backup whose schema is at most version,
// "" if there is none.
func newestBackupAtMost(dir string, version int) string {
	des, _ := os.ReadDir(dir)
	type cand struct {
		name string
		v    int
		t    int64
	}
	var cs []cand
	for _, de := range des {
		rest, ok := strings.CutPrefix(de.Name(), "postern.db.schema-")
		if !ok {
			continue
		}
		vs, ts, _ := strings.Cut(rest, ".")
		v, err1 := strconv.Atoi(vs)
		t, err2 := strconv.ParseInt(ts, 10, 64)
		if err1 == nil && err2 == nil && v <= version {
			cs = append(cs, cand{de.Name(), v, t})
		}
	}
	if len(cs) == 0 {
		return ""
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].v > cs[j].v || cs[i].v == cs[j].v && cs[i].t > cs[j].t })
	return filepath.Join(dir, cs[0].name)
}

// MailboxCounter is how far a mailbox's UIDs and MODSEQs have been handed out.
type MailboxCounter struct {
	User    string `json:"user"`
	Mailbox string `json:"mailbox"`
	UIDNext uint32 `json:"uidnext"`
	ModSeq  uint64 `json:"modseq"`
}

// MailboxCounters returns every mailbox's UIDNEXT and HIGHESTMODSEQ as this process
// sees them: no client has seen a UID or MODSEQ beyond.
func (s *Store) MailboxCounters(ctx context.Context) ([]MailboxCounter, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT user, name, uidnext, highest_modseq FROM mailboxes ORDER BY user, name`)
	if err != nil {
		return nil, wrapDB("mailbox counters", err)
	}
	defer rows.Close()
	var out []MailboxCounter
	for rows.Next() {
		var c MailboxCounter
		if err := rows.Scan(&c.User, &c.Mailbox, &c.UIDNext, &c.ModSeq); err != nil {
			return nil, wrapDB("mailbox counters", err)
		}
		out = append(out, c)
	}
	return out, wrapDB("mailbox counters", rows.Err())
}

// RaiseCounters raises UIDNEXT and HIGHESTMODSEQ of the named mailboxes to at least
// the given values (never lowers them), so that after restoring an older copy no UID or
// MODSEQ handed out since is handed out again for other mail. Mailboxes that do not
// exist are skipped. It returns how many mailboxes moved.
func (s *Store) RaiseCounters(ctx context.Context, cs []MailboxCounter) (int, error) {
	n := 0
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		n = 0
		for _, c := range cs {
			r, err := tx.ExecContext(ctx, `UPDATE mailboxes SET uidnext = max(uidnext, ?), highest_modseq = max(highest_modseq, ?)
				WHERE user = ? AND name = ? AND (uidnext < ? OR highest_modseq < ?)`, c.UIDNext, c.ModSeq, c.User, c.Mailbox, c.UIDNext, c.ModSeq)
			if err != nil {
				return wrapDB("raise counters", err)
			}
			k, _ := r.RowsAffected()
			n += int(k)
		}
		return nil
	})
	return n, err
}
