package l2

import (
	"bufio"
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRepliesMatchRedis sends the same requests to a real redis-server and
// to a node and compares the reply bytes: shapes, nulls and error texts.
func TestRepliesMatchRedis(t *testing.T) {
	server := requireTool(t, "redis-server")
	sock := filepath.Join(t.TempDir(), "redis.sock")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, server, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("redis-server: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	for deadline := time.Now().Add(5 * time.Second); ; {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("redis-server did not come up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	n, _ := fakeNode(t, nil)
	scenarios := map[string][]string{
		"basic": {
			resp("ping"), resp("ping", "x"), resp("ping", "a", "b"), resp("echo", "x"), resp("set", "k", "v"), resp("get", "k"),
			resp("get", "nokey"), resp("set", "k", "v", "nx"), resp("set", "k", "v2", "xx", "get"), resp("set", "k", "v3", "get"),
			resp("set", "k2", "v", "nx", "get"), resp("getdel", "k"), resp("getdel", "k"), resp("type", "k2"), resp("type", "k"),
			resp("setnx", "k2", "x"), resp("setnx", "k3", "x"), resp("get", "k", "x"), resp("get"),
		},
		"set options": {
			resp("set", "k", "v", "ex"), resp("set", "k", "v", "ex", "0"), resp("set", "k", "v", "ex", "-1"),
			resp("set", "k", "v", "ex", "abc"), resp("set", "k", "v", "nx", "xx"), resp("set", "k", "v", "ex", "10", "px", "10"),
			resp("set", "k", "v", "keepttl", "ex", "10"), resp("set", "k", "v", "ex", "9999999999999999"),
			resp("set", "k", "v", "exat", "0"), resp("set", "k", "v", "pxat", "1"), resp("get", "k"),
			resp("set", "k", "v", "PX", "100000", "GET"), resp("set", "k", "v", "keepttl"), resp("set", "k", "v", "bogus"),
			resp("set", "k", "v", "px", "9223372036854775807"), resp("set", "k", "v", "exat", "9223372036854775"),
		},
		"counters": {
			resp("incr", "n"), resp("incrby", "n", "10"), resp("decr", "n"), resp("decrby", "n", "5"), resp("incrby", "n", "abc"),
			resp("incrby", "n", " 1"), resp("incrby", "n", "+1"), resp("incrby", "n", "-0"),
			resp("set", "n", "9223372036854775807"), resp("incr", "n"), resp("decrby", "n", "-9223372036854775808"),
			resp("set", "s", "x"), resp("incr", "s"), resp("set", "z", "007"), resp("incr", "z"), resp("set", "neg", "-5"),
			resp("incrby", "neg", "-1"), resp("incrby", "m", "-9223372036854775808"), resp("decr", "m"), resp("incr", "a", "b"),
		},
		"multi-key": {
			resp("mset", "a", "1", "b", "2"), resp("mget", "a", "b", "c"), resp("exists", "a", "b", "c", "a"),
			resp("del", "a", "c"), resp("unlink", "b"), resp("mset", "a"), resp("mset", "a", "1", "b"), resp("mget"),
			resp("del"), resp("exists"), resp("dbsize"), resp("dbsize", "x"),
		},
		"expire": {
			resp("set", "e", "v"), resp("expire", "e", "abc"), resp("expire", "e", "10", "nx", "xx"),
			resp("expire", "e", "10", "gt", "lt"), resp("expire", "e", "10", "foo"), resp("expire", "e", "100", "xx"),
			resp("expire", "e", "100", "nx"), resp("ttl", "e"), resp("expiretime", "nokey"), resp("persist", "e"),
			resp("persist", "e"), resp("ttl", "e"), resp("pttl", "e"), resp("expire", "nokey", "10"), resp("expire", "e", "-1"),
			resp("exists", "e"), resp("pexpire", "e", "10"), resp("expire", "e", "9223372036854775807"),
			resp("set", "f", "v"), resp("expire", "f", "9223372036854775807"), resp("pexpireat", "f", "9223372036854775807"),
			resp("expireat", "f", "-9223372036854775808"), resp("exists", "f"), resp("ttl"), resp("expire", "f"),
		},
		"setex getex": {
			resp("setex", "a", "-1", "b"), resp("setex", "a", "0", "b"), resp("setex", "a", "x", "b"), resp("setex", "a", "10", "b"),
			resp("psetex", "a", "0", "b"), resp("getex", "a", "persist", "ex", "1"), resp("getex", "a", "ex", "0"),
			resp("getex", "a", "foo"), resp("getex", "a", "persist"), resp("ttl", "a"), resp("getex", "nokey", "ex", "10"),
			resp("getex", "a", "exat", "1"), resp("exists", "a"), resp("getex", "a"), resp("psetex", "a", "100", "b", "c"),
		},
		"connection": {
			resp("select", "0"), resp("select", "-1"), resp("select", "00"), resp("select", "x"), resp("client", "getname"),
			resp("client", "setname", "x"), resp("client", "getname"), resp("client", "setname", "a b"), resp("client", "foo"),
			resp("client", "getname", "extra"), resp("client", "setname"), resp("auth", "foo"), resp("auth", "a", "b"),
			resp("auth", "a", "b", "c"), resp("hello", "4"), resp("hello", "x"), resp("hello", "2", "setname"),
			resp("hello", "2", "auth", "a"), resp("foo", "bar", "baz"), resp(""), resp("FOO"), resp("flushall", "x"),
			resp("flushall", "sync"), resp("echo"), resp("command", "count", "x"),
		},
		"resp3": {
			resp("get", "nokey"), resp("mget", "a", "nokey"), resp("ttl", "nokey"), resp("set", "a", "1", "nx", "get"),
			resp("set", "a", "1", "nx"), resp("client", "getname"), resp("getdel", "nokey"), resp("incr", "a"),
		},
		"inline": {
			"ping\r\n", "ping\n", "\r\n\r\nping\r\n", "set 'a b' \"c\\x41d\\n\"\r\n", "get 'a b'\r\n", "echo 'it\\'s'\r\n",
			"echo \"\"\r\n", "*0\r\nping\r\n", "*-1\r\nping\r\n", "  echo   x  \r\n", "foo\r\n", "get\r\n",
		},
	}
	errorsThatClose := []string{
		"*2\r\n$3\r\nget\r\n$-5\r\nxx\r\n", "*a\r\n", "*1\r\n+a\r\n", "*1\r\n$a\r\n", "ping \"a\r\n", "set \"a\"b c\r\n",
		"*1\r\n$9223372036854775807\r\n",
	}
	dial := func(network, addr string) (net.Conn, *bufio.Reader) {
		c, err := net.Dial(network, addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c, bufio.NewReader(c)
	}
	read := func(c net.Conn, rd *bufio.Reader) string {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		var b []byte
		for {
			line, err := rd.ReadBytes('\n')
			b = append(b, line...)
			if err != nil {
				return string(b) + "<" + err.Error() + ">"
			}
			if m, _, _ := replyLen(b, 1<<30, 1<<20); m > 0 {
				return string(b)
			}
		}
	}
	for name, reqs := range scenarios {
		t.Run(name, func(t *testing.T) {
			rc, rrd := dial("unix", sock)
			nc, nrd := dial("tcp", n.Addr())
			reqs = append([]string{resp("flushall")}, reqs...)
			if name == "resp3" {
				for _, c := range []net.Conn{rc, nc} {
					c.Write([]byte(resp("hello", "3")))
				}
				read(rc, rrd) // server name and id differ
				read(nc, nrd)
			}
			for _, req := range reqs {
				rc.Write([]byte(req))
				nc.Write([]byte(req))
				if want, got := read(rc, rrd), read(nc, nrd); got != want {
					t.Errorf("%q:\n redis: %q\n node:  %q", req, want, got)
				}
			}
		})
	}
	t.Run("protocol errors", func(t *testing.T) {
		for _, req := range errorsThatClose {
			rc, rrd := dial("unix", sock)
			nc, nrd := dial("tcp", n.Addr())
			rc.Write([]byte(req))
			nc.Write([]byte(req))
			want, got := read(rc, rrd), read(nc, nrd)
			if got != want {
				t.Errorf("%q:\n redis: %q\n node:  %q", req, want, got)
			}
			if want, got := read(rc, rrd), read(nc, nrd); strings.HasSuffix(want, "EOF>") != strings.HasSuffix(got, "EOF>") {
				t.Errorf("%q: after the error redis gave %q, node %q", req, want, got)
			}
		}
	})
}
