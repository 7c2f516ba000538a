package l2

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/hlc"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2/store"
)

// Defaults used where a Config or Limits field is zero.
const (
	DefaultListen         = "127.0.0.1:0"
	DefaultID             = "n1"
	DefaultMaxInFlight    = 100_000
	DefaultPeerConns      = 4
	DefaultForwardTimeout = 2 * time.Second
	DefaultDialTimeout    = time.Second
	DefaultPeerBackoff    = 250 * time.Millisecond

	DefaultMaxKeyBytes    = 1 << 10
	DefaultMaxValueBytes  = keyspace.DefaultMaxValueBytes
	MaxValueBytesLimit    = keyspace.MaxValueBytesLimit
	DefaultMaxArgs        = 1 << 20
	DefaultMaxInlineBytes = 64 << 10
	DefaultMaxClients     = 10_000
	// minQueryBuffer is the floor of the default query buffer limit.
	minQueryBuffer = 32 << 20
	// queryHeadroom is what a query buffer needs beyond one key and one
	// value: headers and a few small arguments of the same command.
	queryHeadroom = 64 << 10
)

// Peer is one member of the region, this node included.
type Peer struct {
	ID   string
	Addr string // host:port other nodes dial
	// Weight is the node's relative share of the keys (0 means 1).
	Weight int
}

// Limits bound what one client can make the node buffer. Each is checked
// before memory is allocated for the claimed size. The zero value means the
// documented defaults.
type Limits struct {
	// MaxKeyBytes refuses longer keys (default 1 KiB).
	MaxKeyBytes int
	// MaxValueBytes bounds every bulk argument, so values (default 1 MiB,
	// at most 512 MiB). A larger bulk is a protocol error that closes the
	// connection, as Redis does beyond proto-max-bulk-len.
	MaxValueBytes int
	// MaxArgs bounds the multibulk count of one command (default 1<<20).
	MaxArgs int
	// MaxInlineBytes bounds one inline (telnet-style) command line
	// (default 64 KiB).
	MaxInlineBytes int
	// MaxQueryBufferBytes bounds the unprocessed input buffered for one
	// client (default 32 MiB, or 2×MaxValueBytes+1 MiB when that is more).
	// It must hold at least one key, one value and 64 KiB.
	MaxQueryBufferBytes int
	// MaxClients bounds the open connections, peers included (default
	// 10000).
	MaxClients int
}

func (l Limits) withDefaults() Limits {
	if l.MaxKeyBytes == 0 {
		l.MaxKeyBytes = DefaultMaxKeyBytes
	}
	if l.MaxValueBytes == 0 {
		l.MaxValueBytes = DefaultMaxValueBytes
	}
	if l.MaxArgs == 0 {
		l.MaxArgs = DefaultMaxArgs
	}
	if l.MaxInlineBytes == 0 {
		l.MaxInlineBytes = DefaultMaxInlineBytes
	}
	if l.MaxQueryBufferBytes == 0 {
		l.MaxQueryBufferBytes = max(minQueryBuffer, 2*l.MaxValueBytes+1<<20)
	}
	if l.MaxClients == 0 {
		l.MaxClients = DefaultMaxClients
	}
	return l
}

// Validate reports the first bad limit, wrapping ErrInvalidConfig.
func (l Limits) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{
		{"max_key_bytes", l.MaxKeyBytes}, {"max_value_bytes", l.MaxValueBytes},
		{"max_args", l.MaxArgs}, {"max_inline_bytes", l.MaxInlineBytes},
		{"max_query_buffer_bytes", l.MaxQueryBufferBytes}, {"max_clients", l.MaxClients},
	} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s is negative (%d)", ErrInvalidConfig, f.name, f.v)
		}
	}
	d := l.withDefaults()
	if d.MaxValueBytes > MaxValueBytesLimit {
		return fmt.Errorf("%w: max_value_bytes %d is over the %d limit", ErrInvalidConfig, d.MaxValueBytes, MaxValueBytesLimit)
	}
	if d.MaxKeyBytes > d.MaxValueBytes {
		return fmt.Errorf("%w: max_key_bytes %d is over max_value_bytes %d", ErrInvalidConfig, d.MaxKeyBytes, d.MaxValueBytes)
	}
	if need := d.MaxValueBytes + d.MaxKeyBytes + queryHeadroom; d.MaxQueryBufferBytes < need {
		return fmt.Errorf("%w: max_query_buffer_bytes %d cannot hold one key and value (need %d)", ErrInvalidConfig, d.MaxQueryBufferBytes, need)
	}
	if d.MaxQueryBufferBytes < d.MaxInlineBytes {
		return fmt.Errorf("%w: max_query_buffer_bytes %d is under max_inline_bytes %d", ErrInvalidConfig, d.MaxQueryBufferBytes, d.MaxInlineBytes)
	}
	return nil
}

// Config configures a Node. The zero value is a single loopback node with
// every documented default.
type Config struct {
	// ID names this node in Peers and on the ring (default "n1").
	ID string
	// Listen is the address to serve RESP on (default "127.0.0.1:0", an
	// ephemeral loopback port; Node.Addr reports it).
	Listen string
	// Peers lists the region's nodes, this one included, for the ring.
	// Empty means a single node that owns every key.
	Peers []Peer
	// RequirePass makes clients AUTH before any command but AUTH, HELLO
	// and QUIT (default: no password).
	RequirePass string
	// PeerPassword is sent with AUTH on connections to peers (default
	// RequirePass: a region shares one password).
	PeerPassword string
	// AllowPublic permits a non-loopback Listen address without a
	// password. Without it such a Config is refused.
	AllowPublic bool
	// MaxMemory is the store's byte budget (default 256 MiB, see
	// store.Config.MaxBytes).
	MaxMemory int64
	// Eviction is the store's eviction policy (default S3-FIFO).
	Eviction store.Policy
	// TombstoneTTL is how long versioned deletes are remembered (default
	// store.DefaultTombstoneTTL).
	TombstoneTTL time.Duration
	// ActiveExpiry is the period of the store's expired-key sampler
	// (default store.DefaultActiveExpiry; negative turns it off).
	ActiveExpiry time.Duration
	// Limits bound what clients can make the node buffer.
	Limits Limits
	// RegionID goes in the low bits of every version this node issues
	// (0..hlc.MaxRegion, default 0).
	RegionID int
	// Clock is where TTLs and versions read the time (default the wall
	// clock).
	Clock clock.Clock
	// MaxInFlight bounds the commands being executed or awaiting a peer at
	// once; beyond it commands are refused with a BUSY error (default
	// 100000).
	MaxInFlight int
	// PeerConns is the number of pipelined connections to each peer
	// (default 4).
	PeerConns int
	// ForwardTimeout bounds the wait for a peer's reply (default 2 s).
	ForwardTimeout time.Duration
	// DialTimeout bounds connecting to a peer (default 1 s).
	DialTimeout time.Duration
	// PeerBackoff is how long a peer connection that failed to dial fails
	// fast before dialling again (default 250 ms).
	PeerBackoff time.Duration
	// Logger receives peer link failures and other events nobody is
	// waiting for (default: discarded).
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.ID == "" {
		c.ID = DefaultID
	}
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.PeerPassword == "" {
		c.PeerPassword = c.RequirePass
	}
	c.Limits = c.Limits.withDefaults()
	c.Clock = clock.Or(c.Clock)
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.PeerConns == 0 {
		c.PeerConns = DefaultPeerConns
	}
	if c.ForwardTimeout == 0 {
		c.ForwardTimeout = DefaultForwardTimeout
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = DefaultDialTimeout
	}
	if c.PeerBackoff == 0 {
		c.PeerBackoff = DefaultPeerBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) storeConfig() store.Config {
	return store.Config{
		MaxBytes:     c.MaxMemory,
		Policy:       c.Eviction,
		Clock:        c.Clock,
		TombstoneTTL: c.TombstoneTTL,
		ActiveExpiry: c.ActiveExpiry,
	}
}

// Validate reports the first bad field, wrapping ErrInvalidConfig (or
// ErrPublicWithoutPassword).
func (c Config) Validate() error {
	d := c.withDefaults()
	host, _, err := net.SplitHostPort(d.Listen)
	if err != nil {
		return fmt.Errorf("%w: listen %q: %w", ErrInvalidConfig, d.Listen, err)
	}
	if !isLoopback(host) && c.RequirePass == "" && !c.AllowPublic {
		return fmt.Errorf("%w (listen %q; set a password or AllowPublic)", ErrPublicWithoutPassword, d.Listen)
	}
	if err := c.Limits.Validate(); err != nil {
		return err
	}
	if err := validatePeers(d.ID, c.Peers); err != nil {
		return err
	}
	if c.RegionID < 0 || c.RegionID > hlc.MaxRegion {
		return fmt.Errorf("%w: region_id %d (want 0..%d)", ErrInvalidConfig, c.RegionID, hlc.MaxRegion)
	}
	for _, f := range []struct {
		name string
		v    int64
	}{
		{"max_memory", c.MaxMemory}, {"max_in_flight", int64(c.MaxInFlight)},
		{"peer_conns", int64(c.PeerConns)}, {"forward_timeout", int64(c.ForwardTimeout)},
		{"dial_timeout", int64(c.DialTimeout)}, {"peer_backoff", int64(c.PeerBackoff)},
		{"tombstone_ttl", int64(c.TombstoneTTL)},
	} {
		if f.v < 0 {
			return fmt.Errorf("%w: %s is negative (%d)", ErrInvalidConfig, f.name, f.v)
		}
	}
	if err := c.storeConfig().Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return nil
}

// validatePeers checks a region membership list; empty is a single node.
func validatePeers(self string, peers []Peer) error {
	if len(peers) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(peers))
	for _, p := range peers {
		switch {
		case p.ID == "":
			return fmt.Errorf("%w: peer with empty id (addr %q)", ErrInvalidConfig, p.Addr)
		case seen[p.ID]:
			return fmt.Errorf("%w: duplicate peer id %q", ErrInvalidConfig, p.ID)
		case p.Weight < 0:
			return fmt.Errorf("%w: peer %q has negative weight %d", ErrInvalidConfig, p.ID, p.Weight)
		}
		if _, _, err := net.SplitHostPort(p.Addr); err != nil && p.ID != self {
			return fmt.Errorf("%w: peer %q addr %q: %w", ErrInvalidConfig, p.ID, p.Addr, err)
		}
		seen[p.ID] = true
	}
	if !seen[self] {
		return fmt.Errorf("%w: peers do not include this node's id %q", ErrInvalidConfig, self)
	}
	return nil
}

// isLoopback reports whether a listen host only accepts local connections.
// An empty host means every interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
