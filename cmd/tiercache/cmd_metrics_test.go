package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache/internal/telemetry/metricstest"
)

// scrapeURL fetches url without keeping the connection, so no transport
// goroutine outlives the test.
func scrapeURL(t *testing.T, url string) metricstest.Scrape {
	t.Helper()
	cl := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := cl.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return metricstest.Scrape(b)
}

// waitLine reads lines from r until one contains marker, and returns its
// last field; the rest of r is drained in the background.
func waitLine(t *testing.T, r io.Reader, marker string) string {
	t.Helper()
	br := bufio.NewReader(r)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("no line with %q: %v", marker, err)
		}
		if strings.Contains(line, marker) {
			go io.Copy(io.Discard, br)
			f := strings.Fields(line)
			return f[len(f)-1]
		}
	}
}

// TestNodeCommandServesMetrics runs `tiercache node --metrics`, sends
// commands, scrapes /metrics over HTTP, and checks the endpoint is gone
// after shutdown.
func TestNodeCommandServesMetrics(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runNode(ctx, []string{"--listen", "127.0.0.1:0", "--id", "n1", "--region", "2", "--maxmemory", "16mb", "--metrics", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	br := bufio.NewReader(pr)
	banner, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("no banner: %v", err)
	}
	addr := strings.Fields(banner)[len(strings.Fields(banner))-3]
	url := waitLine(t, br, "metrics on")

	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(nc, "set k v\r\n")
	for range 5 {
		fmt.Fprint(nc, "get k\r\n")
	}
	want := "+OK\r\n" + strings.Repeat("$1\r\nv\r\n", 5)
	got := make([]byte, len(want))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != want {
		t.Fatalf("replies %q %v", got, err)
	}
	nc.Close()

	s := scrapeURL(t, url)
	if v := s.Must(t, "tiercache_l2_commands_total", "node", "n1", "region", "2"); v < 6 {
		t.Fatalf("commands %v after 6", v)
	}
	if v := s.Must(t, "tiercache_l2_hits_total", "node", "n1"); v != 5 {
		t.Fatalf("hits %v after 5 GETs of a stored key", v)
	}

	cancelAndWait(t, cancel, done, 1, "node", 10*time.Second)
	if c, err := net.DialTimeout("tcp", strings.TrimSuffix(strings.TrimPrefix(url, "http://"), "/metrics"), time.Second); err == nil {
		c.Close()
		t.Fatal("metrics endpoint still listening after shutdown")
	}
}

// TestMetaCommandServesMetrics runs a one-member control plane with
// --metrics and waits for it to report leading and its epoch.
func TestMetaCommandServesMetrics(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runMeta(ctx, []string{"--id", "m1", "--data", t.TempDir(), "--bootstrap", "--insecure",
			"--raft", "127.0.0.1:0", "--http", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--log-level", "error"}, io.Discard, pw)
		pw.Close()
	}()
	url := waitLine(t, pr, "metrics on")
	deadline := time.Now().Add(10 * time.Second)
	for {
		s := scrapeURL(t, url)
		s.Must(t, "tiercache_topology_epoch", "member", "m1")
		if v, _ := s.Value("tiercache_meta_leader", "member", "m1"); v == 1 {
			if term := s.Must(t, "tiercache_meta_raft_term", "member", "m1"); term < 1 {
				t.Fatalf("leader at term %v", term)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("member never reported leading:\n%s", s)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancelAndWait(t, cancel, done, 1, "meta", 15*time.Second)
}
