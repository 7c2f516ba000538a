package l2

import (
	"errors"
	"testing"
	"time"
)

func TestLeaseTableOnePerKeyPerPeriod(t *testing.T) {
	lt := newLeaseTable()
	key := []byte("k")
	tok, wait := lt.grant(key, 1000, 100, nil)
	if tok == 0 || wait != 0 {
		t.Fatalf("first grant: token %d wait %d", tok, wait)
	}
	if tok2, wait := lt.grant(key, 1040, 100, nil); tok2 != 0 || wait != 60 {
		t.Fatalf("second grant: token %d wait %d, want 0 and 60", tok2, wait)
	}
	// After the period a new holder may take over; the old token is dead.
	tok3, _ := lt.grant(key, 1100, 100, nil)
	if tok3 == 0 || tok3 == tok {
		t.Fatalf("grant after expiry: %d (old %d)", tok3, tok)
	}
	wrote := false
	if lt.fill(key, tok, 1101, func() { wrote = true }) || wrote {
		t.Fatal("expired token filled")
	}
	if !lt.fill(key, tok3, 1101, func() { wrote = true }) || !wrote {
		t.Fatal("live token refused")
	}
	if lt.fill(key, tok3, 1102, func() {}) {
		t.Fatal("a token filled twice")
	}
}

func TestLeaseInvalidatedByWrite(t *testing.T) {
	lt := newLeaseTable()
	key := []byte("k")
	tok, _ := lt.grant(key, 0, 10_000, nil)
	ran := false
	lt.invalidate(key, func() { ran = true })
	if !ran {
		t.Fatal("invalidate did not run its write")
	}
	if lt.fill(key, tok, 1, func() { t.Fatal("fill ran after invalidation") }) {
		t.Fatal("fill accepted after invalidation")
	}
	if lt.rejected.Load() != 1 || lt.dropped.Load() != 1 {
		t.Fatalf("rejected %d dropped %d", lt.rejected.Load(), lt.dropped.Load())
	}
}

func TestLeaseReleaseAndRecheck(t *testing.T) {
	lt := newLeaseTable()
	key := []byte("k")
	tok, _ := lt.grant(key, 0, 10_000, nil)
	if lt.release(key, tok+1) {
		t.Fatal("released with the wrong token")
	}
	if !lt.release(key, tok) {
		t.Fatal("release refused")
	}
	// A key filled since the caller's read gets no lease.
	if tok, wait := lt.grant(key, 0, 10_000, func() bool { return false }); tok != 0 || wait != 0 {
		t.Fatalf("grant on a filled key: %d %d", tok, wait)
	}
	if lt.live() != 0 {
		t.Fatalf("%d leases held", lt.live())
	}
}

func TestLeaseSweepDropsAbandoned(t *testing.T) {
	lt := newLeaseTable()
	for i := range 5000 {
		lt.grant([]byte(itoa(i)), 0, 10, nil)
	}
	// Much later, new grants sweep the abandoned ones as shards grow.
	for i := range 5000 {
		lt.grant([]byte("new"+itoa(i)), 1000, 10, nil)
	}
	if n := lt.live(); n > 6000 {
		t.Fatalf("%d leases held; abandoned ones were not swept", n)
	}
}

func TestTierOptionsValidate(t *testing.T) {
	n, _ := fakeNode(t, nil)
	for _, o := range []TierOptions{{LeasePeriod: -1}, {LeaseWait: -1}, {TrackWindow: -1}, {PushQueue: -1}} {
		if err := n.SetTierOptions(o); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if err := n.SetTierOptions(TierOptions{LeasePeriod: time.Second}); err != nil {
		t.Fatal(err)
	}
	if got := n.tier.opts.Load().LeasePeriod; got != time.Second {
		t.Fatalf("lease period %v", got)
	}
}
