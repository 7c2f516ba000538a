package l2

import (
	"fmt"
	"testing"
	"time"
)

// FuzzRESP drives whole connections (reader, dispatcher, commands) with
// arbitrary bytes split into arbitrary reads. It checks that nothing
// panics, that the read buffer never outgrows the query buffer limit,
// that no in-flight count leaks, and that the output is always a sequence
// of complete, well-formed RESP replies. The seed corpus is in
// testdata/fuzz/FuzzRESP: seed-* files (malformed lengths, negative and
// huge counts, desynchronised frames, inline commands, every command
// family) and entries the fuzzer found interesting. Run with
//
//	go test -run '^$' -fuzz FuzzRESP -fuzztime 60s ./l2/
func FuzzRESP(f *testing.F) {
	n, err := NewNode(Config{ActiveExpiry: -1, MaxMemory: 8 << 20, Limits: smallLimits})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { n.Close() })
	lim := n.rlim
	var id uint64
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		id++
		pc := &pipeConn{in: chunkReader{data: data, chunk: int(chunk%64) + 1}}
		c := newConn(n, pc, id)
		done := make(chan struct{})
		go func() {
			defer close(done)
			c.serve()
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			panic(fmt.Sprintf("connection hung on %q (chunk %d)", data, chunk))
		}
		if len(c.rd.buf) > lim.maxQuery {
			t.Fatalf("read buffer %d over the limit %d", len(c.rd.buf), lim.maxQuery)
		}
		if n.inflight.Load() != 0 {
			t.Fatalf("in-flight count leaked: %d", n.inflight.Load())
		}
		out := pc.out.Bytes()
		for len(out) > 0 {
			m, _, err := replyLen(out, 1<<30, 1<<20)
			if err != nil || m == 0 {
				t.Fatalf("malformed output at %q: %v", out[:min(len(out), 80)], err)
			}
			out = out[m:]
		}
	})
}
