package metatest

import (
	"context"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/raftmeta"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestStartServesTopology(t *testing.T) {
	c := Start(t, Options{Members: 3})
	cl := c.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	w := raftmeta.NewWatcher(cl)
	defer w.Close()
	if _, err := cl.Register(ctx, raftmeta.NodeSpec{ID: "n1", Region: "eu", Tier: raftmeta.TierL2, Address: "127.0.0.1:7000"}); err != nil {
		t.Fatal(err)
	}
	tp, err := w.Wait(ctx, func(tp *raftmeta.Topology) bool { return tp.Epoch >= 1 })
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := tp.Node("n1"); !ok || n.State != raftmeta.StateUp {
		t.Fatalf("topology %+v", tp)
	}
	if len(c.Addrs()) != 3 {
		t.Fatalf("addrs %v", c.Addrs())
	}
}
