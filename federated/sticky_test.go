package federated

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/keyspace"
)

var stickyKS = &keyspace.Table{Default: keyspace.Settings{TTL: time.Minute, L1: keyspace.L1Off, EarlyRefresh: -1, StickyWindow: time.Minute}}

var signKey = []byte("federated-sticky-test-key-32byte")

func sessionClient(t *testing.T, r *Region) *tiercache.Client {
	t.Helper()
	var nodes []tiercache.Node
	for _, p := range r.Peers() {
		nodes = append(nodes, tiercache.Node{ID: p.ID, Addr: p.Addr})
	}
	c, err := tiercache.New(tiercache.Config{Nodes: nodes, Keyspaces: stickyKS, Region: r.Name, StickyKeys: [][]byte{signKey}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// A user writes in eu-west and at once reads in us-east with its token:
// the read never sees the old value, and while the change is still on the
// WAN it is read from eu-west over the federation link, not the origin.
func TestStickyReadFollowsTheWriteAcrossRegions(t *testing.T) {
	d := start(t, stickyKS)
	ctx := context.Background()
	us, eu := region(t, d, "us-east"), region(t, d, "eu-west")
	usc, euc := sessionClient(t, us), sessionClient(t, eu)
	remote := func() (n uint64) {
		for _, node := range us.L2 {
			n += node.StickyStats().Remote
		}
		return n
	}
	for i := range 20 {
		key := fmt.Sprintf("user:%d", i)
		if _, err := euc.Set(ctx, key, []byte("old")); err != nil {
			t.Fatal(err)
		}
		waitDelivered(t, eu)
		w := euc.NewSession()
		if _, err := w.Set(ctx, key, []byte("new")); err != nil {
			t.Fatal(err)
		}
		got, err := usc.RestoreSession(w.Token()).Get(ctx, key, noOrigin(t))
		if err != nil || string(got) != "new" {
			t.Fatalf("trial %d: sticky read %q, %v", i, got, err)
		}
	}
	if remote() == 0 || usc.Stats().StickyRemote != remote() {
		t.Fatalf("%d reads served from eu-west (client counted %d); want some: the WAN is 35 ms one way", remote(), usc.Stats().StickyRemote)
	}
}

// The session's write was an invalidation: us-east takes the tombstone
// from eu-west and loads from the primary under its lease, hinted.
func TestStickyReadAfterRemoteInvalidate(t *testing.T) {
	d := start(t, stickyKS)
	ctx := context.Background()
	us, eu := region(t, d, "us-east"), region(t, d, "eu-west")
	usc, euc := sessionClient(t, us), sessionClient(t, eu)
	if _, err := euc.Set(ctx, "user:x", []byte("old")); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, eu)
	w := euc.NewSession()
	ver, err := w.Invalidate(ctx, "user:x")
	if err != nil {
		t.Fatal(err)
	}
	var hints tiercache.Hints
	got, err := usc.RestoreSession(w.Token()).Get(ctx, "user:x", tiercache.LoaderFunc(func(ctx context.Context, _ string) ([]byte, error) {
		hints = tiercache.HintsFrom(ctx)
		return []byte("primary"), nil
	}))
	if err != nil || string(got) != "primary" {
		t.Fatalf("read %q, %v", got, err)
	}
	if hints.MinVersion != ver || !hints.PreferPrimary {
		t.Fatalf("hints %+v; want MinVersion %d", hints, ver)
	}
}
