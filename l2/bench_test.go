package l2

import (
	"github.com/tiercache/tiercache/l2/store"

	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// repeatConn serves the same pipelined batch a fixed number of times and
// discards replies, to measure the per-command cost of the whole
// connection path (parse, dispatch, store, reply) without sockets.
type repeatConn struct {
	batch []byte
	left  int
	out   int
}

func (r *repeatConn) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	r.left--
	return copy(p, r.batch), nil
}

func (r *repeatConn) Write(p []byte) (int, error)        { r.out += len(p); return len(p), nil }
func (r *repeatConn) Close() error                       { return nil }
func (r *repeatConn) LocalAddr() net.Addr                { return &net.TCPAddr{} }
func (r *repeatConn) RemoteAddr() net.Addr               { return &net.TCPAddr{} }
func (r *repeatConn) SetDeadline(t time.Time) error      { return nil }
func (r *repeatConn) SetReadDeadline(t time.Time) error  { return nil }
func (r *repeatConn) SetWriteDeadline(t time.Time) error { return nil }

func benchServe(b *testing.B, cmd func(i int) string, pipeline int) {
	n, err := NewNode(Config{ActiveExpiry: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close()
	value := strings.Repeat("v", 64)
	for i := 0; i < 1000; i++ {
		n.store.Set([]byte("key:"+itoa(i)), storeItem(value))
	}
	var batch strings.Builder
	for i := 0; i < pipeline; i++ {
		batch.WriteString(cmd(i))
	}
	rc := &repeatConn{batch: []byte(batch.String()), left: b.N}
	c := newConn(n, rc, 1)
	b.ReportAllocs()
	b.ResetTimer()
	c.serve()
	b.StopTimer()
	b.ReportMetric(float64(b.N*pipeline)/b.Elapsed().Seconds(), "cmds/s")
}

func BenchmarkServeGet(b *testing.B) {
	for _, p := range []int{1, 16} {
		b.Run("P"+itoa(p), func(b *testing.B) {
			benchServe(b, func(i int) string { return resp("get", "key:"+itoa(i*37%1000)) }, p)
		})
	}
}

func BenchmarkServeSet(b *testing.B) {
	value := strings.Repeat("x", 64)
	for _, p := range []int{1, 16} {
		b.Run("P"+itoa(p), func(b *testing.B) {
			benchServe(b, func(i int) string { return resp("set", "key:"+itoa(i*37%1000), value) }, p)
		})
	}
}

func storeItem(v string) store.Item { return store.Item{Value: []byte(v)} }
