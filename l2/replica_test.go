package l2

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/keyspace"
)

// replicatedRegion starts a region whose "user" keyspace keeps copies.
func replicatedRegion(t *testing.T, size, copies int) []*Node {
	t.Helper()
	nodes := startRegion(t, size, nil)
	ks := &keyspace.Table{Spaces: map[string]keyspace.Settings{"user": {Replicas: copies}}}
	for _, n := range nodes {
		n.SetKeyspaces(ks)
	}
	return nodes
}

// waitReplicated waits until every node's replicas acknowledged all it
// queued.
func waitReplicated(t *testing.T, nodes []*Node) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, n := range nodes {
		for {
			s := n.ReplicaStats()
			if s.Queued == 0 && s.Applied+s.Failed+s.Dropped == s.Enqueued {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: replication stuck: %+v", n.cfg.ID, s)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

func byID(nodes []*Node) map[string]*Node {
	m := map[string]*Node{}
	for _, n := range nodes {
		m[n.cfg.ID] = n
	}
	return m
}

// TestReplicationCopiesWritesToReplicas writes with TC.SET and TC.DEL and checks that the primary's replicas (Owners[1:]) hold
// the same version, keys of a one-copy keyspace stay on their owner only,
// and the lag is measured.
func TestReplicationCopiesWritesToReplicas(t *testing.T) {
	nodes := replicatedRegion(t, 3, 2)
	ids := byID(nodes)
	ctx := ctxT(t)
	rc := newClient(t, nodes[0].Addr(), nil)
	const keys = 200
	for i := range keys {
		k := "user:" + strconv.Itoa(i)
		if err := rc.Do(ctx, "TC.SET", k, 0, "v"+strconv.Itoa(i), 0, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rc.Do(ctx, "TC.SET", "user:tc"+strconv.Itoa(i), 0, "x", 0, 0).Err(); err != nil {
			t.Fatal(err)
		}
		if err := rc.Set(ctx, "plain:"+strconv.Itoa(i), "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < keys; i += 2 {
		if err := rc.Do(ctx, "TC.DEL", "user:"+strconv.Itoa(i), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	waitReplicated(t, nodes)
	r := nodes[0].Ring()
	for i := range keys {
		for _, k := range []string{"user:" + strconv.Itoa(i), "user:tc" + strconv.Itoa(i)} {
			owners := r.Owners([]byte(k), 3, nil)
			prim, repl, other := ids[owners[0]].store, ids[owners[1]].store, ids[owners[2]].store
			pit, pok := prim.Peek([]byte(k))
			rit, rok := repl.Peek([]byte(k))
			if pok != rok || pit.Version != rit.Version || string(pit.Value) != string(rit.Value) {
				t.Fatalf("%s: primary %v %+v, replica %v %+v", k, pok, pit, rok, rit)
			}
			if pv, ok := prim.Tombstone([]byte(k)); ok {
				if rv, ok := repl.Tombstone([]byte(k)); !ok || rv != pv {
					t.Fatalf("%s: tombstone %d on primary, %d %v on replica", k, pv, rv, ok)
				}
			}
			if other.Exists([]byte(k)) {
				t.Fatalf("%s on a third node", k)
			}
		}
		k := []byte("plain:" + strconv.Itoa(i))
		held := 0
		for _, n := range nodes {
			if n.store.Exists(k) {
				held++
			}
		}
		if held != 1 {
			t.Fatalf("%s held by %d nodes", k, held)
		}
	}
	var total ReplicaStats
	for _, n := range nodes {
		s := n.ReplicaStats()
		total.Enqueued += s.Enqueued
		total.Applied += s.Applied
		total.LagMax = max(total.LagMax, s.LagMax)
		if s.Applied > 0 && (s.LagP50 <= 0 || s.LagP99 < s.LagP50 || s.LagMax < s.LagP99) {
			t.Fatalf("%s lag figures %+v", n.cfg.ID, s)
		}
	}
	if want := uint64(keys*2 + keys/2); total.Enqueued != want || total.Applied != want {
		t.Fatalf("enqueued %d applied %d, want %d", total.Enqueued, total.Applied, want)
	}
}

// TestReplicaQueueDropsWhenFull: a writer facing a full queue drops the
// change and counts it rather than wait.
func TestReplicaQueueDropsWhenFull(t *testing.T) {
	n := startNode(t, Config{})
	n.cluster().repl.capacity = 4
	q := n.cluster().repl.queue("elsewhere")
	q.running = true // a drain is busy: nothing leaves the queue
	for i := range 10 {
		n.enqueueReplica(q, replItem{key: []byte("k" + strconv.Itoa(i))})
	}
	if s := n.ReplicaStats(); s.Enqueued != 4 || s.Dropped != 6 || s.Queued != 4 {
		t.Fatalf("stats %+v", s)
	}
	q.mu.Lock()
	q.items, q.running = nil, false
	q.mu.Unlock()
}

// TestReplicaAppliesByVersion: a change that arrives after a newer one is
// ignored, a delete leaves a tombstone that refuses older writes.
func TestReplicaAppliesByVersion(t *testing.T) {
	n := startNode(t, Config{})
	raw := dialRaw(t, n.Addr())
	send := func(args ...string) string {
		raw.send(resp(args...))
		return strings.TrimSpace(raw.reply())
	}
	if r := send("tc.repl", "k", "20", "0", "0", "new"); r != "+OK" {
		t.Fatalf("apply: %q", r)
	}
	send("tc.repl", "k", "10", "0", "0", "old")
	if it, _ := n.store.Peek([]byte("k")); string(it.Value) != "new" || it.Version != 20 {
		t.Fatalf("after reorder %+v", it)
	}
	send("tc.repl", "k", "30", "0", "0")
	send("tc.repl", "k", "25", "0", "0", "older")
	if _, ok := n.store.Peek([]byte("k")); ok {
		t.Fatal("older write passed the tombstone")
	}
	if v, ok := n.store.Tombstone([]byte("k")); !ok || v != 30 {
		t.Fatalf("tombstone %d %v", v, ok)
	}
	if r := send("tc.repl", "k", "x", "0", "0"); r[0] != '-' {
		t.Fatalf("bad version accepted: %q", r)
	}
}
