package l2

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testEpoch is where fake clocks start: a round, recent time.
var testEpoch = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)

// startNode builds, starts and registers cleanup for one node.
func startNode(t testing.TB, cfg Config) *Node {
	t.Helper()
	n, err := NewNode(cfg)
	if err != nil {
		t.Fatalf("NewNode: %v", err)
	}
	if err := n.Start(); err != nil {
		n.Close()
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// startRegion starts n nodes on loopback ports and gives each the full
// membership, as the control plane would.
func startRegion(t testing.TB, size int, mutate func(i int, cfg *Config)) []*Node {
	t.Helper()
	nodes := make([]*Node, size)
	peers := make([]Peer, size)
	for i := range nodes {
		cfg := Config{ID: "n" + string(rune('1'+i)), ActiveExpiry: -1}
		if mutate != nil {
			mutate(i, &cfg)
		}
		nodes[i] = startNode(t, cfg)
		peers[i] = Peer{ID: cfg.ID, Addr: nodes[i].Addr()}
	}
	for _, n := range nodes {
		if err := n.SetPeers(peers); err != nil {
			t.Fatalf("SetPeers: %v", err)
		}
	}
	return nodes
}

// newClient returns a go-redis client for addr, closed at cleanup.
func newClient(t testing.TB, addr string, mutate func(*redis.Options)) *redis.Client {
	t.Helper()
	opts := &redis.Options{Addr: addr, Protocol: 3, DisableIdentity: true, MaxRetries: -1, PoolSize: 4}
	if mutate != nil {
		mutate(opts)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

// fakeNode starts a single node on a fake clock.
func fakeNode(t testing.TB, mutate func(*Config)) (*Node, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(testEpoch)
	cfg := Config{Clock: fake, ActiveExpiry: -1}
	if mutate != nil {
		mutate(&cfg)
	}
	return startNode(t, cfg), fake
}

// ownedBy returns a key that the ring of n assigns to owner.
func ownedBy(t testing.TB, n *Node, owner, prefix string) string {
	t.Helper()
	rt := n.routing.Load()
	for i := 0; i < 100000; i++ {
		k := prefix + ":" + itoa(i)
		if rt.ring.Owner([]byte(k)) == owner {
			return k
		}
	}
	t.Fatalf("no key for %s", owner)
	return ""
}

func itoa(i int) string { return strconv.Itoa(i) }

// rawConn is a plain TCP connection for sending exact bytes.
type rawConn struct {
	t  testing.TB
	nc net.Conn
	rd *bufio.Reader
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc, rd: bufio.NewReader(nc)}
}

func (r *rawConn) send(s string) {
	r.t.Helper()
	r.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := r.nc.Write([]byte(s)); err != nil {
		r.t.Fatalf("write: %v", err)
	}
}

// reply reads one complete RESP reply and returns it verbatim.
func (r *rawConn) reply() string {
	r.t.Helper()
	r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	var b []byte
	for {
		line, err := r.rd.ReadBytes('\n')
		b = append(b, line...)
		if err != nil {
			r.t.Fatalf("read after %q: %v", b, err)
		}
		n, _, err := replyLen(b, 1<<30, 1<<20)
		if err != nil {
			r.t.Fatalf("bad reply %q: %v", b, err)
		}
		if n > 0 {
			return string(b)
		}
		// A bulk body may hold newlines; ReadBytes goes on from there.
	}
}

// closed reports whether the server closed the connection (EOF) after
// any pending replies.
func (r *rawConn) closed() bool {
	r.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, err := r.rd.ReadByte()
	return err != nil && !isTimeout(err)
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// resp encodes a command as a multibulk request.
func resp(args ...string) string {
	var b strings.Builder
	b.WriteString("*" + itoa(len(args)) + "\r\n")
	for _, a := range args {
		b.WriteString("$" + itoa(len(a)) + "\r\n" + a + "\r\n")
	}
	return b.String()
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}
