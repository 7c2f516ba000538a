package l2

import (
	"errors"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestAuth(t *testing.T) {
	n, _ := fakeNode(t, func(c *Config) { c.RequirePass = "s3cret" })
	r := dialRaw(t, n.Addr())
	steps := []struct{ req, want string }{
		{resp("get", "a"), "-NOAUTH Authentication required.\r\n"},
		{resp("ping"), "-NOAUTH Authentication required.\r\n"},
		{resp("nosuch"), "-ERR unknown command 'nosuch', with args beginning with: \r\n"},
		{resp("hello", "3"), "-" + errHelloNoAuth + "\r\n"},
		{resp("auth", "wrong"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{resp("auth", "bob", "s3cret"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{resp("hello", "3", "auth", "default", "nope"), "-WRONGPASS invalid username-password pair or user is disabled.\r\n"},
		{resp("get", "a"), "-NOAUTH Authentication required.\r\n"},
		{resp("auth", "s3cret") + resp("get", "a"), "+OK\r\n$-1\r\n"},
		{resp("auth", "default", "s3cret"), "+OK\r\n"},
		{resp("auth", "a", "b", "c"), "-ERR syntax error\r\n"},
	}
	for _, s := range steps {
		r.send(s.req)
		got := r.reply()
		for len(got) < len(s.want) {
			got += r.reply()
		}
		if got != s.want {
			t.Fatalf("%q: got %q, want %q", s.req, got, s.want)
		}
	}

	// HELLO with AUTH authenticates and switches protocol in one step.
	r2 := dialRaw(t, n.Addr())
	r2.send(resp("hello", "3", "auth", "default", "s3cret", "setname", "app"))
	if got := r2.reply(); !strings.HasPrefix(got, "%7\r\n$6\r\nserver\r\n") || !strings.Contains(got, "$5\r\nproto\r\n:3\r\n") {
		t.Fatalf("HELLO AUTH: %q", got)
	}
	r2.send(resp("client", "getname"))
	if got := r2.reply(); got != "$3\r\napp\r\n" {
		t.Fatalf("name from HELLO SETNAME: %q", got)
	}

	ctx := ctxT(t)
	good := newClient(t, n.Addr(), func(o *redis.Options) { o.Password = "s3cret" })
	if err := good.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatalf("go-redis with password: %v", err)
	}
	bad := newClient(t, n.Addr(), func(o *redis.Options) { o.Password = "nope" })
	if err := bad.Get(ctx, "k").Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
		t.Fatalf("go-redis with a wrong password: %v", err)
	}
	none := newClient(t, n.Addr(), nil)
	if err := none.Get(ctx, "k").Err(); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("go-redis without a password: %v", err)
	}
}

// TestPreAuthLimits: before AUTH, Redis's small frame limits apply and an
// oversized frame closes the connection.
func TestPreAuthLimits(t *testing.T) {
	n, _ := fakeNode(t, func(c *Config) { c.RequirePass = "pw" })
	for _, tc := range []struct{ req, want string }{
		{"*11\r\n", "-ERR Protocol error: unauthenticated multibulk length\r\n"},
		{"*1\r\n$16385\r\n", "-ERR Protocol error: unauthenticated bulk length\r\n"},
	} {
		r := dialRaw(t, n.Addr())
		r.send(tc.req)
		if got := r.reply(); got != tc.want {
			t.Fatalf("%q: %q", tc.req, got)
		}
		if !r.closed() {
			t.Fatalf("%q: connection left open", tc.req)
		}
	}
	// After AUTH in the same pipeline the normal limits apply at once.
	r := dialRaw(t, n.Addr())
	big := strings.Repeat("x", 20000)
	r.send(resp("auth", "pw") + resp("set", "k", big))
	if got := r.reply(); got != "+OK\r\n" {
		t.Fatalf("AUTH: %q", got)
	}
	if got := r.reply(); got != "+OK\r\n" {
		t.Fatalf("SET of 20000 bytes after AUTH: %q", got)
	}
}

// TestRegionWithPassword: nodes authenticate to each other with the
// region's password.
func TestRegionWithPassword(t *testing.T) {
	nodes := startRegion(t, 2, func(i int, c *Config) { c.RequirePass = "regionpw" })
	ctx := ctxT(t)
	rc := newClient(t, nodes[0].Addr(), func(o *redis.Options) { o.Password = "regionpw" })
	key := ownedBy(t, nodes[0], "n2", "authfwd")
	if err := rc.Set(ctx, key, "v", 0).Err(); err != nil {
		t.Fatalf("forwarded SET with a password: %v", err)
	}
	if _, ok := nodes[1].store.Peek([]byte(key)); !ok {
		t.Fatal("not stored on the owner")
	}
}

func TestPublicBindNeedsPassword(t *testing.T) {
	for _, tc := range []struct {
		cfg  Config
		fail bool
	}{
		{Config{Listen: "0.0.0.0:0"}, true},
		{Config{Listen: ":0"}, true},
		{Config{Listen: "[::]:0"}, true},
		{Config{Listen: "0.0.0.0:0", RequirePass: "x"}, false},
		{Config{Listen: "0.0.0.0:0", AllowPublic: true}, false},
		{Config{Listen: "127.0.0.1:0"}, false},
		{Config{Listen: "localhost:0"}, false},
		{Config{Listen: "[::1]:0"}, false},
	} {
		err := tc.cfg.Validate()
		if got := errors.Is(err, ErrPublicWithoutPassword); got != tc.fail {
			t.Errorf("%+v: err %v", tc.cfg, err)
		}
	}
}
