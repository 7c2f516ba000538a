package demo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/federated"
	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/internal/dashboard"
	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l3"
)

// spanNamed returns the index of the one span called name, failing the
// test if there is not exactly one.
func spanNamed(t *testing.T, tr dashboard.Trace, name string) int {
	t.Helper()
	found := -1
	for i, s := range tr.Spans {
		if s.Name == name {
			if found >= 0 {
				t.Fatalf("two spans named %s in %+v", name, tr.Spans)
			}
			found = i
		}
	}
	if found < 0 {
		t.Fatalf("no span named %s in %+v", name, tr.Spans)
	}
	return found
}

// TraceGet of a fresh key reads it through every tier: one trace from the
// client's Get down to the remote region's L3 node and back to the origin,
// each span the child of the one that made the request.
func TestTraceGetFollowsOneReadAcrossRegions(t *testing.T) {
	d := startDemo(t, small())
	home := d.apps[1].region.Name
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tr, err := d.TraceGet(ctx, home, "")
	if err != nil {
		t.Fatal(err)
	}
	if tr.TraceID == "" || tr.Region != home || tr.Key == "" {
		t.Fatalf("trace %s of %q in %q", tr.TraceID, tr.Key, tr.Region)
	}
	if c := d.db.CommitOf(tr.Key); c.Version != 1 {
		t.Errorf("key %s has row version %d: not a fresh row", tr.Key, c.Version)
	}
	owner, err := d.apps[1].region.Client.Owner([]byte(tr.Key))
	if err != nil {
		t.Fatal(err)
	}
	if owner.Region == home {
		t.Fatalf("key %s is owned in the home region %s: the trace would not cross a link", tr.Key, home)
	}
	get := spanNamed(t, tr, tiercache.SpanGet)
	tcGet := spanNamed(t, tr, tiercache.SpanNode)
	load := spanNamed(t, tr, tiercache.SpanLoad)
	served := spanNamed(t, tr, l2.SpanTCGet)
	ask := spanNamed(t, tr, l2.SpanGlobalGet)
	call := spanNamed(t, tr, federation.SpanCall)
	serve := spanNamed(t, tr, federation.SpanServe)
	l3Get := spanNamed(t, tr, l3.SpanGet)
	if p := tr.Spans[get].Parent; p != -1 {
		t.Errorf("the Get's parent is %d: it should root the trace", p)
	}
	for _, link := range []struct{ child, parent int }{
		{tcGet, get}, {load, get}, {served, tcGet}, {ask, served}, {call, ask}, {serve, call}, {l3Get, serve},
	} {
		if got := tr.Spans[link.child].Parent; got != link.parent {
			t.Errorf("%s's parent is %d, want %s (%d)", tr.Spans[link.child].Name, got, tr.Spans[link.parent].Name, link.parent)
		}
	}
	// Who recorded what: the app and the origin load in the home region,
	// an L2 node and the calling endpoint there too, the serving endpoint
	// and the L3 node in the owner's region.
	want := []struct {
		span            int
		service, region string
	}{
		{get, "client", home}, {load, "origin", home}, {served, "l2", home}, {ask, "l2", home},
		{call, "federation", home}, {serve, "federation", owner.Region}, {l3Get, "l3", owner.Region},
	}
	for _, w := range want {
		s := tr.Spans[w.span]
		if s.Service != w.service || s.Region != w.region {
			t.Errorf("%s recorded by %s in %s, want %s in %s", s.Name, s.Service, s.Region, w.service, w.region)
		}
	}
	if a := tr.Spans[load].Attrs; a["degraded"] != "false" || tr.Spans[load].Error != "" {
		t.Errorf("origin load %+v: want a plain load, not a degraded or failed one", tr.Spans[load])
	}
	if tr.Spans[l3Get].Node != owner.ID {
		t.Errorf("L3 span recorded by %q, want the owner %s", tr.Spans[l3Get].Node, owner.ID)
	}
	for i, s := range tr.Spans {
		if s.StartMs < 0 || s.DurationMs < 0 || s.StartMs+s.DurationMs > tr.DurationMs+0.001 {
			t.Errorf("span %d %s: start %v ms, duration %v ms, trace %v ms", i, s.Name, s.StartMs, s.DurationMs, tr.DurationMs)
		}
	}

	// Every span in the trace is the read's; the workload, which has no
	// tracer, left nothing in the recorders.
	for _, r := range d.inst.traces.recorders() {
		for _, s := range r.allSpans() {
			if s.SpanContext().TraceID().String() != tr.TraceID {
				t.Errorf("%s recorded span %s of another trace %s", r.node, s.Name(), s.SpanContext().TraceID())
			}
		}
	}

	if _, err := d.TraceGet(ctx, "nowhere", ""); !errors.Is(err, federated.ErrUnknownRegion) {
		t.Errorf("TraceGet in an unknown region: %v, want ErrUnknownRegion", err)
	}
}

// A node RestartNode starts again is traced and exported like the others.
func TestRestartedNodeIsInstrumented(t *testing.T) {
	d := startDemo(t, small())
	r := d.apps[0].region
	victim := r.NodeIDs()[0]
	if err := d.Act(context.Background(), dashboard.Action{Kind: dashboard.ActionKillNode, Target: victim}); err != nil {
		t.Fatal(err)
	}
	if err := d.Act(context.Background(), dashboard.Action{Kind: dashboard.ActionRestartNode, Target: victim}); err != nil {
		t.Fatal(err)
	}
	n := r.Node(victim)
	if n == nil {
		t.Fatal("restarted node missing")
	}
	waitFor(t, "a scrape showing the restarted node's commands", 20*time.Second, func() bool {
		v, ok := scrape(t, d).Value("tiercache_l2_commands_total", "node", victim, "region", r.Name)
		return ok && v > 0 && n.Stats().Commands > 0 && r.Node(victim) == n
	})
	// Its tracer records into its id's recorder: a traced read of a key
	// it owns leaves its span there.
	waitFor(t, "the restarted node up", 20*time.Second, func() bool {
		for _, ns := range d.Snapshot().Regions[0].Nodes {
			if ns.ID == victim {
				return ns.State == "up"
			}
		}
		return false
	})
	key := ""
	waitFor(t, "a key the restarted node owns", 20*time.Second, func() bool {
		for i := range d.opts.Rows {
			if k := d.db.Key(i); r.Owner([]byte(k)) == n {
				key = k
				return true
			}
		}
		return false
	})
	var tr dashboard.Trace
	waitFor(t, "a trace through the restarted node", 20*time.Second, func() bool {
		var err error
		if tr, err = d.TraceGet(context.Background(), r.Name, key); err != nil {
			t.Fatal(err)
		}
		for _, s := range tr.Spans {
			if s.Name == l2.SpanTCGet && s.Node == victim {
				return true
			}
		}
		return false // the trace client may still route by the epoch before the node came up
	})
}

func scrape(t *testing.T, d *Demo) metricstest.Scrape {
	t.Helper()
	h := d.MetricsHandler()
	if h == nil {
		t.Fatal("no metrics handler")
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK {
		t.Fatalf("/metrics: %d %s", rec.Code, body)
	}
	return metricstest.Scrape(body)
}

// /metrics holds every component's series, told apart by their labels.
func TestMetricsLabelEveryComponent(t *testing.T) {
	d := startDemo(t, small())
	// Wait for what the scrape is checked for, not a guess at it: on a
	// loaded machine 50 reads may all miss L2, or an election be running.
	waitFor(t, "reads and L2 hits in every region, and a control-plane leader", 30*time.Second, func() bool {
		for _, a := range d.apps {
			if a.reads.Load() < 50 || a.client.Stats().L2Hits == 0 {
				return false
			}
		}
		return d.dep.Leader() != ""
	})
	s := scrape(t, d)
	for _, a := range d.apps {
		r := a.region
		for _, id := range r.NodeIDs() {
			s.Must(t, "tiercache_l2_commands_total", "node", id, "region", r.Name)
		}
		s.Must(t, "tiercache_l3_gets_total", "node", r.L3.ID(), "region", r.Name)
		if v := s.Must(t, "tiercache_l3_client_calls_total", "region", r.Name, "route", "remote"); v <= 0 {
			t.Errorf("%s's global-tier client made %v remote calls", r.Name, v)
		}
		for _, peer := range d.apps {
			if peer != a {
				s.Must(t, "tiercache_federation_connected", "region", r.Name, "link", peer.region.Name)
			}
		}
		if v := s.Must(t, "tiercache_client_hits_total", "region", r.Name, "tier", "l2"); v <= 0 {
			t.Errorf("app in %s: %v L2 hits after its reads", r.Name, v)
		}
	}
	members := d.dep.MetaMembers()
	if len(members) != 3 {
		t.Fatalf("%d control-plane members, want 3", len(members))
	}
	leaders := 0.0
	for _, m := range members {
		if e := s.Must(t, "tiercache_topology_epoch", "member", m.ID()); e <= 0 {
			t.Errorf("member %s exports epoch %v", m.ID(), e)
		}
		leaders += s.Must(t, "tiercache_meta_leader", "member", m.ID())
	}
	if leaders != 1 {
		t.Errorf("%v members export leader=1, want one", leaders)
	}
}
