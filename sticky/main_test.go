package sticky

import (
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/keyspace"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var (
	start  = time.Unix(1_700_000_000, 0)
	keyOne = []byte("0123456789abcdef0123456789abcdef")
	keyTwo = []byte("fedcba9876543210fedcba9876543210")
)

// fixture is a Sessions on a fake clock whose keyspace table a test can
// swap: "user" has a 5 s window, "cart" 30 s, everything else none.
type fixture struct {
	clk   *clock.Fake
	table atomic.Pointer[keyspace.Table]
	s     *Sessions
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	f := &fixture{clk: clock.NewFake(start)}
	f.table.Store(&keyspace.Table{Spaces: map[string]keyspace.Settings{
		"user": {StickyWindow: 5 * time.Second},
		"cart": {StickyWindow: 30 * time.Second},
	}})
	if cfg.Region == "" {
		cfg.Region = "us-east"
	}
	cfg.Clock = f.clk
	cfg.Keyspaces = f.table.Load
	if cfg.Keys == nil {
		cfg.Keys = [][]byte{keyOne}
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.s = s
	return f
}

// sameMarkers reports whether a and b hold the same markers.
func sameMarkers(a, b []Marker) bool {
	return slices.EqualFunc(a, b, func(x, y Marker) bool {
		return x.Name == y.Name && x.Keyspace == y.Keyspace && x.Version == y.Version && x.Region == y.Region && x.At.Equal(y.At)
	})
}
