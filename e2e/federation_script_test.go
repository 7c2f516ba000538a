package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/regions"
)

// TestLocalFederationScript runs scripts/local-federation.sh as a user
// would (the built-in local-3 deployment: fixed loopback ports, TLS, a
// password, every process separate), and shows a write in us-east reach
// eu-west and ap-south no sooner than the profile's one-way delay (each
// process simulates the WAN on what it sends) and well within it plus a
// margin, then stops it with `stop`.
func TestLocalFederationScript(t *testing.T) {
	if testing.Short() {
		t.Skip("deployment test: runs the local federation script")
	}
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	d, err := regions.OpenDeployment("local-3")
	if err != nil {
		t.Fatal(err)
	}
	// The deployment's ports are fixed: another run holding them is an
	// environment problem, not a failure of the script. They lie below
	// Linux's ephemeral range (32768-60999 by default), so no outgoing
	// connection of a parallel test lands on them.
	if err := deploymentPortsFree(d); err != nil {
		t.Skipf("local-3's fixed ports: %v", err)
	}
	dir := t.TempDir()
	bin := buildBinary(t)
	script, err := filepath.Abs("../scripts/local-federation.sh")
	if err != nil {
		t.Fatal(err)
	}
	const password = "script-test-password"
	env := append(os.Environ(), "TC_BIN="+bin, "TC_WORK="+filepath.Join(dir, "work"), "TIERCACHE_REQUIREPASS="+password)
	out := filepath.Join(dir, "script.out")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bash, script)
	cmd.Env, cmd.Stdout, cmd.Stderr = env, f, f
	cmd.SysProcAttr = childAttr() // the processes it starts are stopped by the cleanup's `stop`
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}) // closed when the script has exited, with waitErr set
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		f.Close()
		close(done)
	}()
	stop := func() {
		c := exec.Command(bash, script, "stop")
		c.Env = env
		if b, err := c.CombinedOutput(); err != nil {
			t.Errorf("%s stop: %v\n%s", script, err, b)
		}
	}
	t.Cleanup(func() {
		select {
		case <-done:
		default:
			stop()
			<-done
		}
		if t.Failed() {
			b, _ := os.ReadFile(out)
			t.Logf("--- script output\n%s", b)
		}
	})
	waitUntil(t, 90*time.Second, "the script to report the federation up", func() bool {
		select {
		case <-done:
			t.Fatalf("script exited before the federation was up: %v", waitErr)
		default:
		}
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), "federation is up")
	})

	rc := func(region string) *redis.Client {
		r, _ := d.Region(region)
		c := redis.NewClient(&redis.Options{Addr: r.Nodes[0].RESPAddr, Password: password, DisableIdentity: true, MaxRetries: -1})
		t.Cleanup(func() { c.Close() })
		return c
	}
	east, eu, ap := rc("us-east"), rc("eu-west"), rc("ap-south")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range 5 {
		k, v := "user:script-"+strconv.Itoa(i), "v"+strconv.Itoa(i)
		start := time.Now()
		if err := east.Set(ctx, k, v, 0).Err(); err != nil {
			t.Fatalf("set in us-east: %v", err)
		}
		for _, dst := range []struct {
			name string
			c    *redis.Client
		}{{"eu-west", eu}, {"ap-south", ap}} {
			waitUntil(t, 10*time.Second, dst.name+" to read "+k, func() bool {
				got, err := dst.c.Get(ctx, k).Result()
				return err == nil && got == v
			})
			elapsed := time.Since(start)
			link, _ := d.Profile.Link("us-east", dst.name)
			oneWay := link.OneWay()
			t.Logf("%s read in %s %v after the write (one-way delay %v)", k, dst.name, elapsed.Round(100*time.Microsecond), oneWay)
			if elapsed < oneWay {
				t.Errorf("%s reached %s in %v, under the profile's one-way delay %v: the WAN is not simulated", k, dst.name, elapsed, oneWay)
			}
		}
	}

	// Read-your-writes across regions through the gateways: a session
	// writes in us-east and its token is restored in eu-west right away,
	// before the change (35 ms one way) can have arrived; eu-west's owner
	// asks its gateway, which reads us-east's owner over the link.
	ks := &keyspace.Table{Default: keyspace.Settings{TTL: time.Minute, L1: keyspace.L1Off, EarlyRefresh: -1, StickyWindow: 10 * time.Second}}
	stickyKey := []byte("0123456789abcdef0123456789abcdef")
	tier := func(region string) *tiercache.Client {
		r, _ := d.Region(region)
		var nodes []tiercache.Node
		for _, n := range r.Nodes {
			nodes = append(nodes, tiercache.Node{ID: n.ID, Addr: n.RESPAddr})
		}
		c, err := tiercache.New(tiercache.Config{Nodes: nodes, Password: password, Region: region, Keyspaces: ks,
			StickyKeys: [][]byte{stickyKey}, L1MaxBytes: -1})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	tEast, tEU := tier("us-east"), tier("eu-west")
	const k = "user:ryw"
	if err := east.Set(ctx, k, "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "eu-west to read v1", func() bool {
		got, err := eu.Get(ctx, k).Result()
		return err == nil && got == "v1"
	})
	for i := range 5 {
		want := "v2-" + strconv.Itoa(i)
		sess := tEast.NewSession()
		if _, err := sess.Set(ctx, k, []byte(want)); err != nil {
			t.Fatalf("session write in us-east: %v", err)
		}
		start := time.Now()
		got, err := tEU.RestoreSession(sess.Token()).Get(ctx, k, nil)
		if err != nil || string(got) != want {
			t.Fatalf("eu-west read with the writer's token: %q %v, want %q", got, err, want)
		}
		t.Logf("sticky read in eu-west right after the write in us-east: %v (RTT 70ms)", time.Since(start).Round(100*time.Microsecond))
	}
	if remote := tEU.Stats(); remote.TokensRestored == 0 {
		t.Fatalf("no token restored in eu-west: %+v", remote)
	}

	stop()
	select {
	case <-done:
		if waitErr != nil {
			t.Fatalf("script exit after stop: %v", waitErr)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("script still running 30s after stop")
	}
	pids, err := os.ReadFile(filepath.Join(dir, "work", "pids"))
	if err == nil && len(pids) > 0 {
		t.Errorf("pid file left after stop: %q", pids)
	}
}

// deploymentPortsFree reports the first of d's fixed addresses that is
// taken: every TCP listener (Raft, API, RESP, metrics) and every gateway's
// UDP federation address.
func deploymentPortsFree(d *regions.Deployment) error {
	var tcp, udp []string
	for _, m := range d.Meta {
		tcp = append(tcp, m.RaftAddr, m.HTTPAddr, m.MetricsAddr)
	}
	for _, r := range d.Regions {
		for _, n := range r.Nodes {
			tcp = append(tcp, n.RESPAddr, n.MetricsAddr)
		}
		tcp = append(tcp, r.Gateway.MetricsAddr)
		udp = append(udp, r.Gateway.FederationAddr)
	}
	for _, addr := range tcp {
		if addr == "" {
			continue
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("%s is taken: %w", addr, err)
		}
		ln.Close()
	}
	for _, addr := range udp {
		if addr == "" {
			continue
		}
		pc, err := net.ListenPacket("udp", addr)
		if err != nil {
			return fmt.Errorf("udp %s is taken: %w", addr, err)
		}
		pc.Close()
	}
	return nil
}
