package l2

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// requireTool finds a Redis tool, or skips the test with a clear message;
// with TIERCACHE_REQUIRE_REDIS=1 a missing tool fails the test instead.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/" + name, name} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("TIERCACHE_REQUIRE_REDIS") == "1" {
		t.Fatalf("%s not found and TIERCACHE_REQUIRE_REDIS=1", name)
	}
	t.Skipf("%s not installed (apt-get install redis-tools); set TIERCACHE_REQUIRE_REDIS=1 to make this a failure", name)
	return ""
}

// runTool runs a Redis tool against addr with a deadline.
func runTool(t *testing.T, tool, addr string, stdin string, args ...string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, tool, append([]string{"-h", host, "-p", port}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out.String())
	}
	return out.String()
}

func TestRedisCLI(t *testing.T) {
	cli := requireTool(t, "redis-cli")
	nodes := startRegion(t, 3, nil)
	addr := nodes[0].Addr()
	key := ownedBy(t, nodes[0], "n3", "cli") // forwarded from n1
	for _, step := range []struct {
		args []string
		want string
	}{
		{[]string{"ping"}, "PONG\n"},
		{[]string{"set", key, "hello world"}, "OK\n"},
		{[]string{"get", key}, "hello world\n"},
		{[]string{"--no-raw", "get", "missing"}, "(nil)\n"},
		{[]string{"incr", "counter"}, "1\n"},
		{[]string{"--no-raw", "mget", key, "missing", "counter"}, "1) \"hello world\"\n2) (nil)\n3) \"1\"\n"},
		{[]string{"expire", key, "100"}, "1\n"},
		{[]string{"ttl", key}, "100\n"},
		{[]string{"dbsize"}, "2\n"},
		{[]string{"--no-raw", "nosuch", "a"}, "(error) ERR unknown command 'nosuch', with args beginning with: 'a' \n"},
		{[]string{"-3", "--no-raw", "get", "missing"}, "(nil)\n"},
	} {
		if got := runTool(t, cli, addr, "", step.args...); got != step.want {
			t.Fatalf("redis-cli %v: %q, want %q", step.args, got, step.want)
		}
	}
	// Commands on stdin, one per line, as in a script.
	got := runTool(t, cli, addr, "set a 1\nincrby a 41\nget a\ndel a\n")
	if got != "OK\n42\n42\n1\n" {
		t.Fatalf("redis-cli script: %q", got)
	}
	if info := runTool(t, cli, addr, "", "info", "stats"); !strings.Contains(info, "forwarded_commands:") {
		t.Fatalf("INFO stats: %q", info)
	}
	// Mass insertion with --pipe, which ends with an ECHO of random bytes.
	var pipe strings.Builder
	for i := 0; i < 500; i++ {
		pipe.WriteString(resp("set", "pipe:"+itoa(i), itoa(i)))
	}
	if got := runTool(t, cli, addr, pipe.String(), "--pipe"); !strings.Contains(got, "errors: 0, replies: 500") {
		t.Fatalf("redis-cli --pipe: %q", got)
	}
	if got := runTool(t, cli, nodes[1].Addr(), "", "get", "pipe:499"); got != "499\n" {
		t.Fatalf("after --pipe: %q", got)
	}
}

func TestRedisCLIAuth(t *testing.T) {
	cli := requireTool(t, "redis-cli")
	n, _ := fakeNode(t, func(c *Config) { c.RequirePass = "pw" })
	if got := runTool(t, cli, n.Addr(), "", "--no-raw", "get", "k"); got != "(error) NOAUTH Authentication required.\n" {
		t.Fatalf("without -a: %q", got)
	}
	if got := runTool(t, cli, n.Addr(), "", "--no-auth-warning", "-a", "pw", "set", "k", "v"); got != "OK\n" {
		t.Fatalf("with -a: %q", got)
	}
	if got := runTool(t, cli, n.Addr(), "", "--no-auth-warning", "-a", "bad", "get", "k"); !strings.Contains(got, "WRONGPASS") {
		t.Fatalf("wrong -a: %q", got)
	}
}

// TestRedisBenchmark runs redis-benchmark briefly against one node of a
// three-node region, so two thirds of its commands are forwarded.
func TestRedisBenchmark(t *testing.T) {
	bench := requireTool(t, "redis-benchmark")
	nodes := startRegion(t, 3, nil)
	out := runTool(t, bench, nodes[0].Addr(), "", "-t", "get,set", "-n", "20000", "-P", "16", "-q")
	for _, want := range []string{"SET: ", "GET: ", "requests per second"} {
		if !strings.Contains(out, want) {
			t.Fatalf("redis-benchmark output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(strings.ToLower(out), "error") {
		t.Fatalf("redis-benchmark reported errors:\n%s", out)
	}
	var forwarded, errs uint64
	for _, n := range nodes {
		s := n.Stats()
		forwarded += s.Forwarded
		errs += s.ForwardErrors + s.ProtocolErrors + s.Busy
	}
	if errs != 0 || forwarded < 20000 {
		t.Fatalf("forwarded %d, errors %d", forwarded, errs)
	}
}
