package main

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"1048576", 1 << 20, true}, {"256mb", 256 << 20, true}, {"1GB", 1 << 30, true},
		{"64kb", 64 << 10, true}, {"1k", 1000, true}, {"2m", 2e6, true}, {"3g", 3e9, true}, {"10b", 10, true},
		{" 5mb ", 5 << 20, true}, {"", 0, false}, {"mb", 0, false}, {"-1mb", 0, false}, {"1.5gb", 0, false},
		{"1tb", 0, false}, {"9999999999999gb", 0, false},
	} {
		got, err := parseSize(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseSize(%q) = %d, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, errUsage) {
			t.Errorf("parseSize(%q): error %v does not wrap errUsage", tc.in, err)
		}
	}
}

func TestParsePeers(t *testing.T) {
	peers, err := parsePeers("n1=127.0.0.1:7001, n2=127.0.0.1:7002")
	if err != nil || len(peers) != 2 || peers[1].ID != "n2" || peers[1].Addr != "127.0.0.1:7002" {
		t.Fatalf("%+v %v", peers, err)
	}
	if peers, err := parsePeers(""); err != nil || peers != nil {
		t.Fatalf("empty: %+v %v", peers, err)
	}
	for _, bad := range []string{"n1", "=x:1", "n1=", "n1=a:1,,"} {
		if _, err := parsePeers(bad); !errors.Is(err, errUsage) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestNodeCommandServesAndStops(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runNode(ctx, []string{"--listen", "127.0.0.1:0", "--id", "n1", "--maxmemory", "16mb"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatalf("no banner: %v", err)
	}
	go io.Copy(io.Discard, pr)
	fields := strings.Fields(line)
	addr := fields[len(fields)-3] // "... listening on ADDR (0 peers)"
	nc, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		t.Fatalf("dial %q from %q: %v", addr, line, err)
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	nc.Write([]byte("*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\nget k\r\nconfig get maxmemory\r\n"))
	want := "+OK\r\n$1\r\nv\r\n*2\r\n$9\r\nmaxmemory\r\n$8\r\n16777216\r\n"
	got := make([]byte, len(want))
	if _, err := io.ReadFull(nc, got); err != nil || string(got) != want {
		t.Fatalf("reply %q %v", got, err)
	}
	nc.Close()
	cancelAndWait(t, cancel, done, 1, "node", 10*time.Second)
}

func TestNodeCommandRejectsBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--maxmemory", "lots"},
		{"--peers", "n1"},
		{"--listen", "0.0.0.0:0"}, // public without a password
		{"--peers", "n2=127.0.0.1:1"},
		{"--pprof", "0.0.0.0:0", "--listen", "127.0.0.1:0"},
		{"stray"},
	} {
		if err := runNode(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}
