package l2

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestTierStaleReadersRacingTheRefreshFillGetNoSecondLease has readers on
// several connections read a stale key while the refresh lease holder
// fills it. A reader that found the old value before the fill landed must
// not be granted a new refresh lease after it: that would be a second
// origin load for one stale value (seen as a flaky client test under
// load before the grant checked the version it read).
func TestTierStaleReadersRacingTheRefreshFillGetNoSecondLease(t *testing.T) {
	n, clk := fakeNode(t, nil)
	const readers = 8
	rdb := newClient(t, n.Addr(), func(o *redis.Options) { o.PoolSize = readers })
	ctx := context.Background()
	g := doGet(t, rdb, "k", 0)
	doSet(t, rdb, "k", 0, "v0", 100, 60_000, "LEASE", g.token)
	for round := range 100 {
		clk.Advance(150 * time.Millisecond) // the value is stale now
		var tokens atomic.Int64
		errs := make(chan error, readers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range readers {
			wg.Go(func() {
				<-start
				for range 4 {
					res, err := rdb.Do(ctx, "TC.GET", "k", 0).Slice()
					if err != nil {
						errs <- err
						return
					}
					token := res[6].(int64)
					if token == 0 {
						continue
					}
					tokens.Add(1)
					v := fmt.Sprintf("v%d", round+1)
					st, err := rdb.Do(ctx, "TC.SET", "k", 0, v, 100, 60_000, "LEASE", token).Slice()
					if err != nil {
						errs <- err
						return
					}
					if st[0] != "OK" {
						errs <- fmt.Errorf("round %d: refresh fill refused: %v", round, st)
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if got := tokens.Load(); got != 1 {
			t.Fatalf("round %d: %d refresh leases granted for one stale value, want 1", round, got)
		}
	}
}
