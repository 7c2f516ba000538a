package hlc

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

func TestPartsRoundTrip(t *testing.T) {
	v := Make(1_700_000_000_123, 77, 9)
	if Millis(v) != 1_700_000_000_123 || Logical(v) != 77 || Region(v) != 9 {
		t.Fatalf("parts of %x: %d %d %d", v, Millis(v), Logical(v), Region(v))
	}
}

func TestNowIsMonotonicWhenWallStandsStillOrGoesBack(t *testing.T) {
	fake := clock.NewFake(time.UnixMilli(1_000_000))
	c, err := New(3, fake)
	if err != nil {
		t.Fatal(err)
	}
	prev := c.Now()
	for i := 0; i < 10_000; i++ { // more than the logical counter holds
		if i == 5000 {
			fake.Advance(-time.Second)
		}
		v := c.Now()
		if v <= prev {
			t.Fatalf("step %d: %x not after %x", i, v, prev)
		}
		if Region(v) != 3 {
			t.Fatalf("region %d", Region(v))
		}
		prev = v
	}
	fake.Advance(time.Hour)
	if v := c.Now(); Millis(v) != fake.Now().UnixMilli() || Logical(v) != 0 {
		t.Fatalf("did not return to physical time: %d/%d", Millis(v), Logical(v))
	}
}

func TestObserveOrdersCausally(t *testing.T) {
	fake := clock.NewFake(time.UnixMilli(1_000_000))
	a, _ := New(1, fake)
	b, _ := New(2, clock.NewFake(time.UnixMilli(900_000))) // b's wall lags by 100 s
	va := a.Now()
	b.Observe(va)
	if vb := b.Now(); vb <= va || Region(vb) != 2 {
		t.Fatalf("b's version %x is not after observed %x", vb, va)
	}
}

func TestRegionsNeverCollide(t *testing.T) {
	fake := clock.NewFake(time.UnixMilli(5))
	a, _ := New(1, fake)
	b, _ := New(2, fake)
	if a.Now() == b.Now() {
		t.Fatal("two regions issued the same version")
	}
}

func TestBadRegion(t *testing.T) {
	for _, r := range []int{-1, MaxRegion + 1} {
		if _, err := New(r, nil); !errors.Is(err, ErrRegionRange) {
			t.Fatalf("region %d: err %v", r, err)
		}
	}
}

func TestConcurrentNowUnique(t *testing.T) {
	c, _ := New(0, nil)
	var mu sync.Mutex
	seen := map[Version]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := make([]Version, 0, 2000)
			for i := 0; i < 2000; i++ {
				local = append(local, c.Now())
			}
			mu.Lock()
			defer mu.Unlock()
			for _, v := range local {
				if seen[v] {
					t.Errorf("duplicate version %x", v)
				}
				seen[v] = true
			}
		}()
	}
	wg.Wait()
}
