package resp

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestNextKinds(t *testing.T) {
	in := "+OK\r\n-BUSY too many\r\n:-42\r\n$5\r\nhello\r\n$-1\r\n*2\r\n$1\r\na\r\n:7\r\n_\r\n%1\r\n+k\r\n+v\r\n"
	r := NewReader(strings.NewReader(in), 64)
	type want struct {
		kind Kind
		n    int64
		b    string
	}
	for i, w := range []want{
		{Simple, 0, "OK"}, {Error, 0, "BUSY too many"}, {Int, -42, ""}, {Bulk, 5, "hello"},
		{Null, 0, ""}, {Array, 2, ""}, {Bulk, 1, "a"}, {Int, 7, ""}, {Null, 0, ""},
		{Array, 2, ""}, {Simple, 0, "k"}, {Simple, 0, "v"},
	} {
		kind, n, b, err := r.Next(nil)
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		if kind != w.kind || n != w.n || string(b) != w.b {
			t.Fatalf("%d: got %c %d %q want %c %d %q", i, kind, n, b, w.kind, w.n, w.b)
		}
	}
	if _, _, _, err := r.Next(nil); !errors.Is(err, io.EOF) {
		t.Fatalf("end: %v", err)
	}
}

func TestBoundsAndMalformed(t *testing.T) {
	for _, in := range []string{"$999\r\n", "*-5\r\n", "?x\r\n", ":12a\r\n", "+OK\n", "$3\r\nabcd\r\n", ":99999999999999999999\r\n"} {
		r := NewReader(strings.NewReader(in), 64)
		r.MaxBulk = 100
		if _, _, _, err := r.Next(nil); !errors.Is(err, ErrProtocol) {
			t.Errorf("%q: %v", in, err)
		}
	}
	r := NewReader(strings.NewReader("+"+strings.Repeat("x", 100)+"\r\n"), 16)
	if _, _, _, err := r.Next(nil); !errors.Is(err, ErrProtocol) {
		t.Errorf("long line: %v", err)
	}
}

func TestHelpers(t *testing.T) {
	r := NewReader(strings.NewReader("*3\r\n+HIT\r\n$2\r\nhi\r\n:9\r\n-ERR x\r\n*1\r\n+a\r\n+OK\r\n$-1\r\n"), 64)
	if n, err := r.ReadArrayHeader(); err != nil || n != 3 {
		t.Fatalf("array %d %v", n, err)
	}
	if b, _, err := r.ReadBytes(nil); err != nil || string(b) != "HIT" {
		t.Fatalf("status %q %v", b, err)
	}
	buf := make([]byte, 0, 16)
	if b, _, err := r.ReadBytes(buf); err != nil || string(b) != "hi" || &b[0] != &buf[:1][0] {
		t.Fatalf("value %q %v (not in caller's buffer)", b, err)
	}
	if n, err := r.ReadInt(); err != nil || n != 9 {
		t.Fatalf("int %d %v", n, err)
	}
	var se *ServerError
	if _, err := r.ReadArrayHeader(); !errors.As(err, &se) || se.Code() != "ERR" {
		t.Fatalf("error reply: %v", err)
	}
	if err := r.ReadOK(); !errors.Is(err, ErrUnexpected) {
		t.Fatalf("array for OK: %v", err)
	}
	if err := r.ReadOK(); err != nil {
		t.Fatalf("OK after skipped array: %v", err)
	}
	if _, null, err := r.ReadBytes(nil); err != nil || !null {
		t.Fatalf("null %v %v", null, err)
	}
}

func TestReadNoAlloc(t *testing.T) {
	msg := []byte("*3\r\n+HIT\r\n$5\r\nvalue\r\n:12345\r\n")
	src := bytes.NewReader(nil)
	r := NewReader(src, 256)
	buf := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		src.Reset(msg)
		r.br.Reset(src)
		if _, err := r.ReadArrayHeader(); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.ReadBytes(buf[:0]); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.ReadBytes(buf[:0]); err != nil {
			t.Fatal(err)
		}
		if _, err := r.ReadInt(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocs per reply", allocs)
	}
}
