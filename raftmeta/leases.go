package raftmeta

import (
	"sync"
	"time"
)

// leaseBook is the leader's memory of node lease renewals. Renewals never
// go through Raft; only the verdicts they lead to (a node down or back up)
// do. A new leader starts with an empty book and grants every node a full
// lease from the moment it became ready, so nobody is marked down for the
// time the group spent electing.
type leaseBook struct {
	timeout time.Duration // a node whose last renewal is older is down
	upAfter time.Duration // a down node needs a steady run this long to be up

	mu sync.Mutex // protects last and streak
	// last is each node's latest renewal (or the grant of grace).
	last map[string]time.Time
	// streak is when each node's current run of steady renewals began: no
	// gap in it is longer than timeout. A grant does not start a run; only
	// real renewals do.
	streak map[string]time.Time
}

func newLeaseBook(timeout, upAfter time.Duration) *leaseBook {
	return &leaseBook{timeout: timeout, upAfter: upAfter, last: map[string]time.Time{}, streak: map[string]time.Time{}}
}

// reset forgets everything, when leadership is lost.
func (b *leaseBook) reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.last)
	clear(b.streak)
}

// grant gives every node in ids a full lease starting at now.
func (b *leaseBook) grant(ids []string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	clear(b.last)
	clear(b.streak)
	for _, id := range ids {
		b.last[id] = now
	}
}

// renew records a renewal of id at now.
func (b *leaseBook) renew(id string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	prev, ok := b.last[id]
	if _, running := b.streak[id]; !running || !ok || now.Sub(prev) > b.timeout {
		b.streak[id] = now
	}
	b.last[id] = now
}

// lastRenewal returns id's latest renewal or grant.
func (b *leaseBook) lastRenewal(id string) (time.Time, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.last[id]
	return t, ok
}

// verdicts returns the nodes whose liveness should change: false for a
// live node whose lease has lapsed (a late heartbeat inside the lease is
// not enough), true for a down node that has renewed steadily for upAfter.
// A node the book has not seen (registered through an earlier leader after
// this one's grant) gets a full lease from now.
func (b *leaseBook) verdicts(nodes []Node, now time.Time) map[string]bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out map[string]bool
	set := func(id string, live bool) {
		if out == nil {
			out = map[string]bool{}
		}
		out[id] = live
	}
	seen := make(map[string]bool, len(nodes))
	for _, n := range nodes {
		seen[n.ID] = true
		last, ok := b.last[n.ID]
		if !ok {
			b.last[n.ID] = now
			continue
		}
		lapsed := now.Sub(last) > b.timeout
		if lapsed {
			delete(b.streak, n.ID)
		}
		switch {
		case n.Live() && lapsed:
			set(n.ID, false)
		case !n.Live() && !lapsed:
			if s, ok := b.streak[n.ID]; ok && now.Sub(s) >= b.upAfter {
				set(n.ID, true)
			}
		}
	}
	for id := range b.last {
		if !seen[id] {
			delete(b.last, id)
			delete(b.streak, id)
		}
	}
	return out
}
