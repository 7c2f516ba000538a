package store

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/internal/clock"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// epoch is where fake clocks start.
var epoch = time.Unix(1_700_000_000, 0)

// newTestStore opens a store with the active expirer off unless cfg asks
// for it, a fake clock unless cfg has one, and closes it when t ends.
func newTestStore(t testing.TB, cfg Config) (*Store, *clock.Fake) {
	t.Helper()
	fake, _ := cfg.Clock.(*clock.Fake)
	if cfg.Clock == nil {
		fake = clock.NewFake(epoch)
		cfg.Clock = fake
	}
	if cfg.ActiveExpiry == 0 {
		cfg.ActiveExpiry = -1
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s, fake
}

func stats(s *Store) Stats {
	var st Stats
	s.UpdateStats(&st)
	return st
}

func ms(c *clock.Fake, d time.Duration) int64 { return c.Now().Add(d).UnixMilli() }
