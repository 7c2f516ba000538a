package tcproto

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// TC.SET's MINVER travels with LEASE or alone and comes back as sent.
func TestSetMinVerRoundTrip(t *testing.T) {
	for _, r := range []SetRequest{
		{Key: []byte("k"), Epoch: 3, Value: []byte("v"), SoftTTLMs: 10, HardTTLMs: 20, MinVer: 1 << 50},
		{Key: []byte("k"), Value: []byte{}, Lease: 7, MinVer: 99},
	} {
		enc := AppendSet(nil, r)
		got, err := ParseSet(args(t, enc))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, r) {
			t.Fatalf("got %+v want %+v", got, r)
		}
	}
	// MINVER 0 is not sent at all: a write that follows nothing.
	plain := SetRequest{Key: []byte("k"), Value: []byte("v")}
	if a := args(t, AppendSet(nil, plain)); len(a) != 6 {
		t.Fatalf("MINVER 0 encoded as %q", a)
	}
}

func TestSetMinVerParseErrors(t *testing.T) {
	base := func(extra ...string) [][]byte {
		a := [][]byte{[]byte("TC.SET"), []byte("k"), []byte("0"), []byte("v"), []byte("0"), []byte("0")}
		for _, e := range extra {
			a = append(a, []byte(e))
		}
		return a
	}
	for _, a := range [][][]byte{base("MINVER"), base("MINVER", "-1"), base("MINVER", "x"), base("MINVER", "18446744073709551616")} {
		if _, err := ParseSet(a); !errors.Is(err, ErrSyntax) {
			t.Errorf("%q: %v, want ErrSyntax", a, err)
		}
	}
	if r, err := ParseSet(base("minver", "5")); err != nil || r.MinVer != 5 {
		t.Fatalf("lower-case option: %+v %v", r, err)
	}
}

func TestDelMinVer(t *testing.T) {
	for _, minVer := range []uint64{0, 1 << 40} {
		key, epoch, got, err := ParseDel(args(t, AppendDelAfter(nil, []byte("k"), 9, minVer)))
		if err != nil || string(key) != "k" || epoch != 9 || got != minVer {
			t.Fatalf("minVer %d: %q %d %d %v", minVer, key, epoch, got, err)
		}
	}
	if a := args(t, AppendDelAfter(nil, []byte("k"), 9, 0)); len(a) != 3 {
		t.Fatalf("MINVER 0 encoded as %q", a)
	}
	for _, a := range []string{"k", "k 0 MINVER", "k 0 MINVER x", "k 0 BOGUS 5", "k x", "k 0 MINVER 5 6"} {
		parts := [][]byte{[]byte("TC.DEL")}
		for _, f := range strings.Fields(a) {
			parts = append(parts, []byte(f))
		}
		if _, _, _, err := ParseDel(parts); !errors.Is(err, ErrSyntax) {
			t.Errorf("TC.DEL %s: %v, want ErrSyntax", a, err)
		}
	}
}
