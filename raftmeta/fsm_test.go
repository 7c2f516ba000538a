package raftmeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tiercache/tiercache/internal/keyspace"
)

// fsmHarness applies commands to a bare FSM as Raft would.
type fsmHarness struct {
	t     *testing.T
	f     *fsm
	index uint64
}

func newFSMHarness(t *testing.T) *fsmHarness { return &fsmHarness{t: t, f: newFSM()} }

func (h *fsmHarness) apply(c command) applyResult {
	h.t.Helper()
	b, err := c.encode()
	if err != nil {
		h.t.Fatal(err)
	}
	h.index++
	return h.f.Apply(&raft.Log{Index: h.index, Term: 1, Type: raft.LogCommand, Data: b}).(applyResult)
}

// topo applies a topology command expecting the current epoch.
func (h *fsmHarness) topo(c command) applyResult {
	e := h.f.current().topo.Epoch
	c.ExpectEpoch = &e
	return h.apply(c)
}

func (h *fsmHarness) ks(c command) applyResult {
	v := h.f.current().topo.KeyspaceVersion
	c.ExpectKeyspaceVersion = &v
	return h.apply(c)
}

func spec(id, region string) *NodeSpec {
	return &NodeSpec{ID: id, Region: region, Tier: TierL2, Address: "127.0.0.1:7000", FederationAddress: "127.0.0.1:8000"}
}

func ptr[T any](v T) *T { return &v }

func TestFSMRegisterPublishesOneEpochPerChange(t *testing.T) {
	h := newFSMHarness(t)
	r := h.topo(command{Op: opRegister, Spec: spec("n1", "eu")})
	if r.Err != nil || !r.Changed || r.Epoch != 1 {
		t.Fatalf("first register: %+v", r)
	}
	n, ok := h.f.current().topo.Node("n1")
	if !ok || n.State != StateUp || n.Weight != DefaultWeight || n.StateEpoch != 1 {
		t.Fatalf("node after register: %+v %v", n, ok)
	}
	if reg, ok := h.f.current().topo.Region("eu"); !ok || reg.ID != 0 {
		t.Fatalf("region eu: %+v %v", reg, ok)
	}
	// The same registration again changes nothing and publishes nothing.
	r = h.topo(command{Op: opRegister, Spec: spec("n1", "eu")})
	if r.Err != nil || r.Changed || r.Epoch != 1 {
		t.Fatalf("repeat register: %+v", r)
	}
	s := spec("n1", "eu")
	s.Address = "127.0.0.1:7001"
	r = h.topo(command{Op: opRegister, Spec: s})
	if r.Err != nil || !r.Changed || r.Epoch != 2 {
		t.Fatalf("moved register: %+v", r)
	}
	if n, _ := h.f.current().topo.Node("n1"); n.Address != "127.0.0.1:7001" || n.StateEpoch != 1 {
		t.Fatalf("address not updated or state epoch moved: %+v", n)
	}
	h.topo(command{Op: opRegister, Spec: spec("n2", "us")})
	if reg, _ := h.f.current().topo.Region("us"); reg.ID != 1 {
		t.Fatalf("second region got id %d, want 1", reg.ID)
	}
}

func TestFSMCompareAndSetOnEpoch(t *testing.T) {
	h := newFSMHarness(t)
	h.topo(command{Op: opRegister, Spec: spec("n1", "eu")})
	before := h.f.current().topo
	r := h.apply(command{Op: opSetWeight, NodeID: "n1", Weight: 7, ExpectEpoch: ptr(uint64(0))})
	if !errors.Is(r.Err, ErrEpochConflict) || r.Epoch != 1 {
		t.Fatalf("stale expect: %+v", r)
	}
	if h.f.current().topo != before {
		t.Fatal("a failed compare-and-set published a view")
	}
	r = h.apply(command{Op: opSetWeight, NodeID: "n1", Weight: 7})
	if !errors.Is(r.Err, ErrInvalid) {
		t.Fatalf("topology command without expect_epoch: %+v", r)
	}
	r = h.apply(command{Op: opSetWeight, NodeID: "n1", Weight: 7, ExpectEpoch: ptr(uint64(1))})
	if r.Err != nil || r.Epoch != 2 {
		t.Fatalf("good expect: %+v", r)
	}
	r = h.apply(command{Op: opSetKeyspace, Keyspace: "user", Settings: &keyspace.Settings{TTL: time.Second}, ExpectKeyspaceVersion: ptr(uint64(3))})
	if !errors.Is(r.Err, ErrKeyspaceConflict) {
		t.Fatalf("stale keyspace version: %+v", r)
	}
}

func TestFSMIdempotencyKey(t *testing.T) {
	h := newFSMHarness(t)
	h.topo(command{Op: opRegister, Spec: spec("n1", "eu")})
	c := command{Op: opSetWeight, NodeID: "n1", Weight: 5, Key: "k1", ExpectEpoch: ptr(uint64(1))}
	first := h.apply(c)
	again := h.apply(c) // the retry of a write whose answer was lost
	if first.Err != nil || again.Err != nil || first.Epoch != 2 || again.Epoch != 2 || again.Changed {
		t.Fatalf("first %+v, retry %+v", first, again)
	}
	if h.f.current().topo.Epoch != 2 {
		t.Fatalf("retry applied again: epoch %d", h.f.current().topo.Epoch)
	}
	// A failed attempt does not consume its key.
	bad := command{Op: opSetWeight, NodeID: "n1", Weight: 6, Key: "k2", ExpectEpoch: ptr(uint64(0))}
	if r := h.apply(bad); !errors.Is(r.Err, ErrEpochConflict) {
		t.Fatalf("stale: %+v", r)
	}
	bad.ExpectEpoch = ptr(uint64(2))
	if r := h.apply(bad); r.Err != nil || r.Epoch != 3 {
		t.Fatalf("same key after a failure: %+v", r)
	}
	// Keys older than the window are forgotten.
	for i := 0; i < dedupeWindow; i++ {
		h.apply(command{Op: opSetMember, Key: fmt.Sprintf("fill%d", i), Member: &MemberInfo{ID: "m1", RaftAddress: fmt.Sprint(i)}})
	}
	if _, ok := h.f.applied["k1"]; ok || len(h.f.st.Applied) != dedupeWindow || len(h.f.applied) != dedupeWindow {
		t.Fatalf("window not bounded: %d keys, %d indexed", len(h.f.st.Applied), len(h.f.applied))
	}
}

func TestFSMLivenessAndDrain(t *testing.T) {
	h := newFSMHarness(t)
	h.topo(command{Op: opRegister, Spec: spec("n1", "eu")})
	h.topo(command{Op: opRegister, Spec: spec("n2", "eu")})
	r := h.topo(command{Op: opSetLive, Live: map[string]bool{"n1": false, "n2": true, "gone": false}})
	if !r.Changed || r.Epoch != 3 {
		t.Fatalf("mark down: %+v", r)
	}
	if n, _ := h.f.current().topo.Node("n1"); n.State != StateDown || n.StateEpoch != 3 {
		t.Fatalf("n1: %+v", n)
	}
	if r := h.topo(command{Op: opSetLive, Live: map[string]bool{"n1": false}}); r.Changed || r.Epoch != 3 {
		t.Fatalf("repeated verdict published: %+v", r)
	}
	// Draining a down node records the intent; it comes back draining.
	h.topo(command{Op: opDrain, NodeID: "n1", Drain: true})
	if n, _ := h.f.current().topo.Node("n1"); n.State != StateDown || !n.Drain {
		t.Fatalf("drained down node: %+v", n)
	}
	h.topo(command{Op: opSetLive, Live: map[string]bool{"n1": true}})
	if n, _ := h.f.current().topo.Node("n1"); n.State != StateDraining {
		t.Fatalf("back up while drained: %+v", n)
	}
	h.topo(command{Op: opDrain, NodeID: "n1", Drain: false})
	if n, _ := h.f.current().topo.Node("n1"); n.State != StateUp || n.Drain {
		t.Fatalf("undrained: %+v", n)
	}
	if r := h.topo(command{Op: opDrain, NodeID: "nope", Drain: true}); !errors.Is(r.Err, ErrUnknownNode) {
		t.Fatalf("drain unknown: %+v", r)
	}
	if r := h.topo(command{Op: opRemoveNode, NodeID: "n2"}); r.Err != nil || !r.Changed {
		t.Fatalf("remove: %+v", r)
	}
	if _, ok := h.f.current().topo.Node("n2"); ok {
		t.Fatal("n2 still there")
	}
}

func TestFSMRegions(t *testing.T) {
	h := newFSMHarness(t)
	if r := h.topo(command{Op: opAddRegion, Region: &Region{Name: "eu", ID: 3}}); r.Err != nil || !r.Changed {
		t.Fatalf("add: %+v", r)
	}
	if r := h.topo(command{Op: opAddRegion, Region: &Region{Name: "eu", ID: 3}}); r.Err != nil || r.Changed {
		t.Fatalf("same again: %+v", r)
	}
	for _, bad := range []Region{{Name: "eu", ID: 4}, {Name: "us", ID: 3}} {
		if r := h.topo(command{Op: opAddRegion, Region: &bad}); !errors.Is(r.Err, ErrRegionConflict) {
			t.Fatalf("%+v: %+v", bad, r)
		}
	}
	if r := h.topo(command{Op: opAddRegion, Region: &Region{Name: "x", ID: 16}}); !errors.Is(r.Err, ErrInvalid) {
		t.Fatalf("id 16: %+v", r)
	}
	for i := 0; i < 15; i++ {
		if r := h.topo(command{Op: opRegister, Spec: spec(fmt.Sprintf("n%d", i), fmt.Sprintf("r%d", i))}); r.Err != nil {
			t.Fatalf("region %d: %v", i, r.Err)
		}
	}
	before := h.f.current().topo.Epoch
	if r := h.topo(command{Op: opRegister, Spec: spec("late", "r15")}); !errors.Is(r.Err, ErrRegionsFull) {
		t.Fatalf("17th region: %+v", r)
	}
	if _, ok := h.f.current().topo.Node("late"); ok || h.f.current().topo.Epoch != before {
		t.Fatal("failed registration changed the topology")
	}
}

func TestFSMKeyspaces(t *testing.T) {
	h := newFSMHarness(t)
	good := keyspace.Settings{TTL: time.Minute, SoftTTL: 10 * time.Second, HardTTL: 2 * time.Minute, Replicas: 2}
	if r := h.ks(command{Op: opSetKeyspace, Keyspace: "user", Settings: &good}); r.Err != nil || r.KeyspaceVersion != 1 {
		t.Fatalf("set: %+v", r)
	}
	if r := h.ks(command{Op: opSetKeyspace, Keyspace: "user", Settings: &good}); r.Changed || r.KeyspaceVersion != 1 {
		t.Fatalf("same again: %+v", r)
	}
	bad := keyspace.Settings{SoftTTL: time.Hour, HardTTL: time.Minute}
	if r := h.ks(command{Op: opSetKeyspace, Keyspace: "user", Settings: &bad}); !errors.Is(r.Err, ErrInvalid) || !errors.Is(r.Err, keyspace.ErrInvalid) {
		t.Fatalf("soft over hard: %+v", r)
	}
	if got := h.f.current().topo.Keyspaces.Spaces["user"]; got != good {
		t.Fatalf("bad settings changed the keyspace: %+v", got)
	}
	h.ks(command{Op: opSetKeyspace, Keyspace: DefaultKeyspace, Settings: &keyspace.Settings{TTL: time.Second}})
	if tb := h.f.current().topo.Keyspaces; tb.Default.TTL != time.Second || tb.For([]byte("other:1")).TTL != time.Second {
		t.Fatalf("default: %+v", tb)
	}
	if r := h.ks(command{Op: opDeleteKeyspace, Keyspace: "nope"}); !errors.Is(r.Err, ErrUnknownKeyspace) {
		t.Fatalf("delete unknown: %+v", r)
	}
	if r := h.ks(command{Op: opDeleteKeyspace, Keyspace: "user"}); r.Err != nil || r.KeyspaceVersion != 3 {
		t.Fatalf("delete: %+v", r)
	}
	if h.f.current().topo.Epoch != 0 {
		t.Fatal("keyspace writes moved the topology epoch")
	}
}

func TestFSMViewsWakeWatchers(t *testing.T) {
	h := newFSMHarness(t)
	v := h.f.current()
	h.ks(command{Op: opSetKeyspace, Keyspace: "a", Settings: &keyspace.Settings{}})
	select {
	case <-v.changed:
	default:
		t.Fatal("old view's changed channel not closed")
	}
	// A view is a copy: later writes do not show through it.
	old := h.f.current()
	h.ks(command{Op: opSetKeyspace, Keyspace: "b", Settings: &keyspace.Settings{}})
	if _, ok := old.topo.Keyspaces.Spaces["b"]; ok {
		t.Fatal("old view sees a later write")
	}
}

// memSink is a raft.SnapshotSink in memory.
type memSink struct {
	bytes.Buffer
	cancelled bool
}

func (s *memSink) ID() string    { return "mem" }
func (s *memSink) Close() error  { return nil }
func (s *memSink) Cancel() error { s.cancelled = true; return nil }

func TestFSMSnapshotRestore(t *testing.T) {
	h := newFSMHarness(t)
	h.topo(command{Op: opRegister, Spec: spec("n1", "eu")})
	h.topo(command{Op: opRegister, Spec: spec("n2", "us")})
	h.topo(command{Op: opDrain, NodeID: "n2", Drain: true})
	h.ks(command{Op: opSetKeyspace, Keyspace: "user", Settings: &keyspace.Settings{TTL: time.Minute, StickyWindow: 2 * time.Second}})
	h.apply(command{Op: opSetMember, Member: &MemberInfo{ID: "m1", RaftAddress: "127.0.0.1:1", HTTPAddress: "127.0.0.1:2"}})
	h.apply(command{Op: opSetRebalance, Rebalance: &Rebalance{ID: "r1", State: RebalanceRunning, RangesTotal: 10, RangesDone: 3, Keys: 100, Bytes: 4096}})
	keyed := command{Op: opSetWeight, NodeID: "n1", Weight: 9, Key: "w9"}
	keyed.ExpectEpoch = ptr(h.f.current().topo.Epoch)
	h.apply(keyed)

	snap, err := h.f.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	sink := &memSink{}
	if err := snap.Persist(sink); err != nil {
		t.Fatal(err)
	}
	snap.Release()

	g := newFSM()
	if err := g.Restore(io.NopCloser(bytes.NewReader(sink.Bytes()))); err != nil {
		t.Fatal(err)
	}
	a, b := h.f.current(), g.current()
	if !reflect.DeepEqual(a.topo, b.topo) || !reflect.DeepEqual(a.members, b.members) || !reflect.DeepEqual(a.rebalance, b.rebalance) {
		t.Fatalf("restored state differs:\n%+v\n%+v", a.topo, b.topo)
	}
	// The idempotency keys survive too: the retry is still recognised.
	h2 := &fsmHarness{t: t, f: g, index: 100}
	if r := h2.apply(keyed); r.Changed || r.Err != nil || r.Epoch != a.topo.Epoch {
		t.Fatalf("retry after restore: %+v", r)
	}
	if err := g.Restore(io.NopCloser(bytes.NewReader([]byte(`{"format":99}`)))); err == nil {
		t.Fatal("restored a snapshot of an unknown format")
	}
	var st state
	if err := json.Unmarshal(sink.Bytes(), &st); err != nil || st.Format != snapshotFormat {
		t.Fatalf("snapshot encoding: %v %d", err, st.Format)
	}
}
