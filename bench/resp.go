package bench

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/tiercache/tiercache/l2"
)

// respScenario compares one tiercache L2 node with redis-server, both driven
// by redis-benchmark with the same flags, alternating which goes first in
// each round so drift of the shared machine falls on both alike.
func respScenario() Scenario {
	return Scenario{Name: "resp", Summary: "L2 node vs redis-server under redis-benchmark (GET/SET, pipeline 1 and 16)", Run: runRESP}
}

type respCase struct {
	test     string // "get" or "set"
	pipeline int
}

type benchLine struct {
	rps, p50, p99 float64
}

func runRESP(ctx context.Context, o Options) (*Result, error) {
	serverBin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, fmt.Errorf("%w: redis-server not on PATH (apt-get install redis-server)", ErrPeerMissing)
	}
	benchBin, err := exec.LookPath("redis-benchmark")
	if err != nil {
		return nil, fmt.Errorf("%w: redis-benchmark not on PATH (apt-get install redis-tools)", ErrPeerMissing)
	}
	runs := o.RunsOr(3)
	requests := map[int]int{1: 100_000, 16: 400_000}
	if o.Quick {
		requests = map[int]int{1: 10_000, 16: 40_000}
	}

	redisAddr, stopRedis, err := startRedis(ctx, serverBin)
	if err != nil {
		return nil, err
	}
	defer stopRedis()
	node, err := l2.NewNode(l2.Config{MaxMemory: 1 << 30})
	if err != nil {
		return nil, err
	}
	if err := node.Start(); err != nil {
		return nil, err
	}
	defer node.Close()

	res := NewResult("resp", runs)
	res.Notes["peer"] = versionOf(serverBin)
	res.Notes["workload"] = "redis-benchmark -c 50 -d 64 -r 100000, SET then GET each round"
	cases := []respCase{{"set", 1}, {"get", 1}, {"set", 16}, {"get", 16}}
	type side struct{ tc, redis []benchLine }
	got := map[respCase]*side{}
	for _, c := range cases {
		got[c] = &side{}
	}
	for run := 0; run < runs; run++ {
		for _, c := range cases {
			order := []string{"redis", "tiercache"}
			if run%2 == 1 {
				order[0], order[1] = order[1], order[0]
			}
			for _, who := range order {
				addr := redisAddr
				if who == "tiercache" {
					addr = node.Addr()
				}
				line, err := redisBenchmark(ctx, benchBin, addr, c, requests[c.pipeline])
				if err != nil {
					return nil, fmt.Errorf("%s %s P%d: %w", who, c.test, c.pipeline, err)
				}
				if who == "tiercache" {
					got[c].tc = append(got[c].tc, line)
				} else {
					got[c].redis = append(got[c].redis, line)
				}
				o.Progressf("run %d/%d  %-9s %s P%-2d  %9.0f req/s  p99 %.3f ms\n", run+1, runs, who, c.test, c.pipeline, line.rps, line.p99)
			}
		}
	}
	for _, c := range cases {
		s := got[c]
		name := fmt.Sprintf("%s_p%d", c.test, c.pipeline)
		var rpsRatios, p99Ratios []float64
		for i := range s.tc {
			rpsRatios = append(rpsRatios, Ratio(s.tc[i].rps, s.redis[i].rps))
			p99Ratios = append(p99Ratios, Ratio(s.tc[i].p99, s.redis[i].p99))
		}
		res.Figures[name+"_ratio"] = median(rpsRatios)
		res.Figures[name+"_p99_ratio"] = median(p99Ratios)
		res.Figures["tiercache_"+name+"_rps"] = Mean(field(s.tc, func(b benchLine) float64 { return b.rps }))
		res.Figures["redis_"+name+"_rps"] = Mean(field(s.redis, func(b benchLine) float64 { return b.rps }))
		res.Figures["tiercache_"+name+"_p50_ms"] = Mean(field(s.tc, func(b benchLine) float64 { return b.p50 }))
		res.Figures["redis_"+name+"_p50_ms"] = Mean(field(s.redis, func(b benchLine) float64 { return b.p50 }))
		res.Figures["tiercache_"+name+"_p99_ms"] = Mean(field(s.tc, func(b benchLine) float64 { return b.p99 }))
		res.Figures["redis_"+name+"_p99_ms"] = Mean(field(s.redis, func(b benchLine) float64 { return b.p99 }))
		res.Series[name+"_ratio"] = rpsRatios
	}
	return res, nil
}

func field(ls []benchLine, f func(benchLine) float64) []float64 {
	out := make([]float64, len(ls))
	for i, l := range ls {
		out[i] = f(l)
	}
	return out
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// redisBenchmark runs one redis-benchmark test and parses its CSV line.
func redisBenchmark(ctx context.Context, bin, addr string, c respCase, n int) (benchLine, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return benchLine{}, err
	}
	cmd := exec.CommandContext(ctx, bin, "-h", host, "-p", port, "-t", c.test, "-n", strconv.Itoa(n),
		"-c", "50", "-P", strconv.Itoa(c.pipeline), "-d", "64", "-r", "100000", "--csv")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return benchLine{}, fmt.Errorf("redis-benchmark: %w: %s", err, strings.TrimSpace(errb.String()))
	}
	recs, err := csv.NewReader(&out).ReadAll()
	if err != nil {
		return benchLine{}, fmt.Errorf("redis-benchmark csv: %w", err)
	}
	for _, r := range recs {
		if len(r) >= 7 && strings.EqualFold(r[0], c.test) {
			rps, err1 := strconv.ParseFloat(r[1], 64)
			p50, err2 := strconv.ParseFloat(r[4], 64)
			p99, err3 := strconv.ParseFloat(r[6], 64)
			if err1 != nil || err2 != nil || err3 != nil {
				return benchLine{}, fmt.Errorf("redis-benchmark csv line %q", r)
			}
			return benchLine{rps: rps, p50: p50, p99: p99}, nil
		}
	}
	return benchLine{}, fmt.Errorf("redis-benchmark printed no %s line: %q", c.test, out.String())
}

// startRedis runs redis-server without persistence on a free loopback port.
func startRedis(ctx context.Context, bin string) (addr string, stop func(), err error) {
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "tiercache-redis-")
	if err != nil {
		return "", nil, err
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("start redis-server: %w", err)
	}
	stop = func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		os.RemoveAll(dir)
	}
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return addr, stop, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			stop()
			return "", nil, fmt.Errorf("redis-server did not start on %s: %w", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func versionOf(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return bin
	}
	return strings.TrimSpace(string(out))
}
