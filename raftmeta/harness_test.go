package raftmeta

import (
	"context"
	"flag"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/pki"
)

var (
	flagLogLevel = flag.String("raftmeta.loglevel", "warn", "level of member and Raft logs sent to t.Log (trace, debug, info, warn, error)")
	flagKills    = flag.Int("raftmeta.kills", 5, "leader kills in TestLeaderKills")
	flagWrites   = flag.Int("raftmeta.propagation-writes", 40, "topology writes timed in TestPropagation")
	flagStrict   = flag.Bool("raftmeta.strict", false, "hold TestLeaderKills to the 3 s new-leader target (run on a quiet machine)")
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testPKI is one deployment CA and a certificate per role, made once.
type testPKI struct {
	caPEM                              []byte
	certs                              map[pki.Role][2][]byte // cert, key
	foreignCA, foreignCert, foreignKey []byte                 // a server cert from another CA
}

var (
	pkiOnce sync.Once
	pkiVal  *testPKI
	pkiErr  error
)

func loadPKI(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() {
		ca, err := pki.NewCA("raftmeta test CA", time.Hour)
		if err != nil {
			pkiErr = err
			return
		}
		p := &testPKI{caPEM: ca.CertPEM(), certs: map[pki.Role][2][]byte{}}
		for _, r := range []pki.Role{pki.RoleServer, pki.RoleNode, pki.RoleClient, pki.RoleAdmin} {
			c, k, err := ca.Issue(pki.IssueOptions{CommonName: string(r), Role: r, DNSNames: []string{"localhost"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
			if err != nil {
				pkiErr = err
				return
			}
			p.certs[r] = [2][]byte{c, k}
		}
		other, err := pki.NewCA("someone else's CA", time.Hour)
		if err != nil {
			pkiErr = err
			return
		}
		p.foreignCA = other.CertPEM()
		if p.foreignCert, p.foreignKey, err = other.Issue(pki.IssueOptions{CommonName: "intruder", Role: pki.RoleServer, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}}); err != nil {
			pkiErr = err
			return
		}
		pkiVal = p
	})
	if pkiErr != nil {
		t.Fatalf("test PKI: %v", pkiErr)
	}
	return pkiVal
}

// testLogger sends logs to t.Log until the test ends, then drops them (a
// late line from a goroutine that is shutting down must not panic).
func testLogger(t testing.TB, name string) hclog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return hclog.New(&hclog.LoggerOptions{Name: name, Output: w, Level: hclog.LevelFromString(*flagLogLevel), DisableTime: true})
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// cluster is an in-process control plane of real members on loopback,
// each with its own data directory.
type cluster struct {
	t       testing.TB
	secure  bool
	cfgs    []Config
	members []*Member // nil while a member is down
}

type clusterOpts struct {
	n        int
	insecure bool
	lease    time.Duration
	upAfter  time.Duration
	clock    clock.Clock
	snapshot uint64        // SnapshotThreshold; 0 means the default
	check    time.Duration // CheckInterval; 0 means the default
}

// newCluster starts member 0 with bootstrap and joins the others to it.
func newCluster(t testing.TB, o clusterOpts) *cluster {
	t.Helper()
	if o.n == 0 {
		o.n = 3
	}
	c := &cluster{t: t, secure: !o.insecure, members: make([]*Member, o.n)}
	var p *testPKI
	if c.secure {
		p = loadPKI(t)
	}
	base := t.TempDir()
	for i := 0; i < o.n; i++ {
		cfg := Config{
			ID:            fmt.Sprintf("m%d", i+1),
			RaftAddr:      "127.0.0.1:0",
			HTTPAddr:      "127.0.0.1:0",
			DataDir:       filepath.Join(base, fmt.Sprintf("m%d", i+1)),
			Bootstrap:     i == 0,
			Insecure:      o.insecure,
			LeaseTimeout:  o.lease,
			UpAfter:       o.upAfter,
			CheckInterval: o.check,
			Clock:         o.clock,
			Logger:        testLogger(t, fmt.Sprintf("m%d", i+1)),
			Raft:          RaftTuning{SnapshotThreshold: o.snapshot, TrailingLogs: o.snapshot},
		}
		if o.snapshot > 0 {
			cfg.Raft.SnapshotInterval = 100 * time.Millisecond
		}
		if c.secure {
			s := p.certs[pki.RoleServer]
			cfg.CAPEM, cfg.CertPEM, cfg.KeyPEM = p.caPEM, s[0], s[1]
		}
		if i > 0 {
			cfg.Join = []string{c.cfgs[0].HTTPAddr}
		}
		c.cfgs = append(c.cfgs, cfg)
		c.start(i)
		if i == 0 {
			c.waitLeader(5 * time.Second)
		}
	}
	t.Cleanup(c.closeAll)
	c.waitMembers(o.n, 10*time.Second)
	return c
}

// start opens member i, pinning its addresses for later restarts.
func (c *cluster) start(i int) {
	c.t.Helper()
	m, err := Open(c.cfgs[i])
	if err != nil {
		c.t.Fatalf("open %s: %v", c.cfgs[i].ID, err)
	}
	c.cfgs[i].RaftAddr, c.cfgs[i].HTTPAddr = m.RaftAddr(), m.HTTPAddr()
	c.members[i] = m
}

func (c *cluster) kill(i int) {
	if m := c.members[i]; m != nil {
		m.Close()
		c.members[i] = nil
	}
}

func (c *cluster) closeAll() {
	for i := range c.members {
		c.kill(i)
	}
}

// leaderIndex returns the ready leader's index, or -1.
func (c *cluster) leaderIndex() int {
	for i, m := range c.members {
		if m != nil && m.IsLeader() {
			return i
		}
	}
	return -1
}

func (c *cluster) waitLeader(within time.Duration) int {
	c.t.Helper()
	var i int
	waitFor(c.t, within, "a ready leader", func() bool { i = c.leaderIndex(); return i >= 0 })
	return i
}

// waitMembers waits until the leader's Raft configuration has n voters and
// every running member knows every member's API address.
func (c *cluster) waitMembers(n int, within time.Duration) {
	c.t.Helper()
	waitFor(c.t, within, fmt.Sprintf("%d members", n), func() bool {
		l := c.leaderIndex()
		if l < 0 || len(c.members[l].Status().Members) != n {
			return false
		}
		for _, m := range c.members {
			if m != nil && len(m.fsm.current().members) != n {
				return false
			}
		}
		return true
	})
}

func (c *cluster) httpAddrs() []string {
	out := make([]string, len(c.cfgs))
	for i, cfg := range c.cfgs {
		out[i] = cfg.HTTPAddr
	}
	return out
}

// client returns a Client for the given members (all when none) holding a
// certificate of role.
func (c *cluster) client(role pki.Role, addrs ...string) *Client {
	c.t.Helper()
	if len(addrs) == 0 {
		addrs = c.httpAddrs()
	}
	cc := ClientConfig{Members: addrs, Insecure: !c.secure, RetryFor: 8 * time.Second}
	if c.secure {
		p := loadPKI(c.t)
		cc.CAPEM, cc.CertPEM, cc.KeyPEM = p.caPEM, p.certs[role][0], p.certs[role][1]
	}
	cl, err := NewClient(cc)
	if err != nil {
		c.t.Fatalf("client: %v", err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// waitFor polls cond until it holds or within passes.
func waitFor(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func ctxFor(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// electionBound is how long TestLeaderKills waits for a new leader: the
// 3 s target under -raftmeta.strict, else a bound that only catches a group
// that never recovers.
func electionBound() time.Duration {
	if *flagStrict {
		return 3 * time.Second
	}
	return 15 * time.Second
}
