//go:build linux

package l1

import (
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// alternatingSliceOps is how many operations one contestant runs per slice:
// a few tens of milliseconds, so many slices of each contestant interleave.
const alternatingSliceOps = 1 << 16

// BenchmarkAlternating loads every contestant at once and, in each of b.N
// rounds, gives each one a slice of Get-hits and then of Sets, in an order
// that rotates every round, all with GOMAXPROCS goroutines. One iteration is
// one round:
//
//	go test -run '^$' -bench Alternating -benchtime 60x ./l1/
//
// Each slice is timed twice: by the CPU time of the worker threads, which
// leaves out the time the scheduler gives to other processes on a shared
// machine, and by the wall clock, which is what b.RunParallel measures and
// which on the oversubscribed 2-core machine this was built on varied 4x
// from one second to the next. For each it reports every contestant's
// median ns per operation (<impl>-<op>-<clock>-ns) and, per other
// contestant, the median over rounds of L1's figure divided by theirs in the
// same round (l1/<impl>-<op>-<clock>), so drift falls on both sides of a
// ratio alike.
func BenchmarkAlternating(b *testing.B) {
	releaseFixture() // BenchmarkCompare's, if it ran first
	all := make([]*loaded, len(contestants))
	for i, c := range contestants {
		all[i] = c.load(b)
	}
	defer func() {
		for _, l := range all {
			l.release()
		}
	}()
	runtime.GC()

	type op struct {
		name string
		run  func(l *loaded, next ticker, start int) (misses int64)
	}
	ops := []op{
		{"get", func(l *loaded, next ticker, start int) int64 { return l.get(next, start) }},
		{"set", func(l *loaded, next ticker, start int) int64 { l.set(next, start); return 0 }},
	}
	clocks := []string{"cpu", "wall"}
	// nsPerOp[clock][op][contestant][round]
	nsPerOp := make([][][][]float64, len(clocks))
	for k := range clocks {
		nsPerOp[k] = make([][][]float64, len(ops))
		for o := range ops {
			nsPerOp[k][o] = make([][]float64, len(contestants))
		}
	}
	w := new(walker)
	b.ResetTimer()
	for round := range b.N {
		for o, op := range ops {
			for k := range contestants {
				ci := (k + round) % len(contestants)
				cpu, wall, misses := timeSlice(all[ci], op.run, w)
				if misses != 0 {
					b.Fatalf("%s: %d misses in a Get-hit slice", contestants[ci].name, misses)
				}
				nsPerOp[0][o][ci] = append(nsPerOp[0][o][ci], cpu)
				nsPerOp[1][o][ci] = append(nsPerOp[1][o][ci], wall)
			}
		}
	}
	b.StopTimer()

	for k, clk := range clocks {
		for o, op := range ops {
			// One log line per op and clock: the testing package keeps
			// only the first few lines a benchmark logs.
			spread := fmt.Sprintf("%s %s, %d rounds, l1/other per-round min/median/max:", op.name, clk, b.N)
			l1 := nsPerOp[k][o][0]
			for ci, c := range contestants {
				suffix := "-" + op.name + "-" + clk
				b.ReportMetric(median(nsPerOp[k][o][ci]), c.name+suffix+"-ns")
				if ci == 0 {
					continue
				}
				ratios := make([]float64, len(l1))
				for r := range l1 {
					ratios[r] = l1[r] / nsPerOp[k][o][ci][r]
				}
				slices.Sort(ratios)
				b.ReportMetric(median(ratios), "l1/"+c.name+suffix)
				spread += fmt.Sprintf(" %s %.2f/%.2f/%.2f;", c.name, ratios[0], median(ratios), ratios[len(ratios)-1])
			}
			b.Log(spread)
		}
	}
}

// timeSlice runs alternatingSliceOps operations of one contestant split over
// GOMAXPROCS goroutines and returns the CPU and the wall time per operation.
func timeSlice(l *loaded, run func(*loaded, ticker, int) int64, w *walker) (cpuNs, wallNs float64, misses int64) {
	workers := runtime.GOMAXPROCS(0)
	perWorker := alternatingSliceOps / workers
	missesOf := make([]int64, workers)
	cpuOf := make([]int64, workers)
	var wg sync.WaitGroup
	start := time.Now()
	for g := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The thread's clock only measures this goroutine while it
			// cannot move to another thread.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			start := threadCPUNanos()
			missesOf[g] = run(l, &countdown{perWorker}, w.start())
			cpuOf[g] = threadCPUNanos() - start
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	var cpu int64
	for g := range workers {
		misses += missesOf[g]
		cpu += cpuOf[g]
	}
	ops := float64(perWorker * workers)
	// CPU time is summed over the workers; wall time is shared by them, as
	// in b.RunParallel's ns/op.
	return float64(cpu) / ops, float64(wall.Nanoseconds()) / ops, misses
}

func threadCPUNanos() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		panic(err) // Linux has had this clock since 2.6.12
	}
	return ts.Nano()
}

// countdown is a ticker that allows n operations.
type countdown struct{ n int }

func (c *countdown) Next() bool {
	c.n--
	return c.n >= 0
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
