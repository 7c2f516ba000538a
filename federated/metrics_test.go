package federated

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/telemetry"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
)

// TestKeyspaceMetricsAcrossRegions reads through a running federation and
// scrapes each region's /metrics: the L2 owner and the remote L3 owner
// count the read under its keyspace, the app counts the origin load, and a
// keyspace the table does not name is "other" everywhere.
func TestKeyspaceMetricsAcrossRegions(t *testing.T) {
	ks := &keyspace.Table{
		Default: keyspace.Settings{TTL: time.Minute, L1: keyspace.L1Off, EarlyRefresh: -1},
		Spaces:  map[string]keyspace.Settings{"user": {TTL: time.Minute, L1: keyspace.L1Off, EarlyRefresh: -1}},
	}
	d := startWith(t, Options{Keyspaces: ks, Seed: 2})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tels := map[string]*telemetry.Telemetry{}
	for _, r := range d.Regions() {
		tel, err := telemetry.New()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tel.Close() })
		tels[r.Name] = tel
		r.L3.SetKeyspaces(ks)
		var unregs []func() error
		for _, n := range r.L2 {
			u, err := n.RegisterMetrics(tel.Meter("tiercache/l2"), r.Name)
			if err != nil {
				t.Fatal(err)
			}
			unregs = append(unregs, u)
		}
		u3, err := r.L3.RegisterMetrics(tel.Meter("tiercache/l3"))
		if err != nil {
			t.Fatal(err)
		}
		uf, err := r.Endpoint.RegisterMetrics(tel.Meter("tiercache/federation"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			for _, u := range append(unregs, u3, uf) {
				_ = u()
			}
		})
	}
	home := d.Regions()[0]
	key, owner := remoteKey(t, home, "user:")
	c := client(t, home, ks)
	appTel, err := telemetry.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = appTel.Close() })
	unreg, err := c.RegisterMetrics(appTel.Meter("tiercache/client"), attribute.String("app", "shop"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unreg() })
	loader := tiercache.LoaderFunc(func(_ context.Context, k string) ([]byte, error) { return []byte("v(" + k + ")"), nil })
	for _, k := range []string{key, "cart:1"} {
		if v, err := c.Get(ctx, k, loader); err != nil || string(v) != "v("+k+")" {
			t.Fatalf("Get %s: %q %v", k, v, err)
		}
	}
	// The second read of key is an L2 hit once the fill has landed.
	l2Owner := home.Owner([]byte(key))
	var ownerID string
	for _, id := range home.NodeIDs() {
		if home.Node(id) == l2Owner {
			ownerID = id
		}
	}
	hitsOf := func() uint64 {
		for _, k := range l2Owner.KeyspaceStats() {
			if k.Keyspace == "user" {
				return k.Hits
			}
		}
		return 0
	}
	deadline := time.Now().Add(10 * time.Second)
	for hitsOf() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no L2 hit of the filled key")
		}
		if _, err := c.Get(ctx, key, loader); err != nil {
			t.Fatal(err)
		}
	}

	app := metricstest.Get(t, appTel)
	for keyspace, want := range map[string]float64{"user": 1, "other": 1} {
		if v := app.Must(t, "tiercache_keyspace_origin_loads_total", "app", "shop", "keyspace", keyspace); v != want {
			t.Errorf("app origin loads of %s: %v, want %v", keyspace, v, want)
		}
	}
	homeS := metricstest.Get(t, tels[home.Name])
	l2Labels := func(keyspace string) []string {
		return []string{"tier", "l2", "keyspace", keyspace, "node", ownerID, "region", home.Name}
	}
	if v := homeS.Must(t, "tiercache_keyspace_misses_total", l2Labels("user")...); v != 1 {
		t.Errorf("L2 owner's misses of user: %v, want 1", v)
	}
	if v := homeS.Must(t, "tiercache_keyspace_hits_total", l2Labels("user")...); v < 1 {
		t.Errorf("L2 owner's hits of user: %v, want at least 1", v)
	}
	remoteS := metricstest.Get(t, tels[owner.Region])
	if v := remoteS.Must(t, "tiercache_keyspace_misses_total", "tier", "l3", "keyspace", "user", "node", owner.ID, "region", owner.Region); v != 1 {
		t.Errorf("remote L3 owner's misses of user: %v, want 1", v)
	}
	// cart:1 reached one L3 node, wherever it lives, as "other".
	var otherL3 float64
	for _, r := range d.Regions() {
		s := metricstest.Get(t, tels[r.Name])
		v, _ := s.Value("tiercache_keyspace_misses_total", "tier", "l3", "keyspace", "other")
		otherL3 += v
		if _, ok := s.Value("tiercache_keyspace_misses_total", "keyspace", "cart"); ok {
			t.Errorf("region %s exports a series for keyspace cart, which the table does not name", r.Name)
		}
	}
	if otherL3 != 1 {
		t.Errorf("L3 misses of other across regions: %v, want 1", otherL3)
	}
	// The per-link and per-node series the issue lists are there too.
	homeS.Must(t, "tiercache_federation_lag_seconds", "region", home.Name, "link", owner.Region, "quantile", "0.99")
	if v := homeS.Must(t, "tiercache_federation_connected", "region", home.Name, "link", owner.Region); v != 1 {
		t.Errorf("link %s→%s connected = %v", home.Name, owner.Region, v)
	}
	homeS.Must(t, "tiercache_topology_epoch", "node", ownerID)
	homeS.Must(t, "tiercache_l2_busy_total", "node", ownerID)
	app.Must(t, "tiercache_breaker_open", "app", "shop", "node", ownerID)
}
