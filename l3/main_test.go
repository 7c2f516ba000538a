package l3

import (
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/l2/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// epoch is where fake clocks start.
var epoch = time.Unix(1_700_000_000, 0)

// newTestNode starts a node on a fake clock with the store's active
// expirer off, and closes it when the test ends.
func newTestNode(t testing.TB, cfg Config) (*Node, *clock.Fake) {
	t.Helper()
	fake := clock.NewFake(epoch)
	if cfg.ID == "" {
		cfg.ID = "n1"
	}
	if cfg.Region == "" {
		cfg.Region = "r1"
	}
	if cfg.Clock == nil {
		cfg.Clock = fake
	}
	if cfg.Store.ActiveExpiry == 0 {
		cfg.Store.ActiveExpiry = -1
	}
	if cfg.Store.MaxBytes == 0 {
		cfg.Store.MaxBytes = 8 << 20
	}
	n, err := NewNode(cfg)
	if err != nil {
		t.Fatalf("NewNode: %v", err)
	}
	t.Cleanup(func() { _ = n.Close() })
	return n, fake
}

func item(value string, version uint64) store.Item {
	return store.Item{Value: []byte(value), Version: version}
}
