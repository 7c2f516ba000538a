package federationtest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/internal/hlc"
	"github.com/tiercache/tiercache/internal/pki"
	"github.com/tiercache/tiercache/regions"
)

// ClusterOptions shape a Cluster. The zero value runs the default regions
// profile with test-friendly timeouts.
type ClusterOptions struct {
	// Profile defaults to regions.DefaultProfile.
	Profile *regions.Profile
	// Seed makes the WAN's loss and jitter reproducible (0: random).
	Seed uint64
	// Configure, if set, adjusts each region's Config before its endpoint
	// starts (limits, timeouts, a logger).
	Configure func(region string, cfg *federation.Config)
}

// Cluster is one federation endpoint per region of a profile, each with a
// MemStore as Replica and Source, on sockets of one simulated WAN, every
// region linked to every other. Close (registered with t.Cleanup) stops
// everything.
type Cluster struct {
	t    testing.TB
	opts ClusterOptions
	// WAN is the simulated network; partition and heal links through it.
	WAN *regions.WAN
	// CA signed every region's certificate.
	CA *pki.CA

	mu        sync.Mutex // protects the maps
	endpoints map[string]*federation.Endpoint
	stores    map[string]*MemStore
	clocks    map[string]*hlc.Clock
	addrs     map[string]net.Addr
	certs     map[string][2][]byte
}

// NewCluster starts and links every region. It does not wait for the links
// to connect; see WaitConnected.
func NewCluster(t testing.TB, opts ClusterOptions) *Cluster {
	t.Helper()
	if opts.Profile == nil {
		p, err := regions.Builtin(regions.DefaultProfile)
		if err != nil {
			t.Fatal(err)
		}
		opts.Profile = p
	}
	wan, err := regions.NewWAN(opts.Profile, regions.WANConfig{Seed: opts.Seed})
	if err != nil {
		t.Fatal(err)
	}
	ca, err := pki.NewCA("federationtest CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{
		t: t, opts: opts, WAN: wan, CA: ca,
		endpoints: map[string]*federation.Endpoint{},
		stores:    map[string]*MemStore{},
		clocks:    map[string]*hlc.Clock{},
		addrs:     map[string]net.Addr{},
		certs:     map[string][2][]byte{},
	}
	t.Cleanup(c.Close)
	for _, r := range opts.Profile.Regions {
		cert, key, err := ca.Issue(pki.IssueOptions{CommonName: r.Name, Role: pki.RoleServer, DNSNames: []string{r.Name}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
		if err != nil {
			t.Fatal(err)
		}
		clk, err := hlc.New(r.ID, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.certs[r.Name] = [2][]byte{cert, key}
		c.clocks[r.Name] = clk
		c.stores[r.Name] = NewMemStore()
		if err := c.start(r.Name, "127.0.0.1:0", false); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range opts.Profile.Regions {
		if err := c.connect(r.Name); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// Config returns the Config a region's endpoint is started with.
func (c *Cluster) Config(region string) federation.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	cert := c.certs[region]
	cfg := federation.Config{
		Region: region,
		CAPEM:  c.CA.CertPEM(), CertPEM: cert[0], KeyPEM: cert[1],
		Replica: c.stores[region], Source: c.stores[region],
		KeepAlive: 200 * time.Millisecond, IdleTimeout: 1500 * time.Millisecond,
		HandshakeTimeout: 2 * time.Second,
		BackoffMin:       20 * time.Millisecond, BackoffMax: 500 * time.Millisecond,
		StatsInterval: 200 * time.Millisecond,
	}
	if c.opts.Configure != nil {
		c.opts.Configure(region, &cfg)
	}
	return cfg
}

func (c *Cluster) start(region, addr string, links bool) error {
	conn, err := c.WAN.Listen(region, addr)
	if err != nil {
		return err
	}
	cfg := c.Config(region)
	cfg.PacketConn = conn
	ep, err := federation.New(cfg)
	if err != nil {
		_ = conn.Close()
		return err
	}
	c.mu.Lock()
	c.endpoints[region] = ep
	c.addrs[region] = ep.Addr()
	c.mu.Unlock()
	if links {
		return c.connect(region)
	}
	return nil
}

func (c *Cluster) connect(region string) error {
	ep := c.Endpoint(region)
	for _, r := range c.opts.Profile.Regions {
		if r.Name == region {
			continue
		}
		c.mu.Lock()
		addr := c.addrs[r.Name]
		c.mu.Unlock()
		if _, err := ep.Connect(r.Name, addr); err != nil {
			return err
		}
	}
	return nil
}

// Endpoint returns a region's running endpoint (nil while stopped).
func (c *Cluster) Endpoint(region string) *federation.Endpoint {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.endpoints[region]
}

// Store returns a region's store; it outlives restarts of the endpoint.
func (c *Cluster) Store(region string) *MemStore {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stores[region]
}

// Link returns from's link to region to.
func (c *Cluster) Link(from, to string) *federation.Link {
	ep := c.Endpoint(from)
	if ep == nil {
		c.t.Fatalf("federationtest: region %q is stopped", from)
	}
	l, ok := ep.Link(to)
	if !ok {
		c.t.Fatalf("federationtest: no link %s→%s", from, to)
	}
	return l
}

// Write makes a local write in a running region: a fresh version from the region's
// hybrid logical clock, applied to its store, then published.
func (c *Cluster) Write(region, key, value string) federation.Change {
	c.mu.Lock()
	clk, store, ep := c.clocks[region], c.stores[region], c.endpoints[region]
	c.mu.Unlock()
	ch := federation.Change{Key: []byte(key), Value: []byte(value), Version: clk.Now()}
	store.Put(ch)
	if ep == nil {
		c.t.Errorf("federationtest: write in stopped region %s", region)
		return ch
	}
	if err := ep.Publish(ch); err != nil {
		c.t.Errorf("federationtest: publish in %s: %v", region, err)
	}
	return ch
}

// WaitConnected waits until every link of every running region is up.
func (c *Cluster) WaitConnected(ctx context.Context) error {
	c.mu.Lock()
	eps := make([]*federation.Endpoint, 0, len(c.endpoints))
	for _, ep := range c.endpoints {
		eps = append(eps, ep)
	}
	c.mu.Unlock()
	for _, ep := range eps {
		for _, l := range ep.Links() {
			if err := l.WaitConnected(ctx); err != nil {
				return fmt.Errorf("%s→%s: %w", ep.Region(), l.Region(), err)
			}
		}
	}
	return nil
}

// Stop closes a region's endpoint, as if its process died: its outboxes
// are lost, its store is kept.
func (c *Cluster) Stop(region string) {
	c.mu.Lock()
	ep := c.endpoints[region]
	delete(c.endpoints, region)
	c.mu.Unlock()
	if ep != nil {
		_ = ep.Close()
	}
}

// Start starts a stopped region again on its old address and links it to
// every other region.
func (c *Cluster) Start(region string) error {
	c.mu.Lock()
	addr := c.addrs[region].String()
	c.mu.Unlock()
	return c.start(region, addr, true)
}

// Close stops every region.
func (c *Cluster) Close() {
	c.mu.Lock()
	eps := c.endpoints
	c.endpoints = map[string]*federation.Endpoint{}
	c.mu.Unlock()
	var wg sync.WaitGroup
	for _, ep := range eps {
		wg.Add(1)
		go func() { defer wg.Done(); _ = ep.Close() }()
	}
	wg.Wait()
}
