package l2

import (
	"strings"
	"testing"
)

// TestGlobalApplyCommand: tc.gapply applies another region's writes last
// writer by version, leaves tombstones, pushes nothing back out and
// refuses bad inputs with a clear error; a password-protected node refuses
// it before AUTH.
func TestGlobalApplyCommand(t *testing.T) {
	n := startNode(t, Config{RequirePass: "pw"})
	raw := dialRaw(t, n.Addr())
	send := func(args ...string) string {
		raw.send(resp(args...))
		return strings.TrimSpace(raw.reply())
	}
	if r := send("tc.gapply", "k", "20", "0", "0", "v"); !strings.HasPrefix(r, "-NOAUTH") {
		t.Fatalf("before AUTH: %q", r)
	}
	if _, ok := n.store.Peek([]byte("k")); ok {
		t.Fatal("unauthenticated change applied")
	}
	if r := send("auth", "pw"); r != "+OK" {
		t.Fatalf("auth: %q", r)
	}
	if r := send("tc.gapply", "k", "20", "0", "0", "new"); r != "+OK" {
		t.Fatalf("apply: %q", r)
	}
	send("tc.gapply", "k", "10", "0", "0", "old")
	if it, _ := n.store.Peek([]byte("k")); string(it.Value) != "new" || it.Version != 20 {
		t.Fatalf("after an older change: %+v", it)
	}
	if r := send("tc.gapply", "k", "30", "0", "0"); r != "+OK" {
		t.Fatalf("delete: %q", r)
	}
	send("tc.gapply", "k", "25", "0", "0", "older")
	if _, ok := n.store.Peek([]byte("k")); ok {
		t.Fatal("an older change passed the tombstone")
	}
	if v, ok := n.store.Tombstone([]byte("k")); !ok || v != 30 {
		t.Fatalf("tombstone %d %v", v, ok)
	}
	if got := n.GlobalStats().Published; got != 0 {
		t.Fatalf("applied changes were published again: %d", got)
	}
	for _, bad := range []struct {
		args []string
		want string
	}{
		{[]string{"tc.gapply", "k", "x", "0", "0", "v"}, "version"},
		{[]string{"tc.gapply", "k", "-1", "0", "0", "v"}, "version"},
		{[]string{"tc.gapply", "k", "0", "0", "0", "v"}, "version 0"},
		{[]string{"tc.gapply", "k", "5", "soon", "0", "v"}, "expire_at"},
		{[]string{"tc.gapply", "k", "5", "0", "-3", "v"}, "soft_expire_at"},
		{[]string{"tc.gapply", "k", "5", "0", "0", "v", "extra"}, "takes key version"},
		{[]string{"tc.gapply", "k", "5", "0"}, "wrong number"},
		{[]string{"tc.gread", "k", "0"}, "min_version"},
		{[]string{"tc.gread", "k", "x"}, "min_version"},
		{[]string{"tc.gread", "k"}, "wrong number"},
	} {
		r := send(bad.args...)
		if !strings.HasPrefix(r, "-ERR") || !strings.Contains(r, bad.want) {
			t.Errorf("%q: %q, want an error naming %q", bad.args, r, bad.want)
		}
	}
}

// TestGlobalReadCommand: tc.gread reports the value at the version asked or
// newer, else the tombstone, else nothing.
func TestGlobalReadCommand(t *testing.T) {
	n := startNode(t, Config{})
	raw := dialRaw(t, n.Addr())
	send := func(args ...string) string {
		raw.send(resp(args...))
		return raw.reply()
	}
	send("tc.gapply", "a", "20", "0", "0", "v20")
	send("tc.gapply", "b", "30", "0", "0")
	cases := []struct {
		key, min string
		want     string
	}{
		{"a", "20", "*5\r\n:1\r\n$2\r\n20\r\n:0\r\n:0\r\n$3\r\nv20\r\n"},
		{"a", "21", "*5\r\n:0\r\n$1\r\n0\r\n:0\r\n:0\r\n$0\r\n\r\n"},
		{"b", "30", "*5\r\n:2\r\n$2\r\n30\r\n:0\r\n:0\r\n$0\r\n\r\n"},
		{"c", "1", "*5\r\n:0\r\n$1\r\n0\r\n:0\r\n:0\r\n$0\r\n\r\n"},
	}
	for _, c := range cases {
		if got := send("tc.gread", c.key, c.min); got != c.want {
			t.Errorf("tc.gread %s %s = %q, want %q", c.key, c.min, got, c.want)
		}
	}
}
