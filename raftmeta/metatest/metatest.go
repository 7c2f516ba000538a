// Package metatest starts in-process raftmeta control planes for other
// packages' tests: real members (Raft on loopback, raft-boltdb in a temp
// directory, plain TCP), closed when the test ends. It is test support and
// is never imported by production code.
package metatest

import (
	"fmt"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/raftmeta"
)

// Options shape a test control plane; the zero value is one member with
// raftmeta's default lease timeout and logs discarded.
type Options struct {
	// Members is the group size (default 1).
	Members int
	// LeaseTimeout and UpAfter are passed to every member (zero: the
	// defaults).
	LeaseTimeout, UpAfter time.Duration
	// Clock drives lease decisions (default the wall clock).
	Clock clock.Clock
	// Logs receives the members' logs (default: discarded).
	Logs io.Writer
}

// Cluster is a running test control plane.
type Cluster struct {
	Members []*raftmeta.Member
}

// Start starts a control plane and waits until it has a ready leader and
// every member has joined. It fails tb on error and closes everything in
// tb.Cleanup.
func Start(tb testing.TB, o Options) *Cluster {
	tb.Helper()
	if o.Members <= 0 {
		o.Members = 1
	}
	logs := o.Logs
	if logs == nil {
		logs = io.Discard
	}
	dir := tb.TempDir()
	c := &Cluster{}
	tb.Cleanup(c.close)
	for i := 0; i < o.Members; i++ {
		id := fmt.Sprintf("meta%d", i+1)
		cfg := raftmeta.Config{
			ID: id, RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
			DataDir: filepath.Join(dir, id), Bootstrap: i == 0, Insecure: true,
			LeaseTimeout: o.LeaseTimeout, UpAfter: o.UpAfter, Clock: o.Clock,
			Logger: hclog.New(&hclog.LoggerOptions{Name: id, Output: logs, Level: hclog.Warn}),
		}
		if i > 0 {
			cfg.Join = []string{c.Members[0].HTTPAddr()}
		}
		m, err := raftmeta.Open(cfg)
		if err != nil {
			tb.Fatalf("metatest: open %s: %v", id, err)
		}
		c.Members = append(c.Members, m)
		if i == 0 {
			c.wait(tb, "a leader", func() bool { return m.IsLeader() })
		}
	}
	c.wait(tb, "every member", func() bool {
		for _, m := range c.Members {
			if m.IsLeader() {
				return len(m.Status().Members) == o.Members
			}
		}
		return false
	})
	return c
}

// Addrs returns the members' API addresses.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.HTTPAddr()
	}
	return out
}

// Client returns a client of the control plane, closed when the test ends.
func (c *Cluster) Client(tb testing.TB) *raftmeta.Client {
	tb.Helper()
	cl, err := raftmeta.NewClient(raftmeta.ClientConfig{Members: c.Addrs(), Insecure: true})
	if err != nil {
		tb.Fatalf("metatest: client: %v", err)
	}
	tb.Cleanup(func() { cl.Close() })
	return cl
}

func (c *Cluster) wait(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("metatest: timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *Cluster) close() {
	for _, m := range c.Members {
		m.Close()
	}
}
