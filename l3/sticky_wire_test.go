package l3

import (
	"errors"
	"testing"

	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
)

// TestStickyWire: requests and replies round-trip, expiries shifted from
// the sender's clock to the receiver's, and malformed ones are refused.
func TestStickyWire(t *testing.T) {
	key, minV, err := DecodeStickyRequest(AppendStickyRequest(nil, []byte("user:1"), 42))
	if err != nil || string(key) != "user:1" || minV != 42 {
		t.Fatalf("request: %q %d %v", key, minV, err)
	}
	const sent, received = 1_000, 1_070
	for _, rd := range []l2.StickyRead{
		{},
		{Tombstone: 9},
		{Found: true, Item: store.Item{Value: []byte("v"), Version: 7, ExpireAt: sent + 500, SoftExpireAt: sent + 100}},
		{Found: true, Item: store.Item{Value: []byte("no expiry"), Version: 8}},
		{Found: true, Item: store.Item{Value: []byte{}, Version: 10}},
	} {
		got, err := DecodeStickyReply(AppendStickyReply(nil, rd, sent), received)
		want := rd
		if want.Item.ExpireAt != 0 {
			want.Item.ExpireAt += received - sent
			want.Item.SoftExpireAt += received - sent
		}
		if err != nil || got.Found != want.Found || got.Tombstone != want.Tombstone || got.Item.Version != want.Item.Version ||
			string(got.Item.Value) != string(want.Item.Value) || got.Item.ExpireAt != want.Item.ExpireAt || got.Item.SoftExpireAt != want.Item.SoftExpireAt {
			t.Errorf("reply %+v came back as %+v (%v)", rd, got, err)
		}
	}
	// An expiry already due stays an expiry, not "none".
	got, _ := DecodeStickyReply(AppendStickyReply(nil, l2.StickyRead{Found: true, Item: store.Item{Version: 1, ExpireAt: sent - 5}}, sent), sent)
	if got.Item.ExpireAt == 0 {
		t.Error("a due expiry decoded as none")
	}
	for _, bad := range [][]byte{nil, {9}, {StickyValue}, {StickyValue, 1}, {StickyTomb, 0}, {StickyNothing, 1}, {StickyTomb, 1, 0}} {
		if _, err := DecodeStickyReply(bad, sent); !errors.Is(err, ErrStickyWire) {
			t.Errorf("reply %v: %v, want ErrStickyWire", bad, err)
		}
	}
	for _, bad := range [][]byte{nil, {5}, {0x80}} {
		if _, _, err := DecodeStickyRequest(bad); !errors.Is(err, ErrStickyWire) {
			t.Errorf("request %v: %v, want ErrStickyWire", bad, err)
		}
	}
}
