package l2

import (
	"strings"
	"testing"
)

// smallLimits keeps test payloads small.
var smallLimits = Limits{
	MaxKeyBytes:         64,
	MaxValueBytes:       4096,
	MaxArgs:             100,
	MaxInlineBytes:      1024,
	MaxQueryBufferBytes: 4096 + 64 + queryHeadroom,
	MaxClients:          3,
}

func TestLimits(t *testing.T) {
	n, _ := fakeNode(t, func(c *Config) { c.Limits = smallLimits })

	t.Run("key", func(t *testing.T) {
		r := dialRaw(t, n.Addr())
		r.send(resp("set", strings.Repeat("k", 65), "v") + resp("mget", "a", strings.Repeat("k", 65)) + resp("ping"))
		for _, want := range []string{
			"-ERR key of 65 bytes is over the limit of 64 bytes\r\n",
			"-ERR key of 65 bytes is over the limit of 64 bytes\r\n",
			"+PONG\r\n", // the connection stays usable
		} {
			if got := r.reply(); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
	})

	closes := func(t *testing.T, req, want string) {
		t.Helper()
		r := dialRaw(t, n.Addr())
		r.send(req)
		if got := r.reply(); got != want {
			t.Fatalf("%.40q: got %q, want %q", req, got, want)
		}
		if !r.closed() {
			t.Fatalf("%.40q: connection left open", req)
		}
	}
	t.Run("value", func(t *testing.T) {
		// Refused at the header, before the claimed bytes are sent.
		closes(t, "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$4097\r\n",
			"-ERR Protocol error: bulk length 4097 is over the limit of 4096 bytes\r\n")
		closes(t, "*1\r\n$9223372036854775807\r\n", "-ERR Protocol error: invalid bulk length\r\n")
		r := dialRaw(t, n.Addr())
		r.send(resp("set", "k", strings.Repeat("v", 4096)))
		if got := r.reply(); got != "+OK\r\n" {
			t.Fatalf("value at the limit: %q", got)
		}
	})
	t.Run("multibulk", func(t *testing.T) {
		closes(t, "*101\r\n", "-ERR Protocol error: multibulk length 101 is over the limit of 100\r\n")
		closes(t, "*99999999999999999999\r\n", "-ERR Protocol error: invalid multibulk length\r\n")
		closes(t, "*1"+strings.Repeat("0", 40), "-ERR Protocol error: invalid multibulk length\r\n")
	})
	t.Run("inline", func(t *testing.T) {
		closes(t, "get "+strings.Repeat("a", 1100), "-ERR Protocol error: too big inline request\r\n")
		closes(t, "get "+strings.Repeat("a", 1100)+"\r\n", "-ERR Protocol error: too big inline request\r\n")
	})
	t.Run("querybuf", func(t *testing.T) {
		// Many bulks of one command, each within the limits, that together
		// overflow the query buffer: refused when the header of the one
		// that would not fit arrives.
		var b strings.Builder
		b.WriteString("*50\r\n$4\r\nmset\r\n")
		for i := 0; i < 20; i++ {
			b.WriteString("$4000\r\n" + strings.Repeat("x", 4000) + "\r\n")
		}
		closes(t, b.String(), "-ERR Protocol error: query buffer limit reached\r\n")
	})
	t.Run("clients", func(t *testing.T) {
		a, b := dialRaw(t, n.Addr()), dialRaw(t, n.Addr())
		for _, r := range []*rawConn{a, b} {
			r.send(resp("ping"))
			if got := r.reply(); got != "+PONG\r\n" {
				t.Fatalf("ping: %q", got)
			}
		}
		// Two test connections and at most one left from the subtests
		// above, still being torn down: a fourth must be refused.
		var refused bool
		for i := 0; i < 2 && !refused; i++ {
			c := dialRaw(t, n.Addr())
			c.send(resp("ping"))
			refused = c.reply() == "-ERR max number of clients reached\r\n"
		}
		if !refused {
			t.Fatal("max clients not enforced")
		}
		if s := n.Stats(); s.ConnectionsRejected == 0 {
			t.Fatal("rejection not counted")
		}
	})
}

// TestLoadShedding: over the in-flight limit, commands get BUSY; below it
// they run again.
func TestLoadShedding(t *testing.T) {
	n, _ := fakeNode(t, func(c *Config) { c.MaxInFlight = 10 })
	r := dialRaw(t, n.Addr())
	n.inflight.Add(10) // as if ten commands were running elsewhere
	r.send(resp("set", "k", "v"))
	if got := r.reply(); got != "-"+errBusy+"\r\n" {
		t.Fatalf("over the limit: %q", got)
	}
	n.inflight.Add(-10)
	r.send(resp("set", "k", "v"))
	if got := r.reply(); got != "+OK\r\n" {
		t.Fatalf("under the limit: %q", got)
	}
	if s := n.Stats(); s.Busy != 1 || s.InFlight != 0 {
		t.Fatalf("busy %d in flight %d", s.Busy, s.InFlight)
	}
}

func TestLimitsValidate(t *testing.T) {
	for _, tc := range []struct {
		l  Limits
		ok bool
	}{
		{Limits{}, true},
		{smallLimits, true},
		{Limits{MaxValueBytes: MaxValueBytesLimit}, true},
		{Limits{MaxValueBytes: MaxValueBytesLimit + 1}, false},
		{Limits{MaxKeyBytes: -1}, false},
		{Limits{MaxKeyBytes: 2 << 20}, false},
		{Limits{MaxQueryBufferBytes: 1 << 20}, false},
		{Limits{MaxClients: -5}, false},
	} {
		if err := tc.l.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: %v", tc.l, err)
		}
	}
	for _, cfg := range []Config{
		{RegionID: 16}, {MaxInFlight: -1}, {Peers: []Peer{{ID: "a", Addr: "x:1"}}},
		{ID: "a", Peers: []Peer{{ID: "a"}, {ID: "a", Addr: "x:1"}}},
		{ID: "a", Peers: []Peer{{ID: "a"}, {ID: "b", Addr: "nope"}}},
		{Listen: "nohost"}, {Eviction: "fifo"},
	} {
		if err := cfg.Validate(); err == nil {
			t.Errorf("%+v: accepted", cfg)
		}
	}
}
