package origin

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/tiercache/tiercache"
)

// A value as the origin hands it out: "v<version>|<key>|<payload>". The
// version up front lets any reader of a cached copy tell its age.

// Encode returns the value of key at version with payload.
func Encode(key string, version uint64, payload []byte) []byte {
	b := make([]byte, 0, 2+20+len(key)+1+len(payload))
	b = append(b, 'v')
	b = strconv.AppendUint(b, version, 10)
	b = append(b, '|')
	b = append(b, key...)
	b = append(b, '|')
	return append(b, payload...)
}

// VersionOf returns the row version a value from Load carries; ok is
// false for a value the origin did not produce.
func VersionOf(value []byte) (version uint64, ok bool) {
	if len(value) < 3 || value[0] != 'v' {
		return 0, false
	}
	end := bytes.IndexByte(value, '|')
	if end < 2 {
		return 0, false
	}
	v, err := strconv.ParseUint(string(value[1:end]), 10, 64)
	return v, err == nil
}

// Load reads key's row (a tiercache.Loader). It sleeps ReadLatency first.
// With a ReplicaLag, a load without Hints.PreferPrimary may return the
// row's previous version while its last write is younger than the lag,
// as a lagging read replica would; a load with it reads the primary.
func (d *DB) Load(ctx context.Context, key string) ([]byte, error) {
	return d.LoadHinted(ctx, key, tiercache.HintsFrom(ctx))
}

// LoadHinted is Load with the hints given rather than taken from ctx.
func (d *DB) LoadHinted(ctx context.Context, key string, h tiercache.Hints) ([]byte, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := d.sleep(ctx, d.cfg.ReadLatency); err != nil {
		return nil, err
	}
	primary := h.PreferPrimary
	d.reads.Add(1)
	if primary {
		d.primaryReads.Add(1)
	}
	var (
		version, updated, prevVersion int64
		payload, prevPayload          []byte
	)
	err := d.db.QueryRowContext(ctx,
		`SELECT version, payload, updated_ms, prev_version, prev_payload FROM rows WHERE key = ?`, key,
	).Scan(&version, &payload, &updated, &prevVersion, &prevPayload)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		d.notFound.Add(1)
		return nil, fmt.Errorf("%w: %q", ErrNotFound, key)
	case err != nil:
		return nil, d.wrap("load", key, err)
	}
	if lag := d.cfg.ReplicaLag; lag > 0 && !primary && prevVersion > 0 && time.Now().UnixMilli()-updated < lag.Milliseconds() {
		d.replicaStale.Add(1)
		version, payload = prevVersion, prevPayload
	}
	return Encode(key, uint64(version), payload), nil
}

// Write commits payload as key's new row version (creating the row at
// version 1 if there is none) and returns that version. It sleeps
// WriteLatency first. Only after it returns may the cache be told.
func (d *DB) Write(ctx context.Context, key string, payload []byte) (uint64, error) {
	if err := checkKey(key); err != nil {
		return 0, err
	}
	if err := d.sleep(ctx, d.cfg.WriteLatency); err != nil {
		return 0, err
	}
	var version int64
	err := d.db.QueryRowContext(ctx, `INSERT INTO rows (key, version, payload, updated_ms) VALUES (?, 1, ?, ?)
		ON CONFLICT(key) DO UPDATE SET prev_version = version, prev_payload = payload,
			version = version + 1, payload = excluded.payload, updated_ms = excluded.updated_ms
		RETURNING version`, key, payload, time.Now().UnixMilli()).Scan(&version)
	if err != nil {
		return 0, d.wrap("write", key, err)
	}
	d.writes.Add(1)
	now := time.Now()
	d.mu.Lock()
	if c := d.committed[key]; uint64(version) > c.Version {
		d.committed[key] = Commit{Version: uint64(version), At: now, PrevAt: c.At}
	}
	d.mu.Unlock()
	return uint64(version), nil
}

// wrap names the operation and key, and reports ErrClosed once closed.
func (d *DB) wrap(op, key string, err error) error {
	select {
	case <-d.closed:
		return fmt.Errorf("origin: %s %q: %w", op, key, ErrClosed)
	default:
	}
	return fmt.Errorf("origin: %s %q: %w", op, key, err)
}
