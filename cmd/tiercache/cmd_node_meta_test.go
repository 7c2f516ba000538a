package main

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/tiercache/tiercache/raftmeta"
	"github.com/tiercache/tiercache/raftmeta/metatest"
)

// TestNodeCommandJoinsControlPlane runs `tiercache node --meta ADDR
// --region eu --insecure`: the node registers, is up in the topology with
// its listen address, and stops cleanly on cancel.
func TestNodeCommandJoinsControlPlane(t *testing.T) {
	cp := metatest.Start(t, metatest.Options{})
	cl := cp.Client(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runNode(ctx, []string{"--listen", "127.0.0.1:0", "--id", "n7", "--meta", cp.Addrs()[0], "--region", "eu", "--insecure"}, io.Discard, io.Discard)
	}()
	w := raftmeta.NewWatcher(cl)
	defer w.Close()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	top, err := w.Wait(wctx, func(tp *raftmeta.Topology) bool {
		n, ok := tp.Node("n7")
		return ok && n.State == raftmeta.StateUp
	})
	if err != nil {
		t.Fatalf("node never up: %v", err)
	}
	if n, _ := top.Node("n7"); n.Region != "eu" || n.Tier != raftmeta.TierL2 || n.Address == "" {
		t.Fatalf("registered as %+v", n)
	}
	cancelAndWait(t, cancel, done, 1, "node", 10*time.Second)
	if err := runNode(context.Background(), []string{"--listen", "127.0.0.1:0", "--region", "eu"}, io.Discard, io.Discard); err == nil {
		t.Fatal("a region name without --meta was accepted")
	}
}
