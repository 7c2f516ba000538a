package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tiercache/tiercache/raftmeta/metatest"
)

// ctl runs `tiercache ctl` against addr and returns its exit code and output.
func ctl(t *testing.T, addr string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(append([]string{"ctl", "--meta", addr, "--insecure"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCtlKeyspaceSetGetAndBadSettings(t *testing.T) {
	cp := metatest.Start(t, metatest.Options{})
	addr := cp.Members[0].HTTPAddr()

	if code, _, errs := ctl(t, addr, "keyspace", "set", "user", "--ttl", "60s", "--soft-ttl", "10s", "--sticky-window", "2s"); code != 0 {
		t.Fatalf("keyspace set failed (%d): %s", code, errs)
	}
	want := func() map[string]any {
		code, out, errs := ctl(t, addr, "--json", "keyspace", "get", "user")
		if code != 0 {
			t.Fatalf("keyspace get failed (%d): %s", code, errs)
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("keyspace get --json is not JSON: %v: %s", err, out)
		}
		return m
	}
	before := want()
	if !strings.Contains(mustJSON(t, before), `"sticky_window":2000000000`) {
		t.Fatalf("sticky window not stored: %v", before)
	}

	for _, bad := range [][]string{
		{"keyspace", "set", "user", "--ttl", "-5s"},
		{"keyspace", "set", "user", "--soft-ttl", "2m", "--hard-ttl", "1m"},
		{"keyspace", "set", "user", "--no-such-field", "1"},
		{"keyspace", "set", "user", "--l1", "sometimes"},
	} {
		code, _, errs := ctl(t, addr, bad...)
		if code == 0 || strings.TrimSpace(errs) == "" {
			t.Errorf("%v: exit %d, stderr %q: want a clear error", bad, code, errs)
		}
	}
	if after := want(); mustJSON(t, after) != mustJSON(t, before) {
		t.Fatalf("a refused setting changed the keyspace:\nbefore %v\nafter  %v", before, after)
	}
}

func TestCtlTopologyAndRebalanceStatus(t *testing.T) {
	cp := metatest.Start(t, metatest.Options{})
	addr := cp.Members[0].HTTPAddr()
	for _, args := range [][]string{{"topology"}, {"nodes"}, {"status"}, {"rebalance", "status"}} {
		if code, _, errs := ctl(t, addr, args...); code != 0 {
			t.Errorf("ctl %v: exit %d: %s", args, code, errs)
		}
	}
	if code, _, _ := ctl(t, addr, "drain", "no-such-node"); code == 0 {
		t.Error("draining an unknown node succeeded")
	}
}

func TestCtlCertsWritesADevPKI(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := run([]string{"ctl", "certs", "--out", dir, "m1=server", "ops=admin"}, &out, &errb); code != 0 {
		t.Fatalf("certs: exit %d: %s", code, errb.String())
	}
	for _, f := range []string{"ca.pem", "ca-key.pem", "m1.pem", "m1-key.pem", "ops.pem", "ops-key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if code := run([]string{"ctl", "certs", "--out", dir, "m2=wizard"}, &out, &errb); code == 0 {
		t.Error("an unknown role was accepted")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
