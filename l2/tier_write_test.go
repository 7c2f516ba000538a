package l2

import (
	"context"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestPlainWritesEndLeasesAndPush: plain Redis writes are tier writes. A
// plain SET, INCR, EXPIRE or DEL between a lease grant and its fill makes
// the fill fail; one that changes nothing (SETNX on a present key) leaves
// the lease alone; a tracked key's plain write is pushed to subscribers.
func TestPlainWritesEndLeasesAndPush(t *testing.T) {
	n, _ := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), func(o *redis.Options) { o.Protocol = 2 })
	ctx := context.Background()
	for _, write := range [][]any{
		{"SET", "k", "v"}, {"INCR", "k"}, {"MSET", "k", "1"}, {"SETEX", "k", "100", "v"}, {"DEL", "k"},
		{"GETDEL", "k"}, {"EXPIRE", "k", "100"}, {"PERSIST", "k"},
	} {
		rdb.Set(ctx, "k", "1", 0)
		if write[0] == "PERSIST" {
			rdb.Expire(ctx, "k", 1000_000_000)
		}
		g := doGet(t, rdb, "k", 0, "REFRESH", 0)
		if g.token == 0 {
			t.Fatalf("%v: no refresh lease: %+v", write, g)
		}
		if err := rdb.Do(ctx, write...).Err(); err != nil {
			t.Fatalf("%v: %v", write, err)
		}
		if st, _ := doSet(t, rdb, "k", 0, "late", 0, 0, "LEASE", g.token); st != "NOLEASE" {
			t.Fatalf("fill after %v: %s", write, st)
		}
	}
	rdb.Set(ctx, "k", "1", 0)
	g := doGet(t, rdb, "k", 0, "REFRESH", 0)
	rdb.SetNX(ctx, "k", "other", 0)
	if st, _ := doSet(t, rdb, "k", 0, "fill", 0, 0, "LEASE", g.token); st != "OK" {
		t.Fatalf("fill after a SETNX that changed nothing: %s", st)
	}

	sub := dialRaw(t, n.Addr())
	sub.send("*1\r\n$8\r\nTC.TRACK\r\n")
	if r := sub.reply(); r != "+OK\r\n" {
		t.Fatalf("TC.TRACK: %q", r)
	}
	doGet(t, rdb, "t", 0, "TRACK")
	if err := rdb.Set(ctx, "t", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got := sub.reply(); !strings.HasPrefix(got, "*3\r\n$10\r\ninvalidate\r\n$1\r\nt\r\n:") {
		t.Fatalf("push after a plain SET: %q", got)
	}
}

// TestPlainWritesReplicate: plain SET, INCR and DEL reach the replica.
func TestPlainWritesReplicate(t *testing.T) {
	nodes := replicatedRegion(t, 3, 2)
	ids := byID(nodes)
	ctx := ctxT(t)
	rc := newClient(t, nodes[2].Addr(), nil)
	for i := range 50 {
		k := "user:" + itoa(i)
		rc.Set(ctx, k, "v", 0)
		rc.Incr(ctx, "user:n"+itoa(i))
		if i%2 == 0 {
			rc.Del(ctx, k)
		}
	}
	waitReplicated(t, nodes)
	r := nodes[0].Ring()
	for i := range 50 {
		for _, k := range []string{"user:" + itoa(i), "user:n" + itoa(i)} {
			owners := r.Owners([]byte(k), 2, nil)
			pit, pok := ids[owners[0]].store.Peek([]byte(k))
			rit, rok := ids[owners[1]].store.Peek([]byte(k))
			if pok != rok || pit.Version != rit.Version || string(pit.Value) != string(rit.Value) {
				t.Fatalf("%s: primary %v %+v, replica %v %+v", k, pok, pit, rok, rit)
			}
		}
	}
}
