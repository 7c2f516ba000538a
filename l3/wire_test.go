package l3

import (
	"bytes"
	"errors"
	"reflect"
	"testing"

	"github.com/tiercache/tiercache/l2/store"
)

const now = int64(1_700_000_000_000)

func TestWireRoundTrips(t *testing.T) {
	get := GetRequest{Key: []byte("user:1"), Mode: ModeLease}
	node, gotGet, err := decodeGetRequest(appendGetRequest(nil, "eu-l3", get))
	if err != nil || node != "eu-l3" || !reflect.DeepEqual(gotGet, get) {
		t.Fatalf("get request: %q %+v %v", node, gotGet, err)
	}

	fill := FillRequest{Key: []byte("k"), Token: 1 << 62, Item: store.Item{Value: []byte("value"), Version: 99, ExpireAt: now + 60_000, SoftExpireAt: now + 30_000}}
	// Encoded at the sender's clock, decoded at a receiver 5 ms ahead:
	// the lifetimes are kept, the absolute times move with the clock.
	node, gotFill, err := decodeFillRequest(appendFillRequest(nil, "n", fill, now), now+5)
	want := fill
	want.Item.ExpireAt += 5
	want.Item.SoftExpireAt += 5
	if err != nil || node != "n" || !reflect.DeepEqual(gotFill, want) {
		t.Fatalf("fill request: %+v %v", gotFill, err)
	}

	node, v, key, err := decodeKeyRequest(appendKeyRequest(nil, "n", 42, []byte("k")))
	if err != nil || node != "n" || v != 42 || string(key) != "k" {
		t.Fatalf("key request: %q %d %q %v", node, v, key, err)
	}

	for _, rep := range []GetReply{
		{Status: StatusHit, Item: store.Item{Value: []byte("v"), Version: 3, ExpireAt: now + 1000}},
		{Status: StatusStale, Item: store.Item{Value: []byte{}, Version: 3, ExpireAt: now + 1000, SoftExpireAt: now - 10}, Token: 77},
		{Status: StatusLease, Token: 12},
		{Status: StatusWait, WaitMs: 5},
		{Status: StatusMiss},
	} {
		got, err := decodeGetReply(appendGetReply(nil, rep, now), now)
		if err != nil || !reflect.DeepEqual(got, rep) {
			t.Fatalf("get reply %+v: %+v %v", rep, got, err)
		}
	}

	wr := WriteReply{Status: StatusOlder, Version: 1 << 60}
	if got, err := decodeWriteReply(appendWriteReply(nil, wr)); err != nil || got != wr {
		t.Fatalf("write reply: %+v %v", got, err)
	}
}

func TestWireErrorsKeepTheirSentinel(t *testing.T) {
	for _, e := range []error{ErrBadRequest, ErrTooLarge, ErrClosed, ErrUnknownNode} {
		_, err := decodeWriteReply(appendError(nil, e))
		if !errors.Is(err, e) {
			t.Errorf("%v came back as %v", e, err)
		}
		if _, err := decodeGetReply(appendError(nil, e), now); !errors.Is(err, e) {
			t.Errorf("%v in a get reply came back as %v", e, err)
		}
	}
}

func TestWireRejectsMalformed(t *testing.T) {
	good := appendFillRequest(nil, "n", FillRequest{Key: []byte("key"), Token: 1, Item: store.Item{Value: []byte("value"), Version: 2}}, now)
	for i := range len(good) {
		if _, _, err := decodeFillRequest(good[:i], now); !errors.Is(err, ErrMalformed) {
			t.Fatalf("fill truncated to %d bytes: %v", i, err)
		}
	}
	if _, _, err := decodeFillRequest(append(bytes.Clone(good), 0), now); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing byte: %v", err)
	}
	// A length that claims more than the message holds.
	huge := []byte{1, 'n', byte(ModeRead), 0xff, 0xff, 0xff, 0xff, 0x0f}
	if _, _, err := decodeGetRequest(huge); !errors.Is(err, ErrMalformed) {
		t.Fatalf("huge key length: %v", err)
	}
	if _, _, err := decodeGetRequest([]byte{1, 'n', 9, 0}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown mode: %v", err)
	}
	if _, err := decodeWriteReply([]byte{resultOK, 0, 0}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("status 0: %v", err)
	}
	if _, err := decodeWriteReply([]byte{200, 0}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown result code: %v", err)
	}
}

// FuzzDecode feeds every decoder arbitrary bytes: none may panic, and
// whatever decodes must encode back to something that decodes the same.
//
//	go test -run '^$' -fuzz FuzzDecode ./l3
func FuzzDecode(f *testing.F) {
	f.Add(appendGetRequest(nil, "n", GetRequest{Key: []byte("k"), Mode: ModeTicket}))
	f.Add(appendFillRequest(nil, "n", FillRequest{Key: []byte("k"), Token: 5, Item: store.Item{Value: []byte("v"), Version: 9, ExpireAt: now + 5}}, now))
	f.Add(appendKeyRequest(nil, "n", 7, []byte("k")))
	f.Add(appendGetReply(nil, GetReply{Status: StatusStale, Item: store.Item{Value: []byte("v"), Version: 1, SoftExpireAt: now - 1}, Token: 3}, now))
	f.Add(appendWriteReply(nil, WriteReply{Status: StatusOK, Version: 1}))
	f.Add(appendError(nil, ErrUnknownNode))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if node, req, err := decodeGetRequest(msg); err == nil {
			_, again, err := decodeGetRequest(appendGetRequest(nil, node, req))
			if err != nil || !reflect.DeepEqual(again, req) {
				t.Fatalf("get request %+v re-decoded as %+v, %v", req, again, err)
			}
		}
		if node, req, err := decodeFillRequest(msg, now); err == nil {
			_, again, err := decodeFillRequest(appendFillRequest(nil, node, req, now), now)
			if err != nil || again.Token != req.Token || again.Item.Version != req.Item.Version || !bytes.Equal(again.Item.Value, req.Item.Value) {
				t.Fatalf("fill request %+v re-decoded as %+v, %v", req, again, err)
			}
		}
		_, _, _, _ = decodeKeyRequest(msg)
		if rep, err := decodeGetReply(msg, now); err == nil {
			if rep.Status == 0 {
				t.Fatal("decoded a reply with no status")
			}
			if _, err := decodeGetReply(appendGetReply(nil, rep, now), now); err != nil {
				t.Fatalf("get reply %+v does not re-decode: %v", rep, err)
			}
		}
		_, _ = decodeWriteReply(msg)
	})
}
