package raftmeta

import (
	"fmt"
	"net"
	"net/netip"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tiercache/tiercache/internal/clock"
)

// Defaults for Config fields left zero.
const (
	DefaultLeaseTimeout = 3 * time.Second
	DefaultMaxWatchWait = 30 * time.Second

	defaultHeartbeatTimeout   = 500 * time.Millisecond
	defaultElectionTimeout    = 500 * time.Millisecond
	defaultLeaderLeaseTimeout = 250 * time.Millisecond
	defaultCommitTimeout      = 20 * time.Millisecond
	defaultSnapshotThreshold  = 4096
	defaultSnapshotInterval   = 30 * time.Second
	defaultTrailingLogs       = 2048
)

// Config describes one member. The zero value of every optional field
// means the documented default.
type Config struct {
	// ID names the member in the Raft group; it must stay the same across
	// restarts from the same DataDir.
	ID string
	// RaftAddr is where the member listens for Raft RPC (host:port; port 0
	// picks a free one). The host must be a concrete address: peers dial
	// what the listener reports.
	RaftAddr string
	// HTTPAddr is where the member serves its JSON API (host:port; port 0
	// picks a free one).
	HTTPAddr string
	// DataDir holds the Raft log and stable store (raft.db) and snapshots.
	DataDir string
	// Bootstrap forms a new group of this member alone when DataDir holds
	// no Raft state yet; it is ignored otherwise, so restarts may keep it.
	Bootstrap bool
	// Join lists API addresses of existing members; the member asks them
	// (in a background loop, until it succeeds or closes) to add it as a
	// voter. Asking again after a restart is harmless.
	Join []string

	// CAPEM, CertPEM and KeyPEM are the deployment CA and this member's
	// server-role certificate (internal/pki). Required unless Insecure.
	CAPEM, CertPEM, KeyPEM []byte
	// Insecure runs Raft and the API over plain TCP with no
	// authentication. Only loopback addresses are accepted then.
	Insecure bool

	// LeaseTimeout is how long a node may go without renewing before the
	// manager marks it down (default 3s).
	LeaseTimeout time.Duration
	// UpAfter is how long a down node must renew steadily (no gap longer
	// than LeaseTimeout) before it is marked up again (default
	// LeaseTimeout). It keeps a flapping node from churning epochs.
	UpAfter time.Duration
	// CheckInterval is how often the leader looks at leases (default
	// LeaseTimeout/10, at least 10ms).
	CheckInterval time.Duration
	// MaxWatchWait caps how long a topology long poll is held (default 30s).
	MaxWatchWait time.Duration

	// Raft tunes the consensus timers; zero fields take defaults fit for a
	// LAN (a new leader in about a second after the old one dies).
	Raft RaftTuning

	// Clock is the time source of lease decisions (default the wall clock).
	Clock clock.Clock
	// Logger receives the member's and Raft's logs (default: Info and up to
	// stderr).
	Logger hclog.Logger
}

// RaftTuning holds the Raft timers and log compaction settings.
type RaftTuning struct {
	HeartbeatTimeout   time.Duration // default 500ms
	ElectionTimeout    time.Duration // default 500ms
	LeaderLeaseTimeout time.Duration // default 250ms
	CommitTimeout      time.Duration // default 20ms
	SnapshotThreshold  uint64        // log entries between snapshots (default 4096)
	SnapshotInterval   time.Duration // how often to check the threshold (default 30s)
	TrailingLogs       uint64        // entries kept after a snapshot (default 2048)
}

// Validate reports the first bad field, wrapping ErrConfig.
func (c Config) Validate() error {
	if err := validName("member id", c.ID); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	for _, a := range []struct{ name, addr string }{{"raft address", c.RaftAddr}, {"http address", c.HTTPAddr}} {
		if err := checkListenAddr(a.addr, c.Insecure); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrConfig, a.name, err)
		}
	}
	if c.DataDir == "" {
		return fmt.Errorf("%w: data dir is empty", ErrConfig)
	}
	if err := checkTLSChoice(c.Insecure, c.CAPEM, c.CertPEM, c.KeyPEM); err != nil {
		return err
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"lease timeout", c.LeaseTimeout}, {"up after", c.UpAfter}, {"check interval", c.CheckInterval},
		{"max watch wait", c.MaxWatchWait}, {"heartbeat timeout", c.Raft.HeartbeatTimeout},
		{"election timeout", c.Raft.ElectionTimeout}, {"leader lease timeout", c.Raft.LeaderLeaseTimeout},
		{"commit timeout", c.Raft.CommitTimeout}, {"snapshot interval", c.Raft.SnapshotInterval},
	} {
		if d.v < 0 {
			return fmt.Errorf("%w: %s is negative (%v)", ErrConfig, d.name, d.v)
		}
	}
	for _, j := range c.Join {
		if err := checkListenAddr(j, c.Insecure); err != nil {
			return fmt.Errorf("%w: join address: %w", ErrConfig, err)
		}
	}
	return nil
}

func checkTLSChoice(insecure bool, ca, cert, key []byte) error {
	have := len(ca) > 0 && len(cert) > 0 && len(key) > 0
	some := len(ca) > 0 || len(cert) > 0 || len(key) > 0
	switch {
	case insecure && some:
		return fmt.Errorf("%w: both insecure and certificates given; pick one", ErrConfig)
	case !insecure && !have:
		return fmt.Errorf("%w: need the CA, a certificate and its key (or insecure mode on loopback)", ErrConfig)
	}
	return nil
}

func checkListenAddr(addr string, insecure bool) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: want host:port", addr)
	}
	if insecure && !isLoopback(host) {
		return fmt.Errorf("%q: %w", addr, ErrNotLoopback)
	}
	return nil
}

// isLoopback reports whether host is a loopback IP or "localhost".
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// withDefaults returns c with every zero optional field filled in.
func (c Config) withDefaults() Config {
	if c.LeaseTimeout == 0 {
		c.LeaseTimeout = DefaultLeaseTimeout
	}
	if c.UpAfter == 0 {
		c.UpAfter = c.LeaseTimeout
	}
	if c.CheckInterval == 0 {
		c.CheckInterval = max(c.LeaseTimeout/10, 10*time.Millisecond)
	}
	if c.MaxWatchWait == 0 {
		c.MaxWatchWait = DefaultMaxWatchWait
	}
	r := &c.Raft
	if r.HeartbeatTimeout == 0 {
		r.HeartbeatTimeout = defaultHeartbeatTimeout
	}
	if r.ElectionTimeout == 0 {
		r.ElectionTimeout = defaultElectionTimeout
	}
	if r.LeaderLeaseTimeout == 0 {
		r.LeaderLeaseTimeout = defaultLeaderLeaseTimeout
	}
	if r.CommitTimeout == 0 {
		r.CommitTimeout = defaultCommitTimeout
	}
	if r.SnapshotThreshold == 0 {
		r.SnapshotThreshold = defaultSnapshotThreshold
	}
	if r.SnapshotInterval == 0 {
		r.SnapshotInterval = defaultSnapshotInterval
	}
	if r.TrailingLogs == 0 {
		r.TrailingLogs = defaultTrailingLogs
	}
	c.Clock = clock.Or(c.Clock)
	if c.Logger == nil {
		c.Logger = hclog.New(&hclog.LoggerOptions{Name: "raftmeta", Level: hclog.Info})
	}
	return c
}
