package hotkey

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"
	"time"
)

// The tests here replay synthetic workloads and compare what the Detector
// flags with exact counts kept beside it, using the same sliding window.

const universe = 1_000_000 // distinct keys a stream draws from

// stream replays reads over the fake clock: readsPerTick reads between
// ticks of a tenth of a window, for ticks ticks, keeping exact per-window
// counts. It ends halfway through a window, where both windows weigh in.
type stream struct {
	d       *Detector
	fake    advancer
	cur     []uint32 // exact counts of the current window, by key index
	prev    []uint32
	touched []bool
	total   [2]uint64 // this and the previous window's reads
	buf     []byte
}

// advancer is the part of clock.Fake the stream drives.
type advancer interface{ Advance(time.Duration) }

func newStream(d *Detector, fake advancer) *stream {
	return &stream{
		d: d, fake: fake,
		cur: make([]uint32, universe), prev: make([]uint32, universe), touched: make([]bool, universe),
		buf: make([]byte, 0, 32),
	}
}

func (s *stream) key(i int) []byte {
	s.buf = strconv.AppendInt(append(s.buf[:0], "key:"...), int64(i), 10)
	return s.buf
}

// run feeds ticks ticks of readsPerTick reads drawn by next. Window is the
// detector's default, one second, ten ticks.
func (s *stream) run(ticks, readsPerTick int, next func() int) (flaggedReads int) {
	for tick := range ticks {
		if tick > 0 && tick%10 == 0 {
			s.prev, s.cur = s.cur, s.prev
			clear(s.cur)
			s.total = [2]uint64{0, s.total[0]}
		}
		for range readsPerTick {
			i := next()
			s.cur[i]++
			s.touched[i] = true
			s.total[0]++
			if s.d.Touch(s.key(i)) {
				flaggedReads++
			}
		}
		s.fake.Advance(100 * time.Millisecond)
		s.d.Tick()
	}
	return flaggedReads
}

// exactHot returns the keys truly over the detector's threshold rule, with
// their exact sliding counts, given the weight keep (of 1) of the previous
// window.
func (s *stream) exactHot(cfg Config, keep float64) map[int]uint64 {
	total := float64(s.total[0]) + float64(s.total[1])*keep
	threshold := max(float64(cfg.MinCount), cfg.Fraction*total)
	hot := map[int]uint64{}
	for i := range universe {
		if c := float64(s.cur[i]) + float64(s.prev[i])*keep; c >= threshold {
			hot[i] = uint64(c)
		}
	}
	return hot
}

// flagged returns every key read so far that the detector calls hot.
func (s *stream) flagged() map[int]bool {
	out := map[int]bool{}
	for i := range universe {
		if s.touched[i] && s.d.IsHot(s.key(i)) {
			out[i] = true
		}
	}
	return out
}

func readsPerTick() int {
	if raceEnabled {
		return 10_000
	}
	return 40_000
}

func TestZipfStreamFlagsTheTrueHeavyHitters(t *testing.T) {
	d, fake := newTest(t, Config{})
	s := newStream(d, fake)
	rng := rand.New(rand.NewPCG(7, 11))
	zipf := rand.NewZipf(rng, 1.1, 1, universe-1)
	flaggedReads := s.run(25, readsPerTick(), func() int { return int(zipf.Uint64()) })

	truth := s.exactHot(d.cfg, 0.5) // the stream ends halfway into window 3
	flagged := s.flagged()
	hits := 0
	for i := range flagged {
		if _, ok := truth[i]; ok {
			hits++
		}
	}
	precision := float64(hits) / float64(max(len(flagged), 1))
	recall := float64(hits) / float64(max(len(truth), 1))
	t.Logf("Zipf(1.1), %d keys, %d reads/window: threshold %d, %d truly hot, %d flagged: precision %.3f, recall %.3f; flagged keys served %.1f%% of all reads",
		universe, 10*readsPerTick(), d.Threshold(), len(truth), len(flagged), precision, recall,
		100*float64(flaggedReads)/float64(25*readsPerTick()))
	if len(truth) < 20 {
		t.Fatalf("only %d truly hot keys; the workload is too mild to test anything", len(truth))
	}
	// Count-Min never undercounts, so every truly hot key must be flagged.
	if recall < 0.99 {
		t.Errorf("recall %.3f, want ≥ 0.99", recall)
	}
	if precision < 0.9 {
		t.Errorf("precision %.3f, want ≥ 0.9", precision)
	}

	// Top names the true ten hottest, hottest first.
	type kc struct {
		key   int
		count uint64
	}
	var exact []kc
	for i, c := range truth {
		exact = append(exact, kc{i, c})
	}
	slices.SortFunc(exact, func(a, b kc) int { return cmp.Compare(b.count, a.count) })
	top := d.Top(10)
	if len(top) != 10 {
		t.Fatalf("Top(10) returned %d entries", len(top))
	}
	for r, e := range top {
		if want := "key:" + strconv.Itoa(exact[r].key); e.Key != want {
			t.Errorf("Top rank %d = %s (%d), exact %s (%d)", r+1, e.Key, e.Count, want, exact[r].count)
		}
	}
}

func TestUniformStreamFlagsNothing(t *testing.T) {
	d, fake := newTest(t, Config{})
	s := newStream(d, fake)
	rng := rand.New(rand.NewPCG(3, 5))
	flaggedReads := s.run(25, readsPerTick(), func() int { return rng.IntN(universe) })
	if flaggedReads != 0 {
		t.Errorf("%d reads of a uniform stream were flagged hot", flaggedReads)
	}
	if top := d.Top(10); len(top) != 0 {
		t.Errorf("Top = %+v, want nothing", top)
	}
}

func TestUniformStreamOverFewKeysFlagsThemAll(t *testing.T) {
	// 400 keys at 1/400 of the node each are all over 1/1000: hotness is a
	// share of the node, not a rank.
	d, fake := newTest(t, Config{})
	s := newStream(d, fake)
	rng := rand.New(rand.NewPCG(3, 5))
	s.run(25, readsPerTick(), func() int { return rng.IntN(400) })
	if got := len(s.flagged()); got != 400 {
		t.Errorf("%d of 400 keys flagged, want all", got)
	}
}
