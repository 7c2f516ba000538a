package l3

import (
	"bytes"
	"testing"

	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
)

// FuzzStickyWire: the sticky read decoders never panic, and what they
// accept round-trips.
func FuzzStickyWire(f *testing.F) {
	const now = 1_800_000_000_000
	f.Add(AppendStickyRequest(nil, []byte("user:1"), 42))
	f.Add(AppendStickyReply(nil, l2.StickyRead{Found: true, Item: store.Item{Value: []byte("v"), Version: 42, ExpireAt: now + 10}}, now))
	f.Add(AppendStickyReply(nil, l2.StickyRead{}, now))
	f.Fuzz(func(t *testing.T, b []byte) {
		if key, min, err := DecodeStickyRequest(b); err == nil {
			k2, m2, err := DecodeStickyRequest(AppendStickyRequest(nil, key, min))
			if err != nil || !bytes.Equal(k2, key) || m2 != min {
				t.Fatalf("request %q/%d round-trips as %q/%d (%v)", key, min, k2, m2, err)
			}
		}
		if rd, err := DecodeStickyReply(b, now); err == nil {
			again, err := DecodeStickyReply(AppendStickyReply(nil, rd, now), now)
			if err != nil || again.Found != rd.Found || again.Item.Version != rd.Item.Version || !bytes.Equal(again.Item.Value, rd.Item.Value) {
				t.Fatalf("reply %+v round-trips as %+v (%v)", rd, again, err)
			}
		}
	})
}
