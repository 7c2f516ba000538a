package l2

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/tiercache/tiercache/internal/tcproto"
	"github.com/tiercache/tiercache/l2/store"
)

// fakeSticky is the writer's region as a sticky reader sees it.
type fakeSticky struct {
	mu    sync.Mutex
	read  StickyRead
	err   error
	asked []string // region/key of each call
}

func (f *fakeSticky) ReadSticky(_ context.Context, region string, key []byte, minVersion uint64) (StickyRead, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, region+"/"+string(key))
	return f.read, f.err
}

func TestStickyMinVerServedLocallyWhenCaughtUp(t *testing.T) {
	n, _ := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	_, ver := doSet(t, rdb, "k", 0, "v1", 0, 0)
	f := &fakeSticky{}
	n.SetStickyReader(f)
	g := doGet(t, rdb, "k", 0, "MINVER", ver, "FROM", "eu-west")
	if g.status != "HIT" || g.value != "v1" || g.flags&int64(tcproto.FlagRemote) != 0 {
		t.Fatalf("caught-up sticky read: %+v", g)
	}
	if len(f.asked) != 0 || n.StickyStats().Local != 1 {
		t.Fatalf("asked %v, stats %+v: want served locally", f.asked, n.StickyStats())
	}
}

func TestStickyMinVerBehindWithoutReader(t *testing.T) {
	n, _ := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	_, ver := doSet(t, rdb, "k", 0, "old", 0, 0)
	want := ver + 1000
	g := doGet(t, rdb, "k", 0, "MINVER", want)
	if g.status != "BEHIND" || g.value != "" || g.version != ver || g.token == 0 {
		t.Fatalf("lagging sticky read: %+v; want BEHIND at %d with a lease", g, ver)
	}
	// The fill under that lease outranks the session's write.
	st, filled := doSet(t, rdb, "k", 0, "fresh", 0, 0, "LEASE", g.token)
	if st != "OK" || uint64(filled) <= uint64(want) {
		t.Fatalf("fill %s at %d; want OK past %d", st, filled, want)
	}
	if h := doGet(t, rdb, "k", 0, "MINVER", want); h.status != "HIT" || h.value != "fresh" {
		t.Fatalf("after the fill: %+v", h)
	}
	// A plain read still sees the plain protocol.
	if h := doGet(t, rdb, "k", 0); h.status != "HIT" {
		t.Fatalf("plain read: %+v", h)
	}
}

func TestStickyMinVerReadsWritersRegion(t *testing.T) {
	n, _ := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	_, old := doSet(t, rdb, "k", 0, "old", 0, 0)
	newer := uint64(old) + 1000
	f := &fakeSticky{read: StickyRead{Found: true, Item: store.Item{Value: []byte("new"), Version: newer}}}
	n.SetStickyReader(f)
	g := doGet(t, rdb, "k", 0, "MINVER", newer, "FROM", "eu-west")
	if g.status != "HIT" || g.value != "new" || uint64(g.version) != newer || g.flags&int64(tcproto.FlagRemote) == 0 {
		t.Fatalf("remote sticky read: %+v", g)
	}
	if len(f.asked) != 1 || f.asked[0] != "eu-west/k" {
		t.Fatalf("asked %v", f.asked)
	}
	// The remote value is kept: the next reader, sticky or not, has it.
	if h := doGet(t, rdb, "k", 0); h.value != "new" {
		t.Fatalf("plain read after: %+v", h)
	}
	if st := n.StickyStats(); st.Remote != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStickyMinVerRemoteFailureAndTombstone(t *testing.T) {
	n, _ := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	_, old := doSet(t, rdb, "k", 0, "old", 0, 0)
	f := &fakeSticky{err: errors.New("link down")}
	n.SetStickyReader(f)
	if g := doGet(t, rdb, "k", 0, "MINVER", old+10, "FROM", "eu-west", "NOLEASE"); g.status != "BEHIND" || g.token != 0 {
		t.Fatalf("unreachable writer region: %+v", g)
	}
	if st := n.StickyStats(); st.Errors != 1 || st.Behind != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The session's write was an invalidation: the node takes the
	// tombstone and the read goes on as a miss, whose lease fill is newer.
	f.mu.Lock()
	f.read, f.err = StickyRead{Tombstone: uint64(old) + 20}, nil
	f.mu.Unlock()
	g := doGet(t, rdb, "k", 0, "MINVER", old+20, "FROM", "eu-west")
	if g.status != "LEASE" || g.token == 0 {
		t.Fatalf("after a remote invalidation: %+v", g)
	}
	if _, ok := n.store.Get([]byte("k")); ok {
		t.Fatal("old value kept after the remote tombstone")
	}
}

func TestReadStickyAnswersOtherRegions(t *testing.T) {
	n, _ := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	_, ver := doSet(t, rdb, "k", 0, "v", 0, 0)
	if rd := n.ReadSticky([]byte("k"), uint64(ver)); !rd.Found || string(rd.Item.Value) != "v" {
		t.Fatalf("at the version: %+v", rd)
	}
	if rd := n.ReadSticky([]byte("k"), uint64(ver)+1); rd.Found || rd.Tombstone != 0 {
		t.Fatalf("past the version: %+v", rd)
	}
	res, err := rdb.Do(context.Background(), "TC.DEL", "k", 0).Slice()
	if err != nil {
		t.Fatal(err)
	}
	tv := uint64(res[1].(int64))
	if rd := n.ReadSticky([]byte("k"), tv); rd.Found || rd.Tombstone != tv {
		t.Fatalf("after TC.DEL at %d: %+v", tv, rd)
	}
}
