package l3

import (
	"errors"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2/store"
)

func mustGet(t *testing.T, n *Node, key string, mode Mode) GetReply {
	t.Helper()
	rep, err := n.Get(GetRequest{Key: []byte(key), Mode: mode})
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return rep
}

func mustFill(t *testing.T, n *Node, key string, token uint64, it store.Item) WriteReply {
	t.Helper()
	rep, err := n.Fill(FillRequest{Key: []byte(key), Token: token, Item: it})
	if err != nil {
		t.Fatalf("Fill(%s): %v", key, err)
	}
	return rep
}

func TestLeaseOnePerPeriodThenFillThenHit(t *testing.T) {
	n, clk := newTestNode(t, Config{LeasePeriod: time.Second, LeaseWait: 5 * time.Millisecond})
	first := mustGet(t, n, "user:1", ModeLease)
	if first.Status != StatusLease || first.Token == 0 {
		t.Fatalf("first misser: %+v, want a lease", first)
	}
	for range 5 {
		if rep := mustGet(t, n, "user:1", ModeLease); rep.Status != StatusWait || rep.WaitMs != 5 || rep.Token != 0 {
			t.Fatalf("second misser: %+v, want WAIT 5ms", rep)
		}
	}
	clk.Advance(998 * time.Millisecond)
	if rep := mustGet(t, n, "user:1", ModeLease); rep.Status != StatusWait || rep.WaitMs != 2 {
		t.Fatalf("misser near the end of the lease: %+v, want WAIT 2ms (what is left)", rep)
	}
	if rep := mustFill(t, n, "user:1", first.Token, item("alice", 10)); rep != (WriteReply{StatusOK, 10}) {
		t.Fatalf("fill: %+v", rep)
	}
	rep := mustGet(t, n, "user:1", ModeLease)
	if rep.Status != StatusHit || string(rep.Item.Value) != "alice" || rep.Item.Version != 10 {
		t.Fatalf("after fill: %+v", rep)
	}
	// The lease was spent: the same token cannot fill again with a new
	// version.
	if rep := mustFill(t, n, "user:1", first.Token, item("bob", 11)); rep.Status != StatusNoLease {
		t.Fatalf("second fill with a spent lease: %+v", rep)
	}
	st := n.Stats()
	if st.LeasesGranted != 1 || st.LeasesRefused != 6 || st.Fills != 1 || st.FillsRefused != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLeaseExpiresAndIsGrantedAgain(t *testing.T) {
	n, clk := newTestNode(t, Config{LeasePeriod: time.Second})
	a := mustGet(t, n, "k", ModeLease)
	clk.Advance(time.Second)
	b := mustGet(t, n, "k", ModeLease)
	if b.Status != StatusLease || b.Token == a.Token {
		t.Fatalf("after the period: %+v, want a new lease", b)
	}
	if rep := mustFill(t, n, "k", a.Token, item("old holder", 5)); rep.Status != StatusNoLease {
		t.Fatalf("fill with the expired lease: %+v", rep)
	}
}

func TestReleaseLetsTheNextMisserLoad(t *testing.T) {
	n, _ := newTestNode(t, Config{})
	a := mustGet(t, n, "k", ModeLease)
	if ok, _ := n.Release([]byte("k"), a.Token+1); ok {
		t.Fatal("released with a wrong token")
	}
	if ok, _ := n.Release([]byte("k"), a.Token); !ok {
		t.Fatal("release with the holder's token failed")
	}
	if b := mustGet(t, n, "k", ModeLease); b.Status != StatusLease {
		t.Fatalf("after release: %+v, want a lease at once", b)
	}
}

func TestInvalidationRefusesOutstandingLease(t *testing.T) {
	n, _ := newTestNode(t, Config{})
	lease := mustGet(t, n, "k", ModeLease)
	if rep, err := n.Invalidate([]byte("k"), 20); err != nil || rep != (WriteReply{StatusOK, 20}) {
		t.Fatalf("Invalidate: %+v %v", rep, err)
	}
	// The holder read the origin before the commit behind the
	// invalidation: even with a newer version its fill must not land.
	if rep := mustFill(t, n, "k", lease.Token, item("pre-commit row", 25)); rep.Status != StatusNoLease {
		t.Fatalf("fill after invalidation: %+v, want NOLEASE", rep)
	}
	if rep := mustGet(t, n, "k", ModeRead); rep.Status != StatusMiss {
		t.Fatalf("after refused fill: %+v", rep)
	}
}

func TestStaleFillRejectedByVersion(t *testing.T) {
	n, _ := newTestNode(t, Config{})
	// A newer write reached the node (through the change stream), then a
	// lagging region fills with an older version under a fresh lease.
	if _, err := n.Invalidate([]byte("k"), 30); err != nil {
		t.Fatal(err)
	}
	lease := mustGet(t, n, "k", ModeLease)
	if lease.Status != StatusLease {
		t.Fatalf("after the tombstone: %+v", lease)
	}
	if rep := mustFill(t, n, "k", lease.Token, item("lagging", 29)); rep != (WriteReply{StatusOlder, 30}) {
		t.Fatalf("older fill over a tombstone: %+v, want OLDER 30", rep)
	}
	if rep := mustGet(t, n, "k", ModeRead); rep.Status != StatusMiss {
		t.Fatalf("the stale fill got in: %+v", rep)
	}
	// And over a newer live value.
	lease = mustGet(t, n, "k", ModeLease)
	mustFill(t, n, "k", lease.Token, item("v40", 40))
	if rep, _ := n.Invalidate([]byte("k"), 35); rep != (WriteReply{StatusOlder, 40}) {
		t.Fatalf("invalidation older than the live value: %+v", rep)
	}
	if rep := mustGet(t, n, "k", ModeRead); string(rep.Item.Value) != "v40" {
		t.Fatalf("an older invalidation removed a newer value: %+v", rep)
	}
}

func TestFillIsIdempotent(t *testing.T) {
	n, _ := newTestNode(t, Config{})
	lease := mustGet(t, n, "k", ModeLease)
	mustFill(t, n, "k", lease.Token, item("v", 7))
	// The reply was lost and the caller retries: the lease is spent but
	// the value is there, so it is reported stored.
	if rep := mustFill(t, n, "k", lease.Token, item("v", 7)); rep != (WriteReply{StatusOK, 7}) {
		t.Fatalf("retried fill: %+v", rep)
	}
}

func TestTicketsAreSharedAndNobodyWaits(t *testing.T) {
	n, clk := newTestNode(t, Config{LeasePeriod: time.Second})
	a := mustGet(t, n, "k", ModeTicket)
	b := mustGet(t, n, "k", ModeTicket)
	if a.Status != StatusMiss || a.Token == 0 || b.Status != a.Status || b.Token != a.Token {
		t.Fatalf("tickets %+v and %+v, want one shared MISS ticket", a, b)
	}
	// Two regions' lease holders fill with it; versions order them.
	mustFill(t, n, "k", a.Token, item("from-b", 12))
	if rep := mustFill(t, n, "k", a.Token, item("from-a", 11)); rep != (WriteReply{StatusOlder, 12}) {
		t.Fatalf("older fill with a live ticket: %+v", rep)
	}
	n.Invalidate([]byte("k"), 13)
	if rep := mustFill(t, n, "k", a.Token, item("late", 14)); rep.Status != StatusNoLease {
		t.Fatalf("ticket survived an invalidation: %+v", rep)
	}
	c := mustGet(t, n, "k", ModeTicket)
	clk.Advance(time.Second)
	if d := mustGet(t, n, "k", ModeTicket); d.Token == c.Token {
		t.Fatal("ticket outlived its period")
	}
	if st := n.Stats(); st.TicketsGranted != 3 || st.LeasesRefused != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestGlobalLeaseReplacesTicketButNotTheOtherWay(t *testing.T) {
	n, _ := newTestNode(t, Config{})
	ticket := mustGet(t, n, "k", ModeTicket)
	lease := mustGet(t, n, "k", ModeLease)
	if lease.Status != StatusLease {
		t.Fatalf("lease request over a ticket: %+v", lease)
	}
	if rep := mustGet(t, n, "k", ModeTicket); rep.Status != StatusWait {
		t.Fatalf("ticket request under a lease: %+v, want WAIT", rep)
	}
	if rep := mustFill(t, n, "k", ticket.Token, item("x", 3)); rep.Status != StatusNoLease {
		t.Fatalf("replaced ticket filled: %+v", rep)
	}
}

func TestStaleValueOneRefresher(t *testing.T) {
	n, clk := newTestNode(t, Config{LeasePeriod: time.Second})
	now := epoch.UnixMilli()
	lease := mustGet(t, n, "k", ModeLease)
	mustFill(t, n, "k", lease.Token, store.Item{Value: []byte("v1"), Version: 1, SoftExpireAt: now + 100, ExpireAt: now + 10_000})
	clk.Advance(200 * time.Millisecond)
	a := mustGet(t, n, "k", ModeLease)
	b := mustGet(t, n, "k", ModeLease)
	if a.Status != StatusStale || a.Token == 0 || string(a.Item.Value) != "v1" {
		t.Fatalf("first stale reader: %+v", a)
	}
	if b.Status != StatusStale || b.Token != 0 || string(b.Item.Value) != "v1" {
		t.Fatalf("second stale reader: %+v, want the stale value and no token", b)
	}
	if r := mustGet(t, n, "k", ModeRead); r.Token != 0 || r.Status != StatusStale {
		t.Fatalf("plain read: %+v", r)
	}
	mustFill(t, n, "k", a.Token, store.Item{Value: []byte("v2"), Version: 2})
	if rep := mustGet(t, n, "k", ModeLease); rep.Status != StatusHit || string(rep.Item.Value) != "v2" {
		t.Fatalf("after refresh: %+v", rep)
	}
	clk.Advance(10 * time.Second)
	if rep := mustGet(t, n, "k", ModeRead); rep.Status != StatusHit {
		t.Fatalf("v2 has no expiry: %+v", rep)
	}
}

func TestBadRequestsAndClose(t *testing.T) {
	n, _ := newTestNode(t, Config{MaxKeyBytes: 8})
	cases := []struct {
		name string
		err  error
	}{
		{"empty key", func() error { _, err := n.Get(GetRequest{}); return err }()},
		{"long key", func() error { _, err := n.Get(GetRequest{Key: []byte("123456789")}); return err }()},
		{"fill without version", func() error { _, err := n.Fill(FillRequest{Key: []byte("k"), Token: 1}); return err }()},
		{"invalidate without version", func() error { _, err := n.Invalidate([]byte("k"), 0); return err }()},
	}
	for _, c := range cases {
		if !errors.Is(c.err, ErrBadRequest) {
			t.Errorf("%s: %v, want ErrBadRequest", c.name, c.err)
		}
	}
	if rep := mustFill(t, n, "k", 0, item("v", 1)); rep.Status != StatusNoLease {
		t.Errorf("fill without a token: %+v", rep)
	}
	big, _ := newTestNode(t, Config{Store: store.Config{MaxBytes: 4096, Shards: 1}})
	lease := mustGet(t, big, "k", ModeLease)
	if _, err := big.Fill(FillRequest{Key: []byte("k"), Token: lease.Token, Item: store.Item{Value: make([]byte, 5000), Version: 1}}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("oversized fill: %v", err)
	}
	_ = n.Close()
	if _, err := n.Get(GetRequest{Key: []byte("k")}); !errors.Is(err, ErrClosed) {
		t.Errorf("Get after Close: %v", err)
	}
	if err := n.Apply("x", nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Apply after Close: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{Region: "r"},
		{ID: "n"},
		{ID: "n", Region: "r", LeasePeriod: -1},
		{ID: "n", Region: "r", LeaseWait: -1},
		{ID: "n", Region: "r", MaxKeyBytes: MaxKeyBytesLimit + 1},
		{ID: "n", Region: "r", LeasePeriod: time.Minute}, // over the 30 s tombstone TTL
		{ID: "n", Region: "r", Store: store.Config{Shards: 3}},
	}
	for _, c := range bad {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", c, err)
		}
	}
	if err := (Config{ID: "n", Region: "r"}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
	if err := (Config{ID: "n", Region: "r", LeasePeriod: time.Minute, Store: store.Config{TombstoneTTL: time.Minute}}).Validate(); err != nil {
		t.Errorf("lease period equal to the tombstone TTL: %v", err)
	}
}

func TestModeFor(t *testing.T) {
	if ModeFor(keyspace.Settings{}) != ModeTicket || ModeFor(keyspace.Settings{StampedeScope: keyspace.ScopeGlobal}) != ModeLease {
		t.Fatal("ModeFor")
	}
}
