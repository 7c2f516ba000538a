package raftmeta

import (
	"reflect"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

func TestLeaseBook(t *testing.T) {
	const timeout = 3 * time.Second
	start := time.Unix(1000, 0)
	up := Node{ID: "n1", State: StateUp}
	down := Node{ID: "n1", State: StateDown}

	type step struct {
		advance time.Duration
		renew   bool
		node    Node
		want    map[string]bool
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"a late heartbeat inside the lease is not a lapse", []step{
			{renew: true, node: up},
			{advance: timeout, node: up, want: nil},
			{renew: true, node: up},
			{advance: timeout, node: up, want: nil},
		}},
		{"a lapsed lease is a down verdict", []step{
			{renew: true, node: up},
			{advance: timeout + time.Millisecond, node: up, want: map[string]bool{"n1": false}},
		}},
		{"a node first seen gets a full lease", []step{
			{node: up, want: nil},
			{advance: timeout, node: up, want: nil},
			{advance: time.Millisecond, node: up, want: map[string]bool{"n1": false}},
		}},
		{"a down node must renew steadily for upAfter", []step{
			{renew: true, node: down},
			{advance: time.Second, renew: true, node: down, want: nil},
			{advance: time.Second, renew: true, node: down, want: nil},
			{advance: time.Second, renew: true, node: down, want: map[string]bool{"n1": true}},
		}},
		{"a gap longer than the lease restarts the run", []step{
			{renew: true, node: down},
			{advance: 2 * time.Second, renew: true, node: down, want: nil},
			{advance: timeout + time.Second, renew: true, node: down, want: nil},
			{advance: 2 * time.Second, renew: true, node: down, want: nil},
			{advance: time.Second, node: down, want: map[string]bool{"n1": true}},
		}},
		{"a flapping node stays down", []step{
			{renew: true, node: down},
			{advance: timeout + time.Second, renew: true, node: down, want: nil},
			{advance: timeout + time.Second, renew: true, node: down, want: nil},
			{advance: timeout + time.Second, renew: true, node: down, want: nil},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := clock.NewFake(start)
			b := newLeaseBook(timeout, timeout)
			for i, s := range tc.steps {
				fake.Advance(s.advance)
				if s.renew {
					b.renew("n1", fake.Now())
				}
				got := b.verdicts([]Node{s.node}, fake.Now())
				if !reflect.DeepEqual(got, s.want) {
					t.Fatalf("step %d: verdicts %v, want %v", i, got, s.want)
				}
			}
		})
	}
}

func TestLeaseBookGrantGivesGrace(t *testing.T) {
	fake := clock.NewFake(time.Unix(1000, 0))
	b := newLeaseBook(time.Second, time.Second)
	b.renew("n1", fake.Now())
	fake.Advance(900 * time.Millisecond)
	// A new leader takes over: whatever the old one saw, every node gets a
	// full lease from now, and down nodes do not count the grant as a
	// renewal.
	b.grant([]string{"n1", "n2"}, fake.Now())
	fake.Advance(time.Second)
	nodes := []Node{{ID: "n1", State: StateUp}, {ID: "n2", State: StateDown}}
	if v := b.verdicts(nodes, fake.Now()); v != nil {
		t.Fatalf("verdicts inside the grace: %v", v)
	}
	fake.Advance(time.Millisecond)
	if v := b.verdicts(nodes, fake.Now()); !reflect.DeepEqual(v, map[string]bool{"n1": false}) {
		t.Fatalf("verdicts after the grace: %v", v)
	}
	// Nodes that left the topology are forgotten.
	b.verdicts(nil, fake.Now())
	if _, ok := b.lastRenewal("n1"); ok {
		t.Fatal("removed node still in the book")
	}
}
