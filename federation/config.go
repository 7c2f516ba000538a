package federation

import (
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

// Config configures an Endpoint. The zero value of every field but Region,
// CAPEM, CertPEM and KeyPEM means the documented default.
type Config struct {
	// Region is this endpoint's region name. Peers check it against the
	// certificate: the certificate's CommonName must equal it, and its DNS
	// names must include it (pki.WriteDevPKI issues such certificates).
	Region string

	// CAPEM is the deployment CA; CertPEM and KeyPEM are this region's
	// certificate, issued with pki.RoleServer. Both sides of every link
	// present and verify one.
	CAPEM, CertPEM, KeyPEM []byte

	// ListenAddr is the UDP address to listen on; "" means 127.0.0.1:0.
	// Ignored when PacketConn is set.
	ListenAddr string
	// PacketConn, when set, is the socket to use instead (a regions.WAN
	// Conn in simulations). The Endpoint owns it and closes it on Close.
	PacketConn net.PacketConn

	// Replica receives other regions' changes. Nil refuses incoming change
	// streams (the endpoint then serves calls only).
	Replica Replica
	// Source is this region's store, read by anti-entropy after an outbox
	// overflow. Nil means an overflow cannot be repaired: the link keeps
	// needing anti-entropy and Stats says so.
	Source Source

	// MaxFrameBytes bounds every frame payload read or written (requests,
	// replies, change batches). 0 means DefaultMaxFrameBytes (4 MiB); at
	// most MaxFrameBytesLimit.
	MaxFrameBytes int
	// MaxConcurrentCalls bounds the requests a peer may have in flight on
	// one connection (QUIC stream credit; excess calls wait for credit).
	// 0 means 1000.
	MaxConcurrentCalls int
	// CallTimeout is the deadline of a call whose context has none.
	// 0 means 10 s.
	CallTimeout time.Duration

	// OutboxMaxChanges and OutboxMaxBytes bound each link's outbox. When a
	// change would exceed either, the outbox is emptied and the link is
	// marked for anti-entropy. 0 means 1,000,000 changes and 256 MiB.
	OutboxMaxChanges int
	OutboxMaxBytes   int
	// BatchMaxChanges bounds one change-stream frame. 0 means 512.
	BatchMaxChanges int
	// AntiEntropyBuckets is the number of hash ranges compared by an
	// anti-entropy pass: a power of two up to 65536. More buckets send fewer
	// unchanged keys but a larger digest (8 bytes each). 0 means 4096.
	AntiEntropyBuckets int
	// AntiEntropyTimeout bounds one anti-entropy pass. 0 means 10 min.
	AntiEntropyTimeout time.Duration

	// KeepAlive is the QUIC keep-alive period. 0 means 1 s.
	KeepAlive time.Duration
	// IdleTimeout closes a connection that heard nothing from its peer for
	// this long, which is how a partition is noticed. 0 means 5 s.
	IdleTimeout time.Duration
	// HandshakeTimeout bounds a dial. 0 means 5 s.
	HandshakeTimeout time.Duration
	// BackoffMin and BackoffMax bound the wait between reconnection
	// attempts, which doubles per failure with jitter. 0 means 50 ms and 5 s.
	BackoffMin, BackoffMax time.Duration
	// StatsInterval is how often link throughput is sampled. 0 means 1 s.
	StatsInterval time.Duration

	// Clock stamps enqueue and apply times for replication lag; nil means
	// the system clock. Timers (keep-alives, backoff) use real time.
	Clock clock.Clock
	// Logger receives connection events; nil discards them.
	Logger *slog.Logger
}

// Validate reports the first bad field.
func (c *Config) Validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, args...)...)
	}
	switch {
	case c.Region == "":
		return bad("Region is empty")
	case len(c.CAPEM) == 0 || len(c.CertPEM) == 0 || len(c.KeyPEM) == 0:
		return bad("CAPEM, CertPEM and KeyPEM are required")
	case c.MaxFrameBytes < 0 || c.MaxFrameBytes > MaxFrameBytesLimit:
		return bad("MaxFrameBytes %d not in 0..%d", c.MaxFrameBytes, MaxFrameBytesLimit)
	case c.MaxFrameBytes > 0 && c.MaxFrameBytes < 1024:
		return bad("MaxFrameBytes %d below 1024", c.MaxFrameBytes)
	case c.MaxConcurrentCalls < 0, c.OutboxMaxChanges < 0, c.OutboxMaxBytes < 0, c.BatchMaxChanges < 0:
		return bad("negative limit")
	case c.AntiEntropyBuckets != 0 && (!isPowerOfTwo(c.AntiEntropyBuckets) || c.AntiEntropyBuckets > maxDigestBuckets):
		return bad("AntiEntropyBuckets %d is not a power of two up to %d", c.AntiEntropyBuckets, maxDigestBuckets)
	case c.CallTimeout < 0, c.AntiEntropyTimeout < 0, c.KeepAlive < 0, c.IdleTimeout < 0,
		c.HandshakeTimeout < 0, c.BackoffMin < 0, c.BackoffMax < 0, c.StatsInterval < 0:
		return bad("negative duration")
	}
	d := c.withDefaults()
	if d.BackoffMin > d.BackoffMax {
		return bad("BackoffMin %v above BackoffMax %v", d.BackoffMin, d.BackoffMax)
	}
	if 8*d.AntiEntropyBuckets+16 > d.MaxFrameBytes {
		return bad("%d anti-entropy buckets do not fit in MaxFrameBytes %d", d.AntiEntropyBuckets, d.MaxFrameBytes)
	}
	if d.KeepAlive >= d.IdleTimeout {
		return bad("KeepAlive %v not below IdleTimeout %v", d.KeepAlive, d.IdleTimeout)
	}
	return nil
}

// withDefaults returns a copy with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	dur := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if c.ListenAddr == "" {
		c.ListenAddr = "127.0.0.1:0"
	}
	def(&c.MaxFrameBytes, DefaultMaxFrameBytes)
	def(&c.MaxConcurrentCalls, 1000)
	def(&c.OutboxMaxChanges, 1_000_000)
	def(&c.OutboxMaxBytes, 256<<20)
	def(&c.BatchMaxChanges, 512)
	def(&c.AntiEntropyBuckets, 4096)
	dur(&c.CallTimeout, 10*time.Second)
	dur(&c.AntiEntropyTimeout, 10*time.Minute)
	dur(&c.KeepAlive, time.Second)
	dur(&c.IdleTimeout, 5*time.Second)
	dur(&c.HandshakeTimeout, 5*time.Second)
	dur(&c.BackoffMin, 50*time.Millisecond)
	dur(&c.BackoffMax, 5*time.Second)
	dur(&c.StatsInterval, time.Second)
	c.Clock = clock.Or(c.Clock)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}
