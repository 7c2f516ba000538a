package bench

import (
	"bytes"
	"encoding/binary"
	"io"
	"net"
	"testing"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/regions"
)

// TestFederationScenarioQuick runs `tiercache bench federation --quick`:
// every figure is there and positive, every fetch crossed the simulated
// WAN, and no request paid for a handshake: each link kept its one
// connection and never redialled. Counts, not timings, are asserted (the
// l3_fetch_over_rtt target is for full runs on a quiet machine).
func TestFederationScenarioQuick(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	r := runQuick(t, "federation")
	for _, name := range []string{"l3_fetch_over_rtt", "quic_ops_per_s", "tcp_ops_per_s", "quic_over_tcp_throughput",
		"loss_p99_ms_quic", "loss_p99_ms_tcp", "loss_p99_quic_over_tcp"} {
		if v := figure(t, r, name); v <= 0 {
			t.Errorf("%s = %v, want > 0", name, v)
		}
	}
	links := 0
	for _, from := range []string{"us-east", "eu-west", "ap-south"} {
		for _, to := range []string{"us-east", "eu-west", "ap-south"} {
			if from == to {
				continue
			}
			links++
			name := from + "_to_" + to
			rtt, p50, p99 := figure(t, r, "rtt_ms_"+name), figure(t, r, "l3_fetch_p50_ms_"+name), figure(t, r, "l3_fetch_p99_ms_"+name)
			// Jitter may put a fetch a little under the RTT, never far:
			// a p50 well below it would mean the WAN was bypassed.
			if rtt <= 0 || p50 < 0.9*rtt || p99 < p50 {
				t.Errorf("%s: rtt %v ms, fetch p50 %v ms, p99 %v ms", name, rtt, p50, p99)
			}
		}
	}
	if links != 6 {
		t.Fatalf("%d directed links", links)
	}
	if c, d := figure(t, r, "quic_connects_per_link"), figure(t, r, "quic_redials_during_run"); c != 1 || d != 0 {
		t.Errorf("connections per link %v, redials during the run %v: want 1 and 0", c, d)
	}
	if len(r.Series["quic_over_tcp_throughput"]) != r.Runs {
		t.Errorf("%d throughput ratios for %d runs", len(r.Series["quic_over_tcp_throughput"]), r.Runs)
	}
}

// TestStreamConnKeepsOrder is the property the TCP baseline relies on: on
// a jittery link losing half its segments, a regions.StreamConn still
// delivers every byte once and in order (a late segment holds back those
// after it), and Close stops its goroutine.
func TestStreamConnKeepsOrder(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	p, err := regions.Builtin(regions.DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	wan, err := regions.NewWAN(p, regions.WANConfig{Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	link, _ := p.Link("us-east", "eu-west")
	link.Loss = 0.5
	if err := wan.SetLink(link); err != nil {
		t.Fatal(err)
	}
	if _, err := wan.Stream("us-east", "us-east", nil); err == nil {
		t.Fatal("a stream from a region to itself was accepted")
	}
	a, b := net.Pipe()
	defer b.Close()
	s, err := wan.Stream("us-east", "eu-west", a)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for i := range 300 {
		chunk := binary.BigEndian.AppendUint32(nil, uint32(i))
		chunk = append(chunk, bytes.Repeat([]byte{byte(i)}, i*37%3000)...) // some span segments
		want.Write(chunk)
		if n, err := s.Write(chunk); err != nil || n != len(chunk) {
			t.Fatalf("write %d: %d, %v", i, n, err)
		}
	}
	got := make([]byte, want.Len())
	if _, err := io.ReadFull(b, got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("bytes arrived out of order or changed")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("late")); err == nil {
		t.Fatal("write after Close succeeded")
	}
}
