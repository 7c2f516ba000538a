package l2

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

// chunkReader returns its data a few bytes per Read.
type chunkReader struct {
	data  []byte
	chunk int
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.chunk, len(r.data))
	copy(p, r.data[:n])
	r.data = r.data[n:]
	return n, nil
}

// readAll parses src to the end and returns the commands (arguments joined
// by spaces) and the protocol error, if any.
func readAll(t testing.TB, lim readLimits, src io.Reader) (cmds []string, perr error, maxBuf int) {
	rd := newReqReader(lim)
	for {
		for {
			args, ok, err := rd.next(nil, false)
			if err != nil {
				return cmds, err, maxBuf
			}
			if !ok {
				break
			}
			var parts []string
			for _, a := range args {
				if len(a) > lim.maxBulk && len(a) > lim.maxInline {
					t.Fatalf("argument of %d bytes passed the limits", len(a))
				}
				parts = append(parts, string(a))
			}
			if len(args) > lim.maxArgs {
				t.Fatalf("%d arguments passed the limit", len(args))
			}
			cmds = append(cmds, strings.Join(parts, " "))
		}
		if err := rd.fill(src); err != nil {
			if err == io.EOF {
				return cmds, nil, maxBuf
			}
			return cmds, err, maxBuf
		}
		maxBuf = max(maxBuf, len(rd.buf))
		if len(rd.buf) > lim.maxQuery {
			t.Fatalf("buffer grew to %d, limit %d", len(rd.buf), lim.maxQuery)
		}
	}
}

func TestReaderChunkingIsInvisible(t *testing.T) {
	lim := newReadLimits(Limits{}.withDefaults())
	input := resp("set", "k", strings.Repeat("x", 70000)) + "get k\r\n*0\r\n" + resp("mget", "a", "b", "c") +
		"echo \"q\\x41\" 'z'\r\n" + strings.Repeat(resp("ping"), 100)
	whole, err, _ := readAll(t, lim, strings.NewReader(input))
	if err != nil || len(whole) != 104 {
		t.Fatalf("whole: %d commands, %v", len(whole), err)
	}
	for _, chunk := range []int{1, 2, 3, 7, 100, 4096} {
		got, err, _ := readAll(t, lim, &chunkReader{data: []byte(input), chunk: chunk})
		if err != nil || strings.Join(got, "\n") != strings.Join(whole, "\n") {
			t.Fatalf("chunk %d: %d commands, %v", chunk, len(got), err)
		}
	}
}

// TestReaderGrowsOnlyWithData: a claimed length is never allocated up
// front; the buffer grows with the bytes that actually arrive.
func TestReaderGrowsOnlyWithData(t *testing.T) {
	lim := newReadLimits(Limits{MaxValueBytes: 64 << 20}.withDefaults())
	claim := "*3\r\n$3\r\nset\r\n$1\r\nk\r\n$60000000\r\n" + strings.Repeat("x", 1000)
	_, err, maxBuf := readAll(t, lim, strings.NewReader(claim))
	if err != nil || maxBuf > initialReadBuf {
		t.Fatalf("claimed 60 MB, sent 1 KB: buffer %d, err %v", maxBuf, err)
	}
	// A real 1 MiB value in small reads: the buffer ends near the value's
	// size, not at some multiple of the claim.
	value := strings.Repeat("v", 1<<20)
	cmds, err, maxBuf := readAll(t, lim, &chunkReader{data: []byte(resp("set", "k", value)), chunk: 1000})
	if err != nil || len(cmds) != 1 || maxBuf > 1<<20+64 {
		t.Fatalf("1 MiB value: %d commands, buffer %d, err %v", len(cmds), maxBuf, err)
	}
}

func TestReaderLimitsBeforeBuffering(t *testing.T) {
	lim := newReadLimits(smallLimits.withDefaults())
	for _, tc := range []struct{ in, want string }{
		{"*101\r\n", "multibulk length 101"},
		{"*1\r\n$4097\r\n", "bulk length 4097"},
		{strings.Repeat("a", 1025), "too big inline"},
		{"*1\r\n$" + strings.Repeat("9", 30), "invalid bulk length"},
		{"*" + strings.Repeat("9", 30), "invalid multibulk length"},
	} {
		_, err, maxBuf := readAll(t, lim, strings.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%.20q: %v, want %q", tc.in, err, tc.want)
		}
		if maxBuf > initialReadBuf {
			t.Errorf("%.20q: buffered %d", tc.in, maxBuf)
		}
	}
}

// BenchmarkReaderPipeline measures parsing of pipelined GETs: no
// allocations per command.
func BenchmarkReaderPipeline(b *testing.B) {
	lim := newReadLimits(Limits{}.withDefaults())
	batch := []byte(strings.Repeat(resp("get", "key:000000012345"), 16))
	rd := newReqReader(lim)
	var args [][]byte
	b.ReportAllocs()
	b.SetBytes(int64(len(batch)))
	src := bytes.NewReader(nil)
	for i := 0; i < b.N; i++ {
		src.Reset(batch)
		if err := rd.fill(src); err != nil {
			b.Fatal(err)
		}
		for {
			var ok bool
			var err error
			args, ok, err = rd.next(args[:0], false)
			if err != nil {
				b.Fatal(err)
			}
			if !ok {
				break
			}
		}
	}
}

// pipeConn is a net.Conn over fixed input that collects the output, for
// driving a whole connection without a socket.
type pipeConn struct {
	in  chunkReader
	out bytes.Buffer
}

func (p *pipeConn) Read(b []byte) (int, error)         { return p.in.Read(b) }
func (p *pipeConn) Write(b []byte) (int, error)        { return p.out.Write(b) }
func (p *pipeConn) Close() error                       { return nil }
func (p *pipeConn) LocalAddr() net.Addr                { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1} }
func (p *pipeConn) RemoteAddr() net.Addr               { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 2} }
func (p *pipeConn) SetDeadline(t time.Time) error      { return nil }
func (p *pipeConn) SetReadDeadline(t time.Time) error  { return nil }
func (p *pipeConn) SetWriteDeadline(t time.Time) error { return nil }
