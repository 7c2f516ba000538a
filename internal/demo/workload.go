package demo

import (
	"context"
	"errors"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/origin"
)

// The workload each region's workers run, one operation at a time:
//
//   - a read of a Zipf-popular row (or, while a key trends, often of that
//     key), judged stale when it is older than the row the origin had
//     committed when the read began;
//   - a write: commit the row to the origin, then Set the new value
//     through the cache or Invalidate the key (half and half);
//   - a session: write a row through a Session, then read it back, here
//     or (CrossPct) in another region with the session's token, and count
//     a read-your-writes violation if the value is older than the write.

// userKeyspace is the keyspace of the origin's rows; trendKeyspace holds
// the trending keys, whose stampede scope is global.
const (
	userKeyspace  = "user"
	trendKeyspace = "trend"
)

// staleBound is how long a value may have been superseded before a read
// of it counts as stale beyond the replication lag: longer than any
// link's lag, so such reads point at a lost or misordered update.
const staleBound = time.Second

// trend is the key trending now ("" between trends).
type trend struct {
	key atomic.Pointer[string]
}

func (t *trend) current() string {
	if p := t.key.Load(); p != nil {
		return *p
	}
	return ""
}

func (d *Demo) worker(ctx context.Context, a *app, seed uint64) {
	rng := rand.New(rand.NewPCG(d.opts.Seed, seed))
	zipf := rand.NewZipf(rng, d.opts.ZipfS, 1, uint64(d.opts.Rows-1))
	payload := make([]byte, 48)
	for ctx.Err() == nil {
		p := rng.IntN(100)
		switch {
		case p < d.opts.SessionPct:
			d.session(ctx, a, rng, payload)
		case p < d.opts.SessionPct+d.opts.WritePct:
			d.write(ctx, a, a.client, d.db.Key(int(zipf.Uint64())), rng, payload)
		default:
			key := d.trend.current()
			if key == "" || rng.IntN(100) >= d.opts.TrendPct {
				key = d.db.Key(int(zipf.Uint64()))
			}
			d.read(ctx, a, key)
		}
		if d.opts.ThinkTime > 0 {
			sleep(ctx, d.opts.ThinkTime)
		}
	}
}

func (d *Demo) read(ctx context.Context, a *app, key string) {
	committed := d.db.CommitOf(key)
	began := time.Now()
	v, err := a.client.Get(ctx, key, a.loader)
	a.lat.record(time.Since(began))
	a.reads.Add(1)
	if err != nil {
		d.fail(ctx, a, err)
		return
	}
	if ver, ok := origin.VersionOf(v); ok {
		if age := committed.StaleFor(ver, began); age > 0 {
			a.stale.Add(1)
			if age > staleBound {
				a.staleLong.Add(1)
			}
		}
	}
}

// write commits first and tells the cache after, through w (a's client
// or a session of it): the order that keeps a reader from caching the old
// row for a whole TTL. ok is false when either step failed (counted as
// an error).
func (d *Demo) write(ctx context.Context, a *app, w cacheWriter, key string, rng *rand.Rand, payload []byte) (ver uint64, ok bool) {
	fill(payload, rng)
	ver, err := d.db.Write(ctx, key, payload)
	if err != nil {
		d.fail(ctx, a, err)
		return 0, false
	}
	a.writes.Add(1)
	if rng.IntN(2) == 0 {
		_, err = w.Set(ctx, key, origin.Encode(key, ver, payload))
	} else {
		_, err = w.Invalidate(ctx, key)
	}
	if err != nil {
		d.fail(ctx, a, err)
		return 0, false
	}
	return ver, true
}

// cacheWriter is what tiercache.Client and tiercache.Session share for a
// write.
type cacheWriter interface {
	Set(ctx context.Context, key string, value []byte, opts ...tiercache.SetOption) (uint64, error)
	Invalidate(ctx context.Context, key string) (uint64, error)
}

// session writes a row through a session and reads it back, in this
// region or, with the session's token, in another one.
func (d *Demo) session(ctx context.Context, a *app, rng *rand.Rand, payload []byte) {
	key := d.db.Key(rng.IntN(d.opts.Rows))
	s := a.client.NewSession()
	ver, ok := d.write(ctx, a, s, key, rng, payload)
	if !ok {
		return
	}
	reader, read := a, s
	if len(d.apps) > 1 && rng.IntN(100) < d.opts.CrossPct {
		reader = d.apps[(d.indexOf(a)+1+rng.IntN(len(d.apps)-1))%len(d.apps)]
		read = reader.client.RestoreSession(s.Token())
		a.crossChecks.Add(1)
	}
	began := time.Now()
	v, err := read.Get(ctx, key, reader.loader)
	reader.lat.record(time.Since(began))
	reader.reads.Add(1)
	if err != nil {
		d.fail(ctx, reader, err)
		return
	}
	a.rywChecks.Add(1)
	if got, ok := origin.VersionOf(v); !ok || got < ver {
		a.rywFailed.Add(1)
		d.noteViolation(key, ver, got, reader.region.Name)
	}
}

func (d *Demo) indexOf(a *app) int {
	for i, x := range d.apps {
		if x == a {
			return i
		}
	}
	return 0
}

// fail counts an error unless the demo is stopping.
func (d *Demo) fail(ctx context.Context, a *app, err error) {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return
	}
	a.errs.Add(1)
	d.lastErr.Store(&err)
}

func fill(b []byte, rng *rand.Rand) {
	for i := range b {
		b[i] = 'a' + byte(rng.IntN(26))
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// trendLoop makes a new key trend every TrendEvery: the row is written
// (a new article), read by every region for TrendFor, and expired every
// TrendExpiry meanwhile, so each expiry shows how many origin loads the
// stampede defences let through.
func (d *Demo) trendLoop(ctx context.Context) {
	wait := min(d.opts.TrendEvery, firstTrend)
	for n := 0; ; n++ {
		if !d.sleepOrDone(ctx, wait) {
			return
		}
		wait = max(d.opts.TrendEvery-d.opts.TrendFor, 0)
		key := trendKeyspace + ":" + strconv.Itoa(n)
		if _, err := d.db.Write(ctx, key, []byte("breaking news "+strconv.Itoa(n))); err != nil {
			continue
		}
		d.trend.key.Store(&key)
		d.trends.Add(1)
		d.log.add("key %s starts trending (%d%% of reads in every region, expired every %v)", key, d.opts.TrendPct, d.opts.TrendExpiry)
		end := time.Now().Add(d.opts.TrendFor)
		for {
			if !d.sleepOrDone(ctx, d.opts.TrendExpiry) {
				return
			}
			// An expiry too close to the trend's end would see no reads
			// and skew the loads per expiry.
			if time.Until(end) < d.opts.TrendExpiry/2 {
				break
			}
			_ = d.expire(ctx, key)
		}
		empty := ""
		d.trend.key.Store(&empty)
	}
}

// firstTrend is when the first key trends at the latest, so a short run
// shows one.
const firstTrend = 2 * time.Second

// expire invalidates key (a trending key's expiry, or an operator's);
// expiries of trending keys are counted for the loads per expiry.
func (d *Demo) expire(ctx context.Context, key string) error {
	if _, err := d.apps[0].client.Invalidate(ctx, key); err != nil {
		return err
	}
	if strings.HasPrefix(key, trendKeyspace+":") {
		d.expiries.Add(1)
	}
	return nil
}

func (d *Demo) sleepOrDone(ctx context.Context, t time.Duration) bool {
	sleep(ctx, t)
	return ctx.Err() == nil
}
