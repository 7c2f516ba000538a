package l2

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/hlc"
	"github.com/tiercache/tiercache/l2/store"
)

// recordingGlobal is a global tier that misses every Get, granting
// nothing, and records what the node publishes and fills.
type recordingGlobal struct {
	mu        sync.Mutex
	published []GlobalChange
	fills     int
}

func (g *recordingGlobal) Get(context.Context, []byte, GlobalMode) (GlobalReply, error) {
	return GlobalReply{Status: GlobalMiss}, nil
}

func (g *recordingGlobal) Fill(context.Context, []byte, uint64, store.Item) error {
	g.mu.Lock()
	g.fills++
	g.mu.Unlock()
	return nil
}

func (g *recordingGlobal) Release(context.Context, []byte, uint64) error { return nil }

func (g *recordingGlobal) Publish(c GlobalChange) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	c.Key, c.Value = slices.Clone(c.Key), slices.Clone(c.Value)
	g.published = append(g.published, c)
	return nil
}

func (g *recordingGlobal) changes() []GlobalChange {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.published)
}

// TestRefreshAfterSoftExpiryIsPublished: the fill of a refresh lease
// (handed out with a STALE value) is published to the global tier like a
// write, at the version taken when the lease was granted.
func TestRefreshAfterSoftExpiryIsPublished(t *testing.T) {
	n, fake := fakeNode(t, nil)
	g := &recordingGlobal{}
	n.SetGlobal(g)
	rdb := newClient(t, n.Addr(), nil)

	if st, _ := doSet(t, rdb, "k", 0, "old", 1000, 60_000); st != "OK" {
		t.Fatal(st)
	}
	if got := len(g.changes()); got != 1 {
		t.Fatalf("the write was published %d times", got)
	}
	fake.Advance(1500 * time.Millisecond) // past the soft TTL
	grantMs := fake.Now().UnixMilli()
	st := doGet(t, rdb, "k", 0)
	if st.status != "STALE" || st.token == 0 {
		t.Fatalf("after soft expiry: %+v, want STALE with a refresh lease", st)
	}
	fake.Advance(200 * time.Millisecond) // the load takes a while
	status, v := doSet(t, rdb, "k", 0, "fresh", 1000, 60_000, "LEASE", st.token)
	if status != "OK" {
		t.Fatalf("refresh fill: %s", status)
	}
	if hlc.Millis(uint64(v)) != grantMs {
		t.Fatalf("refresh versioned at %d ms, want the grant's %d", hlc.Millis(uint64(v)), grantMs)
	}
	ch := g.changes()
	if len(ch) != 2 {
		t.Fatalf("published %d changes, want the write and the refresh", len(ch))
	}
	if last := ch[1]; string(last.Key) != "k" || string(last.Value) != "fresh" || last.Version != uint64(v) || last.Delete || last.ExpireAt != fake.Now().UnixMilli()+60_000 {
		t.Fatalf("published refresh %+v, want k=fresh at %d", last, v)
	}
	if s := n.GlobalStats(); s.Published != 2 || s.Fills != 0 {
		t.Fatalf("stats %+v: a refresh with no global token is published, not filled", s)
	}
}

// TestEarlyRefreshIsPublished: the same for a refresh of a fresh value
// (TC.GET ... REFRESH, the client's early refresh).
func TestEarlyRefreshIsPublished(t *testing.T) {
	n, _ := fakeNode(t, nil)
	g := &recordingGlobal{}
	n.SetGlobal(g)
	rdb := newClient(t, n.Addr(), nil)
	_, v1 := doSet(t, rdb, "k", 0, "old", 0, 60_000)
	r := doGet(t, rdb, "k", 0, "REFRESH", v1)
	if r.status != "HIT" || r.token == 0 {
		t.Fatalf("REFRESH: %+v", r)
	}
	if st, v := doSet(t, rdb, "k", 0, "new", 0, 60_000, "LEASE", r.token); st != "OK" || uint64(v) <= uint64(v1) {
		t.Fatalf("early refresh fill %s %d", st, v)
	}
	if ch := g.changes(); len(ch) != 2 || string(ch[1].Value) != "new" {
		t.Fatalf("published %+v", ch)
	}
}

// TestRefreshLosesToAWriteCommittedDuringItsLoad: a write another region
// committed while the refresh was loading (so versioned after the grant)
// wins over the refresh even when it arrives after the refresh's fill,
// here and, since the refresh is published at the same version,
// everywhere.
func TestRefreshLosesToAWriteCommittedDuringItsLoad(t *testing.T) {
	n, fake := fakeNode(t, nil)
	n.SetGlobal(&recordingGlobal{})
	rdb := newClient(t, n.Addr(), nil)
	doSet(t, rdb, "k", 0, "old", 1000, 60_000)
	fake.Advance(1500 * time.Millisecond)
	r := doGet(t, rdb, "k", 0)
	if r.token == 0 {
		t.Fatalf("no refresh lease: %+v", r)
	}
	elsewhere := hlc.Make(fake.Now().UnixMilli()+100, 0, 3) // committed 100 ms into the load
	fake.Advance(500 * time.Millisecond)
	if st, _ := doSet(t, rdb, "k", 0, "refreshed-old-row", 1000, 60_000, "LEASE", r.token); st != "OK" {
		t.Fatalf("refresh fill: %s", st)
	}
	n.ApplyGlobal([]GlobalChange{{Key: []byte("k"), Value: []byte("written"), Version: elsewhere, ExpireAt: fake.Now().UnixMilli() + 60_000}})
	if got := doGet(t, rdb, "k", 0); got.value != "written" || uint64(got.version) != elsewhere {
		t.Fatalf("after the other region's write arrived: %+v", got)
	}
}

// TestMissFillWithoutGlobalTokenIsNotPublished: a fill of a miss is a fill,
// not a refresh: it goes to the global tier only with a global token.
func TestMissFillWithoutGlobalTokenIsNotPublished(t *testing.T) {
	n, _ := fakeNode(t, nil)
	g := &recordingGlobal{}
	n.SetGlobal(g)
	rdb := newClient(t, n.Addr(), nil)
	r := doGet(t, rdb, "m", 0)
	if r.status != "LEASE" {
		t.Fatalf("miss: %+v", r)
	}
	if st, _ := doSet(t, rdb, "m", 0, "loaded", 0, 0, "LEASE", r.token); st != "OK" {
		t.Fatal(st)
	}
	if ch := g.changes(); len(ch) != 0 {
		t.Fatalf("a miss fill was published: %+v", ch)
	}
}
