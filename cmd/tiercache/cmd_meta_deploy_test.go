package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/pki"
	"github.com/tiercache/tiercache/raftmeta"
)

// freeAddrs returns n loopback TCP addresses free at the time of the call
// (a deployment file needs fixed ports).
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var out []string
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		out = append(out, ln.Addr().String())
	}
	for _, ln := range lns {
		_ = ln.Close()
	}
	return out
}

// writeDeployment writes a one-region deployment with members m1 and m2 at
// the given addresses (raft1, http1, metrics1, raft2, http2) and returns
// its path. The region's node and gateway are never started here.
func writeDeployment(t *testing.T, dir, tlsDir string, a []string) string {
	t.Helper()
	tls := ""
	if tlsDir != "" {
		tls = "tls_dir: " + tlsDir + "\n"
	}
	y := fmt.Sprintf(`name: one
profile:
  name: one
  regions: [{name: r, id: 0}]
%smeta:
  - {id: m1, raft: %q, http: %q, metrics: %q}
  - {id: m2, raft: %q, http: %q}
regions:
  - name: r
    nodes: [{id: n1, resp: "127.0.0.1:1"}]
    gateway: {id: g1, federation: "127.0.0.1:2"}
`, tls, a[0], a[1], a[2], a[3], a[4])
	path := filepath.Join(dir, "deploy.yaml")
	if err := os.WriteFile(path, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMetaFromDeploymentSettings(t *testing.T) {
	dir := t.TempDir()
	addrs := []string{"127.0.0.1:19001", "127.0.0.1:19101", "127.0.0.1:19201", "127.0.0.1:19002", "127.0.0.1:19102"}
	path := writeDeployment(t, dir, "pki", addrs)
	settings := func(id, tlsDir string, flags ...string) (raftmeta.Config, string, string, metaTLSFlags, error) {
		fs := flag.NewFlagSet("meta", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		var tf metaTLSFlags
		tf.register(fs)
		fs.String("raft", "", "")
		fs.Bool("bootstrap", false, "")
		if err := fs.Parse(flags); err != nil {
			t.Fatal(err)
		}
		cfg := raftmeta.Config{ID: id}
		var join, metrics string
		err := metaFromDeployment(fs, path, tlsDir, &cfg, &join, &metrics, &tf)
		return cfg, join, metrics, tf, err
	}

	cfg, join, metrics, tf, err := settings("m1", "")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RaftAddr != addrs[0] || cfg.HTTPAddr != addrs[1] || metrics != addrs[2] || !cfg.Bootstrap || join != "" {
		t.Fatalf("m1: %+v join %q metrics %q", cfg, join, metrics)
	}
	if want := filepath.Join(dir, "pki"); tf.ca != filepath.Join(want, "ca.pem") || tf.cert != filepath.Join(want, "m1.pem") || tf.key != filepath.Join(want, "m1-key.pem") || tf.insecure {
		t.Fatalf("m1 certificates %+v", tf)
	}
	cfg, join, metrics, _, err = settings("m2", "/other")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.RaftAddr != addrs[3] || cfg.Bootstrap || join != addrs[1] || metrics != "" {
		t.Fatalf("m2: %+v join %q metrics %q", cfg, join, metrics)
	}
	if _, _, _, tf, _ := settings("m2", "/other"); tf.cert != "/other/m2.pem" {
		t.Fatalf("--tls did not replace the deployment's directory: %+v", tf)
	}

	if _, _, _, _, err := settings("m9", ""); err == nil || !strings.Contains(err.Error(), `"m9" is not a raftmeta member`) || !strings.Contains(err.Error(), "m1, m2") {
		t.Fatalf("unknown member: %v", err)
	}
	if _, _, _, _, err := settings("n1", ""); err == nil || !strings.Contains(err.Error(), "not a raftmeta member") {
		t.Fatalf("an L2 node accepted as a member: %v", err)
	}
	if _, _, _, _, err := settings("m1", "", "--raft", "127.0.0.1:1", "--insecure"); err == nil || !strings.Contains(err.Error(), "--insecure, --raft: set by the deployment file") {
		t.Fatalf("flags beside --deploy: %v", err)
	}

	noTLS := writeDeployment(t, t.TempDir(), "", addrs)
	fs := flag.NewFlagSet("meta", flag.ContinueOnError)
	var tf2 metaTLSFlags
	cfg = raftmeta.Config{ID: "m2"}
	var j, m string
	if err := metaFromDeployment(fs, noTLS, "", &cfg, &j, &m, &tf2); err != nil || !tf2.insecure {
		t.Fatalf("a deployment without tls_dir: %v, %+v", err, tf2)
	}
}

func TestMetaCommandRejectsBadDeployUse(t *testing.T) {
	data := t.TempDir()
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"--deploy", filepath.Join(data, "missing.yaml"), "--id", "m1", "--data", data}, "missing.yaml"},
		{[]string{"--deploy", "mars", "--id", "m1", "--data", data}, "mars"},
		{[]string{"--deploy", "local-3", "--id", "nobody", "--data", data}, `"nobody" is not a raftmeta member`},
		{[]string{"--deploy", "local-3", "--id", "meta-1", "--data", data, "--join", "127.0.0.1:1"}, "--join: set by the deployment file"},
		{[]string{"--tls", data, "--id", "m1", "--data", data}, "--tls needs --deploy"},
	} {
		err := runMeta(context.Background(), c.args, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%v: %v, want an error saying %q", c.args, err, c.says)
		}
	}
}

// TestMetaCommandRunsFromDeployment starts two members from one deployment
// file with TLS: the first forms the group, the second joins it through
// the address the file gives, and the first serves metrics where the file
// says.
func TestMetaCommandRunsFromDeployment(t *testing.T) {
	dir := t.TempDir()
	if err := pki.WriteDevPKI(filepath.Join(dir, "pki"), map[string]pki.Role{"m1": pki.RoleServer, "m2": pki.RoleServer, "ops": pki.RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	addrs := freeAddrs(t, 5)
	path := writeDeployment(t, dir, "pki", addrs)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 2)
	for _, id := range []string{"m1", "m2"} {
		go func() {
			done <- runMeta(ctx, []string{"--deploy", path, "--id", id, "--data", filepath.Join(dir, id)}, io.Discard, io.Discard)
		}()
	}
	read := func(f string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, "pki", f))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cl, err := raftmeta.NewClient(raftmeta.ClientConfig{
		Members: []string{addrs[1]},
		CAPEM:   read("ca.pem"), CertPEM: read("ops.pem"), KeyPEM: read("ops-key.pem"),
		RetryFor: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	// A joining member's API address is recorded after it becomes a
	// voter, so the group is polled until both are as the file says.
	want := map[string][2]string{"m1": {addrs[0], addrs[1]}, "m2": {addrs[3], addrs[4]}}
	asTheFileSays := func(st raftmeta.Status) string {
		if st.Leader == "" || len(st.Members) != 2 {
			return "no leader or not two members"
		}
		for _, m := range st.Members {
			if w, ok := want[m.ID]; !ok || m.RaftAddress != w[0] || m.HTTPAddress != w[1] || !m.Voter {
				return fmt.Sprintf("member %+v, want a voter at raft %q, api %q as the file says", m, w[0], w[1])
			}
		}
		return ""
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		rctx, rcancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := cl.Status(rctx)
		rcancel()
		why := "status: "
		if err == nil {
			if why = asTheFileSays(st); why == "" {
				break
			}
		} else {
			why += err.Error()
		}
		if time.Now().After(deadline) {
			t.Fatalf("group never formed as the file says: %s", why)
		}
		time.Sleep(100 * time.Millisecond) // polling a condition, with a deadline
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + addrs[2] + "/metrics")
	if err != nil {
		t.Fatalf("metrics at the file's address: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("metrics: %s", resp.Status)
	}
	cancelAndWait(t, cancel, done, 2, "member", 20*time.Second)
}
