package l2

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache/internal/tcproto"
)

// tcGet is a decoded TC.GET reply.
type tcGet struct {
	status        string
	value         string
	version       int64
	soft, hard    int64
	flags         int64
	token, waitMs int64
}

func doGet(t *testing.T, rdb *redis.Client, args ...any) tcGet {
	t.Helper()
	res, err := rdb.Do(context.Background(), append([]any{"TC.GET"}, args...)...).Slice()
	if err != nil {
		t.Fatalf("TC.GET %v: %v", args, err)
	}
	if len(res) != tcproto.GetReplyLen {
		t.Fatalf("TC.GET reply %v", res)
	}
	g := tcGet{status: res[0].(string)}
	if s, ok := res[1].(string); ok {
		g.value = s
	}
	g.version, g.soft, g.hard = res[2].(int64), res[3].(int64), res[4].(int64)
	g.flags, g.token, g.waitMs = res[5].(int64), res[6].(int64), res[7].(int64)
	return g
}

func doSet(t *testing.T, rdb *redis.Client, args ...any) (string, int64) {
	t.Helper()
	res, err := rdb.Do(context.Background(), append([]any{"TC.SET"}, args...)...).Slice()
	if err != nil {
		t.Fatalf("TC.SET %v: %v", args, err)
	}
	return res[0].(string), res[1].(int64)
}

func TestTierLeaseFillAndHit(t *testing.T) {
	n, clk := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	g := doGet(t, rdb, "k", 0)
	if g.status != "LEASE" || g.token == 0 {
		t.Fatalf("miss: %+v", g)
	}
	if w := doGet(t, rdb, "k", 0); w.status != "WAIT" || w.waitMs <= 0 || w.waitMs > DefaultLeaseWait.Milliseconds() {
		t.Fatalf("second misser: %+v", w)
	}
	st, ver := doSet(t, rdb, "k", 0, "v1", 1000, 5000, "LEASE", g.token)
	if st != "OK" || ver == 0 {
		t.Fatalf("fill: %s %d", st, ver)
	}
	clk.Advance(200 * time.Millisecond)
	h := doGet(t, rdb, "k", 0)
	if h.status != "HIT" || h.value != "v1" || h.version != ver || h.soft != 800 || h.hard != 4800 || h.token != 0 {
		t.Fatalf("hit: %+v", h)
	}
	if st, _ := doSet(t, rdb, "k", 0, "v2", 0, 0, "LEASE", g.token); st != "NOLEASE" {
		t.Fatalf("second fill with a spent token: %s", st)
	}
}

func TestTierInvalidationBeatsLateFill(t *testing.T) {
	n, _ := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	g := doGet(t, rdb, "k", 0) // a reader takes the lease and reads the database ...
	res, err := rdb.Do(context.Background(), "TC.DEL", "k", 0).Slice()
	if err != nil || res[0] != "OK" {
		t.Fatalf("TC.DEL: %v %v", res, err)
	}
	tomb := res[1].(int64)
	// ... and fills after the writer's commit and invalidation: refused.
	if st, _ := doSet(t, rdb, "k", 0, "old", 0, 60000, "LEASE", g.token); st != "NOLEASE" {
		t.Fatalf("late fill: %s", st)
	}
	if g := doGet(t, rdb, "k", 0, "NOLEASE"); g.status != "MISS" {
		t.Fatalf("after refused fill: %+v", g)
	}
	// A write after the commit gets a version above the tombstone.
	st, ver := doSet(t, rdb, "k", 0, "new", 0, 60000)
	if st != "OK" || ver <= tomb {
		t.Fatalf("write after delete: %s %d (tombstone %d)", st, ver, tomb)
	}
}

func TestTierStaleServesOneRefresher(t *testing.T) {
	n, clk := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	g := doGet(t, rdb, "k", 0)
	doSet(t, rdb, "k", 0, "v", 100, 10_000, "LEASE", g.token)
	clk.Advance(150 * time.Millisecond)
	first := doGet(t, rdb, "k", 0)
	second := doGet(t, rdb, "k", 0)
	if first.status != "STALE" || first.value != "v" || first.token == 0 || first.soft > 0 {
		t.Fatalf("first stale reader: %+v", first)
	}
	if second.status != "STALE" || second.token != 0 {
		t.Fatalf("second stale reader: %+v", second)
	}
	if st, _ := doSet(t, rdb, "k", 0, "v2", 100, 10_000, "LEASE", first.token); st != "OK" {
		t.Fatalf("refresh fill: %s", st)
	}
	if h := doGet(t, rdb, "k", 0); h.status != "HIT" || h.value != "v2" {
		t.Fatalf("after refresh: %+v", h)
	}
}

func TestTierRefreshOfVersion(t *testing.T) {
	n, _ := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	g := doGet(t, rdb, "k", 0)
	_, v1 := doSet(t, rdb, "k", 0, "v", 0, 60_000, "LEASE", g.token)
	r := doGet(t, rdb, "k", 0, "REFRESH", v1)
	if r.status != "HIT" || r.token == 0 {
		t.Fatalf("refresh of the current version: %+v", r)
	}
	_, v2 := doSet(t, rdb, "k", 0, "v'", 0, 60_000, "LEASE", r.token)
	// Another client asks to refresh the version it saw, already
	// replaced: no lease, no second load.
	if late := doGet(t, rdb, "k", 0, "REFRESH", v1); late.token != 0 || late.version != v2 {
		t.Fatalf("refresh of a replaced version: %+v", late)
	}
}

func TestTierUnleaseAndSyntax(t *testing.T) {
	n, _ := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	ctx := context.Background()
	g := doGet(t, rdb, "k", 0)
	if v, err := rdb.Do(ctx, "TC.UNLEASE", "k", 0, g.token).Int(); err != nil || v != 1 {
		t.Fatalf("unlease: %d %v", v, err)
	}
	if g2 := doGet(t, rdb, "k", 0); g2.status != "LEASE" {
		t.Fatalf("after unlease: %+v", g2)
	}
	for _, args := range [][]any{
		{"TC.GET", "k", "x"}, {"TC.GET", "k", 0, "BOGUS"}, {"TC.SET", "k", 0, "v", 10, 5},
		{"TC.SET", "k", 0, "v", -1, 5}, {"TC.UNLEASE", "k", 0, "t"},
	} {
		if err := rdb.Do(ctx, args...).Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR") {
			t.Errorf("%v: %v", args, err)
		}
	}
}

func TestTierTrackPushesInvalidations(t *testing.T) {
	n, _ := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), func(o *redis.Options) { o.Protocol = 2 })
	sub := dialRaw(t, n.Addr())
	sub.send("*1\r\n$8\r\nTC.TRACK\r\n")
	if r := sub.reply(); r != "+OK\r\n" {
		t.Fatalf("TC.TRACK: %q", r)
	}
	// An untracked key's invalidation is not pushed; a key read with
	// TRACK (or flagged hot) is.
	rdb.Do(context.Background(), "TC.DEL", "quiet", 0)
	g := doGet(t, rdb, "k", 0, "TRACK")
	if g.flags&int64(tcproto.FlagTracked) == 0 {
		t.Fatalf("TRACK read not flagged tracked: %+v", g)
	}
	res, err := rdb.Do(context.Background(), "TC.DEL", "k", 0).Slice()
	if err != nil {
		t.Fatal(err)
	}
	want := "*3\r\n$10\r\ninvalidate\r\n$1\r\nk\r\n:" + itoa(int(res[1].(int64))) + "\r\n"
	if got := sub.reply(); got != want {
		t.Fatalf("push %q, want %q", got, want)
	}
	if st := n.TierStats(); st.Pushes != 1 || st.Subscribers != 1 {
		t.Fatalf("tier stats %+v", st)
	}
}

func TestTierHotFlag(t *testing.T) {
	n, _ := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	var g tcGet
	for range 200 {
		g = doGet(t, rdb, "hot", 0, "NOLEASE")
	}
	if g.flags&int64(tcproto.FlagHot) == 0 || g.flags&int64(tcproto.FlagTracked) == 0 {
		t.Fatalf("a key read 200 times alone is not hot: %+v", g)
	}
	if g := doGet(t, rdb, "cold", 0, "NOLEASE"); g.flags != 0 {
		t.Fatalf("cold key flagged: %+v", g)
	}
	// A client reporting the reads its L1 absorbed keeps a key hot.
	if g := doGet(t, rdb, "absorbed", 0, "NOLEASE", "HITS", 100_000); g.flags&int64(tcproto.FlagHot) == 0 {
		t.Fatalf("L1-absorbed demand not counted: %+v", g)
	}
}
