package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tiercache/tiercache/raftmeta"
)

// The harness: one region of the real binary, each member and node its
// own process, as an operator would run it (the same layout and flags as
// scripts/local-cluster.sh).

const region = "us-east"

// proc is one started tiercache process.
type proc struct {
	name string
	args []string
	log  string // combined stdout and stderr
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has been reaped
}

// alive reports whether the process has not exited.
func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL (no shutdown path runs: no deregistration, no Raft
// leave, as when a machine dies) and waits until the process is reaped, so
// its ports are free when kill returns.
func (p *proc) kill(t testing.TB) {
	t.Helper()
	if !p.alive() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s: %v", p.name, err)
	}
	<-p.done
}

// cluster is the region: the binary, the PKI, three members, three nodes.
type cluster struct {
	t       testing.TB
	dir     string
	bin     string
	pki     string
	mu      sync.Mutex
	procs   []*proc // every process started, for cleanup
	members map[string]*proc
	api     map[string]string // member id -> API address
	nodes   map[string]*proc
	nodeAt  map[string]string // node id -> RESP address
}

// tiercacheBin is the binary the tests run, built by the first test that
// needs it; TestMain removes its directory.
var tiercacheBin struct {
	once      sync.Once
	dir, path string
	skip      string // why the tests cannot build it
	err       error
}

// buildBinary compiles cmd/tiercache once per test run and returns its
// path: the processes under test are the binary an operator ships, not
// the packages linked into the test.
func buildBinary(t testing.TB) string {
	t.Helper()
	b := &tiercacheBin
	b.once.Do(func() {
		goBin, err := exec.LookPath("go")
		if err != nil {
			b.skip = "no go tool on PATH to build the binary"
			return
		}
		if b.dir, err = os.MkdirTemp("", "tiercache-e2e-"); err != nil {
			b.err = err
			return
		}
		b.path = filepath.Join(b.dir, "tiercache")
		start := time.Now()
		cmd := exec.Command(goBin, "build", "-o", b.path, "github.com/tiercache/tiercache/cmd/tiercache")
		if out, err := cmd.CombinedOutput(); err != nil {
			b.err = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		t.Logf("built %s in %v", b.path, time.Since(start).Round(time.Millisecond))
	})
	if b.skip != "" {
		t.Skip(b.skip)
	}
	if b.err != nil {
		t.Fatal(b.err)
	}
	return b.path
}

func newCluster(t testing.TB) *cluster {
	dir := t.TempDir()
	c := &cluster{
		t: t, dir: dir, bin: buildBinary(t), pki: filepath.Join(dir, "pki"),
		members: map[string]*proc{}, api: map[string]string{},
		nodes: map[string]*proc{}, nodeAt: map[string]string{},
	}
	// Registered before any process starts, so it runs after every
	// other cleanup the test adds later (t.Cleanup is last in, first
	// out) and nothing outlives the test.
	t.Cleanup(c.stopAll)
	// The same roles as a deployment: server for members (the only role
	// Raft accepts), node for nodes, admin for the operator, client for
	// the application.
	if _, err := c.ctlRaw(t, "certs", "--out", c.pki,
		"m1=server", "m2=server", "m3=server", "n1=node", "n2=node", "n3=node", "ops=admin", "app=client"); err != nil {
		t.Fatal(err)
	}
	return c
}

// start runs the binary with args, logging to dir/name.log.
func (c *cluster) start(name string, args ...string) *proc {
	c.t.Helper()
	logPath := filepath.Join(c.dir, name+".log")
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatal(err)
	}
	cmd := exec.Command(c.bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		f.Close()
		c.t.Fatalf("start %s: %v", name, err)
	}
	p := &proc{name: name, args: args, log: logPath, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		f.Close()
		close(p.done)
	}()
	c.mu.Lock()
	c.procs = append(c.procs, p)
	c.mu.Unlock()
	return p
}

// stopAll kills every process still running and, if the test failed,
// prints the end of each log: the processes' own account is the first
// thing to read when a deployment test fails.
func (c *cluster) stopAll() {
	c.mu.Lock()
	procs := c.procs
	c.mu.Unlock()
	for _, p := range procs {
		if p.alive() {
			p.cmd.Process.Signal(syscall.SIGKILL)
		}
		<-p.done
	}
	if !c.t.Failed() {
		return
	}
	seen := map[string]bool{}
	for _, p := range procs {
		if seen[p.log] {
			continue
		}
		seen[p.log] = true
		b, _ := os.ReadFile(p.log)
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		c.t.Logf("--- %s (last %d lines)\n%s", p.name, min(len(lines), 25), strings.Join(lines[max(0, len(lines)-25):], "\n"))
	}
}

// waitLog waits for a line of p's log matching re and returns its
// submatches; the bound is generous because it covers a cold process
// start on a shared machine.
func (c *cluster) waitLog(p *proc, re *regexp.Regexp) []string {
	c.t.Helper()
	var m []string
	waitUntil(c.t, 20*time.Second, p.name+" to log "+re.String(), func() bool {
		if !p.alive() {
			c.t.Fatalf("%s exited before logging %s", p.name, re)
		}
		f, err := os.Open(p.log)
		if err != nil {
			return false
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if m = re.FindStringSubmatch(sc.Text()); m != nil {
				return true
			}
		}
		return false
	})
	return m
}

var metaStarted = regexp.MustCompile(`^meta (\S+): raft (\S+), api (\S+),`)

// startMember starts member id with the short lease the test runs on.
// Port 0 lets the kernel pick free ports; the member logs what it got.
func (c *cluster) startMember(id string, extra ...string) {
	c.t.Helper()
	args := append([]string{"meta", "--id", id, "--raft", "127.0.0.1:0", "--http", "127.0.0.1:0",
		"--data", filepath.Join(c.dir, id), "--lease", leaseTimeout.String(), "--log-level", "warn"}, c.tlsArgs(id)...)
	p := c.start(id, append(args, extra...)...)
	m := c.waitLog(p, metaStarted)
	c.members[id], c.api[id] = p, m[3]
}

var nodeStarted = regexp.MustCompile(`^tiercache node (\S+) listening on (\S+) `)

// startNode starts node id at listen (127.0.0.1:0 for a fresh port).
func (c *cluster) startNode(id, listen string) {
	c.t.Helper()
	args := append([]string{"node", "--id", id, "--listen", listen, "--maxmemory", "64mb",
		"--meta", strings.Join(c.apiAddrs(), ","), "--region", region}, c.tlsArgs(id)...)
	p := c.start(id, args...)
	m := c.waitLog(p, nodeStarted)
	c.nodes[id], c.nodeAt[id] = p, m[2]
}

func (c *cluster) tlsArgs(name string) []string {
	return []string{"--ca", filepath.Join(c.pki, "ca.pem"),
		"--cert", filepath.Join(c.pki, name+".pem"), "--key", filepath.Join(c.pki, name+"-key.pem")}
}

// apiAddrs lists the members' API addresses, dead ones included, as an
// operator's config would: clients fail over past the dead.
func (c *cluster) apiAddrs() []string {
	var out []string
	for _, id := range []string{"m1", "m2", "m3"} {
		if a, ok := c.api[id]; ok {
			out = append(out, a)
		}
	}
	return out
}

// ctlRaw runs `tiercache ctl ARGS...` and returns its stdout.
func (c *cluster) ctlRaw(t testing.TB, args ...string) ([]byte, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(c.bin, append([]string{"ctl"}, args...)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.Bytes(), fmt.Errorf("ctl %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// ctl runs a ctl command as the operator (admin certificate).
func (c *cluster) ctl(args ...string) ([]byte, error) {
	c.t.Helper()
	full := append([]string{"--meta", strings.Join(c.apiAddrs(), ","), "--timeout", "5s"}, c.tlsArgs("ops")...)
	return c.ctlRaw(c.t, append(full, args...)...)
}

// topology reads the topology the way an operator does: `ctl topology
// --json`.
func (c *cluster) topology() (*raftmeta.Topology, error) {
	out, err := c.ctl("topology", "--json")
	if err != nil {
		return nil, err
	}
	var t raftmeta.Topology
	if err := json.Unmarshal(out, &t); err != nil {
		return nil, fmt.Errorf("ctl topology --json: %w: %s", err, out)
	}
	return &t, nil
}

// client returns a raftmeta client holding certificate name's identity.
func (c *cluster) client(name string) *raftmeta.Client {
	c.t.Helper()
	read := func(f string) []byte {
		b, err := os.ReadFile(filepath.Join(c.pki, f))
		if err != nil {
			c.t.Fatal(err)
		}
		return b
	}
	cl, err := raftmeta.NewClient(raftmeta.ClientConfig{
		Members: c.apiAddrs(), CAPEM: read("ca.pem"), CertPEM: read(name + ".pem"), KeyPEM: read(name + "-key.pem"),
		// Short enough that a poll loop sees the member it asked fail
		// and moves on, long enough for an election.
		RequestTimeout: 2 * time.Second, RetryFor: 5 * time.Second,
	})
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { cl.Close() })
	return cl
}

// waitUntil polls cond every 20ms until it holds and returns how long that
// took; past bound the test fails. The bound is a ceiling for a hang, not
// the measurement: the test logs the measured times.
func waitUntil(t testing.TB, bound time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > bound {
			t.Fatalf("%s: not within %v", what, bound)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// nodeState returns id's state in t and the epoch it entered it.
func nodeState(t *raftmeta.Topology, id string) (raftmeta.NodeState, uint64) {
	n, ok := t.Node(id)
	if !ok {
		return "", 0
	}
	return n.State, n.StateEpoch
}

// upIn counts the up L2 nodes of the region.
func upIn(t *raftmeta.Topology) int {
	up := 0
	for _, n := range t.NodesIn(region, raftmeta.TierL2) {
		if n.State == raftmeta.StateUp {
			up++
		}
	}
	return up
}

// statusOf asks for the Raft view with a short deadline.
func statusOf(cl *raftmeta.Client) (raftmeta.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	return cl.Status(ctx)
}
