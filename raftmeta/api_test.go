package raftmeta

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/pki"
)

// rawCall sends one plain-HTTP request to an insecure member.
func rawCall(t *testing.T, method, url, body string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestAPIRefusesBadInputAndChangesNothing(t *testing.T) {
	c := newCluster(t, clusterOpts{n: 1, insecure: true})
	base := "http://" + c.cfgs[0].HTTPAddr
	cases := []struct {
		name, method, path, body, mention string
	}{
		{"negative ttl", "PUT", "/v1/keyspaces/user", `{"ttl": -1}`, "ttl is negative"},
		{"soft over hard", "PUT", "/v1/keyspaces/user", `{"soft_ttl": 120000000000, "hard_ttl": 60000000000}`, "soft_ttl"},
		{"unknown keyspace field", "PUT", "/v1/keyspaces/user", `{"ttl": 1000000000, "tll": 5}`, `unknown field "tll"`},
		{"trailing data", "PUT", "/v1/keyspaces/user", `{"ttl": 1000000000} {}`, "trailing data"},
		{"not json", "PUT", "/v1/keyspaces/user", `ttl=60s`, "invalid"},
		{"bad l1 policy", "PUT", "/v1/keyspaces/user", `{"l1": "sometimes"}`, "l1 policy"},
		{"keyspace name with colon", "PUT", "/v1/keyspaces/us%3Aer", `{}`, "keyspace"},
		{"bad tier", "POST", "/v1/nodes", `{"id":"n1","region":"eu","tier":"l9","address":"127.0.0.1:1"}`, "tier"},
		{"unknown node field", "POST", "/v1/nodes", `{"id":"n1","region":"eu","tier":"l2","address":"127.0.0.1:1","state":"up"}`, `unknown field "state"`},
		{"address without port", "POST", "/v1/nodes", `{"id":"n1","region":"eu","tier":"l2","address":"127.0.0.1"}`, "address"},
		{"negative weight", "POST", "/v1/nodes", `{"id":"n1","region":"eu","tier":"l2","address":"127.0.0.1:1","weight":-3}`, "weight"},
		{"zero weight", "POST", "/v1/nodes/n1/weight", `{"weight":0}`, "weight"},
		{"bad expect_epoch", "POST", "/v1/nodes/n1/drain?expect_epoch=soon", ``, "expect_epoch"},
		{"body on drain", "POST", "/v1/nodes/n1/drain", `{"please":true}`, "no body"},
		{"region id too big", "POST", "/v1/regions", `{"name":"eu","id":16}`, "region id"},
		{"bad wait", "GET", "/v1/topology?after=0&wait=-1s", ``, "wait"},
		{"bad rebalance", "PUT", "/v1/rebalance", `{"id":"r","state":"running","ranges_total":1,"ranges_done":2}`, "ranges done"},
		{"no such endpoint", "GET", "/v1/nothing", ``, "no endpoint"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := rawCall(t, tc.method, base+tc.path, tc.body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, body %s", resp.StatusCode, body)
			}
			var ae APIError
			if err := json.Unmarshal(body, &ae); err != nil || ae.Code != "invalid" || !strings.Contains(ae.Message, tc.mention) {
				t.Fatalf("error body %s (want code invalid mentioning %q)", body, tc.mention)
			}
			if ae.Member != "m1" || resp.Header.Get(HeaderMember) != "m1" {
				t.Fatalf("answer does not name its member: %s %v", body, resp.Header)
			}
		})
	}
	tp := c.members[0].Topology()
	if tp.Epoch != 0 || tp.KeyspaceVersion != 0 || len(tp.Nodes) != 0 || len(tp.Keyspaces.Spaces) != 0 || c.members[0].fsm.current().rebalance != nil {
		t.Fatalf("bad input changed state: %+v", tp)
	}
}

func TestAPIClientErrorsUnwrap(t *testing.T) {
	c := newCluster(t, clusterOpts{n: 1, insecure: true})
	cl := c.client(pki.RoleAdmin)
	ctx := ctxFor(t, 10*time.Second)
	_, err := cl.SetKeyspace(ctx, "user", keyspace.Settings{SoftTTL: time.Hour, HardTTL: time.Minute})
	var ae *APIError
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &ae) || ae.Status != http.StatusBadRequest {
		t.Fatalf("invalid settings: %v", err)
	}
	if _, err := cl.Drain(ctx, "ghost"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("drain unknown node: %v", err)
	}
	if _, err := cl.Renew(ctx, "ghost"); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("renew unknown node: %v", err)
	}
	if _, err := cl.Register(ctx, *spec("n1", "eu")); err != nil {
		t.Fatal(err)
	}
	_, err = cl.SetWeight(ctx, "n1", 50, ExpectEpoch(0))
	if !errors.Is(err, ErrEpochConflict) || !errors.As(err, &ae) || ae.Epoch != 1 {
		t.Fatalf("stale compare-and-set: %v (%+v)", err, ae)
	}
	res, err := cl.SetWeight(ctx, "n1", 50, ExpectEpoch(1))
	if err != nil || res.Epoch != 2 || !res.Changed {
		t.Fatalf("good compare-and-set: %+v %v", res, err)
	}
	// The same idempotency key twice applies once.
	r1, err1 := cl.SetWeight(ctx, "n1", 60, IdempotencyKey("once"))
	r2, err2 := cl.SetWeight(ctx, "n1", 70, IdempotencyKey("once"))
	if err1 != nil || err2 != nil || r1.Epoch != 3 || r2.Epoch != 3 || r2.Changed {
		t.Fatalf("idempotent retry: %+v %v / %+v %v", r1, err1, r2, err2)
	}
	if n, _ := c.members[0].Topology().Node("n1"); n.Weight != 60 {
		t.Fatalf("weight %d after idempotent retry, want 60", n.Weight)
	}
	if _, err := cl.SetKeyspace(ctx, "user", keyspace.Settings{TTL: time.Second}, ExpectKeyspaceVersion(4)); !errors.Is(err, ErrKeyspaceConflict) {
		t.Fatalf("stale keyspace version: %v", err)
	}
	e, err := cl.Keyspace(ctx, "orders")
	if err != nil || !e.Inherited {
		t.Fatalf("keyspace without settings: %+v %v", e, err)
	}
}

func TestAPILongPoll(t *testing.T) {
	c := newCluster(t, clusterOpts{n: 1, insecure: true})
	cl := c.client(pki.RoleAdmin)
	ctx := ctxFor(t, 20*time.Second)
	base := "http://" + c.cfgs[0].HTTPAddr

	// A poll past the current epoch times out with the current topology.
	start := time.Now()
	resp, body := rawCall(t, "GET", base+"/v1/topology?after=0&wait=150ms", "")
	if el := time.Since(start); resp.StatusCode != 200 || el < 150*time.Millisecond || el > 3*time.Second {
		t.Fatalf("timed-out poll: status %d after %v", resp.StatusCode, el)
	}
	var tp Topology
	if err := json.Unmarshal(body, &tp); err != nil || tp.Epoch != 0 || resp.Header.Get(HeaderEpoch) != "0" || resp.Header.Get(HeaderMember) != "m1" {
		t.Fatalf("timed-out poll answer %s %v", body, resp.Header)
	}

	// A waiting watch returns as soon as a write publishes a new epoch.
	type got struct {
		t   Topology
		err error
		at  time.Time
	}
	ch := make(chan got, 1)
	go func() {
		t, err := cl.Watch(ctx, 0)
		ch <- got{t, err, time.Now()}
	}()
	waitFor(t, 5*time.Second, "the watch to be held", func() bool { return c.members[0].Status().HeldPolls == 1 })
	wrote := time.Now()
	if _, err := cl.Register(ctx, *spec("n1", "eu")); err != nil {
		t.Fatal(err)
	}
	g := <-ch
	if g.err != nil || g.t.Epoch != 1 || len(g.t.Nodes) != 1 || g.at.Sub(wrote) > 2*time.Second {
		t.Fatalf("watch: %+v %v after %v", g.t, g.err, g.at.Sub(wrote))
	}

	// Keyspace changes wake WatchSince but not Watch on the epoch alone.
	go func() {
		t, err := cl.WatchSince(ctx, Position{Epoch: 1, KeyspaceVersion: 0})
		ch <- got{t, err, time.Now()}
	}()
	if _, err := cl.SetKeyspace(ctx, "user", keyspace.Settings{TTL: time.Minute}); err != nil {
		t.Fatal(err)
	}
	g = <-ch
	if g.err != nil || g.t.Epoch != 1 || g.t.KeyspaceVersion != 1 || g.t.Keyspaces.Spaces["user"].TTL != time.Minute {
		t.Fatalf("watch since: %+v %v", g.t, g.err)
	}
}

func TestAPIRoles(t *testing.T) {
	c := newCluster(t, clusterOpts{n: 1})
	ctx := ctxFor(t, 20*time.Second)
	admin := c.client(pki.RoleAdmin)
	node := c.client(pki.RoleNode)
	app := c.client(pki.RoleClient)
	server := c.client(pki.RoleServer)

	forbidden := func(what string, err error) {
		t.Helper()
		var ae *APIError
		if !errors.Is(err, ErrForbidden) || !errors.As(err, &ae) || ae.Status != http.StatusForbidden {
			t.Fatalf("%s: want 403 forbidden, got %v", what, err)
		}
	}
	// Anyone authenticated may read and watch.
	for _, cl := range []*Client{admin, node, app, server} {
		if _, err := cl.Topology(ctx); err != nil {
			t.Fatalf("read: %v", err)
		}
	}
	// Apps may not register nodes or change anything.
	_, err := app.Register(ctx, *spec("n1", "eu"))
	forbidden("app registers", err)
	_, err = app.SetKeyspace(ctx, "user", keyspace.Settings{})
	forbidden("app sets keyspace", err)
	// Node agents may register and renew, not administer.
	if _, err := node.Register(ctx, *spec("n1", "eu")); err != nil {
		t.Fatalf("node registers: %v", err)
	}
	if _, err := node.Renew(ctx, "n1"); err != nil {
		t.Fatalf("node renews: %v", err)
	}
	_, err = node.Drain(ctx, "n1")
	forbidden("node drains", err)
	_, err = node.SetKeyspace(ctx, "user", keyspace.Settings{})
	forbidden("node sets keyspace", err)
	_, err = node.AddMember(ctx, JoinRequest{ID: "m9", RaftAddress: "127.0.0.1:1", HTTPAddress: "127.0.0.1:2"})
	forbidden("node adds member", err)
	_, err = app.SetRebalance(ctx, Rebalance{ID: "r", State: RebalanceRunning})
	forbidden("app sets rebalance", err)
	// Operators and members may.
	if _, err := admin.Drain(ctx, "n1"); err != nil {
		t.Fatalf("admin drains: %v", err)
	}
	if _, err := server.SetKeyspace(ctx, "user", keyspace.Settings{TTL: time.Second}); err != nil {
		t.Fatalf("server sets keyspace: %v", err)
	}
	tp := c.members[0].Topology()
	if n, _ := tp.Node("n1"); n.State != StateDraining || tp.KeyspaceVersion != 1 {
		t.Fatalf("state after allowed writes: %+v", tp)
	}

	// A certificate from another CA does not get through the handshake.
	p := loadPKI(t)
	foreign, err := NewClient(ClientConfig{Members: c.httpAddrs(), CAPEM: p.caPEM, CertPEM: p.foreignCert, KeyPEM: p.foreignKey, RetryFor: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer foreign.Close()
	if _, err := foreign.Topology(ctx); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("foreign certificate: %v", err)
	}
	// Plain HTTP to the TLS port gets nothing.
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	if resp, err := (&http.Client{Transport: tr}).Get("http://" + c.cfgs[0].HTTPAddr + "/v1/topology"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Fatal("plain HTTP read the topology")
		}
	}
}

func TestInsecureIsLoopbackOnly(t *testing.T) {
	cfg := Config{ID: "m1", RaftAddr: "10.1.2.3:9001", HTTPAddr: "127.0.0.1:0", DataDir: t.TempDir(), Insecure: true}
	if _, err := Open(cfg); !errors.Is(err, ErrNotLoopback) || !errors.Is(err, ErrConfig) {
		t.Fatalf("insecure raft on a LAN address: %v", err)
	}
	cfg.RaftAddr = "127.0.0.1:0"
	cfg.Insecure = false
	if _, err := Open(cfg); !errors.Is(err, ErrConfig) {
		t.Fatalf("no certificates and not insecure: %v", err)
	}
	if _, err := NewClient(ClientConfig{Members: []string{"192.168.1.1:9101"}, Insecure: true}); !errors.Is(err, ErrNotLoopback) {
		t.Fatalf("insecure client to a LAN address: %v", err)
	}
	if err := (Config{ID: "m1", RaftAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", DataDir: "d", Insecure: true, LeaseTimeout: -time.Second}).Validate(); !errors.Is(err, ErrConfig) {
		t.Fatalf("negative lease: %v", err)
	}
}
