package l1

import (
	"bytes"
	"errors"
	"testing"
	"time"
	"unsafe"

	"github.com/tiercache/tiercache/internal/clock"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// newTestCache returns a minimum-budget cache on a fake clock at epoch.
func newTestCache(t testing.TB, cfg Config) (*Cache, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(epoch)
	cfg.Clock = fake
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, fake
}

func ms(d time.Duration) int64 { return epoch.Add(d).UnixMilli() }

func TestGetStatusByExpiry(t *testing.T) {
	tests := []struct {
		name    string
		meta    Meta
		elapsed time.Duration
		want    Status
	}{
		{"no expiry", Meta{Version: 1}, 1000 * time.Hour, Hit},
		{"before soft", Meta{SoftExpireAt: ms(time.Second), HardExpireAt: ms(2 * time.Second)}, 999 * time.Millisecond, Hit},
		{"at soft", Meta{SoftExpireAt: ms(time.Second), HardExpireAt: ms(2 * time.Second)}, time.Second, Stale},
		{"between soft and hard", Meta{SoftExpireAt: ms(time.Second), HardExpireAt: ms(2 * time.Second)}, 1500 * time.Millisecond, Stale},
		{"at hard", Meta{SoftExpireAt: ms(time.Second), HardExpireAt: ms(2 * time.Second)}, 2 * time.Second, Miss},
		{"past hard", Meta{SoftExpireAt: ms(time.Second), HardExpireAt: ms(2 * time.Second)}, time.Hour, Miss},
		{"soft only, past it", Meta{SoftExpireAt: ms(time.Second)}, time.Hour, Stale},
		{"hard only, before it", Meta{HardExpireAt: ms(time.Second)}, 999 * time.Millisecond, Hit},
		{"hard only, past it", Meta{HardExpireAt: ms(time.Second)}, time.Second, Miss},
		{"soft after hard never stale", Meta{SoftExpireAt: ms(3 * time.Second), HardExpireAt: ms(time.Second)}, 500 * time.Millisecond, Hit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, fake := newTestCache(t, Config{})
			key, val := []byte("user:42"), []byte("hello")
			if err := c.Set(key, val, tt.meta); err != nil {
				t.Fatal(err)
			}
			fake.Advance(tt.elapsed)
			dst := []byte("prefix-")
			got, meta, status := c.Get(dst, key)
			if status != tt.want {
				t.Fatalf("status = %v, want %v", status, tt.want)
			}
			wantBytes, wantMeta := "prefix-hello", tt.meta
			if tt.want == Miss {
				wantBytes, wantMeta = "prefix-", Meta{}
			}
			if string(got) != wantBytes || meta != wantMeta {
				t.Fatalf("Get = %q, %+v; want %q, %+v", got, meta, wantBytes, wantMeta)
			}
		})
	}
}

func TestGetMissAndOverwrite(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	if got, _, st := c.Get(nil, []byte("absent")); st != Miss || len(got) != 0 {
		t.Fatalf("absent key: %q %v", got, st)
	}
	key := []byte("k")
	mustSet(t, c, key, "v1", Meta{Version: 9})
	mustSet(t, c, key, "v2", Meta{Version: 3}) // Set is unconditional
	if got, meta, st := c.Get(nil, key); st != Hit || string(got) != "v2" || meta.Version != 3 {
		t.Fatalf("after overwrite: %q %+v %v", got, meta, st)
	}
	mustSet(t, c, key, "", Meta{Version: 4})
	if got, _, st := c.Get(nil, key); st != Hit || len(got) != 0 {
		t.Fatalf("empty value: %q %v, want empty hit", got, st)
	}
	c.Delete(key)
	if _, _, st := c.Get(nil, key); st != Miss {
		t.Fatalf("after Delete: %v", st)
	}
	c.Delete(key) // deleting an absent key is a no-op
}

func TestSetTooLarge(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	key := []byte("big")
	fits := bytes.Repeat([]byte{'x'}, MaxEntryBytes-len(key))
	if err := c.Set(key, fits, Meta{}); err != nil {
		t.Fatalf("largest entry: %v", err)
	}
	if got, _, st := c.Get(nil, key); st != Hit || !bytes.Equal(got, fits) {
		t.Fatalf("largest entry not readable: %v, %d bytes", st, len(got))
	}
	tooBig := append(fits, 'y')
	if err := c.Set(key, tooBig, Meta{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Set one byte over: err = %v, want ErrTooLarge", err)
	}
	if _, err := c.SetIfNewer(key, tooBig, Meta{Version: 1}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("SetIfNewer one byte over: err = %v, want ErrTooLarge", err)
	}
	if got, _, _ := c.Get(nil, key); !bytes.Equal(got, fits) {
		t.Fatal("refused write changed the stored value")
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name       string
		cfg        Config
		wantErr    bool
		wantBudget int
		wantTombMs int64
	}{
		{"zero value", Config{}, false, DefaultMaxBytes, DefaultTombstoneTTL.Milliseconds()},
		{"negative budget", Config{MaxBytes: -1}, true, 0, 0},
		{"below unit", Config{MaxBytes: BudgetUnit - 1}, true, 0, 0},
		{"one unit", Config{MaxBytes: BudgetUnit}, false, BudgetUnit, 10000},
		{"rounded down", Config{MaxBytes: 2*BudgetUnit + BudgetUnit/2}, false, 2 * BudgetUnit, 10000},
		{"too large", Config{MaxBytes: maxBudget + 1}, true, 0, 0},
		{"tombstones off", Config{TombstoneTTL: -1}, false, DefaultMaxBytes, 0},
		{"sub-millisecond tombstones", Config{TombstoneTTL: time.Microsecond}, false, DefaultMaxBytes, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr {
				if !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
				}
				if _, err := New(tt.cfg); !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("New = %v, want ErrInvalidConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Validate = %v", err)
			}
			if got := tt.cfg.budget(); got != tt.wantBudget {
				t.Errorf("budget = %d, want %d", got, tt.wantBudget)
			}
			if got := tt.cfg.tombstoneTTL(); got != tt.wantTombMs {
				t.Errorf("tombstoneTTL = %d, want %d", got, tt.wantTombMs)
			}
		})
	}
}

func TestGetAllocatesNothing(t *testing.T) {
	c, fake := newTestCache(t, Config{})
	val := bytes.Repeat([]byte{'v'}, 64)
	mustSet(t, c, []byte("forever"), string(val), Meta{Version: 1})
	mustSet(t, c, []byte("expiring"), string(val), Meta{Version: 1, SoftExpireAt: ms(time.Second), HardExpireAt: ms(time.Hour)})
	fake.Advance(2 * time.Second) // "expiring" is now stale
	buf := make([]byte, 0, len(val)+TrailerSize)
	for _, tt := range []struct {
		key  string
		want Status
	}{{"forever", Hit}, {"expiring", Stale}, {"absent", Miss}} {
		key := []byte(tt.key)
		var status Status
		allocs := testing.AllocsPerRun(1000, func() {
			buf, _, status = c.Get(buf[:0], key)
		})
		if status != tt.want || allocs != 0 {
			t.Errorf("Get(%s): status %v, %v allocs/op; want %v, 0 allocs", tt.key, status, allocs, tt.want)
		}
	}
}

func TestSetAllocatesNothingInSteadyState(t *testing.T) {
	c, _ := newTestCache(t, Config{})
	key, val := []byte("k"), bytes.Repeat([]byte{'v'}, 64)
	mustSet(t, c, key, string(val), Meta{}) // warms the scratch pool
	allocs := testing.AllocsPerRun(1000, func() {
		if _, err := c.SetIfNewer(key, val, Meta{Version: 1}); err != nil {
			t.Fatal(err)
		}
	})
	// sync.Pool may drop a buffer at a GC; allow that, not one per call.
	if allocs >= 0.1 {
		t.Fatalf("SetIfNewer: %v allocs/op, want ~0", allocs)
	}
}

func TestStripeFillsWholeCacheLines(t *testing.T) {
	if size := unsafe.Sizeof(stripe{}); size%64 != 0 {
		t.Fatalf("stripe is %d bytes; adjust its padding to a multiple of 64", size)
	}
}

func mustSet(t testing.TB, c *Cache, key []byte, val string, m Meta) {
	t.Helper()
	if err := c.Set(key, []byte(val), m); err != nil {
		t.Fatal(err)
	}
}
