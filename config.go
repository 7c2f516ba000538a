package tiercache

import (
	"fmt"
	"net"
	"time"

	"go.opentelemetry.io/otel/trace"

	"github.com/tiercache/tiercache/internal/breaker"
	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/telemetry/tracing"
	"github.com/tiercache/tiercache/l1"
)

// Defaults used where a Config field is zero.
const (
	DefaultDialTimeout     = time.Second
	DefaultOpTimeout       = 500 * time.Millisecond
	DefaultLoadTimeout     = 10 * time.Second
	DefaultMaxLeaseWait    = 2 * time.Second
	DefaultPoolSize        = 16
	DefaultDegradedLoads   = 8
	DefaultMaxRefreshes    = 32
	DefaultPrewarmInterval = time.Second
	DefaultTrackPing       = time.Second
	DefaultBusyRetries     = 2
)

// Node is one L2 node of the region.
type Node struct {
	ID     string
	Addr   string // host:port
	Weight int    // relative share of the keys (0 means 1)
}

// Topology is the region's membership at one epoch. The control plane
// hands new ones to Client.SetTopology; the epoch travels in every routed
// command so a node can redirect a sender whose view is old.
type Topology struct {
	Epoch uint64
	Nodes []Node
}

// Defences switch off, per keyspace, the stampede defences that
// keyspace.Settings does not carry (TTL jitter, soft/hard TTL and early
// refresh are keyspace settings). The zero value has every defence on.
type Defences struct {
	// NoSingleflight lets every goroutine of the process miss, wait and
	// load on its own.
	NoSingleflight bool
	// NoLeases asks nodes for plain misses and fills without a token:
	// last writer wins, and a load that read the database before a
	// commit can overwrite the invalidation that followed it. For
	// comparison and tests only.
	NoLeases bool
	// NoPrewarm stops refreshing hot keys before they expire.
	NoPrewarm bool
}

// Config configures a Client. The zero value is not usable (it names no
// node); every other field's zero value means its documented default.
type Config struct {
	// Nodes are the region's L2 nodes (Topology epoch 0). Client.SetTopology
	// replaces them.
	Nodes []Node
	// Keyspaces holds per-keyspace settings (default: keyspace defaults
	// for every key).
	Keyspaces *keyspace.Table
	// Defences switches stampede defences off per keyspace name; the
	// entry "" applies to keyspaces without their own (default: all on).
	Defences map[string]Defences
	// Password is sent with AUTH on every connection (default none).
	Password string

	// DialTimeout bounds connecting to a node (default 1 s).
	DialTimeout time.Duration
	// OpTimeout bounds each call to a node when the caller's context
	// allows longer (default 500 ms).
	OpTimeout time.Duration
	// LoadTimeout bounds background loads, which have no caller's
	// deadline (default 10 s).
	LoadTimeout time.Duration
	// MaxLeaseWait is how long a miss waits for another client's fill
	// before loading on its own without filling (default 2 s).
	MaxLeaseWait time.Duration
	// PoolSize is the most connections to one node (default 16).
	PoolSize int
	// BusyRetries is how often a BUSY reply is retried after a jittered
	// backoff before the call fails with ErrBusy (default 2; negative:
	// never).
	BusyRetries int

	// L1MaxBytes is the in-process cache's budget (default l1's 32 MiB,
	// at least l1.BudgetUnit; negative turns L1 off).
	L1MaxBytes int
	// TrackPing is how often the invalidation subscription is pinged; a
	// subscription silent for three of them is presumed dead and the
	// node's keys leave L1 (default 1 s).
	TrackPing time.Duration

	// Breaker tunes the per-node circuit breaker.
	Breaker BreakerConfig
	// DegradedLoads caps the concurrent origin loads of keys whose node
	// is unavailable; beyond it such reads fail fast (default 8).
	DegradedLoads int
	// Degraded says where reads of a key whose node is unavailable go:
	// GutterNodes first (DegradedGutter, the default; gutter.go says
	// why) or straight to the capped loader (DegradedLoader).
	Degraded DegradedMode
	// GutterNodes are L2 nodes outside the ring that hold, for GutterTTL,
	// the keys of ring nodes that are down; each is a plain node with no
	// peers (default none: no gutter, reads go to the capped loader).
	GutterNodes []Node
	// GutterTTL is a gutter entry's lifetime, capped by the keyspace's
	// (default 10 s).
	GutterTTL time.Duration
	// MaxRefreshes caps concurrent background refreshes; beyond it a
	// refresh is skipped (default 32).
	MaxRefreshes int
	// PrewarmInterval is how often hot keys near expiry are refreshed
	// (default 1 s; negative turns pre-warming off).
	PrewarmInterval time.Duration

	// Region names this client's region, which a Session records with
	// its writes so a lagging read elsewhere knows where to go (default
	// none: sessions are not sticky).
	Region string
	// StickyKeys sign and verify session tokens (sticky.Config.Keys: the
	// first signs, all verify; each at least sticky.MinKeyBytes). None:
	// Session.Token returns "" and RestoreSession gives fresh sessions.
	StickyKeys [][]byte

	// Clock is where TTL decisions read the time (default the wall
	// clock). Network deadlines always use the wall clock.
	Clock clock.Clock

	// TracerProvider, if set, traces every read that leaves L1: a span
	// for the Get, one per TC.GET (whose context travels to the node in
	// TC.GET's TRACE argument, so the node's, the global tier's and the
	// remote region's spans join the same trace) and one per Loader
	// call. An L1 hit records nothing: it is cheaper than a span. Nil
	// (the default) turns tracing off at no cost.
	TracerProvider trace.TracerProvider

	tracer *tracing.Tracer // from TracerProvider, set by withDefaults
}

// BreakerConfig tunes the circuit breaker each client keeps per node. The
// zero value means the documented defaults.
type BreakerConfig struct {
	// Failures is the number of consecutive failed calls (connection
	// errors, timeouts; not BUSY, which a live node sends) that opens
	// the breaker (default 5).
	Failures int
	// Cooldown is how long an open breaker fails fast before letting one
	// probe through (default 500 ms, jittered ±20%).
	Cooldown time.Duration
	// MaxCooldown caps the cooldown, which doubles after each failed
	// probe (default 10 s).
	MaxCooldown time.Duration
}

func (b BreakerConfig) internal(clk clock.Clock) breaker.Config {
	return breaker.Config{Failures: b.Failures, Cooldown: b.Cooldown, MaxCooldown: b.MaxCooldown, Clock: clk}
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (c Config) Validate() error {
	if len(c.Nodes) == 0 {
		return fmt.Errorf("%w: no nodes", ErrInvalidConfig)
	}
	if err := validateNodes(c.Nodes); err != nil {
		return err
	}
	if c.Keyspaces != nil {
		if err := c.Keyspaces.Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"dial_timeout", int64(c.DialTimeout)}, {"op_timeout", int64(c.OpTimeout)},
		{"load_timeout", int64(c.LoadTimeout)}, {"max_lease_wait", int64(c.MaxLeaseWait)},
		{"pool_size", int64(c.PoolSize)}, {"degraded_loads", int64(c.DegradedLoads)},
		{"max_refreshes", int64(c.MaxRefreshes)}, {"track_ping", int64(c.TrackPing)},
		{"gutter_ttl", int64(c.GutterTTL)},
	} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s is negative (%d)", ErrInvalidConfig, f.name, f.v)
		}
	}
	if err := c.validateSticky(); err != nil {
		return err
	}
	if err := c.validateGutter(); err != nil {
		return err
	}
	if c.L1MaxBytes > 0 {
		if err := (l1.Config{MaxBytes: c.L1MaxBytes}).Validate(); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
		}
	}
	if err := c.Breaker.internal(nil).Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

func validateNodes(nodes []Node) error {
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		switch {
		case n.ID == "":
			return fmt.Errorf("%w: node with empty id (addr %q)", ErrInvalidConfig, n.Addr)
		case seen[n.ID]:
			return fmt.Errorf("%w: duplicate node id %q", ErrInvalidConfig, n.ID)
		case n.Weight < 0:
			return fmt.Errorf("%w: node %q has negative weight", ErrInvalidConfig, n.ID)
		}
		if _, _, err := net.SplitHostPort(n.Addr); err != nil {
			return fmt.Errorf("%w: node %q addr %q: %w", ErrInvalidConfig, n.ID, n.Addr, err)
		}
		seen[n.ID] = true
	}
	return nil
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.DialTimeout, DefaultDialTimeout)
	def(&c.OpTimeout, DefaultOpTimeout)
	def(&c.LoadTimeout, DefaultLoadTimeout)
	def(&c.MaxLeaseWait, DefaultMaxLeaseWait)
	def(&c.PrewarmInterval, DefaultPrewarmInterval)
	def(&c.TrackPing, DefaultTrackPing)
	if c.PoolSize == 0 {
		c.PoolSize = DefaultPoolSize
	}
	if c.DegradedLoads == 0 {
		c.DegradedLoads = DefaultDegradedLoads
	}
	if c.MaxRefreshes == 0 {
		c.MaxRefreshes = DefaultMaxRefreshes
	}
	def(&c.GutterTTL, DefaultGutterTTL)
	switch {
	case c.BusyRetries == 0:
		c.BusyRetries = DefaultBusyRetries
	case c.BusyRetries < 0:
		c.BusyRetries = 0
	}
	if c.Keyspaces == nil {
		c.Keyspaces = &keyspace.Table{}
	}
	c.Clock = clock.Or(c.Clock)
	c.tracer = tracing.New(c.TracerProvider)
	return c
}

// defencesFor returns the defences of key's keyspace.
func (c *Client) defencesFor(key []byte) Defences {
	if len(c.cfg.Defences) == 0 {
		return Defences{}
	}
	if d, ok := c.cfg.Defences[string(keyspace.Of(key))]; ok {
		return d
	}
	return c.cfg.Defences[""]
}
