package l2

import (
	"testing"
	"time"

	"github.com/tiercache/tiercache/l2/hotkey"
)

func TestHotKeysReportsTheDetectorsTopKeys(t *testing.T) {
	n, fake := fakeNode(t, nil)
	rdb := newClient(t, n.Addr(), nil)
	if got := n.HotKeys(5); len(got) != 0 {
		t.Fatalf("an idle node reports hot keys %+v", got)
	}
	reads := map[string]int{"hotter": 300, "hot": 150, "cold": 3}
	for key, times := range reads {
		for range times {
			doGet(t, rdb, key, 0, "NOLEASE")
		}
	}
	// Count-Min estimates never undercount; the cold key's three reads
	// are the most a collision could add.
	got := n.HotKeys(5)
	if len(got) != 2 || got[0].Key != "hotter" || got[1].Key != "hot" {
		t.Fatalf("HotKeys(5) = %+v, want hotter then hot", got)
	}
	perSec := 1 / hotkey.DefaultWindow.Seconds()
	for _, h := range got {
		if want := float64(reads[h.Key]) * perSec; h.Rate < want || h.Rate > want+3*perSec {
			t.Errorf("%s: rate %.1f/s, want %.1f/s (its reads over one window)", h.Key, h.Rate, want)
		}
	}
	if top := n.HotKeys(1); len(top) != 1 || top[0].Key != "hotter" {
		t.Fatalf("HotKeys(1) = %+v, want only the hotter key", top)
	}
	if got := n.HotKeys(0); got != nil {
		t.Fatalf("HotKeys(0) = %+v", got)
	}
	// With no reads for two windows, the keys cool: HotKeys itself moves
	// the detector's window along.
	fake.Advance(2*hotkey.DefaultWindow + time.Millisecond)
	if got := n.HotKeys(5); len(got) != 0 {
		t.Fatalf("keys unread for two windows still hot: %+v", got)
	}
}
