package gateway

import (
	"bytes"
	"testing"

	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
)

// FuzzWire feeds every gateway decoder the same bytes: none may panic, and
// whatever one accepts must decode the same after its encoder.
func FuzzWire(f *testing.F) {
	const now = 1_800_000_000_000
	f.Add(appendGetRequest(nil, []byte("user:1"), l2.GlobalLease))
	f.Add(appendGetReply(nil, l2.GlobalReply{Status: l2.GlobalHit, Item: store.Item{Value: []byte("v"), Version: 7, ExpireAt: now + 1000}, Token: 3}, now))
	f.Add(appendFillRequest(nil, []byte("user:1"), 9, store.Item{Value: []byte("v"), Version: 7, ExpireAt: now + 5, SoftExpireAt: now + 2}, now))
	f.Add(appendReleaseRequest(nil, []byte("user:1"), 9))
	f.Add(appendStickyRequest(nil, "eu-west", []byte{1, 'k'}))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		if key, mode, err := decodeGetRequest(b); err == nil {
			if got := appendGetRequest(nil, key, mode); !bytes.Equal(got, b) {
				t.Fatalf("get request %x re-encodes as %x", b, got)
			}
		}
		if rep, err := decodeGetReply(b, now); err == nil {
			again, err := decodeGetReply(appendGetReply(nil, rep, now), now)
			if err != nil || again.Status != rep.Status || again.Token != rep.Token || again.WaitMs != rep.WaitMs ||
				again.Item.Version != rep.Item.Version || !bytes.Equal(again.Item.Value, rep.Item.Value) {
				t.Fatalf("get reply %+v round-trips as %+v (%v)", rep, again, err)
			}
		}
		if key, token, it, err := decodeFillRequest(b, now); err == nil {
			k2, t2, it2, err := decodeFillRequest(appendFillRequest(nil, key, token, it, now), now)
			if err != nil || !bytes.Equal(k2, key) || t2 != token || it2.Version != it.Version || !bytes.Equal(it2.Value, it.Value) {
				t.Fatalf("fill %q/%d/%+v round-trips as %q/%d/%+v (%v)", key, token, it, k2, t2, it2, err)
			}
		}
		if key, token, err := decodeReleaseRequest(b); err == nil {
			// Compared decoded, not as bytes: an over-long varint decodes
			// to the same number as its short form.
			k2, t2, err := decodeReleaseRequest(appendReleaseRequest(nil, key, token))
			if err != nil || !bytes.Equal(k2, key) || t2 != token {
				t.Fatalf("release %q/%d round-trips as %q/%d (%v)", key, token, k2, t2, err)
			}
		}
		if region, inner, err := decodeStickyRequest(b); err == nil {
			r2, in2, err := decodeStickyRequest(appendStickyRequest(nil, region, inner))
			if err != nil || r2 != region || !bytes.Equal(in2, inner) {
				t.Fatalf("sticky %q/%x round-trips as %q/%x (%v)", region, inner, r2, in2, err)
			}
		}
	})
}
