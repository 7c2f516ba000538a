package gateway

import (
	"strings"
	"testing"
	"time"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/l3"
)

// TestDeliveryFailureIsNotAcknowledged: a gateway that cannot deliver
// another region's write to the key's L2 owner (here: it has the wrong
// password) returns the error from Apply, so federation does not
// acknowledge the batch and the sender replays it; with the right
// password the same batch lands.
func TestDeliveryFailureIsNotAcknowledged(t *testing.T) {
	w := newWorld(t, "a", "b")
	b := w.region("b")
	topo := w.topology()
	gateway := func(pw string) *Server {
		node, err := l3.NewNode(l3.Config{ID: "b-l3-test", Region: "b"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { node.Close() })
		srv, err := NewServer(ServerConfig{Region: "b", Node: node, Password: pw, DeliverTimeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ep, err := federation.New(w.fedConfig("b", ""))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ep.Close(); srv.Close() })
		if err := srv.Start(ep); err != nil {
			t.Fatal(err)
		}
		if err := srv.ApplyTopology(topo); err != nil {
			t.Fatal(err)
		}
		return srv
	}
	batch := []federation.Change{{Key: []byte("user:delivered"), Value: []byte("v"), Version: 1 << 40}}
	wrong := gateway("not-the-password")
	err := wrong.Apply("a", batch)
	if err == nil || !strings.Contains(err.Error(), "AUTH") {
		t.Fatalf("delivery with a wrong password: %v, want an AUTH error", err)
	}
	if st := wrong.Stats(); st.DeliverErrors != 1 || st.Delivered != 0 {
		t.Fatalf("stats after a failed delivery: %+v", st)
	}
	cb := w.tierClient(b)
	if got := read(cb, "user:delivered"); got != "" {
		t.Fatalf("b reads %q after a failed delivery", got)
	}
	right := gateway(password)
	if err := right.Apply("a", batch); err != nil {
		t.Fatalf("replayed batch: %v", err)
	}
	if got := read(cb, "user:delivered"); got != "v" {
		t.Fatalf("b reads %q after the replay", got)
	}
	if st := right.Stats(); st.Delivered != 1 {
		t.Fatalf("stats after the replay: %+v", st)
	}
	// Not started: refused, so the sender keeps the batch.
	node, _ := l3.NewNode(l3.Config{ID: "b-l3-idle", Region: "b"})
	defer node.Close()
	idle, _ := NewServer(ServerConfig{Region: "b", Node: node})
	if err := idle.Apply("a", batch); err == nil {
		t.Fatal("a server that was never started accepted a batch")
	}
}

// TestNewServerRejectsBadConfig: every bad field is named.
func TestNewServerRejectsBadConfig(t *testing.T) {
	node, err := l3.NewNode(l3.Config{ID: "x", Region: "a"})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	for _, c := range []struct {
		cfg  ServerConfig
		want string
	}{
		{ServerConfig{Node: node}, "Region is empty"},
		{ServerConfig{Region: "a"}, "Node is nil"},
		{ServerConfig{Region: "b", Node: node}, `is in region "a", not "b"`},
		{ServerConfig{Region: "a", Node: node, DeliverTimeout: -1}, "negative"},
	} {
		if _, err := NewServer(c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}

// TestTopologyBeforeStart: a topology applied before Start is not lost:
// Start links to the peer gateways it lists and the Client routes by its
// ring at once.
func TestTopologyBeforeStart(t *testing.T) {
	w := newWorld(t, "a", "b")
	node, err := l3.NewNode(l3.Config{ID: "b-l3-late", Region: "b"})
	if err != nil {
		t.Fatal(err)
	}
	defer node.Close()
	srv, err := NewServer(ServerConfig{Region: "b", Node: node, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	if err := srv.ApplyTopology(w.topology()); err != nil {
		t.Fatal(err)
	}
	ep, err := federation.New(w.fedConfig("b", ""))
	if err != nil {
		t.Fatal(err)
	}
	defer ep.Close()
	if err := srv.Start(ep); err != nil {
		t.Fatal(err)
	}
	if _, ok := ep.Link("a"); !ok {
		t.Fatal("Start did not link to region a's gateway from the earlier topology")
	}
	if _, err := srv.Client().Owner([]byte("user:1")); err != nil {
		t.Fatalf("Client has no ring after Start: %v", err)
	}
}
