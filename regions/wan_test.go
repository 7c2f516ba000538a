package regions

import (
	"encoding/binary"
	"errors"
	"math"
	"net"
	"slices"
	"sync"
	"testing"
	"time"
)

func testWAN(t *testing.T, seed uint64) *WAN {
	t.Helper()
	p, err := Builtin(DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWAN(p, WANConfig{Seed: seed})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func listen(t *testing.T, w *WAN, region string) *Conn {
	t.Helper()
	c, err := w.Listen(region, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// echo answers every packet on c with the same bytes until c closes.
func echo(t *testing.T, c *Conn) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			n, from, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = c.WriteTo(buf[:n], from)
		}
	}()
	t.Cleanup(func() { _ = c.Close(); wg.Wait() })
}

// pings sends n timestamped packets from c to dst, one every gap, and
// returns the round trips of those that came back within wait.
func pings(t *testing.T, c *Conn, dst net.Addr, n int, gap, wait time.Duration) []time.Duration {
	t.Helper()
	rtts := make(chan time.Duration, n)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 64)
		for {
			k, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			if k == 8 {
				rtts <- time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(buf))))
			}
		}
	}()
	for i := 0; i < n; i++ {
		var b [8]byte
		binary.BigEndian.PutUint64(b[:], uint64(time.Now().UnixNano()))
		if _, err := c.WriteTo(b[:], dst); err != nil {
			t.Fatal(err)
		}
		time.Sleep(gap) // pacing the probe stream, not waiting for a result
	}
	_ = c.SetReadDeadline(time.Now().Add(wait))
	<-readDone
	_ = c.SetReadDeadline(time.Time{})
	close(rtts)
	var out []time.Duration
	for d := range rtts {
		out = append(out, d)
	}
	return out
}

func TestDelayMatchesProfile(t *testing.T) {
	w := testWAN(t, 1)
	us, eu := listen(t, w, "us-east"), listen(t, w, "eu-west")
	echo(t, eu)
	link, _ := w.Profile().Link("us-east", "eu-west")
	got := pings(t, us, eu.LocalAddr(), 100, 5*time.Millisecond, link.RTT+200*time.Millisecond)
	if len(got) != 100 {
		t.Fatalf("%d of 100 pings came back on a lossless link", len(got))
	}
	slices.Sort(got)
	low, median := got[0], got[len(got)/2]
	// Each direction may come early by at most the jitter; lateness is
	// scheduling noise, so the median gets a looser bound above.
	if low < link.RTT-2*link.Jitter {
		t.Fatalf("fastest round trip %v below %v-2×%v", low, link.RTT, link.Jitter)
	}
	if median < link.RTT-link.Jitter || median > link.RTT+link.RTT/10+2*time.Millisecond {
		t.Fatalf("median round trip %v, profile %v", median, link.RTT)
	}
	t.Logf("rtt profile %v: min %v p50 %v max %v", link.RTT, low, median, got[len(got)-1])
}

func TestSameRegionAndUnknownAddressesAreNotDelayed(t *testing.T) {
	w := testWAN(t, 2)
	a, b := listen(t, w, "us-east"), listen(t, w, "us-east")
	echo(t, b)
	got := pings(t, a, b.LocalAddr(), 5, time.Millisecond, 100*time.Millisecond)
	if len(got) != 5 || slices.Max(got) > 30*time.Millisecond {
		t.Fatalf("same-region round trips %v", got)
	}
	plain, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	if r, ok := w.RegionOf(plain.LocalAddr()); ok {
		t.Fatalf("unattached address in region %q", r)
	}
	if r, ok := w.RegionOf(a.LocalAddr()); !ok || r != "us-east" {
		t.Fatalf("region of attached conn: %q %v", r, ok)
	}
}

func TestLossRate(t *testing.T) {
	w := testWAN(t, 3)
	if err := w.SetLink(Link{A: "us-east", B: "ap-south", RTT: 2 * time.Millisecond, Loss: 0.2}); err != nil {
		t.Fatal(err)
	}
	us, ap := listen(t, w, "us-east"), listen(t, w, "ap-south")
	if err := ap.SetReadBuffer(1 << 20); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	received := 0
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 64)
		for {
			if _, _, err := ap.ReadFrom(buf); err != nil {
				return
			}
			mu.Lock()
			received++
			mu.Unlock()
		}
	}()
	const n = 5000
	for i := 0; i < n; i++ {
		if _, err := us.WriteTo([]byte("x"), ap.LocalAddr()); err != nil {
			t.Fatal(err)
		}
		if i%50 == 49 { // let the reader keep up so the socket buffer never overflows
			waitFor(t, time.Second, func() bool {
				mu.Lock()
				defer mu.Unlock()
				return uint64(received) == us.Stats().Delivered
			})

		}
	}
	waitFor(t, time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return uint64(received) == us.Stats().Delivered && us.Stats().Lost+us.Stats().Delivered == n
	})
	_ = ap.Close()
	<-readDone
	rate := float64(n-received) / n
	sigma := math.Sqrt(0.2 * 0.8 / n)
	if math.Abs(rate-0.2) > 4*sigma {
		t.Fatalf("loss rate %.4f, want 0.2 ± %.4f", rate, 4*sigma)
	}
	t.Logf("loss rate %.4f over %d packets (profile 0.2)", rate, n)
}

func TestPartitionBlocksAndHealRestores(t *testing.T) {
	w := testWAN(t, 4)
	us, eu, ap := listen(t, w, "us-east"), listen(t, w, "eu-west"), listen(t, w, "ap-south")
	echo(t, eu)
	echo(t, ap)
	if err := w.Partition("eu-west", "us-east"); err != nil {
		t.Fatal(err)
	}
	if !w.Partitioned("us-east", "eu-west") {
		t.Fatal("Partitioned says no")
	}
	if got := pings(t, us, eu.LocalAddr(), 5, time.Millisecond, 300*time.Millisecond); len(got) != 0 {
		t.Fatalf("%d pings crossed a partition", len(got))
	}
	if got := pings(t, us, ap.LocalAddr(), 3, time.Millisecond, 400*time.Millisecond); len(got) != 3 {
		t.Fatalf("partition of another link blocked us-east–ap-south: %d of 3", len(got))
	}
	if err := w.Heal("us-east", "eu-west"); err != nil {
		t.Fatal(err)
	}
	if got := pings(t, us, eu.LocalAddr(), 5, time.Millisecond, 300*time.Millisecond); len(got) != 5 {
		t.Fatalf("after heal %d of 5 pings came back", len(got))
	}

	// Packets in flight when the cut happens are lost too.
	before := us.Stats().Blocked
	if _, err := us.WriteTo([]byte("late"), ap.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if err := w.Isolate("ap-south"); err != nil {
		t.Fatal(err)
	}
	waitFor(t, time.Second, func() bool { return us.Stats().Blocked == before+1 })
	if got := pings(t, eu, ap.LocalAddr(), 3, time.Millisecond, 300*time.Millisecond); len(got) != 0 {
		t.Fatalf("isolated region answered %d pings", len(got))
	}
	w.HealAll()
	if got := pings(t, eu, ap.LocalAddr(), 3, time.Millisecond, 400*time.Millisecond); len(got) != 3 {
		t.Fatalf("after HealAll %d of 3", len(got))
	}
}

func TestWANRejectsBadInput(t *testing.T) {
	w := testWAN(t, 5)
	if _, err := w.Listen("mars", "127.0.0.1:0"); !errors.Is(err, ErrUnknownRegion) {
		t.Fatalf("listen unknown region: %v", err)
	}
	if err := w.Partition("us-east", "mars"); !errors.Is(err, ErrUnknownRegion) {
		t.Fatalf("partition unknown: %v", err)
	}
	if err := w.Isolate("mars"); !errors.Is(err, ErrUnknownRegion) {
		t.Fatalf("isolate unknown: %v", err)
	}
	if err := w.SetLink(Link{A: "us-east", B: "eu-west", RTT: -1}); !errors.Is(err, ErrBadValue) {
		t.Fatalf("negative rtt: %v", err)
	}
	if _, err := NewWAN(w.Profile(), WANConfig{QueueLimit: -1}); !errors.Is(err, ErrBadValue) {
		t.Fatalf("bad config: %v", err)
	}
	c := listen(t, w, "us-east")
	if _, err := w.Attach("eu-west", c); !errors.Is(err, ErrDuplicate) {
		t.Fatalf("attaching the same address twice: %v", err)
	}
	_ = c.Close()
	if _, err := c.WriteTo([]byte("x"), c.LocalAddr()); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("write after close: %v", err)
	}
}

func TestQueueLimitDropsExcess(t *testing.T) {
	p, _ := Builtin(DefaultProfile)
	w, err := NewWAN(p, WANConfig{Seed: 6, QueueLimit: 10})
	if err != nil {
		t.Fatal(err)
	}
	us, eu := listen(t, w, "us-east"), listen(t, w, "eu-west")
	for i := 0; i < 15; i++ {
		_, _ = us.WriteTo([]byte("x"), eu.LocalAddr())
	}
	if s := us.Stats(); s.Overflowed != 5 || s.Sent != 15 {
		t.Fatalf("stats %+v", s)
	}
}

func waitFor(t *testing.T, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met in %v", limit)
		}
		time.Sleep(time.Millisecond)
	}
}
