package gateway

import (
	"errors"
	"testing"

	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
)

// TestWireRoundTripAndRejects: every message decodes to what was encoded,
// expiries shifted by the clock difference, and truncated or invalid
// messages are ErrMalformed.
func TestWireRoundTripAndRejects(t *testing.T) {
	const now, later = 1_000_000, 1_000_050
	rep := l2.GlobalReply{Status: l2.GlobalStale, Token: 7, WaitMs: 3,
		Item: store.Item{Value: []byte("v"), Version: 9, ExpireAt: now + 100, SoftExpireAt: now + 10}}
	got, err := decodeGetReply(appendGetReply(nil, rep, now), later)
	if err != nil || got.Status != rep.Status || got.Token != 7 || got.WaitMs != 3 || string(got.Item.Value) != "v" ||
		got.Item.Version != 9 || got.Item.ExpireAt != later+100 || got.Item.SoftExpireAt != later+10 {
		t.Fatalf("get reply: %+v %v", got, err)
	}
	key, mode, err := decodeGetRequest(appendGetRequest(nil, []byte("k"), l2.GlobalLease))
	if err != nil || string(key) != "k" || mode != l2.GlobalLease {
		t.Fatalf("get request: %q %d %v", key, mode, err)
	}
	it := store.Item{Value: []byte("val"), Version: 5, ExpireAt: now + 1000}
	k, tok, fit, err := decodeFillRequest(appendFillRequest(nil, []byte("key"), 11, it, now), now)
	if err != nil || string(k) != "key" || tok != 11 || fit.Version != 5 || string(fit.Value) != "val" || fit.ExpireAt != now+1000 || fit.SoftExpireAt != 0 {
		t.Fatalf("fill request: %q %d %+v %v", k, tok, fit, err)
	}
	k, tok, err = decodeReleaseRequest(appendReleaseRequest(nil, []byte("key"), 4))
	if err != nil || string(k) != "key" || tok != 4 {
		t.Fatalf("release request: %q %d %v", k, tok, err)
	}
	reg, inner, err := decodeStickyRequest(appendStickyRequest(nil, "eu", []byte{1, 'k'}))
	if err != nil || reg != "eu" || string(inner) != "\x01k" {
		t.Fatalf("sticky request: %q %q %v", reg, inner, err)
	}
	bad := []func() error{
		func() error { _, _, err := decodeGetRequest(nil); return err },
		func() error { _, _, err := decodeGetRequest([]byte{9, 'k'}); return err },
		func() error { _, _, err := decodeGetRequest([]byte{0}); return err },
		func() error { _, err := decodeGetReply([]byte{1, 0x80}, now); return err },
		func() error { _, err := decodeGetReply([]byte{99, 1, 0, 0, 0, 0}, now); return err },
		func() error { _, _, _, err := decodeFillRequest([]byte{1, 1, 0, 0, 5, 'k'}, now); return err },
		func() error {
			_, _, _, err := decodeFillRequest(appendFillRequest(nil, []byte("k"), 0, it, now), now)
			return err
		},
		func() error {
			_, _, _, err := decodeFillRequest(appendFillRequest(nil, []byte("k"), 1, store.Item{}, now), now)
			return err
		},
		func() error { _, _, err := decodeReleaseRequest([]byte{0, 'k'}); return err },
		func() error { _, _, err := decodeReleaseRequest([]byte{1}); return err },
		func() error { _, _, err := decodeStickyRequest([]byte{5, 'e'}); return err },
		func() error { _, _, err := decodeStickyRequest([]byte{1, 'e'}); return err },
	}
	for i, f := range bad {
		if err := f(); !errors.Is(err, ErrMalformed) {
			t.Errorf("bad message %d: %v, want ErrMalformed", i, err)
		}
	}
}
