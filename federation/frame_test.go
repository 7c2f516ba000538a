package federation

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"runtime"
	"testing"
	"time"
)

var sampleChanges = []Change{
	{Key: []byte("user:1"), Value: []byte("alice"), Version: 1 << 40, ExpireAt: 1_700_000_000_000},
	{Key: []byte("user:2"), Version: 7, Delete: true},
	{Key: []byte{}, Value: []byte{}, Version: 0, ExpireAt: -5},
}

func TestMessagesRoundTrip(t *testing.T) {
	limit := DefaultMaxFrameBytes
	read := func(b []byte) (byte, []byte) {
		t.Helper()
		typ, p, err := readFrame(bytes.NewReader(b), limit)
		if err != nil {
			t.Fatal(err)
		}
		return typ, p
	}

	b, err := appendCall(nil, callHeader{kind: 9, idempotent: true, timeout: 1500 * time.Millisecond}, []byte("req"), limit)
	if err != nil {
		t.Fatal(err)
	}
	typ, p := read(b)
	h, body, err := decodeCall(p)
	if typ != frameCall || err != nil || h != (callHeader{kind: 9, idempotent: true, timeout: 1500 * time.Millisecond}) || string(body) != "req" {
		t.Fatalf("call: %d %+v %q %v", typ, h, body, err)
	}

	b, _ = appendReply(nil, statusUnknownKind, []byte("why"), limit)
	typ, p = read(b)
	st, body, err := decodeReply(p)
	if typ != frameReply || st != statusUnknownKind || string(body) != "why" || err != nil {
		t.Fatalf("reply: %d %d %q %v", typ, st, body, err)
	}

	typ, p = read(appendHello(nil, "eu-west"))
	if r, err := decodeHello(p); typ != frameHello || r != "eu-west" || err != nil {
		t.Fatalf("hello: %q %v", r, err)
	}

	b, err = appendChanges(nil, frameChanges, 42, sampleChanges, limit)
	if err != nil {
		t.Fatal(err)
	}
	typ, p = read(b)
	seq, got, err := decodeChanges(p)
	if typ != frameChanges || seq != 42 || err != nil || !changesEqual(got, sampleChanges) {
		t.Fatalf("changes: %d %v %+v", seq, err, got)
	}

	typ, p = read(appendAck(nil, 99, -3))
	if s, at, err := decodeAck(p); typ != frameAck || s != 99 || at != -3 || err != nil {
		t.Fatalf("ack: %d %d %v", s, at, err)
	}

	typ, p = read(appendDigestReq(nil, 4096))
	if n, err := decodeDigestReq(p); typ != frameDigestReq || n != 4096 || err != nil {
		t.Fatalf("digest request: %d %v", n, err)
	}
	d := []uint64{1, 2, 1 << 63}
	typ, p = read(appendDigests(nil, d))
	if got, err := decodeDigests(p); typ != frameDigests || !reflect.DeepEqual(got, d) || err != nil {
		t.Fatalf("digests: %v %v", got, err)
	}
}

// countingReader counts the bytes taken from it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestReadFrameRefusesOversizeBeforeReadingIt(t *testing.T) {
	hdr := []byte{frameCall, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(hdr[1:], 1<<31)
	r := &countingReader{r: io.MultiReader(bytes.NewReader(hdr), zeroReader{})}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, p, err := readFrame(r, 1024)
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrFrameTooLarge) || p != nil {
		t.Fatalf("err %v", err)
	}
	if r.n != frameHeaderLen {
		t.Fatalf("read %d bytes of an oversized frame, want only its header", r.n)
	}
	// Only the error is allocated, not the announced 2 GiB.
	if n := after.TotalAlloc - before.TotalAlloc; n > 64<<10 {
		t.Fatalf("refusing a frame allocated %d bytes", n)
	}
	if _, err := appendReply(nil, statusOK, make([]byte, 2048), 1024); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("writing an oversized frame: %v", err)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestDecodeRejectsMalformed(t *testing.T) {
	good, _ := appendChanges(nil, frameChanges, 1, sampleChanges, DefaultMaxFrameBytes)
	payload := good[frameHeaderLen:]
	cases := map[string][]byte{
		"truncated":      payload[:len(payload)-1],
		"trailing":       append(append([]byte(nil), payload...), 0),
		"count too high": {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"key past end":   {1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 200},
		"empty":          {},
	}
	for name, p := range cases {
		if _, _, err := decodeChanges(p); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := decodeDigestReq(binary.AppendUvarint(nil, 3)); !errors.Is(err, ErrMalformed) {
		t.Errorf("digest request for 3 buckets: %v", err)
	}
	if _, err := decodeDigests(binary.AppendUvarint(nil, 1<<40)); !errors.Is(err, ErrMalformed) {
		t.Errorf("2^40 digests: %v", err)
	}
	if _, err := decodeHello([]byte{protocolVersion + 1, 0}); !errors.Is(err, ErrProtocol) {
		t.Errorf("hello of another version: %v", err)
	}
}

// FuzzDecode feeds arbitrary bytes to the frame reader and every payload
// decoder: none may panic or allocate beyond the frame limit, and a change
// batch that decodes must encode back to the same changes.
func FuzzDecode(f *testing.F) {
	seed := func(b []byte, _ error) { f.Add(b) }
	seed(appendChanges(nil, frameChanges, 3, sampleChanges, DefaultMaxFrameBytes))
	seed(appendCall(nil, callHeader{kind: 1, timeout: time.Second}, []byte("x"), DefaultMaxFrameBytes))
	f.Add(appendHello(nil, "us-east"))
	f.Add(appendAck(nil, 5, 6))
	f.Add(appendDigests(nil, []uint64{1, 2}))
	f.Fuzz(func(t *testing.T, data []byte) {
		const limit = 1 << 16
		r := bytes.NewReader(data)
		for {
			typ, p, err := readFrame(r, limit)
			if err != nil {
				break
			}
			if len(p) > limit {
				t.Fatalf("payload of %d bytes over the limit", len(p))
			}
			_, _, _ = decodeCall(p)
			_, _, _ = decodeReply(p)
			_, _ = decodeHello(p)
			_, _, _ = decodeAck(p)
			_, _ = decodeDigestReq(p)
			_, _ = decodeDigests(p)
			seq, changes, err := decodeChanges(p)
			if err != nil {
				continue
			}
			again, err := appendChanges(nil, typ, seq, changes, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			seq2, changes2, err := decodeChanges(again[frameHeaderLen:])
			if err != nil || seq2 != seq || !changesEqual(changes, changes2) {
				t.Fatalf("re-encoded batch differs: %v", err)
			}
		}
	})
}

func changesEqual(a, b []Change) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if !bytes.Equal(x.Key, y.Key) || !bytes.Equal(x.Value, y.Value) || x.Version != y.Version || x.ExpireAt != y.ExpireAt || x.Delete != y.Delete {
			return false
		}
	}
	return true
}
