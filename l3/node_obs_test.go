package l3

import (
	"testing"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/telemetry"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
)

// TestKeyspaceReadMetrics reads named and unnamed keyspaces and checks the
// node's per-keyspace series, which must add up to its totals.
func TestKeyspaceReadMetrics(t *testing.T) {
	tel, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	defer tel.Close()
	n, _ := newTestNode(t, Config{ID: "g1", Region: "eu"})
	n.SetKeyspaces(&keyspace.Table{Spaces: map[string]keyspace.Settings{"user": {}}})
	unregister, err := n.RegisterMetrics(tel.Meter("tiercache/l3"))
	if err != nil {
		t.Fatal(err)
	}
	defer unregister()
	get := func(key string, mode Mode) GetReply {
		t.Helper()
		rep, err := n.Get(GetRequest{Key: []byte(key), Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		return rep
	}
	miss := get("user:1", ModeLease)
	if rep, err := n.Fill(FillRequest{Key: []byte("user:1"), Token: miss.Token, Item: item("alice", 10)}); err != nil || rep.Status != StatusOK {
		t.Fatalf("fill: %+v %v", rep, err)
	}
	for range 3 {
		if get("user:1", ModeRead).Status != StatusHit {
			t.Fatal("no hit after the fill")
		}
	}
	get("cart:1", ModeRead)
	if _, err := n.Get(GetRequest{}); err == nil {
		t.Fatal("an empty key was read")
	}

	s := metricstest.Get(t, tel)
	for _, c := range []struct {
		name, keyspace string
		want           float64
	}{
		{"tiercache_keyspace_hits_total", "user", 3}, {"tiercache_keyspace_misses_total", "user", 1},
		{"tiercache_keyspace_misses_total", "other", 1}, {"tiercache_keyspace_stale_hits_total", "user", 0},
	} {
		if v := s.Must(t, c.name, "tier", "l3", "keyspace", c.keyspace, "node", "g1", "region", "eu"); v != c.want {
			t.Errorf("%s{keyspace=%s} = %v, want %v", c.name, c.keyspace, v, c.want)
		}
	}
	var gets uint64
	for _, k := range n.KeyspaceStats() {
		gets += k.Hits + k.Stale + k.Misses
	}
	if st := n.Stats(); gets != st.Gets {
		t.Errorf("per keyspace %d reads, node counted %d", gets, st.Gets)
	}
}
