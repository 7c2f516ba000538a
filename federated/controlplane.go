package federated

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/raftmeta"
)

// ControlPlaneOptions run the deployment under raftmeta: a Raft group of
// in-process members (real Raft over loopback TCP, raft-boltdb on disk)
// holds the topology; every L2 node registers and follows it (its region's
// ring is the up nodes of the current epoch), every L3 node registers too,
// and the global ring is rebuilt from each epoch (l3.RingFromTopology). A
// node whose lease lapses is marked down and routed around.
type ControlPlaneOptions struct {
	// Dir holds the members' Raft data; it must be new or empty, since a
	// member reopening old state would look for its old peers (default: a
	// new temporary folder, removed by Close).
	Dir string
	// Members is the Raft group size (default 3).
	Members int
	// LeaseTimeout is how long a node may go without renewing before it
	// is marked down (default 1.5 s: a killed node leaves the ring within
	// about two seconds). UpAfter, how long a restarted node must renew
	// steadily before it is marked up again, is the same.
	LeaseTimeout time.Duration
	// Logs receives the members' warnings (default discarded).
	Logs io.Writer
}

// DefaultLeaseTimeout is ControlPlaneOptions.LeaseTimeout's default.
const DefaultLeaseTimeout = 1500 * time.Millisecond

// ErrControlPlane wraps failures to start or reach the control plane.
var ErrControlPlane = errors.New("federated: control plane")

// controlPlane is the running Raft group and the deployment's client of it.
type controlPlane struct {
	dir     string
	ownsDir bool
	members []*raftmeta.Member
	client  *raftmeta.Client
	watcher *raftmeta.Watcher // the deployment's own view (L3 rings, Topology)
	remove  func()
}

// startControlPlane opens the members (the first bootstraps the group,
// the others join it), waits until every one is a voter, and registers
// the profile's regions with their ids, so versions carry the ids the
// profile gives.
func startControlPlane(o ControlPlaneOptions, regs []raftmeta.Region, ks *keyspace.Table) (*controlPlane, error) {
	if o.Members == 0 {
		o.Members = 3
	}
	if o.Members < 0 || o.LeaseTimeout < 0 {
		return nil, fmt.Errorf("%w: members %d, lease timeout %v", ErrControlPlane, o.Members, o.LeaseTimeout)
	}
	if o.LeaseTimeout == 0 {
		o.LeaseTimeout = DefaultLeaseTimeout
	}
	logs := o.Logs
	if logs == nil {
		logs = io.Discard
	}
	cp := &controlPlane{dir: o.Dir}
	if cp.dir == "" {
		dir, err := os.MkdirTemp("", "tiercache-meta-")
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrControlPlane, err)
		}
		cp.dir, cp.ownsDir = dir, true
	}
	for i := range o.Members {
		id := fmt.Sprintf("meta%d", i+1)
		cfg := raftmeta.Config{
			ID: id, RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
			DataDir: filepath.Join(cp.dir, id), Bootstrap: i == 0, Insecure: true,
			LeaseTimeout: o.LeaseTimeout,
			Logger:       hclog.New(&hclog.LoggerOptions{Name: id, Output: logs, Level: hclog.Warn}),
		}
		if i > 0 {
			cfg.Join = []string{cp.members[0].HTTPAddr()}
		}
		m, err := raftmeta.Open(cfg)
		if err != nil {
			cp.close()
			return nil, fmt.Errorf("%w: open %s: %w", ErrControlPlane, id, err)
		}
		cp.members = append(cp.members, m)
	}
	cl, err := raftmeta.NewClient(raftmeta.ClientConfig{Members: cp.addrs(), Insecure: true})
	if err != nil {
		cp.close()
		return nil, fmt.Errorf("%w: %w", ErrControlPlane, err)
	}
	cp.client = cl
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := cp.setup(ctx, regs, ks); err != nil {
		cp.close()
		return nil, err
	}
	cp.watcher = raftmeta.NewWatcher(cl)
	return cp, nil
}

// setup writes the regions and keyspaces; it retries until the group has
// a leader, then waits for every member to join.
func (cp *controlPlane) setup(ctx context.Context, regs []raftmeta.Region, ks *keyspace.Table) error {
	write := func(what string, f func() error) error {
		for {
			err := f()
			switch {
			case err == nil || errors.Is(err, raftmeta.ErrRegionConflict):
				return nil
			case errors.Is(err, raftmeta.ErrInvalid):
				return fmt.Errorf("%w: %s: %w", ErrControlPlane, what, err)
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%w: %s: %w", ErrControlPlane, what, err)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	for _, r := range regs {
		if err := write("add region "+r.Name, func() error { _, err := cp.client.AddRegion(ctx, r); return err }); err != nil {
			return err
		}
	}
	if ks != nil {
		if ks.Default != (keyspace.Settings{}) {
			if err := write("default keyspace", func() error {
				_, err := cp.client.SetKeyspace(ctx, raftmeta.DefaultKeyspace, ks.Default)
				return err
			}); err != nil {
				return err
			}
		}
		for name, s := range ks.Spaces {
			if err := write("keyspace "+name, func() error { _, err := cp.client.SetKeyspace(ctx, name, s); return err }); err != nil {
				return err
			}
		}
	}
	for {
		st, err := cp.client.Status(ctx)
		if err == nil && len(st.Members) == len(cp.members) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: waiting for %d members to join: %w", ErrControlPlane, len(cp.members), ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (cp *controlPlane) addrs() []string {
	out := make([]string, len(cp.members))
	for i, m := range cp.members {
		out[i] = m.HTTPAddr()
	}
	return out
}

// leader returns the leader's id, "" while there is none.
func (cp *controlPlane) leader() string {
	for _, m := range cp.members {
		if m.IsLeader() {
			return m.ID()
		}
	}
	return ""
}

// close stops the watcher, the client and the members, and removes the
// folder it made. Nodes' agents must be closed first.
func (cp *controlPlane) close() {
	if cp.remove != nil {
		cp.remove()
	}
	if cp.watcher != nil {
		cp.watcher.Close()
	}
	if cp.client != nil {
		cp.client.Close()
	}
	for _, m := range cp.members {
		m.Close()
	}
	if cp.ownsDir {
		_ = os.RemoveAll(cp.dir)
	}
}
