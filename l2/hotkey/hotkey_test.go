package hotkey

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// newTest returns a Detector on a fake clock.
func newTest(t testing.TB, cfg Config) (*Detector, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(epoch)
	cfg.Clock = fake
	d, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d, fake
}

// step advances the clock by a tenth of a second and ticks.
func step(d *Detector, fake *clock.Fake) {
	fake.Advance(100 * time.Millisecond)
	d.Tick()
}

func touchN(d *Detector, key string, n int) (hot bool) {
	for range n {
		hot = d.Touch([]byte(key))
	}
	return hot
}

// background reads n distinct filler keys once each, so the node has
// traffic that no single key dominates.
func background(d *Detector, n int, salt string) {
	buf := make([]byte, 0, 32)
	for i := range n {
		buf = strconv.AppendInt(append(buf[:0], salt...), int64(i), 10)
		d.Touch(buf)
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{Window: -time.Second},
		{Window: time.Microsecond},
		{Window: 2 * time.Hour},
		{Fraction: -0.1},
		{Fraction: 1.5},
		{Fraction: math.NaN()},
		{TopK: -1},
		{TopK: MaxTopK + 1},
	}
	for _, c := range bad {
		if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("New(%+v) error = %v, want ErrInvalidConfig", c, err)
		}
	}
	good := []Config{{}, {Window: time.Minute, Fraction: 1, MinCount: 1, TopK: 10}, {Fraction: 1e-9}}
	for _, c := range good {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v", c, err)
		}
	}
}

func TestDefaults(t *testing.T) {
	d, _ := newTest(t, Config{})
	if d.cfg.Window != time.Second || d.cfg.Fraction != 0.001 || d.cfg.MinCount != 50 || d.cfg.TopK != 1000 {
		t.Fatalf("defaults = %+v", d.cfg)
	}
	if got := d.Threshold(); got != 50 {
		t.Fatalf("idle threshold = %d, want the floor 50", got)
	}
}

func TestFloorKeepsAQuietNodeCool(t *testing.T) {
	d, fake := newTest(t, Config{})
	// One key is every read the node sees, but only 40 a window.
	for range 30 {
		if touchN(d, "lonely", 4) {
			t.Fatal("a key under the floor was flagged")
		}
		step(d, fake)
	}
	// At 50 reads within one window it passes.
	fake.Advance(time.Second) // a fresh window with nothing carried over
	d.Tick()
	if touchN(d, "lonely", 49) {
		t.Fatal("flagged at 49 reads")
	}
	if !d.Touch([]byte("lonely")) {
		t.Fatal("not flagged at 50 reads")
	}
}

func TestThresholdIsAShareOfTheNodesReads(t *testing.T) {
	d, fake := newTest(t, Config{Fraction: 0.01})
	background(d, 20_000, "bg:")
	touchN(d, "warm", 150) // over the floor, under 1/100 of ~20K reads
	touchN(d, "hot", 300)  // over both
	d.Tick()
	if thr := d.Threshold(); thr != 205 {
		t.Fatalf("threshold = %d, want 1/100 of 20,450 reads, 205", thr)
	}
	if d.IsHot([]byte("warm")) || !d.IsHot([]byte("hot")) {
		t.Fatalf("warm hot=%v, hot hot=%v; want false, true", d.IsHot([]byte("warm")), d.IsHot([]byte("hot")))
	}
	if got := d.Top(5); len(got) != 1 || got[0].Key != "hot" || got[0].Count < 300 {
		t.Fatalf("Top = %+v, want only hot with ≥300", got)
	}
	_ = fake
}

func TestAKeyThatStopsCoolsWithinTwoWindows(t *testing.T) {
	// A small node, so the share rather than the floor decides.
	d, fake := newTest(t, Config{Fraction: 0.01, MinCount: 1})
	// 20 ticks (2 windows) of steady traffic: 1,000 filler reads and 50 of
	// the hot key each (5% of the node).
	for tick := range 20 {
		background(d, 1_000, "bg"+strconv.Itoa(tick)+":")
		touchN(d, "hot", 50)
		step(d, fake)
	}
	if !d.IsHot([]byte("hot")) {
		t.Fatal("the hot key was not flagged")
	}
	cooledAt := -1
	for tick := range 30 {
		background(d, 1_050, "later"+strconv.Itoa(tick)+":")
		step(d, fake)
		hot := d.IsHot([]byte("hot"))
		if !hot && cooledAt < 0 {
			cooledAt = tick + 1
		}
		if hot && cooledAt >= 0 {
			t.Fatalf("the key turned hot again after cooling at tick %d", cooledAt)
		}
	}
	t.Logf("a key with 5%% of reads cooled %d ticks (%.1f windows) after its last read", cooledAt, float64(cooledAt)/10)
	if cooledAt < 0 || cooledAt > 20 {
		t.Fatalf("cooled after %d ticks, want within 2 windows (20 ticks)", cooledAt)
	}
	if top := d.Top(10); len(top) != 0 {
		t.Fatalf("Top after cooling = %+v", top)
	}
}

func TestWindowsSkippedWithoutTickAreForgotten(t *testing.T) {
	d, fake := newTest(t, Config{})
	touchN(d, "k", 500)
	if !d.IsHot([]byte("k")) {
		t.Fatal("not hot after 500 reads")
	}
	fake.Advance(5 * time.Second)
	d.Tick()
	if d.IsHot([]byte("k")) {
		t.Fatal("still hot after five silent windows")
	}
}

func TestTopKeepsTheHottestWhenFull(t *testing.T) {
	d, fake := newTest(t, Config{TopK: 4})
	for _, k := range []string{"a", "b", "c", "d"} {
		touchN(d, k, 60)
	}
	for _, k := range []string{"b", "c", "d"} {
		touchN(d, k, 10)
	}
	keys := func() []string {
		var ks []string
		for _, e := range d.Top(10) {
			ks = append(ks, e.Key)
		}
		return ks
	}
	if got := keys(); !slices.Equal(got, []string{"b", "c", "d", "a"}) {
		t.Fatalf("Top keys = %v, want b, c, d at 70 then a at 60", got)
	}
	// e passes the threshold at 50 reads but displaces a (60) only once it
	// is hotter, at its 61st read; f then displaces one of b, c, d (70).
	touchN(d, "e", 60)
	if got := keys(); slices.Contains(got, "e") {
		t.Fatalf("Top keys = %v: e displaced a key as hot as itself", got)
	}
	touchN(d, "e", 140)
	touchN(d, "f", 300)
	got := keys()
	if len(got) != 4 || got[0] != "f" || got[1] != "e" || slices.Contains(got, "a") {
		t.Fatalf("Top keys = %v, want f, e and two of b, c, d", got)
	}
	step(d, fake)
	if top := d.Top(1); len(top) != 1 || top[0].Key != "f" || top[0].Count != 300 {
		t.Fatalf("Top(1) = %+v, want f with 300", top)
	}
	if top := d.Top(0); len(top) != 0 {
		t.Fatalf("Top(0) = %+v", top)
	}
}

func TestEvictionScansAreBudgeted(t *testing.T) {
	d, fake := newTest(t, Config{TopK: 1})
	touchN(d, "resident", 10_000)
	// A climbing key that never overtakes is scanned for when it passes
	// the coolest count last seen, not on every read.
	touchN(d, "climber", 5_000)
	if left := d.top.scansLeft.Load(); left != evictScansPerTick-1 {
		t.Fatalf("%d scans made, want 1", evictScansPerTick-left)
	}
	step(d, fake)
	if left := d.top.scansLeft.Load(); left != evictScansPerTick {
		t.Fatalf("scan budget %d after a tick, want %d", left, evictScansPerTick)
	}
}

func TestConcurrentUse(t *testing.T) {
	d, fake := newTest(t, Config{})
	const workers, reads = 4, 20_000
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var tickers sync.WaitGroup
	tickers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
				step(d, fake)
				_ = d.Top(5)
			}
		}
	})
	for w := range workers {
		wg.Go(func() {
			buf := make([]byte, 0, 32)
			for i := range reads {
				if i%4 == 0 {
					d.Touch([]byte("the-hot-one"))
					continue
				}
				buf = strconv.AppendInt(append(buf[:0], "w"+strconv.Itoa(w)+":"...), int64(i), 10)
				d.Touch(buf)
				d.IsHot(buf)
			}
		})
	}
	wg.Wait()
	close(stop)
	tickers.Wait()
	d.Tick()
	if top := d.Top(3); len(top) != 1 || top[0].Key != "the-hot-one" {
		t.Fatalf("Top = %+v, want only the-hot-one", top)
	}
}
