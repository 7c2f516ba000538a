package l2

import (
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/tiercache/tiercache/l2/ring"
	"github.com/tiercache/tiercache/l2/store"
)

// The new owner's side of a migration: the set of ranges it gains and who
// held them, consulted on a TC.GET miss (pull-through).

// migrators maps a *Node to its *Migrator, for the TC.GET miss path; live
// counts entries so a node without a migrator pays one atomic load per
// miss. Migrator.Close removes the entry.
var (
	migrators     sync.Map
	migratorsLive atomic.Int32
)

func registerMigrator(n *Node, m *Migrator) {
	if _, loaded := migrators.Swap(n, m); !loaded {
		migratorsLive.Add(1)
	}
}

func unregisterMigrator(n *Node, m *Migrator) {
	if migrators.CompareAndDelete(n, m) {
		migratorsLive.Add(-1)
	}
}

// span is an inclusive stretch [lo, hi] of the hash space tagged with the
// index of the source that held it.
type span struct {
	lo, hi uint64
	src    int
}

// appendSpans appends rg as one or two non-wrapping spans.
func appendSpans(dst []span, rg ring.Range, src int) []span {
	if rg.Start < rg.End {
		return append(dst, span{rg.Start + 1, rg.End, src})
	}
	if rg.Start != math.MaxUint64 {
		dst = append(dst, span{rg.Start + 1, math.MaxUint64, src})
	}
	return append(dst, span{0, rg.End, src})
}

// findSpan returns the span holding h in spans sorted by hi.
func findSpan(spans []span, h uint64) (span, bool) {
	i := sort.Search(len(spans), func(i int) bool { return spans[i].hi >= h })
	if i < len(spans) && spans[i].lo <= h {
		return spans[i], true
	}
	return span{}, false
}

func sortSpans(spans []span) {
	slices.SortFunc(spans, func(a, b span) int {
		switch {
		case a.hi < b.hi:
			return -1
		case a.hi > b.hi:
			return 1
		}
		return 0
	})
}

// pullSource is a previous owner the new owner may ask.
type pullSource struct {
	id, addr string
	epoch    uint64
	until    time.Time
}

// pullSet is immutable; changes swap in a copy.
type pullSet struct {
	spans   []span
	sources []pullSource
}

func (ps *pullSet) lookup(h uint64, now time.Time) (pullSource, bool) {
	if ps == nil {
		return pullSource{}, false
	}
	sp, ok := findSpan(ps.spans, h)
	if !ok || now.After(ps.sources[sp.src].until) {
		return pullSource{}, false
	}
	return ps.sources[sp.src], true
}

// addPullRanges adds ranges held by from (at addr) to the pull set.
func (m *Migrator) addPullRanges(from, addr string, epoch uint64, rgs []ring.Range) {
	if len(rgs) == 0 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	old := m.pulls.Load()
	ps := &pullSet{}
	if old != nil {
		ps.spans = slices.Clone(old.spans)
		ps.sources = slices.Clone(old.sources)
	}
	src := len(ps.sources)
	ps.sources = append(ps.sources, pullSource{id: from, addr: addr, epoch: epoch, until: m.clk.Now().Add(m.cfg.PullWindow)})
	for _, rg := range rgs {
		ps.spans = appendSpans(ps.spans, rg, src)
	}
	sortSpans(ps.spans)
	m.pulls.Store(ps)
}

// endPulls drops from's ranges of epochs up to epoch: its push is done.
func (m *Migrator) endPulls(from string, epoch uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.pulls.Load()
	if old == nil {
		return
	}
	ps := &pullSet{sources: old.sources}
	for _, sp := range old.spans {
		if s := old.sources[sp.src]; s.id != from || s.epoch > epoch {
			ps.spans = append(ps.spans, sp)
		}
	}
	if len(ps.spans) == 0 {
		ps = nil
	}
	m.pulls.Store(ps)
}

// addPulls starts pull-through for the moves this node gains.
func (m *Migrator) addPulls(epoch uint64, self string, moves []ring.Move, addrs map[string]string) {
	by := map[string][]ring.Range{}
	for _, mv := range moves {
		if mv.To == self {
			by[mv.From] = append(by[mv.From], mv.Range)
		}
	}
	for from, rgs := range by {
		m.addPullRanges(from, addrs[from], epoch, rgs)
	}
}

// pullThrough is the TC.GET miss path: if key lies in a range this node is
// gaining, ask the previous owner and keep what it has.
func (n *Node) pullThrough(key []byte) (store.Item, bool) {
	if migratorsLive.Load() == 0 {
		return store.Item{}, false
	}
	v, ok := migrators.Load(n)
	if !ok {
		return store.Item{}, false
	}
	return v.(*Migrator).pull(key)
}

func (m *Migrator) pull(key []byte) (store.Item, bool) {
	h := xxhash.Sum64(key) // the ring's hash (ring.Options default)
	src, ok := m.pulls.Load().lookup(h, m.clk.Now())
	if !ok {
		return store.Item{}, false
	}
	p, err := m.linkTo(src.id, src.addr)
	if err != nil {
		return store.Item{}, false
	}
	m.pullCount.Add(1)
	reply, err := m.roundTrip(p, h, [][]byte{[]byte(cmdMigrateGet), key})
	if err != nil {
		return store.Item{}, false
	}
	it, found, tomb, ok := parseMigrateGet(reply)
	if !ok {
		return store.Item{}, false
	}
	n := m.node
	if tomb != 0 {
		n.versions.Observe(tomb)
		n.store.DeleteVersion(key, tomb)
	}
	if !found || (it.ExpireAt != 0 && n.nowMillis() >= it.ExpireAt) {
		return store.Item{}, false
	}
	n.versions.Observe(it.Version)
	if stored, _ := n.store.SetIfNewer(key, it); !stored {
		// Something newer landed here meanwhile (a write, a delete, a
		// push): serve whatever the node holds now.
		it, found = n.store.Get(key)
		if !found {
			return store.Item{}, false
		}
	}
	m.pullHits.Add(1)
	return it, true
}

// parseMigrateGet parses tc.mget's reply: *5 value|null version expire_at
// soft_expire_at tombstone.
func parseMigrateGet(b []byte) (it store.Item, found bool, tomb uint64, ok bool) {
	n, pos, hdr := headerLine(b, 0)
	if !hdr || b[0] != '*' || n != 5 {
		return it, false, 0, false
	}
	if pos >= len(b) || b[pos] != '$' {
		return it, false, 0, false
	}
	size, next, hdr := headerLine(b, pos)
	switch {
	case !hdr || size < -1:
		return it, false, 0, false
	case size >= 0:
		if next+size+2 > len(b) {
			return it, false, 0, false
		}
		it.Value = append([]byte(nil), b[next:next+size]...)
		found, pos = true, next+size+2
	default:
		pos = next
	}
	var ints [4]int64
	for i := range ints {
		if pos >= len(b) || b[pos] != ':' {
			return it, false, 0, false
		}
		end := pos + 1
		for end < len(b) && b[end] != '\r' {
			end++
		}
		v, err := strconv.ParseInt(string(b[pos+1:end]), 10, 64)
		if err != nil || end+2 > len(b) {
			return it, false, 0, false
		}
		ints[i], pos = v, end+2
	}
	it.Version, it.ExpireAt, it.SoftExpireAt = uint64(ints[0]), ints[1], ints[2]
	return it, found, uint64(ints[3]), true
}
