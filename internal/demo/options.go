package demo

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/tiercache/tiercache/regions"
)

// ErrInvalidOptions is wrapped by every Options.Validate error.
var ErrInvalidOptions = errors.New("demo: invalid options")

// Defaults for zero Options fields.
const (
	DefaultRows          = 20_000
	DefaultZipfS         = 1.1
	DefaultWorkers       = 16
	DefaultWritePct      = 2
	DefaultSessionPct    = 2
	DefaultCrossPct      = 30
	DefaultTTL           = 30 * time.Second
	DefaultOriginLatency = 2 * time.Millisecond
	DefaultStickyWindow  = 5 * time.Second
	DefaultTrendEvery    = 10 * time.Second
	DefaultTrendFor      = 6 * time.Second
	DefaultTrendExpiry   = 2 * time.Second
	DefaultTrendPct      = 20
	DefaultThinkTime     = 200 * time.Microsecond
)

// Options shape a demo. The zero value runs the local-3 profile with the
// defaults above; a percentage of -1 means none.
type Options struct {
	// Profile is a builtin profile name or a profile file (default
	// regions.DefaultProfile).
	Profile string
	// Rows is the number of origin rows the workload reads (default 20000).
	Rows int
	// ZipfS is the Zipf exponent of key popularity, > 1 (default 1.1).
	ZipfS float64
	// Workers is the number of app goroutines per region (default 16).
	Workers int
	// WritePct is the percentage of operations that update a row: commit
	// to the origin, then Set or Invalidate through the cache (default 2).
	WritePct int
	// SessionPct is the percentage of operations that are a session's
	// write-then-read (read-your-writes check) (default 2).
	SessionPct int
	// CrossPct is the percentage of those reads made in another region
	// with the session's token (default 30).
	CrossPct int
	// TTL is the user keyspace's time to live (default 30 s).
	TTL time.Duration
	// OriginLatency is slept per origin read (default 2 ms).
	OriginLatency time.Duration
	// ReplicaLag makes the origin answer loads that do not ask for the
	// primary (tiercache.Hints.PreferPrimary, which sessions' loads inside
	// their window carry) from a replica this far behind (default none).
	ReplicaLag time.Duration
	// StickyWindow is the read-your-writes window (default 5 s).
	StickyWindow time.Duration
	// TrendEvery is how often a new key starts trending (default 10 s;
	// negative: never); the first one starts after at most 2 s. It trends for TrendFor (default 6 s), during
	// which TrendPct percent of every region's reads go to it (default
	// 20) and it expires every TrendExpiry (default 2 s).
	TrendEvery, TrendFor, TrendExpiry time.Duration
	TrendPct                          int
	// ThinkTime is each worker's pause between operations (default
	// 200 µs; negative: none), so a small machine keeps headroom.
	ThinkTime time.Duration
	// Dir is where the origin and the control plane keep their files; it
	// must be new or empty (default a new temporary folder, removed by
	// Close; a given Dir is left in place).
	Dir string
	// Seed makes the workload and the WAN reproducible (0: 1).
	Seed uint64
	// Logs receives the control plane's warnings (default discarded).
	Logs io.Writer
}

// Validate reports the first bad field, wrapping ErrInvalidOptions.
func (o Options) Validate() error {
	pct := func(name string, v int) error {
		if v < -1 || v > 100 {
			return fmt.Errorf("%w: %s %d (want 1..100, or -1 for none)", ErrInvalidOptions, name, v)
		}
		return nil
	}
	switch {
	case o.Rows < 0:
		return fmt.Errorf("%w: rows %d is negative", ErrInvalidOptions, o.Rows)
	case o.ZipfS != 0 && o.ZipfS <= 1:
		return fmt.Errorf("%w: zipf exponent %v (want > 1)", ErrInvalidOptions, o.ZipfS)
	case o.Workers < 0 || o.Workers > 1024:
		return fmt.Errorf("%w: workers %d (want 1..1024)", ErrInvalidOptions, o.Workers)
	case o.TTL < 0 || o.OriginLatency < 0 || o.ReplicaLag < 0 || o.StickyWindow < 0 || o.TrendFor < 0 || o.TrendExpiry < 0:
		return fmt.Errorf("%w: negative duration", ErrInvalidOptions)
	}
	for _, p := range []struct {
		name string
		v    int
	}{{"write percent", o.WritePct}, {"session percent", o.SessionPct}, {"cross-region percent", o.CrossPct}, {"trend percent", o.TrendPct}} {
		if err := pct(p.name, p.v); err != nil {
			return err
		}
	}
	if o.WritePct+o.SessionPct > 100 {
		return fmt.Errorf("%w: write and session percents add up to over 100", ErrInvalidOptions)
	}
	if o.Profile != "" {
		if _, err := loadProfile(o.Profile); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidOptions, err)
		}
	}
	return nil
}

func (o Options) withDefaults() Options {
	orDefault(&o.Profile, regions.DefaultProfile)
	orDefault(&o.Rows, DefaultRows)
	orDefault(&o.ZipfS, DefaultZipfS)
	orDefault(&o.Workers, DefaultWorkers)
	orDefault(&o.WritePct, DefaultWritePct)
	orDefault(&o.SessionPct, DefaultSessionPct)
	orDefault(&o.CrossPct, DefaultCrossPct)
	orDefault(&o.TrendPct, DefaultTrendPct)
	orDefault(&o.TTL, DefaultTTL)
	orDefault(&o.OriginLatency, DefaultOriginLatency)
	orDefault(&o.StickyWindow, DefaultStickyWindow)
	orDefault(&o.TrendEvery, DefaultTrendEvery)
	orDefault(&o.TrendFor, DefaultTrendFor)
	orDefault(&o.TrendExpiry, DefaultTrendExpiry)
	orDefault(&o.ThinkTime, DefaultThinkTime)
	orDefault(&o.Seed, 1)
	for _, p := range []*int{&o.WritePct, &o.SessionPct, &o.CrossPct, &o.TrendPct} {
		*p = max(*p, 0) // -1: none
	}
	return o
}

// orDefault sets *p to v when it is the zero value (the field was left
// unset).
func orDefault[T comparable](p *T, v T) {
	var zero T
	if *p == zero {
		*p = v
	}
}

// loadProfile reads a builtin profile by name, else a profile file.
func loadProfile(name string) (*regions.Profile, error) {
	if p, err := regions.Builtin(name); err == nil {
		return p, nil
	}
	return regions.Load(name)
}
