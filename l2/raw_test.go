package l2

import (
	"strings"
	"testing"
)

// TestMalformedRESP sends exact bytes, the way a broken or hostile client
// would, and checks Redis's replies and that protocol errors close the
// connection.
func TestMalformedRESP(t *testing.T) {
	n, _ := fakeNode(t, nil)
	for _, tc := range []struct {
		name, req string
		want      []string
		closes    bool
	}{
		{"negative bulk", "*2\r\n$3\r\nget\r\n$-5\r\nxx\r\n", []string{"-ERR Protocol error: invalid bulk length\r\n"}, true},
		{"bad count", "*a\r\n", []string{"-ERR Protocol error: invalid multibulk length\r\n"}, true},
		{"count without CR", "*1\n$4\r\nping\r\n", []string{"-ERR Protocol error: invalid multibulk length\r\n"}, true},
		{"bad bulk length", "*1\r\n$a\r\n", []string{"-ERR Protocol error: invalid bulk length\r\n"}, true},
		{"not a bulk", "*1\r\n+a\r\n", []string{"-ERR Protocol error: expected '$', got '+'\r\n"}, true},
		{"desynchronised bulk", "*1\r\n$4\r\npingxx\r\n", []string{"-ERR Protocol error: invalid bulk length\r\n"}, true},
		{"unbalanced quotes", "ping \"a\r\n", []string{"-ERR Protocol error: unbalanced quotes in request\r\n"}, true},
		{"junk after quote", "set \"a\"b c\r\n", []string{"-ERR Protocol error: unbalanced quotes in request\r\n"}, true},
		{"replies before the error", resp("ping") + "*1\r\n$x\r\n", []string{"+PONG\r\n", "-ERR Protocol error: invalid bulk length\r\n"}, true},
		{"empty multibulk ignored", "*0\r\n*-1\r\nping\r\n", []string{"+PONG\r\n"}, false},
		{"inline", "ping\r\nping\n\r\n\r\n  ping   hi  \r\n", []string{"+PONG\r\n", "+PONG\r\n", "$2\r\nhi\r\n"}, false},
		{"inline quoting", "set 'a b' \"c\\x41d\\n\"\r\nget 'a b'\r\nget \"a b\"\r\necho 'it\\'s'\r\necho \"\"\r\n",
			[]string{"+OK\r\n", "$4\r\ncAd\n\r\n", "$4\r\ncAd\n\r\n", "$4\r\nit's\r\n", "$0\r\n\r\n"}, false},
		{"empty command name", "*1\r\n$0\r\n\r\n", []string{"-ERR unknown command '', with args beginning with: \r\n"}, false},
		{"unknown inline", "foo\r\n", []string{"-ERR unknown command 'foo', with args beginning with: \r\n"}, false},
		{"arity", "get\r\n", []string{"-ERR wrong number of arguments for 'get' command\r\n"}, false},
		{"case", "*2\r\n$4\r\nEcHo\r\n$1\r\nx\r\n", []string{"$1\r\nx\r\n"}, false},
		{"binary", resp("set", "bin\x00\r\n", "v\r\n\x00") + resp("get", "bin\x00\r\n"), []string{"+OK\r\n", "$4\r\nv\r\n\x00\r\n"}, false},
		{"quit", resp("quit") + resp("ping"), []string{"+OK\r\n"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := dialRaw(t, n.Addr())
			r.send(tc.req)
			for _, want := range tc.want {
				if got := r.reply(); got != want {
					t.Fatalf("got %q, want %q", got, want)
				}
			}
			if tc.closes && !r.closed() {
				t.Fatal("connection left open")
			}
			if !tc.closes {
				r.send(resp("ping"))
				if got := r.reply(); got != "+PONG\r\n" {
					t.Fatalf("connection unusable after: %q", got)
				}
			}
		})
	}
}

// TestFragmentedAndPipelined feeds a pipeline one byte per write, then a
// large pipeline in one write.
func TestFragmentedAndPipelined(t *testing.T) {
	n, _ := fakeNode(t, nil)
	r := dialRaw(t, n.Addr())
	req := resp("set", "k", strings.Repeat("v", 3000)) + "get k\r\n" + resp("del", "k")
	for i := 0; i < len(req); i++ {
		r.send(req[i : i+1])
	}
	for _, want := range []string{"+OK\r\n", "$3000\r\n" + strings.Repeat("v", 3000) + "\r\n", ":1\r\n"} {
		if got := r.reply(); got != want {
			t.Fatalf("got %.40q, want %.40q", got, want)
		}
	}
	const count = 20000
	r.send(strings.Repeat(resp("incr", "n"), count))
	for i := 1; i <= count; i++ {
		if got := r.reply(); got != ":"+itoa(i)+"\r\n" {
			t.Fatalf("reply %d: %q", i, got)
		}
	}
}
