package l2

import (
	"context"
	"testing"
	"time"

	"github.com/tiercache/tiercache/raftmeta"
	"github.com/tiercache/tiercache/raftmeta/metatest"
)

func TestMigrateMetaControlPauseResumeAndProgress(t *testing.T) {
	meta := metatest.Start(t, metatest.Options{})
	cl := meta.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	r := newMigRegion(t, 3, nil)
	r.fill(r.old, "k", 1000)
	// ReportEvery is long: the test runs each control step itself.
	ms := r.migrators(MigrateConfig{KeysPerSec: -1, BytesPerSec: -1, Control: NewMetaControl(cl), ReportEvery: time.Hour}, nil)
	syncAll := func() {
		for _, m := range ms {
			m.syncControl(ctx)
		}
	}
	// The operator holds the coming rebalance.
	if _, err := cl.SetRebalance(ctx, raftmeta.Rebalance{ID: "epoch-2", State: raftmeta.RebalancePaused, FromEpoch: 1, ToEpoch: 2}); err != nil {
		t.Fatal(err)
	}
	syncAll()
	transition(t, ms, []string{"n4", "n1", "n2", "n3"}, 2, r.old, r.new)
	for id, m := range ms {
		for m.Progress().KeysTotal == 0 && id != "n4" { // the scan runs before the first batch
			if ctx.Err() != nil {
				t.Fatalf("%s never scanned", id)
			}
			time.Sleep(time.Millisecond)
		}
	}
	syncAll()
	rec, err := cl.Rebalance(ctx)
	if err != nil || rec == nil || rec.State != raftmeta.RebalancePaused || rec.ToEpoch != 2 || rec.Keys != 0 || rec.KeysTotal == 0 {
		t.Fatalf("paused record %+v, %v", rec, err)
	}
	if n := r.nodes["n4"].store.Len(); n != 0 {
		t.Fatalf("%d keys pushed while paused", n)
	}

	if _, err := cl.ResumeRebalance(ctx); err != nil {
		t.Fatal(err)
	}
	syncAll()
	waitAll(t, ms)
	syncAll()
	rec, err = cl.Rebalance(ctx)
	if err != nil || rec.State != raftmeta.RebalanceDone || rec.Keys != rec.KeysTotal || rec.RangesDone != rec.RangesTotal || len(rec.Nodes) != 4 {
		t.Fatalf("final record %+v, %v", rec, err)
	}
	if got := int64(r.nodes["n4"].store.Len()); got != rec.Keys {
		t.Fatalf("n4 holds %d keys, record says %d moved", got, rec.Keys)
	}
}
