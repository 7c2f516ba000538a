package regions

import (
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"
)

// hostProfile has two regions 60 ms apart with no jitter, so a round trip
// through two HostWANs can be held to the full RTT.
const hostProfile = `
name: host
regions:
  - {name: a, id: 0}
  - {name: b, id: 1}
  - {name: c, id: 2}
links:
  - {between: [a, b], rtt: 60ms}
  - {between: [a, c], rtt: 20ms, loss: 0.3}
  - {between: [b, c], rtt: 20ms}
`

// hostPair stands for two processes, one per region: each has its own
// HostWAN and one socket, and finds the other's region by address as a
// deployment would tell it.
type hostPair struct {
	ha, hb *HostWAN
	a, b   *Conn
}

func newHostPair(t *testing.T, seed uint64) hostPair {
	t.Helper()
	p, err := Parse([]byte(hostProfile))
	if err != nil {
		t.Fatal(err)
	}
	pa, pb := listenUDP(t), listenUDP(t)
	regionOf := map[string]string{pa.LocalAddr().String(): "a", pb.LocalAddr().String(): "b"}
	lookup := func(addr string) (string, bool) { r, ok := regionOf[addr]; return r, ok }
	var hp hostPair
	if hp.ha, err = NewHostWAN(p, "a", lookup, WANConfig{Seed: seed}); err != nil {
		t.Fatal(err)
	}
	if hp.hb, err = NewHostWAN(p, "b", lookup, WANConfig{Seed: seed + 1}); err != nil {
		t.Fatal(err)
	}
	if hp.a, err = hp.ha.Attach(pa); err != nil {
		t.Fatal(err)
	}
	if hp.b, err = hp.hb.Attach(pb); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = hp.a.Close(); _ = hp.b.Close() })
	return hp
}

func listenUDP(t *testing.T) net.PacketConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return pc
}

func TestHostWANRoundTripSeesTheProfileRTT(t *testing.T) {
	hp := newHostPair(t, 1)
	echo(t, hp.b) // b's replies are delayed by b's own HostWAN
	rtt := 60 * time.Millisecond
	got := pings(t, hp.a, hp.b.LocalAddr(), 20, 5*time.Millisecond, rtt+time.Second)
	if len(got) != 20 {
		t.Fatalf("%d of 20 pings came back on a lossless link", len(got))
	}
	slices.Sort(got)
	if got[0] < rtt {
		t.Fatalf("fastest round trip %v is under the profile's %v: a direction was not delayed", got[0], rtt)
	}
	t.Logf("rtt profile %v: min %v p50 %v max %v", rtt, got[0], got[len(got)/2], got[len(got)-1])
	if s := hp.a.Stats(); s.Sent != 20 || s.Delivered != 20 {
		t.Fatalf("a's counters %+v", s)
	}
}

func TestHostWANOneSideWrappedSeesHalfTheRTT(t *testing.T) {
	// A plain socket in b's place: only a's outbound is delayed.
	plain := listenUDP(t)
	defer plain.Close()
	p, _ := Parse([]byte(hostProfile))
	h, err := NewHostWAN(p, "a", func(addr string) (string, bool) { return "b", addr == plain.LocalAddr().String() }, WANConfig{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	c, err := h.Attach(listenUDP(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sent := time.Now()
	if _, err := c.WriteTo([]byte("x"), plain.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	_ = plain.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 8)
	if _, _, err := plain.ReadFrom(buf); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(sent); took < 30*time.Millisecond {
		t.Fatalf("one way took %v, the link's one-way delay is 30ms", took)
	}
}

func TestHostWANSendsUnknownAndSameRegionAtOnce(t *testing.T) {
	hp := newHostPair(t, 4)
	other := listenUDP(t) // not in regionOf: not simulated
	defer other.Close()
	if _, err := hp.a.WriteTo([]byte("x"), other.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	// Delivered is counted on the write itself only when nothing is queued.
	if s := hp.a.Stats(); s.Delivered != 1 {
		t.Fatalf("unknown destination was queued: %+v", s)
	}
	// Partitions never touch what is not simulated.
	if err := hp.ha.SetPartitioned("a", true); err != nil {
		t.Fatal(err)
	}
	if _, err := hp.a.WriteTo([]byte("x"), other.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	if s := hp.a.Stats(); s.Delivered != 2 || s.Blocked != 0 {
		t.Fatalf("unknown destination under partition: %+v", s)
	}
	// A destination in this process's own region goes out at once too.
	p, _ := Parse([]byte(hostProfile))
	h, err := NewHostWAN(p, "b", func(string) (string, bool) { return "b", true }, WANConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, remote := h.route("b", netip.MustParseAddrPort("127.0.0.1:9")); remote {
		t.Fatal("same-region destination simulated")
	}
	h2, _ := NewHostWAN(p, "b", func(string) (string, bool) { return "mars", true }, WANConfig{})
	if _, _, remote := h2.route("b", netip.MustParseAddrPort("127.0.0.1:9")); remote {
		t.Fatal("destination in a region the profile lacks simulated")
	}
}

// readMarker returns the first byte of the next packet c receives.
func readMarker(t *testing.T, c *Conn) byte {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	defer func() { _ = c.SetReadDeadline(time.Time{}) }()
	buf := make([]byte, 8)
	n, _, err := c.ReadFrom(buf)
	if err != nil || n == 0 {
		t.Fatalf("read: %d bytes, %v", n, err)
	}
	return buf[0]
}

func TestHostWANPartitionDropsAndHeals(t *testing.T) {
	hp := newHostPair(t, 5)
	to := hp.b.LocalAddr()
	send := func(marker byte) {
		t.Helper()
		if _, err := hp.a.WriteTo([]byte{marker}, to); err != nil {
			t.Fatal(err)
		}
	}
	// The destination region cut off: dropped at send.
	if err := hp.ha.SetPartitioned("b", true); err != nil {
		t.Fatal(err)
	}
	if !hp.ha.Partitioned("b") || hp.hb.Partitioned("b") {
		t.Fatal("a partition set in one process leaked into the other")
	}
	send(1)
	if s := hp.a.Stats(); s.Blocked != 1 {
		t.Fatalf("not blocked: %+v", s)
	}
	// This region cut off: dropped too.
	if err := hp.ha.SetPartitioned("b", false); err != nil {
		t.Fatal(err)
	}
	if err := hp.ha.SetPartitioned("a", true); err != nil {
		t.Fatal(err)
	}
	send(2)
	if s := hp.a.Stats(); s.Blocked != 2 {
		t.Fatalf("not blocked: %+v", s)
	}
	// In flight when the partition starts: dropped when it falls due.
	if err := hp.ha.SetPartitioned("a", false); err != nil {
		t.Fatal(err)
	}
	send(3)
	if err := hp.ha.SetPartitioned("b", true); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() bool { return hp.a.Stats().Blocked == 3 })
	// Healed: the next packet arrives, and it is the first b receives, so
	// nothing sent under the partition got through.
	if err := hp.ha.SetPartitioned("b", false); err != nil {
		t.Fatal(err)
	}
	send(4)
	if got := readMarker(t, hp.b); got != 4 {
		t.Fatalf("b first received marker %d, want 4", got)
	}
	// The sender counts a delivery after the socket write, which may be
	// after b has read it.
	waitFor(t, 5*time.Second, func() bool { return hp.a.Stats().Delivered == 1 })
	if s := hp.a.Stats(); s.Sent != 4 || s.Delivered != 1 || s.Blocked != 3 {
		t.Fatalf("a's counters %+v", s)
	}
	if err := hp.ha.SetPartitioned("mars", true); !errors.Is(err, ErrUnknownRegion) {
		t.Fatalf("unknown region: %v", err)
	}
}

func TestHostWANLoss(t *testing.T) {
	p, err := Parse([]byte(hostProfile))
	if err != nil {
		t.Fatal(err)
	}
	sink := listenUDP(t)
	defer sink.Close()
	h, err := NewHostWAN(p, "a", func(string) (string, bool) { return "c", true }, WANConfig{Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	c, err := h.Attach(listenUDP(t))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	const n = 1000
	for i := 0; i < n; i++ {
		if _, err := c.WriteTo([]byte("x"), sink.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	// Loss is drawn at send; 0.3 of 1000 is 300 ± 45 at three sigma.
	if s := c.Stats(); s.Lost < 250 || s.Lost > 350 {
		t.Fatalf("lost %d of %d at loss 0.3", s.Lost, n)
	}
}

func TestHostWANWithDeployment(t *testing.T) {
	d, err := BuiltinDeployment(DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHostWAN(d.Profile, "us-east", d.RegionOfAddr, WANConfig{})
	if err != nil {
		t.Fatal(err)
	}
	eu, _ := d.Region("eu-west")
	l, cut, remote := h.route("us-east", netip.MustParseAddrPort(eu.Gateway.FederationAddr))
	if !remote || cut || l.RTT != 70*time.Millisecond {
		t.Fatalf("route to eu-west's gateway: %+v cut %v remote %v", l, cut, remote)
	}
	m := netip.MustParseAddrPort(d.Meta[0].HTTPAddr)
	if _, _, remote := h.route("us-east", m); remote {
		t.Fatal("a raftmeta member is simulated as a region")
	}
}

func TestNewHostWANRejectsBadInput(t *testing.T) {
	p, _ := Parse([]byte(hostProfile))
	none := func(string) (string, bool) { return "", false }
	for _, c := range []struct {
		name string
		err  error
		make func() (*HostWAN, error)
	}{
		{"nil profile", ErrBadValue, func() (*HostWAN, error) { return NewHostWAN(nil, "a", none, WANConfig{}) }},
		{"unknown region", ErrUnknownRegion, func() (*HostWAN, error) { return NewHostWAN(p, "mars", none, WANConfig{}) }},
		{"nil regionOf", ErrBadValue, func() (*HostWAN, error) { return NewHostWAN(p, "a", nil, WANConfig{}) }},
		{"negative queue", ErrBadValue, func() (*HostWAN, error) { return NewHostWAN(p, "a", none, WANConfig{QueueLimit: -1}) }},
	} {
		if _, err := c.make(); !errors.Is(err, c.err) {
			t.Errorf("%s: %v, want %v", c.name, err, c.err)
		}
	}
}

// TestQUICOverHostWANs runs quic-go between two HostWANs, as two gateway
// processes would: the handshake completes, a stream echoes, and quic-go
// measures the profile's RTT from the two one-way delays.
func TestQUICOverHostWANs(t *testing.T) {
	hp := newHostPair(t, 8)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn := dialEcho(t, ctx, hp.a, hp.b)
	s, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Write([]byte("over the wan")); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	got, err := io.ReadAll(s)
	if err != nil || string(got) != "over the wan" {
		t.Fatalf("echo %q, %v", got, err)
	}
	if st := conn.ConnectionStats(); st.MinRTT < 60*time.Millisecond {
		t.Fatalf("quic-go measured min rtt %v on a 60 ms link", st.MinRTT)
	}
}
