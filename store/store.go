package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Options configure a Store. The zero value is production-ready.
type Options struct {
	// Argon2 are the parameters for new password hashes. Zero = production defaults
	// (m=64 MiB, t=3, p=2). Tests pass cheap ones.
	Argon2 Argon2Params
	// BusyTimeout is how long a statement waits for another process's lock. Default 5s.
	BusyTimeout time.Duration
	// Logger receives the store's few log lines. Default: slog.Default().
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// HashConcurrency caps how many argon2id computations run at once, because each one
	// allocates Argon2.MemoryKiB; a burst of logins must not exhaust memory. Default 4.
	HashConcurrency int
	// ReadConns is the size of the read-only connection pool. Default max(4, GOMAXPROCS).
	ReadConns int
}

// Store is the SQLite state of one postern instance. It is safe for concurrent use.
type Store struct {
	w       *sql.DB // one connection, BEGIN IMMEDIATE
	r       *sql.DB // query_only pool
	version int
	log     *slog.Logger
	now     func() time.Time
	argon   Argon2Params
	hashSem chan struct{}
	dummy   string // PHC string verified against for unknown users
	auth    *authCache
	flights *verifyFlights
	hot     hotStatements

	// sieveGen counts changes to sieve scripts (any user's), bumped after each such
	// write commits, so a delivery-time cache of compiled scripts knows when to look again.
	sieveGen atomic.Uint64
	// relaxedCommits counts commits made without waiting for the disk.
	relaxedCommits atomic.Int64
	// wRelaxed says the writer connection was last left at synchronous=NORMAL. Only
	// read and written while holding that connection (the writer pool has one), so it
	// needs no lock; a replaced connection starts at FULL, which only costs a PRAGMA.
	wRelaxed bool
}

// SieveGeneration is a number that changes after every committed change to any sieve
// script (stored, replaced, activated, renamed, deleted, or gone with its user). Read it
// before reading a script: an answer cached under it is current while it stays the same.
func (s *Store) SieveGeneration() uint64 { return s.sieveGen.Load() }

// Open opens (creating if needed) the database at path, switches it to WAL and applies
// pending migrations. The directory must exist. A database with a newer schema than this
// code knows is refused with an error wrapping ErrNewerSchema.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	opts = opts.withDefaults()
	// Create the file ourselves so it is 0600 from the first byte: it holds password
	// hashes. SQLite gives the -wal and -shm files the database file's mode.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	f.Close()

	w, err := sql.Open("sqlite", dsn(path, opts.BusyTimeout, true))
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{
		w:       w,
		log:     opts.Logger,
		now:     opts.Now,
		argon:   opts.Argon2,
		hashSem: make(chan struct{}, opts.HashConcurrency),
		auth:    newAuthCache(),
		flights: &verifyFlights{m: map[[32]byte]*verifyCall{}},
	}
	s.dummy, err = dummyHash(opts.Argon2)
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: %w", err)
	}
	if err := s.checkWAL(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if s.version, err = migrate(ctx, w, s.log, MigrationBackupDir(path), s.now()); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}

	if err := s.hot.prepare(ctx, w); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}

	r, err := sql.Open("sqlite", dsn(path, opts.BusyTimeout, false))
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	r.SetMaxOpenConns(opts.ReadConns)
	r.SetMaxIdleConns(opts.ReadConns)
	r.SetConnMaxIdleTime(0)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return s, nil
}

func (o Options) withDefaults() Options {
	if o.Argon2 == (Argon2Params{}) {
		o.Argon2 = DefaultArgon2Params()
	}
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HashConcurrency <= 0 {
		o.HashConcurrency = 4
	}
	if o.ReadConns <= 0 {
		o.ReadConns = max(4, runtime.GOMAXPROCS(0))
	}
	return o
}

// dsn builds the modernc.org/sqlite connection string. Every connection gets WAL,
// synchronous=FULL (commit = fsync'd), foreign keys and the busy timeout; the writer
// begins its transactions IMMEDIATE and readers are query_only.
func dsn(path string, busy time.Duration, writer bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	if writer {
		q.Set("_txlock", "immediate")
	} else {
		q.Add("_pragma", "query_only(1)")
	}
	// SQLite decodes %XX in URI file names; escape the path so '?', '#' and '%' in a
	// directory name cannot be taken for the query.
	return "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + q.Encode()
}

func (s *Store) checkWAL(ctx context.Context) error {
	var mode string
	if err := s.w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal_mode: %w", err)
	}
	if mode != "wal" {
		return fmt.Errorf("journal_mode is %q, want wal (is the file on a filesystem without shared memory?)", mode)
	}
	return nil
}

// Close closes both connection pools. It does not wait for in-flight calls beyond what
// database/sql does.
func (s *Store) Close() error {
	var errs []error
	s.hot.close()
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// SchemaVersion is the schema version the database is at (after migrations).
func (s *Store) SchemaVersion() int { return s.version }

// writeTx runs fn in one BEGIN IMMEDIATE transaction on the writer connection and commits
// it (fsync'd). fn's error rolls back and is returned as is.
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	c, err := s.writer(ctx, false)
	if err != nil {
		return err
	}
	defer c.Close()
	return runTx(ctx, c, fn)
}

// writer takes the writer connection, set to relaxed (synchronous=NORMAL) or synced
// commits; the caller closes it.
func (s *Store) writer(ctx context.Context, relaxed bool) (*sql.Conn, error) {
	c, err := s.w.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: begin: %w", err)
	}
	if err := s.setRelaxed(ctx, c, relaxed); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// errNeedSync is returned by a writeTxRelaxed function that finds its commit must wait
// for the disk after all.
var errNeedSync = errors.New("store: this commit must be synced")

// writeTxRelaxed is writeTx with a commit that does not wait for the disk
// (synchronous=NORMAL): atomic, visible at once, surviving a crash of the process, but
// undone by a power loss before the next synced commit or checkpoint. SQLite allows the
// setting to change only between transactions, so fn is told whether its commit will be
// relaxed; if fn finds it needs a synced commit after all it returns errNeedSync, and
// the transaction is rolled back and run again with relaxed false (a synced commit).
// The connection stays relaxed until the next writeTx, which sets it back to FULL
// before it begins, so every other transaction stays synced.
func (s *Store) writeTxRelaxed(ctx context.Context, fn func(tx *sql.Tx, relaxed bool) error) error {
	c, err := s.writer(ctx, true)
	if err != nil {
		return err
	}
	defer c.Close()
	err = runTx(ctx, c, func(tx *sql.Tx) error { return fn(tx, true) })
	if err == nil {
		s.relaxedCommits.Add(1)
	}
	if !errors.Is(err, errNeedSync) {
		return err
	}
	if err := s.setRelaxed(ctx, c, false); err != nil {
		return err
	}
	return runTx(ctx, c, func(tx *sql.Tx) error { return fn(tx, false) })
}

// setRelaxed puts the writer connection c (held by the caller) at synchronous=NORMAL
// or FULL, unless it is there already. If the setting cannot be made FULL, the
// connection is dropped (database/sql opens a new one, FULL from the DSN) and the
// transaction is not run.
func (s *Store) setRelaxed(ctx context.Context, c *sql.Conn, relaxed bool) error {
	if s.wRelaxed == relaxed {
		return nil
	}
	q := "PRAGMA synchronous = FULL"
	if relaxed {
		q = "PRAGMA synchronous = NORMAL"
	}
	if _, err := c.ExecContext(context.WithoutCancel(ctx), q); err != nil {
		if !relaxed {
			_ = c.Raw(func(any) error { return driver.ErrBadConn })
			s.wRelaxed = false // the next connection starts from the DSN's FULL
		}
		return wrapDB("set commit durability", err)
	}
	s.wRelaxed = relaxed
	return nil
}

// runTx runs fn in a write transaction on c and commits it.
func runTx(ctx context.Context, c *sql.Conn, fn func(tx *sql.Tx) error) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// readTx runs fn in one read transaction, so several queries see one snapshot.
func (s *Store) readTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("store: begin read: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

func (s *Store) unix() int64 { return s.now().Unix() }

func fromUnix(sec int64) time.Time {
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
