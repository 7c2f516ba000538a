package gateway

import "testing"

// TestGatewayMovedIsFollowed: a gateway comes back at another address (a
// new host); once the topology says so, the other regions' nodes and
// gateway and its own region's nodes follow it, and the writes it missed
// while away are replayed to it.
func TestGatewayMovedIsFollowed(t *testing.T) {
	w := newWorld(t, "a", "b")
	a, b := w.region("a"), w.region("b")
	ca, cb := w.tierClient(a), w.tierClient(b)
	set(t, ca, "user:before", "v1")
	w.wait("b to read a's first write", func() bool { return read(cb, "user:before") == "v1" })

	oldAddr := a.gwAddr
	a.gw.close()
	a.gw = nil
	w.publish()
	for i := range 10 {
		set(t, cb, key(i), "from-b-while-a-moved")
	}

	a.gwAddr = "127.0.0.1:0" // a new port: the gateway moved
	w.startGateway(a)
	if a.gwAddr == oldAddr {
		t.Fatalf("the gateway came back at its old address %s", oldAddr)
	}
	w.publish()
	for i := range 10 {
		w.wait("a to read b's write, replayed to its moved gateway", func() bool { return read(ca, key(i)) == "from-b-while-a-moved" })
	}
	for _, c := range a.clients {
		if got := c.Link().Addr().String(); got != a.gwAddr {
			t.Fatalf("a node of a still dials %s, want the moved gateway at %s", got, a.gwAddr)
		}
	}
	set(t, ca, "user:after", "v2")
	w.wait("b to read a's write after the move", func() bool { return read(cb, "user:after") == "v2" })
}
