package tcproto

import (
	"bytes"
	"testing"
)

const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

func TestGetTraceRoundTrip(t *testing.T) {
	r := GetRequest{Key: []byte("k"), Epoch: 2, MinVer: 9, From: []byte("eu"), Trace: []byte(tp)}
	got, err := ParseGet(args(t, AppendGet(nil, r)))
	if err != nil || string(got.Trace) != tp || string(got.From) != "eu" || got.MinVer != 9 {
		t.Fatalf("%+v %v", got, err)
	}
}

func TestGetTraceIsNeverAnError(t *testing.T) {
	base := [][]byte{[]byte("TC.GET"), []byte("k"), []byte("0")}
	with := func(extra ...[]byte) [][]byte { return append(append([][]byte{}, base...), extra...) }
	for name, a := range map[string][][]byte{
		"no argument": with([]byte("TRACE")),
		"oversized":   with([]byte("trace"), bytes.Repeat([]byte("a"), MaxTraceLen+1)),
	} {
		got, err := ParseGet(a)
		if err != nil || got.Trace != nil {
			t.Errorf("%s: trace %q, err %v: want it dropped", name, got.Trace, err)
		}
	}
	// Garbage within the bound is the node's to validate (and ignore).
	if got, err := ParseGet(with([]byte("TRACE"), []byte("junk"))); err != nil || string(got.Trace) != "junk" {
		t.Errorf("junk: %q %v", got.Trace, err)
	}
}
