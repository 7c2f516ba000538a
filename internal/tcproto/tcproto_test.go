package tcproto

import (
	"errors"
	"reflect"
	"testing"

	"github.com/tidwall/redcon"
)

func args(t *testing.T, raw []byte) [][]byte {
	t.Helper()
	cmd, err := redcon.Parse(raw)
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return cmd.Args
}

func TestGetRoundTrip(t *testing.T) {
	for _, r := range []GetRequest{
		{Key: []byte("user:1"), Epoch: 0},
		{Key: []byte("k"), Epoch: 7, NoLease: true, Refresh: true, RefreshOf: 77, Track: true, Hits: 99, MinVer: 1 << 50},
		{Key: []byte("k"), Epoch: 1, MinVer: 42, From: []byte("eu-west")},
	} {
		got, err := ParseGet(args(t, AppendGet(nil, r)))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("got %+v want %+v", got, r)
		}
	}
}

func TestSetRoundTrip(t *testing.T) {
	for _, r := range []SetRequest{
		{Key: []byte("k"), Epoch: 3, Value: []byte("v"), SoftTTLMs: 10, HardTTLMs: 20},
		{Key: []byte("k"), Value: []byte{}, SoftTTLMs: 0, HardTTLMs: 0, Lease: 12345},
	} {
		got, err := ParseSet(args(t, AppendSet(nil, r)))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("got %+v want %+v", got, r)
		}
	}
}

func TestParseErrors(t *testing.T) {
	bad := [][][]byte{
		{[]byte("TC.GET"), []byte("k")},
		{[]byte("TC.GET"), []byte("k"), []byte("-1")},
		{[]byte("TC.GET"), []byte("k"), []byte("0"), []byte("BOGUS")},
		{[]byte("TC.GET"), []byte("k"), []byte("0"), []byte("HITS")},
		{[]byte("TC.GET"), []byte("k"), []byte("0"), []byte("MINVER"), []byte("1"), []byte("FROM"), []byte("")},
	}
	for _, a := range bad {
		if _, err := ParseGet(a); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: %v", a, err)
		}
	}
	if _, err := ParseSet([][]byte{[]byte("TC.SET"), []byte("k"), []byte("0"), []byte("v"), []byte("20"), []byte("10")}); !errors.Is(err, ErrSyntax) {
		t.Errorf("soft over hard: %v", err)
	}
	if _, _, _, err := ParseKeyEpoch([][]byte{[]byte("TC.UNLEASE"), []byte("k"), []byte("0")}, true); !errors.Is(err, ErrSyntax) {
		t.Errorf("unlease without token: %v", err)
	}
	k, e, tok, err := ParseKeyEpoch(args(t, AppendUnlease(nil, []byte("k"), 4, 5)), true)
	if err != nil || string(k) != "k" || e != 4 || tok != 5 {
		t.Errorf("unlease round trip: %q %d %d %v", k, e, tok, err)
	}
}

func TestStatusNames(t *testing.T) {
	for s := StatusHit; s <= StatusBehind; s++ {
		if got := ParseStatus([]byte(s.String())); got != s {
			t.Errorf("%v parsed as %v", s, got)
		}
	}
	if ParseStatus([]byte("nope")) != StatusNone {
		t.Error("unknown status parsed")
	}
}
