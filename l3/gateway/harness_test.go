package gateway

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/pki"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l3"
	"github.com/tiercache/tiercache/raftmeta"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const password = "cluster-secret"

// plain keeps L1 out of the way: every read reaches L2.
var plain = &keyspace.Table{Default: keyspace.Settings{TTL: time.Minute, L1: keyspace.L1Off, EarlyRefresh: -1}}

// world is a few regions in one test process, each as the binaries run
// them: a gateway (L3 node, endpoint, Server) and L2 nodes with endpoints
// of their own linked to it, all on real QUIC and TCP on 127.0.0.1.
type world struct {
	t       *testing.T
	ca      *pki.CA
	epoch   uint64
	regions []*region
}

type region struct {
	name    string
	id      int
	gw      *gatewayProc // nil while down
	gwAddr  string       // fixed after the first start, so a restart reuses it
	l2      []*l2.Node
	clients []*Client
	eps     []*federation.Endpoint
}

type gatewayProc struct {
	node *l3.Node
	srv  *Server
	ep   *federation.Endpoint
}

func (g *gatewayProc) close() {
	_ = g.ep.Close()
	_ = g.srv.Close()
	_ = g.node.Close()
}

func newWorld(t *testing.T, names ...string) *world {
	t.Helper()
	ca, err := pki.NewCA("gateway test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	w := &world{t: t, ca: ca}
	for i, name := range names {
		r := &region{name: name, id: i + 1}
		w.regions = append(w.regions, r)
		w.startGateway(r)
		for j := range 2 {
			w.startL2(r, j)
		}
		peers := make([]l2.Peer, len(r.l2))
		for j, n := range r.l2 {
			peers[j] = l2.Peer{ID: fmt.Sprintf("%s-l2-%d", name, j), Addr: n.Addr()}
		}
		for _, n := range r.l2 {
			if err := n.SetPeers(peers); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Cleanup(func() {
		for _, r := range w.regions {
			for _, ep := range r.eps {
				_ = ep.Close()
			}
			if r.gw != nil {
				r.gw.close()
			}
			for _, n := range r.l2 {
				_ = n.Close()
			}
		}
	})
	w.publish()
	for _, r := range w.regions {
		for _, l := range r.gw.ep.Links() {
			w.wait(fmt.Sprintf("%s gateway linked to %s", r.name, l.Region()), l.Connected)
		}
		for _, ep := range r.eps {
			w.wait(fmt.Sprintf("%s node linked to every gateway", r.name), func() bool {
				links := ep.Links()
				for _, l := range links {
					if !l.Connected() {
						return false
					}
				}
				return len(links) == len(w.regions)
			})
		}
	}
	return w
}

func (w *world) cert(region string) (certPEM, keyPEM []byte) {
	w.t.Helper()
	c, k, err := w.ca.Issue(pki.IssueOptions{CommonName: region, Role: pki.RoleServer, DNSNames: []string{region}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		w.t.Fatal(err)
	}
	return c, k
}

// fedConfig has the federated assembly's test-friendly timeouts.
func (w *world) fedConfig(region, listen string) federation.Config {
	c, k := w.cert(region)
	return federation.Config{
		Region: region, CAPEM: w.ca.CertPEM(), CertPEM: c, KeyPEM: k, ListenAddr: listen,
		KeepAlive: 200 * time.Millisecond, IdleTimeout: 1500 * time.Millisecond, HandshakeTimeout: 2 * time.Second,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 300 * time.Millisecond, StatsInterval: 200 * time.Millisecond,
	}
}

func (w *world) startGateway(r *region) {
	w.t.Helper()
	node, err := l3.NewNode(l3.Config{ID: r.name + "-l3", Region: r.name})
	if err != nil {
		w.t.Fatal(err)
	}
	srv, err := NewServer(ServerConfig{Region: r.name, Node: node, Password: password})
	if err != nil {
		w.t.Fatal(err)
	}
	cfg := w.fedConfig(r.name, r.gwAddr)
	cfg.Replica, cfg.Source = srv, node
	ep, err := federation.New(cfg)
	if err != nil {
		w.t.Fatal(err)
	}
	if err := srv.Start(ep); err != nil {
		w.t.Fatal(err)
	}
	r.gw = &gatewayProc{node: node, srv: srv, ep: ep}
	r.gwAddr = ep.Addr().String()
}

func (w *world) startL2(r *region, j int) {
	w.t.Helper()
	n, err := l2.NewNode(l2.Config{ID: fmt.Sprintf("%s-l2-%d", r.name, j), RegionID: r.id, RequirePass: password, MaxMemory: 16 << 20})
	if err == nil {
		err = n.Start()
	}
	if err != nil {
		w.t.Fatal(err)
	}
	n.SetKeyspaces(plain)
	ep, err := federation.New(w.fedConfig(r.name, ""))
	if err != nil {
		w.t.Fatal(err)
	}
	c := NewClient(ep)
	n.SetGlobal(c)
	n.SetStickyReader(c)
	r.l2 = append(r.l2, n)
	r.eps = append(r.eps, ep)
	r.clients = append(r.clients, c)
}

// topology is what the control plane would publish: every region's
// gateway as an L3 node and its L2 nodes, all up (a region whose gateway
// is down has it marked down).
func (w *world) topology() *raftmeta.Topology {
	w.epoch++
	t := &raftmeta.Topology{Epoch: w.epoch}
	for _, r := range w.regions {
		t.Regions = append(t.Regions, raftmeta.Region{Name: r.name, ID: r.id})
		st := raftmeta.StateUp
		if r.gw == nil {
			st = raftmeta.StateDown
		}
		t.Nodes = append(t.Nodes, raftmeta.Node{ID: r.name + "-l3", Region: r.name, Tier: raftmeta.TierL3,
			Address: r.gwAddr, FederationAddress: r.gwAddr, Weight: 100, State: st})
		for j, n := range r.l2 {
			t.Nodes = append(t.Nodes, raftmeta.Node{ID: fmt.Sprintf("%s-l2-%d", r.name, j), Region: r.name, Tier: raftmeta.TierL2,
				Address: n.Addr(), Weight: 100, State: raftmeta.StateUp})
		}
	}
	slices.SortFunc(t.Nodes, func(a, b raftmeta.Node) int { return strings.Compare(a.ID, b.ID) })
	return t
}

// publish hands a new topology to every gateway and node client, as
// their watchers would.
func (w *world) publish() {
	w.t.Helper()
	t := w.topology()
	for _, r := range w.regions {
		if r.gw != nil {
			if err := r.gw.srv.ApplyTopology(t); err != nil {
				w.t.Fatalf("%s gateway topology: %v", r.name, err)
			}
		}
		for _, c := range r.clients {
			if err := c.ApplyTopology(t); err != nil {
				w.t.Fatalf("%s node topology: %v", r.name, err)
			}
		}
	}
}

func (w *world) region(name string) *region {
	for _, r := range w.regions {
		if r.name == name {
			return r
		}
	}
	w.t.Fatalf("no region %q", name)
	return nil
}

// wait polls cond until it holds, failing the test after 15 s.
func (w *world) wait(what string, cond func() bool) {
	w.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			w.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// tierClient is an app's tier client in region r.
func (w *world) tierClient(r *region) *tiercache.Client {
	w.t.Helper()
	var nodes []tiercache.Node
	for j, n := range r.l2 {
		nodes = append(nodes, tiercache.Node{ID: fmt.Sprintf("%s-l2-%d", r.name, j), Addr: n.Addr()})
	}
	c, err := tiercache.New(tiercache.Config{Nodes: nodes, Keyspaces: plain, Password: password, Region: r.name})
	if err != nil {
		w.t.Fatal(err)
	}
	w.t.Cleanup(func() { _ = c.Close() })
	return c
}

// read returns what region r's tier client reads for key with no loader
// ("" for a miss or an error).
func read(c *tiercache.Client, key string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := c.Get(ctx, key, nil)
	if err != nil {
		return ""
	}
	return string(v)
}
