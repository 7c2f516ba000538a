package lease

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeNow returns a fake clock and a reader of it in unix milliseconds,
// the time input every Table call takes.
func fakeNow() (*clock.Fake, func() int64) {
	clk := clock.NewFake(time.UnixMilli(1_700_000_000_000))
	return clk, func() int64 { return clock.NowMillis(clk) }
}

const period = 100 // ms

func TestOneLeasePerKeyPerPeriod(t *testing.T) {
	clk, now := fakeNow()
	lt := New()
	key := []byte("k")
	tok, wait := lt.Grant(key, now(), period, false, nil)
	if tok == 0 || wait != 0 {
		t.Fatalf("first grant: token %d wait %d", tok, wait)
	}
	clk.Advance(40 * time.Millisecond)
	if tok2, wait := lt.Grant(key, now(), period, false, nil); tok2 != 0 || wait != 60 {
		t.Fatalf("second grant: token %d wait %d, want 0 and 60", tok2, wait)
	}
	// A shared request waits behind an exclusive lease too.
	if tok2, wait := lt.Grant(key, now(), period, true, nil); tok2 != 0 || wait != 60 {
		t.Fatalf("ticket under a lease: token %d wait %d, want 0 and 60", tok2, wait)
	}
	// After the period a new holder may take over; the old token is dead.
	clk.Advance(60 * time.Millisecond)
	tok3, _ := lt.Grant(key, now(), period, false, nil)
	if tok3 == 0 || tok3 == tok {
		t.Fatalf("grant after expiry: %d (old %d)", tok3, tok)
	}
	clk.Advance(time.Millisecond)
	wrote := false
	if lt.Fill(key, tok, now(), func() { wrote = true }) || wrote {
		t.Fatal("expired token filled")
	}
	if !lt.Fill(key, tok3, now(), func() { wrote = true }) || !wrote {
		t.Fatal("live token refused")
	}
	if lt.Fill(key, tok3, now(), func() { t.Fatal("spent lease wrote") }) {
		t.Fatal("a lease filled twice")
	}
	want := Stats{Granted: 2, Refused: 2, Filled: 1, Rejected: 2}
	if st := lt.Stats(); st != want {
		t.Fatalf("stats %+v, want %+v", st, want)
	}
}

func TestLeaseExpiresExactlyAtPeriodEnd(t *testing.T) {
	clk, now := fakeNow()
	lt := New()
	key := []byte("k")
	tok, _ := lt.Grant(key, now(), period, false, nil)
	clk.Advance(period * time.Millisecond)
	if lt.Fill(key, tok, now(), func() { t.Fatal("wrote") }) {
		t.Fatal("lease filled at its expiry instant")
	}
}

func TestInvalidateDropsLease(t *testing.T) {
	_, now := fakeNow()
	lt := New()
	key := []byte("k")
	tok, _ := lt.Grant(key, now(), 10_000, false, nil)
	ran := false
	lt.Invalidate(key, func() { ran = true })
	if !ran {
		t.Fatal("Invalidate did not run its write")
	}
	if lt.Fill(key, tok, now(), func() { t.Fatal("fill ran after invalidation") }) {
		t.Fatal("fill accepted after invalidation")
	}
	// Invalidating a key without a lease still writes, and drops nothing.
	ran = false
	lt.Invalidate([]byte("other"), func() { ran = true })
	if st := lt.Stats(); !ran || st.Rejected != 1 || st.Dropped != 1 || st.Held != 0 {
		t.Fatalf("ran %v, stats %+v", ran, st)
	}
}

func TestInvalidateIfDropsOnlyOnChange(t *testing.T) {
	_, now := fakeNow()
	lt := New()
	key := []byte("k")
	tok, _ := lt.Grant(key, now(), 10_000, false, nil)
	// A write that changed nothing (SETNX on a present key) keeps the
	// holder's fill valid.
	lt.InvalidateIf(key, func() bool { return false })
	if !lt.Fill(key, tok, now(), func() {}) {
		t.Fatal("unchanged write dropped the lease")
	}
	tok, _ = lt.Grant(key, now(), 10_000, false, nil)
	lt.InvalidateIf(key, func() bool { return true })
	if lt.Fill(key, tok, now(), func() { t.Fatal("wrote") }) {
		t.Fatal("changing write left the lease live")
	}
	if st := lt.Stats(); st.Dropped != 1 {
		t.Fatalf("dropped %d, want 1", st.Dropped)
	}
}

func TestReleaseAndRecheck(t *testing.T) {
	_, now := fakeNow()
	lt := New()
	key := []byte("k")
	tok, _ := lt.Grant(key, now(), 10_000, false, nil)
	if lt.Release(key, tok+1) {
		t.Fatal("released with the wrong token")
	}
	if !lt.Release(key, tok) {
		t.Fatal("release refused")
	}
	// A key filled since the caller's read gets no lease.
	if tok, wait := lt.Grant(key, now(), 10_000, false, func() bool { return false }); tok != 0 || wait != 0 {
		t.Fatalf("grant on a filled key: %d %d", tok, wait)
	}
	if st := lt.Stats(); st.Held != 0 || st.Released != 1 || st.Granted != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTicketsAreSharedAndNotSpent(t *testing.T) {
	clk, now := fakeNow()
	lt := New()
	key := []byte("k")
	a, wa := lt.Grant(key, now(), period, true, nil)
	b, wb := lt.Grant(key, now(), period, true, func() bool {
		t.Fatal("stillMissing asked for a live ticket")
		return true
	})
	if a == 0 || a != b || wa != 0 || wb != 0 {
		t.Fatalf("tickets %d/%d waits %d/%d, want one shared ticket and no wait", a, b, wa, wb)
	}
	for range 2 {
		if !lt.Fill(key, a, now(), func() {}) {
			t.Fatal("ticket spent by a fill")
		}
	}
	if lt.Release(key, a) {
		t.Fatal("a ticket was released")
	}
	clk.Advance(period * time.Millisecond)
	if c, _ := lt.Grant(key, now(), period, true, nil); c == 0 || c == a {
		t.Fatalf("ticket after its period: %d (old %d)", c, a)
	}
	if st := lt.Stats(); st.Tickets != 2 || st.Granted != 0 || st.Filled != 2 || st.Released != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestTicketDroppedByInvalidation(t *testing.T) {
	_, now := fakeNow()
	lt := New()
	key := []byte("k")
	tok, _ := lt.Grant(key, now(), 10_000, true, nil)
	lt.Invalidate(key, func() {})
	if lt.Fill(key, tok, now(), func() { t.Fatal("wrote") }) {
		t.Fatal("ticket survived an invalidation")
	}
}

func TestExclusiveLeaseReplacesTicket(t *testing.T) {
	_, now := fakeNow()
	lt := New()
	key := []byte("k")
	ticket, _ := lt.Grant(key, now(), 10_000, true, nil)
	lease, wait := lt.Grant(key, now(), 10_000, false, nil)
	if lease == 0 || lease == ticket || wait != 0 {
		t.Fatalf("lease over a ticket: %d wait %d (ticket %d)", lease, wait, ticket)
	}
	if lt.Fill(key, ticket, now(), func() { t.Fatal("wrote") }) {
		t.Fatal("replaced ticket filled")
	}
	if !lt.Fill(key, lease, now(), func() {}) {
		t.Fatal("lease refused")
	}
}

func TestTokensAreDistinctAndPositive(t *testing.T) {
	lt := New()
	// Start next to the 63-bit wrap so the zero token is skipped.
	lt.next.Store(1<<63 - 3)
	seen := map[uint64]bool{}
	for i := range 6 {
		tok, _ := lt.Grant([]byte(strconv.Itoa(i)), 0, 10, false, nil)
		if tok == 0 || tok >= 1<<63 || seen[tok] {
			t.Fatalf("token %d (seen %v)", tok, seen)
		}
		seen[tok] = true
	}
}

func TestSweepDropsAbandoned(t *testing.T) {
	clk, now := fakeNow()
	lt := New()
	for i := range 5000 {
		lt.Grant([]byte(strconv.Itoa(i)), now(), 10, false, nil)
	}
	// Much later, new grants sweep the abandoned ones as shards grow.
	clk.Advance(time.Second)
	for i := range 5000 {
		lt.Grant([]byte("new"+strconv.Itoa(i)), now(), 10, false, nil)
	}
	if n := lt.Stats().Held; n > 6000 {
		t.Fatalf("%d leases held; abandoned ones were not swept", n)
	}
}

// TestGrantDecidesUnderKeyLock checks that stillMissing runs with the key
// locked: a rival started from inside it cannot decide until it returns,
// and so always finds the new lease.
func TestGrantDecidesUnderKeyLock(t *testing.T) {
	_, now := fakeNow()
	lt := New()
	key := []byte("k")
	var wg sync.WaitGroup
	var rivalTok uint64
	var rivalWait int64
	tok, _ := lt.Grant(key, now(), period, false, func() bool {
		wg.Go(func() { rivalTok, rivalWait = lt.Grant(key, now(), period, false, nil) })
		return true
	})
	wg.Wait()
	if tok == 0 || rivalTok != 0 || rivalWait != period {
		t.Fatalf("holder %d, rival %d wait %d: the rival decided inside the holder's check", tok, rivalTok, rivalWait)
	}
}

// TestFillAndInvalidateSerialise races a holder's fill against a write of
// the same key many times: the fill either lands before the write or is
// refused, never after it, which is what keeps a stale load from
// overwriting a newer invalidation.
func TestFillAndInvalidateSerialise(t *testing.T) {
	_, now := fakeNow()
	lt := New()
	key := []byte("k")
	for round := range 500 {
		tok, _ := lt.Grant(key, now(), 10_000, false, nil)
		var order []string // appended to only under the key's lock
		var wg sync.WaitGroup
		var filled bool
		wg.Go(func() { filled = lt.Fill(key, tok, now(), func() { order = append(order, "fill") }) })
		wg.Go(func() { lt.Invalidate(key, func() { order = append(order, "write") }) })
		wg.Wait()
		switch {
		case filled && len(order) == 2 && order[0] == "fill":
		case !filled && len(order) == 1 && order[0] == "write":
		default:
			t.Fatalf("round %d: filled %v, order %v", round, filled, order)
		}
	}
}

// TestConcurrentMissersGetOneLease: however many missers arrive in one
// period, exactly one gets the lease and the rest are told to wait.
func TestConcurrentMissersGetOneLease(t *testing.T) {
	_, now := fakeNow()
	lt := New()
	key := []byte("hot")
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners, waiters := 0, 0
	for range 32 {
		wg.Go(func() {
			tok, wait := lt.Grant(key, now(), period, false, nil)
			mu.Lock()
			defer mu.Unlock()
			if tok != 0 {
				winners++
			} else if wait > 0 {
				waiters++
			}
		})
	}
	wg.Wait()
	if winners != 1 || waiters != 31 {
		t.Fatalf("%d leases and %d waits, want 1 and 31", winners, waiters)
	}
}
