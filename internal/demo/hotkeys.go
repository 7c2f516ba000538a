package demo

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/tiercache/tiercache/internal/dashboard"
	"github.com/tiercache/tiercache/internal/keyspace"
)

// hotKeysShown is how many hot keys a region shows.
const hotKeysShown = 3

// hotHold is how long a region keeps showing a key its L2 nodes flagged.
// A flagged key moves into the app clients' L1 for the hot L1 TTL, so its
// reads stop reaching the node and the detector's count for it falls under
// the line while the key is still served as hot: without the hold, a key
// would blink on and off the page with every L1 refill.
const hotHold = keyspace.DefaultHotL1TTL

// hotKeyMemory keeps, by region, the keys the region's L2 nodes flagged
// within the last hotHold and the rate they had when last flagged. It is
// safe for concurrent use (Snapshot may run from several goroutines).
type hotKeyMemory struct {
	mu   sync.Mutex
	seen map[string]map[string]seenHot // region -> key -> when and how hot
}

type seenHot struct {
	rate float64
	at   time.Time
}

// update records what the region's nodes flag now and returns the region's
// hottest keys seen within hotHold, hottest first, at most limit.
func (m *hotKeyMemory) update(region string, now []dashboard.HotKey, at time.Time, limit int) []dashboard.HotKey {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil {
		m.seen = map[string]map[string]seenHot{}
	}
	keys := m.seen[region]
	if keys == nil {
		keys = map[string]seenHot{}
		m.seen[region] = keys
	}
	for _, h := range now {
		keys[h.Key] = seenHot{rate: h.Rate, at: at}
	}
	out := make([]dashboard.HotKey, 0, len(keys))
	for k, s := range keys {
		if at.Sub(s.at) > hotHold {
			delete(keys, k)
			continue
		}
		out = append(out, dashboard.HotKey{Key: k, Region: region, Rate: s.rate})
	}
	sortHot(out)
	return out[:min(limit, len(out))]
}

// regionHotKeys returns the keys the region's running L2 nodes' detectors
// flag now, hottest first, at most limit. A key flagged by several nodes
// (its owner and, after a failover, the new owner) shows once with the sum
// of their rates: the load it puts on the region.
func regionHotKeys(a *app, limit int) []dashboard.HotKey {
	rates := map[string]float64{}
	for _, id := range a.region.NodeIDs() {
		n := a.region.Node(id)
		if n == nil {
			continue
		}
		for _, h := range n.HotKeys(limit) {
			rates[h.Key] += h.Rate
		}
	}
	out := make([]dashboard.HotKey, 0, len(rates))
	for k, r := range rates {
		out = append(out, dashboard.HotKey{Key: k, Region: a.region.Name, Rate: r})
	}
	sortHot(out)
	return out[:min(limit, len(out))]
}

func sortHot(keys []dashboard.HotKey) {
	slices.SortFunc(keys, func(x, y dashboard.HotKey) int { return cmp.Or(cmp.Compare(y.Rate, x.Rate), cmp.Compare(x.Key, y.Key)) })
}
