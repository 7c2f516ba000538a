package e2e

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/raftmeta"
)

// The three-region federation as separate processes: three raftmeta
// members, per region three L2 nodes and one gateway (`tiercache global`),
// TLS on the control plane and mutual TLS on every federation link, the
// L2 nodes behind a password that the gateways use to deliver other
// regions' writes.

var fedRegions = []string{"us-east", "eu-west", "ap-south"}

const fedPassword = "e2e-cluster-password"

var globalStarted = regexp.MustCompile(`^tiercache global (\S+) \(region (\S+)\) federation on (\S+)`)

type federationProcs struct {
	*cluster
	gateways map[string]*proc  // region -> its gateway
	gwAddr   map[string]string // region -> federation address
	l2       map[string][]string
}

func (f *federationProcs) startFedNode(region, id string) {
	f.t.Helper()
	args := append([]string{"node", "--id", id, "--listen", "127.0.0.1:0", "--maxmemory", "64mb",
		"--meta", strings.Join(f.apiAddrs(), ","), "--region", region, "--requirepass", fedPassword,
		"--fed-cert", filepath.Join(f.pki, region+".pem"), "--fed-key", filepath.Join(f.pki, region+"-key.pem")}, f.tlsArgs(id)...)
	p := f.start(id, args...)
	m := f.waitLog(p, nodeStarted)
	f.nodes[id], f.nodeAt[id] = p, m[2]
}

// startGateway starts region's gateway at listen (a fixed address on a
// restart, so the links that peers and nodes keep redialling find it).
func (f *federationProcs) startGateway(region, listen string) {
	f.t.Helper()
	id := region + "-gw"
	args := append([]string{"global", "--id", id, "--region", region, "--fed-listen", listen,
		"--meta", strings.Join(f.apiAddrs(), ","), "--password", fedPassword,
		"--fed-cert", filepath.Join(f.pki, region+".pem"), "--fed-key", filepath.Join(f.pki, region+"-key.pem")}, f.tlsArgs(id)...)
	p := f.start(id, args...)
	m := f.waitLog(p, globalStarted)
	f.gateways[region], f.gwAddr[region] = p, m[3]
}

func (f *federationProcs) state(top *raftmeta.Topology, id string) raftmeta.NodeState {
	st, _ := nodeState(top, id)
	return st
}

// TestFederationDeployment runs three regions as separate processes and
// shows writes crossing regions, a value loaded once serving another
// region from L3, failover after a SIGKILLed L2 node, and a SIGKILLed
// gateway whose region keeps serving and gets what it missed replayed once
// it is back.
func TestFederationDeployment(t *testing.T) {
	if testing.Short() {
		t.Skip("deployment test: builds the binary and runs fifteen processes")
	}
	began := time.Now()
	f := &federationProcs{cluster: newCluster(t), gateways: map[string]*proc{}, gwAddr: map[string]string{}, l2: map[string][]string{}}
	certs := []string{"certs", "--out", f.pki}
	for _, r := range fedRegions {
		certs = append(certs, r+"=server", r+"-gw=node")
		for i := 1; i <= 3; i++ {
			id := fmt.Sprintf("%s-n%d", r, i)
			certs = append(certs, id+"=node")
			f.l2[r] = append(f.l2[r], id)
		}
	}
	if _, err := f.ctlRaw(t, certs...); err != nil {
		t.Fatal(err)
	}
	f.startMember("m1", "--bootstrap")
	f.startMember("m2", "--join", f.api["m1"])
	f.startMember("m3", "--join", f.api["m1"])
	admin := f.client("ops")
	waitUntil(t, 30*time.Second, "a leader", func() bool {
		st, err := statusOf(admin)
		return err == nil && st.Leader != ""
	})
	if _, err := f.ctl("keyspace", "set", "default", "--replicas", "2"); err != nil {
		t.Fatal(err)
	}
	for _, r := range fedRegions {
		f.startGateway(r, "127.0.0.1:0")
		for _, id := range f.l2[r] {
			f.startFedNode(r, id)
		}
	}
	w := raftmeta.NewWatcher(f.client("app"))
	t.Cleanup(func() { w.Close() })
	allUp := func(tp *raftmeta.Topology) bool {
		up := 0
		for _, n := range tp.Nodes {
			if n.State == raftmeta.StateUp {
				up++
			}
		}
		return up == 12
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	top, err := w.Wait(ctx, allUp)
	cancel()
	if err != nil {
		t.Fatalf("12 nodes up: %v", err)
	}
	t.Logf("federation up (3 members, 9 L2 nodes, 3 gateways) %v after the start", time.Since(began).Round(time.Millisecond))

	apps := map[string]*tiercache.Client{}
	for _, r := range fedRegions {
		app, err := tiercache.New(tiercache.Config{Nodes: tiercache.TopologyOf(top, r).Nodes, L1MaxBytes: -1, Password: fedPassword, Region: r})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { app.Close() })
		t.Cleanup(app.FollowTopology(w, r))
		apps[r] = app
	}
	east, eu, ap := apps["us-east"], apps["eu-west"], apps["ap-south"]
	o := &ops{}
	get := func(app *tiercache.Client, k string, loader tiercache.Loader) string {
		var v []byte
		_ = o.do(func(ctx context.Context) error {
			var err error
			v, err = app.Get(ctx, k, loader)
			return err
		})
		return string(v)
	}
	set := func(app *tiercache.Client, k, v string) error {
		return o.do(func(ctx context.Context) error {
			_, err := app.Set(ctx, k, []byte(v))
			return err
		})
	}

	// 1. A write in us-east is read in eu-west and ap-south (the change
	// stream through the gateways, delivered to each key's L2 owner).
	const n = 50
	for i := range n {
		if err := set(east, key(i), "east-"+key(i)); err != nil {
			t.Fatalf("set in us-east: %v", err)
		}
	}
	took := waitUntil(t, 30*time.Second, "eu-west and ap-south to read us-east's writes", func() bool {
		for i := range n {
			if get(eu, key(i), nil) != "east-"+key(i) || get(ap, key(i), nil) != "east-"+key(i) {
				return false
			}
		}
		return true
	})
	t.Logf("us-east's %d writes readable in both other regions %v after the last write", n, took.Round(time.Millisecond))

	// 2. Loaded once from the origin in us-east, then read through L3 in
	// eu-west without a second origin load.
	var loads atomic.Int64
	origin := tiercache.LoaderFunc(func(context.Context, string) ([]byte, error) {
		loads.Add(1)
		return []byte("from-origin"), nil
	})
	if v := get(east, "user:loaded-once", origin); v != "from-origin" {
		t.Fatalf("first load: %q", v)
	}
	waitUntil(t, 15*time.Second, "eu-west to read the loaded value through L3", func() bool {
		return get(eu, "user:loaded-once", nil) == "from-origin"
	})
	if v := get(ap, "user:loaded-once", origin); v != "from-origin" || loads.Load() != 1 {
		t.Fatalf("ap-south read %q after %d origin loads, want 1", v, loads.Load())
	}

	// 3. SIGKILL an L2 node in eu-west: its lease lapses, the ring drops
	// it, its keys are read from their replicas and writes go on.
	victim := "eu-west-n2"
	f.nodes[victim].kill(t)
	took = waitUntil(t, leaseTimeout+failoverMargin, victim+" down in the topology", func() bool {
		tp := w.Current()
		return tp != nil && f.state(tp, victim) == raftmeta.StateDown
	})
	t.Logf("%s marked down %v after SIGKILL", victim, took.Round(time.Millisecond))
	took = waitUntil(t, failoverMargin, "eu-west to read every key and take writes again", func() bool {
		for i := range n {
			if get(eu, key(i), nil) != "east-"+key(i) {
				return false
			}
		}
		return set(eu, "user:after-failover", "eu") == nil
	})
	t.Logf("eu-west serving again %v after the node was marked down", took.Round(time.Millisecond))
	waitUntil(t, 15*time.Second, "us-east to read eu-west's write after the failover", func() bool {
		return get(east, "user:after-failover", nil) == "eu"
	})

	// 4. SIGKILL ap-south's gateway: ap-south keeps serving on its own,
	// writes on both sides wait in outboxes, and once the gateway is back
	// at its address both sides converge.
	gwAddr := f.gwAddr["ap-south"]
	f.gateways["ap-south"].kill(t)
	waitUntil(t, leaseTimeout+failoverMargin, "ap-south's gateway down in the topology", func() bool {
		tp := w.Current()
		return tp != nil && f.state(tp, "ap-south-gw") == raftmeta.StateDown
	})
	for i := range 10 {
		if err := set(ap, key(100+i), "ap-while-cut"); err != nil {
			t.Fatalf("set in ap-south without its gateway: %v", err)
		}
		if err := set(east, key(200+i), "east-while-cut"); err != nil {
			t.Fatalf("set in us-east: %v", err)
		}
	}
	if v := get(ap, key(100), nil); v != "ap-while-cut" {
		t.Fatalf("ap-south without its gateway reads its own write as %q", v)
	}
	if v := get(ap, key(1), nil); v != "east-"+key(1) {
		t.Fatalf("ap-south without its gateway reads %q for a key it held", v)
	}
	// ap-south's nodes publish straight to the other gateways: its writes
	// arrive without its own gateway.
	took = waitUntil(t, 15*time.Second, "us-east to read ap-south's writes while ap-south's gateway is down", func() bool {
		for i := range 10 {
			if get(east, key(100+i), nil) != "ap-while-cut" {
				return false
			}
		}
		return true
	})
	t.Logf("ap-south's writes reached us-east %v after the last one, its gateway down", took.Round(time.Millisecond))
	f.startGateway("ap-south", gwAddr)
	took = waitUntil(t, 30*time.Second, "ap-south to get us-east's writes replayed after its gateway restart", func() bool {
		for i := range 10 {
			if get(ap, key(200+i), nil) != "east-while-cut" {
				return false
			}
		}
		return true
	})
	t.Logf("converged %v after the gateway restarted", took.Round(time.Millisecond))
	if o.late > 0 {
		t.Errorf("%d of %d cache calls returned more than %v past their deadline (worst %v)", o.late, o.n, lateSlack, o.worst)
	}
	t.Logf("%d cache calls, worst %v; whole test %v", o.n, o.worst.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
}
