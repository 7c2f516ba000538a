package demo

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/dashboard"
)

func TestWorstBreakersAcrossClients(t *testing.T) {
	a := []tiercache.NodeBreaker{{Node: "n1", State: "closed"}, {Node: "n2", State: "half-open"}, {Node: "n3", State: "open"}}
	b := []tiercache.NodeBreaker{
		{Node: "n1", State: "half-open"}, {Node: "n2", State: "closed"}, {Node: "n3", State: "half-open"},
		{Node: "g1", State: "open", Gutter: true},
	}
	want := map[string]string{"n1": "half-open", "n2": "half-open", "n3": "open"}
	if got := worstBreakers(a, b); !reflect.DeepEqual(got, want) {
		t.Fatalf("worstBreakers = %v, want %v", got, want)
	}
	nodes := []dashboard.NodeState{{ID: "n1", Tier: "l2"}, {ID: "n4", Tier: "l2"}, {ID: "l3", Tier: "l3"}}
	fillBreakers(nodes, map[string]string{"n1": "open", "l3": "open"})
	if nodes[0].Breaker != "open" || nodes[1].Breaker != "" || nodes[2].Breaker != "" {
		t.Fatalf("fillBreakers: %+v (an unrouted node and L3 must show none)", nodes)
	}
}

func TestHotKeyMemoryHoldsFlaggedKeys(t *testing.T) {
	var m hotKeyMemory
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	flagged := []dashboard.HotKey{{Key: "a", Rate: 60}, {Key: "b", Rate: 90}}
	got := m.update("us", flagged, t0, 3)
	if len(got) != 2 || got[0].Key != "b" || got[1].Key != "a" || got[0].Region != "us" {
		t.Fatalf("%+v, want b then a in us", got)
	}
	if other := m.update("eu", nil, t0, 3); len(other) != 0 {
		t.Fatalf("another region shows %+v", other)
	}
	// A key in the clients' L1 is no longer flagged by its node, but it
	// stays on show for the hold, at the rate it was last flagged with.
	got = m.update("us", []dashboard.HotKey{{Key: "a", Rate: 120}}, t0.Add(hotHold/2), 1)
	if len(got) != 1 || got[0] != (dashboard.HotKey{Key: "a", Region: "us", Rate: 120}) {
		t.Fatalf("%+v, want only a at its new rate (limit 1)", got)
	}
	got = m.update("us", nil, t0.Add(hotHold+time.Millisecond), 3)
	if len(got) != 1 || got[0].Key != "a" {
		t.Fatalf("%+v: b was last flagged over hotHold ago, a within it", got)
	}
	if got = m.update("us", nil, t0.Add(2*hotHold), 3); len(got) != 0 {
		t.Fatalf("%+v still shown after the hold", got)
	}
}

func TestEventLogKeepsTheLatest(t *testing.T) {
	var l eventLog
	for i := range maxDemoEvents + 5 {
		l.add("event %d", i)
	}
	if len(l.events) != maxDemoEvents || l.events[0].Text != "event 5" || l.events[maxDemoEvents-1].Text != "event "+strconv.Itoa(maxDemoEvents+4) {
		t.Fatalf("%d events from %q to %q", len(l.events), l.events[0].Text, l.events[len(l.events)-1].Text)
	}
}
