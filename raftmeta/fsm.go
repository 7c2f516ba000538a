package raftmeta

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/raft"

	"github.com/tiercache/tiercache/internal/keyspace"
)

// snapshotFormat numbers the snapshot encoding so a later change can read
// older snapshots.
const snapshotFormat = 1

// dedupeWindow is how many idempotency keys the FSM remembers. A retry comes
// within seconds of its first try; a few hundred writes is far more than the
// control plane sees in that time.
const dedupeWindow = 512

// state is the replicated data. It is only touched by Apply and Restore
// (never concurrently, as raft.FSM promises) and copied out under fsm.mu.
type state struct {
	Format          int                   `json:"format"`
	Epoch           uint64                `json:"epoch"`
	Regions         map[string]Region     `json:"regions"`
	Nodes           map[string]Node       `json:"nodes"`
	KeyspaceVersion uint64                `json:"keyspace_version"`
	Keyspaces       keyspace.Table        `json:"keyspaces"`
	Members         map[string]MemberInfo `json:"members"`
	Rebalance       *Rebalance            `json:"rebalance,omitempty"`
	// Applied holds the idempotency keys of recent successful commands,
	// oldest first, with the counters they produced.
	Applied []appliedKey `json:"applied,omitempty"`
}

type appliedKey struct {
	Key             string `json:"key"`
	Epoch           uint64 `json:"epoch"`
	KeyspaceVersion uint64 `json:"keyspace_version"`
}

func newState() *state {
	return &state{
		Format:    snapshotFormat,
		Regions:   map[string]Region{},
		Nodes:     map[string]Node{},
		Keyspaces: keyspace.Table{Spaces: map[string]keyspace.Settings{}},
		Members:   map[string]MemberInfo{},
	}
}

// view is an immutable copy of the state that readers use without locks.
// changed is closed when a newer view replaces it, which is what long-poll
// watchers wait on.
type view struct {
	topo      *Topology
	members   []MemberInfo // sorted by id
	rebalance *Rebalance
	changed   chan struct{}
}

// fsm is raftmeta's raft.FSM. Apply, Snapshot and Restore are called by
// raft from one goroutine and never at once; readers use current().
type fsm struct {
	mu      sync.Mutex // protects st and applied against Snapshot's copy
	st      *state
	applied map[string]appliedKey // index of st.Applied

	cur atomic.Pointer[view]
}

func newFSM() *fsm {
	f := &fsm{st: newState(), applied: map[string]appliedKey{}}
	f.cur.Store(f.buildView())
	return f
}

// current returns the latest published view.
func (f *fsm) current() *view { return f.cur.Load() }

// Apply implements raft.FSM.
func (f *fsm) Apply(l *raft.Log) any {
	if l.Type != raft.LogCommand {
		return applyResult{}
	}
	c, err := decodeCommand(l.Data)
	if err != nil {
		return applyResult{Err: err}
	}
	f.mu.Lock()
	res := f.applyLocked(c)
	f.mu.Unlock()
	if res.Changed {
		f.publish()
	}
	return res
}

func (f *fsm) applyLocked(c *command) applyResult {
	if c.Key != "" {
		if prev, ok := f.applied[c.Key]; ok {
			return applyResult{Epoch: prev.Epoch, KeyspaceVersion: prev.KeyspaceVersion}
		}
	}
	st := f.st
	if c.Op.topology() {
		if c.ExpectEpoch == nil {
			return f.result(fmt.Errorf("%w: %s needs expect_epoch", ErrInvalid, c.Op))
		}
		if *c.ExpectEpoch != st.Epoch {
			return f.result(fmt.Errorf("%w: expected epoch %d, current %d", ErrEpochConflict, *c.ExpectEpoch, st.Epoch))
		}
	}
	if c.Op.keyspaces() {
		if c.ExpectKeyspaceVersion == nil {
			return f.result(fmt.Errorf("%w: %s needs expect_keyspace_version", ErrInvalid, c.Op))
		}
		if *c.ExpectKeyspaceVersion != st.KeyspaceVersion {
			return f.result(fmt.Errorf("%w: expected keyspace version %d, current %d", ErrKeyspaceConflict, *c.ExpectKeyspaceVersion, st.KeyspaceVersion))
		}
	}
	changed, err := st.apply(c)
	if err != nil {
		return f.result(err)
	}
	if changed && c.Op.topology() {
		st.Epoch++
	}
	if changed && c.Op.keyspaces() {
		st.KeyspaceVersion++
	}
	if c.Key != "" {
		f.remember(appliedKey{Key: c.Key, Epoch: st.Epoch, KeyspaceVersion: st.KeyspaceVersion})
	}
	r := f.result(nil)
	r.Changed = changed
	return r
}

func (f *fsm) result(err error) applyResult {
	return applyResult{Epoch: f.st.Epoch, KeyspaceVersion: f.st.KeyspaceVersion, Err: err}
}

func (f *fsm) remember(k appliedKey) {
	f.st.Applied = append(f.st.Applied, k)
	f.applied[k.Key] = k
	if n := len(f.st.Applied) - dedupeWindow; n > 0 {
		for _, old := range f.st.Applied[:n] {
			delete(f.applied, old.Key)
		}
		f.st.Applied = slices.Clone(f.st.Applied[n:])
	}
}

// publish swaps in a fresh view and wakes everyone waiting on the old one.
func (f *fsm) publish() {
	f.mu.Lock()
	v := f.buildView()
	f.mu.Unlock()
	old := f.cur.Swap(v)
	if old != nil {
		close(old.changed)
	}
}

// buildView copies the state; f.mu must be held (or f not yet shared).
func (f *fsm) buildView() *view {
	st := f.st
	t := &Topology{
		Epoch:           st.Epoch,
		KeyspaceVersion: st.KeyspaceVersion,
		Regions:         make([]Region, 0, len(st.Regions)),
		Nodes:           make([]Node, 0, len(st.Nodes)),
		Keyspaces: keyspace.Table{
			Default: st.Keyspaces.Default,
			Spaces:  maps.Clone(st.Keyspaces.Spaces),
		},
	}
	if t.Keyspaces.Spaces == nil {
		t.Keyspaces.Spaces = map[string]keyspace.Settings{}
	}
	for _, r := range st.Regions {
		t.Regions = append(t.Regions, r)
	}
	slices.SortFunc(t.Regions, func(a, b Region) int { return a.ID - b.ID })
	for _, n := range st.Nodes {
		t.Nodes = append(t.Nodes, n)
	}
	slices.SortFunc(t.Nodes, func(a, b Node) int { return strings.Compare(a.ID, b.ID) })
	v := &view{topo: t, changed: make(chan struct{})}
	for _, m := range st.Members {
		v.members = append(v.members, m)
	}
	slices.SortFunc(v.members, func(a, b MemberInfo) int { return strings.Compare(a.ID, b.ID) })
	if st.Rebalance != nil {
		r := *st.Rebalance
		v.rebalance = &r
	}
	return v
}

// Snapshot implements raft.FSM. The state is small, so it is encoded here,
// under the lock, and Persist only writes bytes.
func (f *fsm) Snapshot() (raft.FSMSnapshot, error) {
	f.mu.Lock()
	b, err := json.Marshal(f.st)
	f.mu.Unlock()
	if err != nil {
		return nil, fmt.Errorf("raftmeta: encode snapshot: %w", err)
	}
	return fsmSnapshot(b), nil
}

// Restore implements raft.FSM.
func (f *fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	st := newState()
	if err := json.NewDecoder(rc).Decode(st); err != nil {
		return fmt.Errorf("raftmeta: decode snapshot: %w", err)
	}
	if st.Format != snapshotFormat {
		return fmt.Errorf("raftmeta: snapshot format %d, this build reads %d", st.Format, snapshotFormat)
	}
	st.fillNil()
	applied := make(map[string]appliedKey, len(st.Applied))
	for _, k := range st.Applied {
		applied[k.Key] = k
	}
	f.mu.Lock()
	f.st, f.applied = st, applied
	f.mu.Unlock()
	f.publish()
	return nil
}

type fsmSnapshot []byte

func (s fsmSnapshot) Persist(sink raft.SnapshotSink) error {
	if _, err := sink.Write(s); err != nil {
		_ = sink.Cancel()
		return fmt.Errorf("raftmeta: write snapshot: %w", err)
	}
	return sink.Close()
}

func (s fsmSnapshot) Release() {}
