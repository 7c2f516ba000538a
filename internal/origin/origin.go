// Package origin is the demo's database: SQLite through the pure-Go
// modernc.org/sqlite driver, in a folder of its own, seeded with rows and
// slowed by a configurable latency per query, so the load a cache saves is
// real and countable. It is what an application's Loader reads on a miss
// (DB.Load is a tiercache.Loader) and what its writes commit to before the
// cache is told (DB.Write).
//
// Every row carries a version that its writes increment; values read from
// the origin start with the key and that version (VersionOf reads it back),
// so a reader can tell how old the value it was served is. The origin also
// remembers each row's committed version in memory (Committed): the oracle
// the demo judges stale reads by, outside the counted queries.
//
// To model a database with a lagging read replica, Config.ReplicaLag makes
// a load that does not ask for the primary (tiercache.Hints.PreferPrimary)
// see the row as it was before any write younger than the lag.
package origin

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/tiercache/tiercache"
)

// Errors, checked with errors.Is.
var (
	// ErrInvalidConfig is wrapped by every Config.Validate error.
	ErrInvalidConfig = errors.New("origin: invalid config")
	// ErrNotFound means the key names no row.
	ErrNotFound = errors.New("origin: no such row")
	// ErrBadKey means a key is empty or too long to be a row.
	ErrBadKey = errors.New("origin: bad key")
	// ErrClosed means the database has been closed.
	ErrClosed = errors.New("origin: closed")
)

// MaxKeyBytes bounds a row key.
const MaxKeyBytes = 256

// Defaults for zero Config fields.
const (
	DefaultPayloadBytes = 64
	DefaultMaxConns     = 8
)

// Config shapes a DB. The zero value is an empty database in a new
// temporary folder with no added latency.
type Config struct {
	// Dir holds the database file (default: a new temporary folder, which
	// Close removes; a given Dir is left in place).
	Dir string
	// Keyspace prefixes the seeded rows' keys: "<Keyspace>:<n>" (default
	// "row").
	Keyspace string
	// Rows is how many rows are seeded, numbered 0..Rows-1 (default 0).
	Rows int
	// PayloadBytes is the size of each seeded row's payload (default 64).
	PayloadBytes int
	// ReadLatency is slept before every read query, as a remote database's
	// round trip and query time would cost (default none).
	ReadLatency time.Duration
	// WriteLatency is slept before every write (default none).
	WriteLatency time.Duration
	// ReplicaLag, when set, makes loads that do not prefer the primary see
	// a row's previous value while its last write is younger than this.
	ReplicaLag time.Duration
	// MaxConns caps open database connections (default 8).
	MaxConns int
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	switch {
	case c.Rows < 0:
		return fmt.Errorf("%w: rows %d is negative", ErrInvalidConfig, c.Rows)
	case c.PayloadBytes < 0 || c.PayloadBytes > 1<<20:
		return fmt.Errorf("%w: payload bytes %d (want 0..1MiB)", ErrInvalidConfig, c.PayloadBytes)
	case c.ReadLatency < 0 || c.WriteLatency < 0 || c.ReplicaLag < 0:
		return fmt.Errorf("%w: negative latency or lag", ErrInvalidConfig)
	case c.MaxConns < 0:
		return fmt.Errorf("%w: max conns %d is negative", ErrInvalidConfig, c.MaxConns)
	case len(c.Keyspace) > 64:
		return fmt.Errorf("%w: keyspace %q is too long", ErrInvalidConfig, c.Keyspace)
	}
	return nil
}

// Stats are the queries the database has served since Open.
type Stats struct {
	Reads        uint64 // read queries (loads)
	PrimaryReads uint64 // of those, loads that asked for the primary
	ReplicaStale uint64 // of those, loads the lagging replica answered with an older row
	NotFound     uint64 // of those, loads of keys with no row
	Writes       uint64 // committed writes
}

// DB is a running origin database. It is safe for concurrent use.
type DB struct {
	cfg     Config
	dir     string
	ownsDir bool
	db      *sql.DB

	reads, primaryReads, replicaStale, notFound, writes atomic.Uint64

	// committed holds each written or seeded row's version: the oracle
	// for stale reads, kept beside the database so judging costs no query.
	mu        sync.RWMutex // protects committed
	committed map[string]Commit

	closeOnce sync.Once
	closed    chan struct{}
}

// Open creates the database, seeds it and returns it ready.
func Open(cfg Config) (*DB, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Keyspace == "" {
		cfg.Keyspace = "row"
	}
	if cfg.PayloadBytes == 0 {
		cfg.PayloadBytes = DefaultPayloadBytes
	}
	if cfg.MaxConns == 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	d := &DB{cfg: cfg, dir: cfg.Dir, committed: make(map[string]Commit, cfg.Rows), closed: make(chan struct{})}
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "tiercache-origin-")
		if err != nil {
			return nil, fmt.Errorf("origin: temp folder: %w", err)
		}
		d.dir, d.ownsDir = dir, true
	} else if err := os.MkdirAll(d.dir, 0o700); err != nil {
		return nil, fmt.Errorf("origin: folder: %w", err)
	}
	path := filepath.Join(d.dir, "origin.db")
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		d.removeDir()
		return nil, fmt.Errorf("origin: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(cfg.MaxConns)
	db.SetMaxIdleConns(cfg.MaxConns)
	d.db = db
	if err := d.create(); err != nil {
		_ = d.Close()
		return nil, err
	}
	return d, nil
}

const schema = `CREATE TABLE IF NOT EXISTS rows (
	key        TEXT PRIMARY KEY,
	version    INTEGER NOT NULL,
	payload    BLOB NOT NULL,
	updated_ms INTEGER NOT NULL,
	prev_version INTEGER NOT NULL DEFAULT 0,
	prev_payload BLOB
) WITHOUT ROWID`

// create makes the table and seeds Rows rows at version 1, in one
// transaction (one fsync, not one per row).
func (d *DB) create() error {
	ctx := context.Background()
	if _, err := d.db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("origin: create table: %w", err)
	}
	if d.cfg.Rows == 0 {
		return nil
	}
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("origin: seed: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	st, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO rows (key, version, payload, updated_ms) VALUES (?, 1, ?, 0)`)
	if err != nil {
		return fmt.Errorf("origin: seed: %w", err)
	}
	defer st.Close()
	payload := make([]byte, d.cfg.PayloadBytes)
	for i := range payload {
		payload[i] = 'a' + byte(i%26)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := range d.cfg.Rows {
		key := d.Key(i)
		if _, err := st.ExecContext(ctx, key, payload); err != nil {
			return fmt.Errorf("origin: seed row %d: %w", i, err)
		}
		d.committed[key] = Commit{Version: 1}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("origin: seed commit: %w", err)
	}
	return nil
}

// Key returns the key of seeded row i.
func (d *DB) Key(i int) string { return d.cfg.Keyspace + ":" + strconv.Itoa(i) }

// Rows returns the number of seeded rows.
func (d *DB) Rows() int { return d.cfg.Rows }

// Dir returns the folder that holds the database file.
func (d *DB) Dir() string { return d.dir }

// Stats returns the query counters.
func (d *DB) Stats() Stats {
	return Stats{
		Reads: d.reads.Load(), PrimaryReads: d.primaryReads.Load(), ReplicaStale: d.replicaStale.Load(),
		NotFound: d.notFound.Load(), Writes: d.writes.Load(),
	}
}

// Commit is what the origin remembers of a row's latest writes.
type Commit struct {
	Version uint64    // the latest committed version (0: no row)
	At      time.Time // when it was committed (zero for seeded rows)
	PrevAt  time.Time // when the version before it was committed (zero if seeded or none)
}

// Committed returns the latest committed version of key (0: no row). It
// reads the origin's memory, not the database, and counts no query.
func (d *DB) Committed(key string) uint64 { return d.CommitOf(key).Version }

// CommitOf returns what the origin remembers of key's latest writes. It
// counts no query.
func (d *DB) CommitOf(key string) Commit {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.committed[key]
}

// StaleFor reports how long a value of key at version got had already
// been superseded at time now, judged by c (taken when the read began):
// 0 if got is the latest version as of c. Only the last two commits are
// remembered, so a value older than both is judged by the older one.
func (c Commit) StaleFor(got uint64, now time.Time) time.Duration {
	switch {
	case got >= c.Version:
		return 0
	case got+1 < c.Version && !c.PrevAt.IsZero():
		return now.Sub(c.PrevAt)
	}
	return now.Sub(c.At)
}

// Close closes the database and removes the folder Open created.
func (d *DB) Close() error {
	var err error
	d.closeOnce.Do(func() {
		close(d.closed)
		if d.db != nil {
			err = d.db.Close()
		}
		d.removeDir()
	})
	return err
}

func (d *DB) removeDir() {
	if d.ownsDir {
		_ = os.RemoveAll(d.dir)
	}
}

// sleep waits for a modelled latency, or until ctx ends or the database
// closes.
func (d *DB) sleep(ctx context.Context, lat time.Duration) error {
	if lat <= 0 {
		return nil
	}
	t := time.NewTimer(lat)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-d.closed:
		return ErrClosed
	}
}

func checkKey(key string) error {
	if key == "" || len(key) > MaxKeyBytes {
		return fmt.Errorf("%w: %d bytes (want 1..%d)", ErrBadKey, len(key), MaxKeyBytes)
	}
	return nil
}

var _ tiercache.Loader = (*DB)(nil)
