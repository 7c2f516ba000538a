package l2

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestRegionForwarding writes through nodes that do not own the key and
// reads through others: every node answers for every key, and the value
// lives only on its owner.
func TestRegionForwarding(t *testing.T) {
	nodes := startRegion(t, 3, nil)
	ctx := ctxT(t)
	clients := make([]*redis.Client, len(nodes))
	for i, n := range nodes {
		clients[i] = newClient(t, n.Addr(), nil)
	}
	for owner := range nodes {
		key := ownedBy(t, nodes[0], nodes[owner].cfg.ID, "user")
		writer := (owner + 1) % 3
		if err := clients[writer].Set(ctx, key, "v-"+key, 0).Err(); err != nil {
			t.Fatalf("SET via %d: %v", writer, err)
		}
		for i, rc := range clients {
			if v, err := rc.Get(ctx, key).Result(); err != nil || v != "v-"+key {
				t.Fatalf("GET %s via node %d: %q %v", key, i, v, err)
			}
		}
		for i, n := range nodes {
			if _, ok := n.store.Peek([]byte(key)); ok != (i == owner) {
				t.Fatalf("key %s on node %d: %v (owner %d)", key, i, ok, owner)
			}
		}
		// Replies of forwarded commands keep their exact shape: RESP3
		// nulls, integers, errors.
		other := clients[writer]
		if _, err := other.Get(ctx, key+"-missing-"+itoa(owner)).Result(); !errors.Is(err, redis.Nil) {
			t.Fatalf("forwarded miss: %v", err)
		}
		if err := other.Incr(ctx, key).Err(); err == nil || err.Error() != "ERR value is not an integer or out of range" {
			t.Fatalf("forwarded error: %v", err)
		}
	}
	var forwarded, forwardedIn uint64
	for _, n := range nodes {
		s := n.Stats()
		forwarded += s.Forwarded
		forwardedIn += s.ForwardedIn
	}
	if forwarded == 0 || forwarded != forwardedIn {
		t.Fatalf("forwarded %d, received %d", forwarded, forwardedIn)
	}
}

// TestRegionMultiKey splits MGET, MSET, DEL, EXISTS and UNLINK across
// owners and checks the merged replies keep key order.
func TestRegionMultiKey(t *testing.T) {
	nodes := startRegion(t, 3, nil)
	ctx := ctxT(t)
	for _, proto := range []int{2, 3} {
		rc := newClient(t, nodes[1].Addr(), func(o *redis.Options) { o.Protocol = proto })
		var keys []string
		var pairs []any
		for i := 0; i < 12; i++ {
			k := ownedBy(t, nodes[0], nodes[i%3].cfg.ID, "mk"+itoa(proto)+"-"+itoa(i))
			keys = append(keys, k)
			pairs = append(pairs, k, "val"+itoa(i))
		}
		if err := rc.MSet(ctx, pairs...).Err(); err != nil {
			t.Fatalf("MSET: %v", err)
		}
		for i, n := range nodes {
			for j, k := range keys {
				if _, ok := n.store.Peek([]byte(k)); ok != (j%3 == i) {
					t.Fatalf("MSET put %s on node %d: %v", k, i, ok)
				}
			}
		}
		query := append([]string{"nope-" + itoa(proto)}, keys...)
		vals, err := rc.MGet(ctx, query...).Result()
		if err != nil || len(vals) != 13 || vals[0] != nil {
			t.Fatalf("MGET: %v %v", vals, err)
		}
		for i := range keys {
			if vals[i+1] != "val"+itoa(i) {
				t.Fatalf("MGET[%d] = %v", i+1, vals[i+1])
			}
		}
		if n, err := rc.Exists(ctx, query...).Result(); err != nil || n != 12 {
			t.Fatalf("EXISTS %d %v", n, err)
		}
		if n, err := rc.Del(ctx, keys[:6]...).Result(); err != nil || n != 6 {
			t.Fatalf("DEL %d %v", n, err)
		}
		if n, err := rc.Unlink(ctx, append(keys[4:], "nope")...).Result(); err != nil || n != 6 {
			t.Fatalf("UNLINK %d %v", n, err)
		}
	}
	// DBSIZE and FLUSHALL act on the whole region, as one Redis would.
	rc := newClient(t, nodes[2].Addr(), nil)
	for i := 0; i < 30; i++ {
		rc.Set(ctx, "fill:"+itoa(i), "x", 0)
	}
	if n, err := rc.DBSize(ctx).Result(); err != nil || n != 30 {
		t.Fatalf("region DBSIZE %d %v", n, err)
	}
	if err := rc.FlushAll(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	for i, n := range nodes {
		if l := n.store.Len(); l != 0 {
			t.Fatalf("node %d holds %d keys after FLUSHALL", i, l)
		}
	}
}

// TestRegionPipelineOrder pipelines commands for keys of every owner
// through one node: replies come back in order and each key sees its
// commands in order.
func TestRegionPipelineOrder(t *testing.T) {
	nodes := startRegion(t, 3, nil)
	ctx := ctxT(t)
	rc := newClient(t, nodes[0].Addr(), func(o *redis.Options) { o.Protocol = 2 })
	keys := []string{
		ownedBy(t, nodes[0], "n1", "p"), ownedBy(t, nodes[0], "n2", "p"), ownedBy(t, nodes[0], "n3", "p"),
	}
	pipe := rc.Pipeline()
	var cmds []*redis.IntCmd
	for i := 0; i < 300; i++ {
		cmds = append(cmds, pipe.Incr(ctx, keys[i%3]))
	}
	get := pipe.Get(ctx, keys[1])
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	for i, c := range cmds {
		if v := c.Val(); v != int64(i/3+1) {
			t.Fatalf("INCR %d of %s = %d, want %d", i, keys[i%3], v, i/3+1)
		}
	}
	if get.Val() != "100" {
		t.Fatalf("GET after pipeline %q", get.Val())
	}
}

// TestForwardLoopProtection: a forwarded command runs where it lands, even
// if that node's ring says another node owns the key.
func TestForwardLoopProtection(t *testing.T) {
	nodes := startRegion(t, 2, nil)
	key := ownedBy(t, nodes[0], "n2", "loop")
	r := dialRaw(t, nodes[0].Addr())
	r.send(resp("tc.fwd", "2", "set", key, "here"))
	if got := r.reply(); got != "+OK\r\n" {
		t.Fatalf("forwarded SET: %q", got)
	}
	if it, ok := nodes[0].store.Peek([]byte(key)); !ok || string(it.Value) != "here" {
		t.Fatal("forwarded command was not run where it landed")
	}
	if _, ok := nodes[1].store.Peek([]byte(key)); ok {
		t.Fatal("forwarded command was forwarded again")
	}
	r.send(resp("tc.fwd", "2", "tc.fwd", "2", "get", key))
	if got := r.reply(); !strings.HasPrefix(got, "-ERR") {
		t.Fatalf("nested forward: %q", got)
	}
	r.send(resp("tc.fwd", "2", "client", "id"))
	if got := r.reply(); !strings.HasPrefix(got, "-ERR command 'client' cannot be forwarded") {
		t.Fatalf("forwarded connection command: %q", got)
	}
	r.send(resp("tc.fwd", "3", "get", "nokey"))
	if got := r.reply(); got != "_\r\n" {
		t.Fatalf("forwarded RESP3 null: %q", got)
	}
}

// TestPeerDown: commands for a dead owner fail fast with a retryable
// error while the rest of the region keeps serving.
func TestPeerDown(t *testing.T) {
	nodes := startRegion(t, 3, func(i int, c *Config) {
		c.DialTimeout = 200 * time.Millisecond
		c.PeerBackoff = time.Minute
	})
	ctx := ctxT(t)
	deadKey := ownedBy(t, nodes[0], "n3", "dead")
	liveKey := ownedBy(t, nodes[0], "n2", "live")
	nodes[2].Close()
	rc := newClient(t, nodes[0].Addr(), nil)
	for i := 0; i < 3; i++ {
		start := time.Now()
		err := rc.Set(ctx, deadKey, "v", 0).Err()
		if err == nil || !strings.HasPrefix(err.Error(), "TRYAGAIN ") || !strings.Contains(err.Error(), "n3") {
			t.Fatalf("SET to a dead owner: %v", err)
		}
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("failure took %v", d)
		}
	}
	if err := rc.Set(ctx, liveKey, "v", 0).Err(); err != nil {
		t.Fatalf("SET to a live owner: %v", err)
	}
	if err := rc.MGet(ctx, liveKey, deadKey).Err(); err == nil || !strings.HasPrefix(err.Error(), "TRYAGAIN ") {
		t.Fatalf("MGET touching a dead owner: %v", err)
	}
	if s := nodes[0].Stats(); s.ForwardErrors < 4 {
		t.Fatalf("forward errors %d", s.ForwardErrors)
	}
}

// TestSetPeersSwapsRing: the control plane's membership change takes
// effect for the next command.
func TestSetPeersSwapsRing(t *testing.T) {
	nodes := startRegion(t, 2, nil)
	ctx := ctxT(t)
	key := ownedBy(t, nodes[0], "n2", "swap")
	rc := newClient(t, nodes[0].Addr(), nil)
	rc.Set(ctx, key, "on-n2", 0)
	if _, ok := nodes[1].store.Peek([]byte(key)); !ok {
		t.Fatal("not forwarded before the swap")
	}
	if err := nodes[0].SetPeers([]Peer{{ID: "n1", Addr: nodes[0].Addr()}}); err != nil {
		t.Fatal(err)
	}
	rc.Set(ctx, key, "on-n1", 0)
	if it, ok := nodes[0].store.Peek([]byte(key)); !ok || string(it.Value) != "on-n1" {
		t.Fatal("single-node ring still forwarded")
	}
	if err := nodes[0].SetPeers([]Peer{{ID: "n9", Addr: "127.0.0.1:1"}}); err == nil {
		t.Fatal("SetPeers accepted a list without this node")
	}
}

// TestPipelinedForwardingThroughput keeps many forwarded commands in flight
// from many connections at once and checks every reply.
func TestPipelinedForwardingThroughput(t *testing.T) {
	nodes := startRegion(t, 3, nil)
	ctx := ctxT(t)
	rc := newClient(t, nodes[0].Addr(), func(o *redis.Options) { o.PoolSize = 8 })
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		go func() {
			pipe := rc.Pipeline()
			for i := 0; i < 200; i++ {
				pipe.Set(ctx, "g"+itoa(g)+":"+itoa(i), itoa(i), 0)
			}
			for i := 0; i < 200; i++ {
				pipe.Get(ctx, "g"+itoa(g)+":"+itoa(i))
			}
			cmds, err := pipe.Exec(ctx)
			if err == nil {
				for i, c := range cmds[200:] {
					if v := c.(*redis.StringCmd).Val(); v != itoa(i) {
						err = errors.New("goroutine " + itoa(g) + " read " + v + " for " + itoa(i))
						break
					}
				}
			}
			errs <- err
		}()
	}
	for g := 0; g < 8; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if s := nodes[0].Stats(); s.Forwarded < 1000 {
		t.Fatalf("forwarded only %d", s.Forwarded)
	}
}

// TestForwardTimeout: an owner that accepts but never answers costs a
// client at most ForwardTimeout, then a retryable error.
func TestForwardTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c // hold it open, read nothing, answer nothing
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for c := range accepted {
			c.Close()
		}
	})
	n := startNode(t, Config{ID: "n1", ForwardTimeout: 300 * time.Millisecond, ActiveExpiry: -1})
	if err := n.SetPeers([]Peer{{ID: "n1", Addr: n.Addr()}, {ID: "blackhole", Addr: ln.Addr().String()}}); err != nil {
		t.Fatal(err)
	}
	key := ownedBy(t, n, "blackhole", "bh")
	rc := newClient(t, n.Addr(), nil)
	start := time.Now()
	err = rc.Get(ctxT(t), key).Err()
	if err == nil || !strings.HasPrefix(err.Error(), "TRYAGAIN ") || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("GET from a silent owner: %v", err)
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		t.Fatalf("gave up after %v, want about 300ms", d)
	}
}
