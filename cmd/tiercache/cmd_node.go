package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l2/store"
	"github.com/tiercache/tiercache/l3/gateway"
	"github.com/tiercache/tiercache/raftmeta"
	"github.com/tiercache/tiercache/regions"
)

func init() {
	register("node", "run one L2 cache node (RESP, any Redis client)", runNode)
}

// errUsage marks a bad command line.
var errUsage = errors.New("usage")

func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		listen      = fs.String("listen", "127.0.0.1:7001", "address to serve RESP on")
		id          = fs.String("id", l2.DefaultID, "this node's id in --peers")
		peers       = fs.String("peers", "", "the region's nodes, this one included: id=host:port,... (empty: single node)")
		maxMemory   = fs.String("maxmemory", "256mb", "store budget (e.g. 256mb, 1gb)")
		eviction    = fs.String("eviction", "", "eviction policy: s3fifo (default) or lru")
		requirePass = fs.String("requirepass", "", "password clients must AUTH with (or env TIERCACHE_REQUIREPASS)")
		allowPublic = fs.Bool("allow-public", false, "allow a non-loopback --listen without a password")
		region      = fs.String("region", "0", "region: its id stamped into versions (0..15), or with --meta its name (default region \"0\")")
		meta        = fs.String("meta", "", "join the control plane at these API address(es), comma-separated; the ring then follows its topology (--peers is ignored)")
		weight      = fs.Int("weight", 0, "with --meta, this node's share (0: the control plane's default)")
		advertise   = fs.String("advertise", "", "with --meta, the address peers and clients dial (default the listen address)")
		maxInFlight = fs.Int("max-in-flight", 0, "commands in flight before BUSY (0: default)")
		maxClients  = fs.Int("maxclients", 0, "open connections allowed (0: default 10000)")
		maxKey      = fs.String("max-key-bytes", "0", "longest key (0: default 1kb)")
		maxValue    = fs.String("max-value-bytes", "0", "longest value (0: default 1mb, at most 512mb)")
		verbose     = fs.Bool("v", false, "log peer link events to stderr")
		metaTLS     metaTLSFlags
		pprofAddr   = fs.String("pprof", "", "serve Go profiles (net/http/pprof) on this loopback address")
		metricsAddr = fs.String("metrics", "", "serve Prometheus metrics on http://ADDR/metrics (empty: off)")
		globalAddr  = fs.String("global", "", "with --fed-cert, link to the region's gateway at this federation address (default: the gateway the topology lists)")
		fedListen   = fs.String("fed-listen", "127.0.0.1:0", "UDP address of this node's federation endpoint (with --fed-cert)")
		deploy      = fs.String("deploy", "", "deployment file (or built-in name): region, addresses, certificates and password for --id")
		fedTLS      fedTLSFlags
	)
	metaTLS.register(fs)
	fedTLS.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	var wan *regions.HostWAN
	if *deploy != "" {
		var err error
		if wan, err = nodeFromDeployment(*deploy, *id, listen, region, meta, metricsAddr, requirePass, &metaTLS, &fedTLS); err != nil {
			return err
		}
	}
	cfg := l2.Config{
		ID:          *id,
		Listen:      *listen,
		RequirePass: *requirePass,
		AllowPublic: *allowPublic,
		Eviction:    store.Policy(*eviction),
		MaxInFlight: *maxInFlight,
	}
	if id, err := strconv.Atoi(*region); err == nil {
		cfg.RegionID = id
	} else if *meta == "" {
		return fmt.Errorf("%w: --region %q is a name, which needs --meta", errUsage, *region)
	}
	if cfg.RequirePass == "" {
		cfg.RequirePass = os.Getenv("TIERCACHE_REQUIREPASS")
	}
	var err error
	if cfg.MaxMemory, err = parseSize(*maxMemory); err != nil {
		return fmt.Errorf("--maxmemory: %w", err)
	}
	keyBytes, err := parseSize(*maxKey)
	if err != nil {
		return fmt.Errorf("--max-key-bytes: %w", err)
	}
	valueBytes, err := parseSize(*maxValue)
	if err != nil {
		return fmt.Errorf("--max-value-bytes: %w", err)
	}
	if keyBytes > math.MaxInt32 || valueBytes > math.MaxInt32 {
		return fmt.Errorf("%w: key or value limit too large", errUsage)
	}
	cfg.Limits = l2.Limits{MaxKeyBytes: int(keyBytes), MaxValueBytes: int(valueBytes), MaxClients: *maxClients}
	if cfg.Peers, err = parsePeers(*peers); err != nil {
		return fmt.Errorf("--peers: %w", err)
	}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	node, err := l2.NewNode(cfg)
	if err != nil {
		return err
	}
	var (
		gw    *gateway.Client
		fedEP *federation.Endpoint
	)
	if fedTLS.set() || *globalAddr != "" {
		ep, err := nodeGlobal(*region, *fedListen, &fedTLS, metaTLS.ca, wan)
		if err != nil {
			node.Close()
			return err
		}
		defer ep.Close() // runs after the node.Close that ends runNode
		gw, fedEP = gateway.NewClient(ep), ep
		if *globalAddr != "" {
			if err := gw.Connect(*globalAddr); err != nil {
				node.Close()
				return err
			}
		}
		node.SetGlobal(gw)
		node.SetStickyReader(gw)
		fmt.Fprintf(stdout, "tiercache node %s federation endpoint on %s (region %s)\n", cfg.ID, ep.Addr(), *region)
	}
	if err := node.Start(); err != nil {
		node.Close()
		return err
	}
	fmt.Fprintf(stdout, "tiercache node %s listening on %s (%d peers)\n", cfg.ID, node.Addr(), max(len(cfg.Peers)-1, 0))
	if *meta != "" {
		leave, err := joinMeta(node, *meta, *region, *advertise, *weight, &metaTLS, gw)
		if err != nil {
			node.Close()
			return err
		}
		defer leave()
		fmt.Fprintf(stdout, "tiercache node %s joining the control plane at %s (region %s)\n", cfg.ID, *meta, *region)
	}
	if *pprofAddr != "" {
		stop, err := servePprof(*pprofAddr)
		if err != nil {
			node.Close()
			return err
		}
		defer stop()
	}
	if *metricsAddr != "" {
		register := func(m metric.Meter) (func() error, error) {
			regs := []registrar{func(m metric.Meter) (func() error, error) { return node.RegisterMetrics(m, *region) }}
			if fedEP != nil {
				// The node's change streams to the gateways: replication
				// lag per link is measured here, at the sender.
				regs = append(regs, fedEP.RegisterMetrics)
			}
			return registerAll(m, regs...)
		}
		addr, stop, err := serveMetrics(*metricsAddr, "tiercache/l2", register)
		if err != nil {
			node.Close()
			return err
		}
		defer stop()
		fmt.Fprintf(stdout, "tiercache node %s metrics on http://%s/metrics\n", cfg.ID, addr)
	}
	<-ctx.Done()
	fmt.Fprintf(stdout, "tiercache node %s shutting down\n", cfg.ID)
	return node.Close()
}

// nodeFromDeployment fills the node's flags from its entry in a
// deployment file (flags given on the command line for the password and
// metrics keep their values) and returns the simulated WAN its federation
// socket sends through: the node publishes its writes to every region's
// gateway, so what it sends to another region is delayed by the profile's
// one-way delay, as the gateways' own traffic is.
func nodeFromDeployment(spec, id string, listen, region, meta, metricsAddr, requirePass *string, metaTLS *metaTLSFlags, fedTLS *fedTLSFlags) (*regions.HostWAN, error) {
	d, err := regions.OpenDeployment(spec)
	if err != nil {
		return nil, err
	}
	n, ok := d.NodeByID(id)
	if !ok {
		return nil, fmt.Errorf("%w: deployment %q has no L2 node %q", errUsage, d.Name, id)
	}
	*listen, *region = n.RESPAddr, n.Region
	return fromDeployment(d, id, n.Region, n.MetricsAddr, meta, metricsAddr, requirePass, metaTLS, fedTLS)
}

// nodeGlobal makes the node's own federation endpoint, with the region's
// certificate, over which its gateway.Client calls its region's gateway
// and streams its writes to every region's gateway.
func nodeGlobal(region, listen string, fedTLS *fedTLSFlags, metaCA string, wan *regions.HostWAN) (*federation.Endpoint, error) {
	if _, err := strconv.Atoi(region); err == nil {
		return nil, fmt.Errorf("%w: the global tier needs a region name (--region with --meta), not an id", errUsage)
	}
	ca, cert, key, err := fedTLS.load(metaCA)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	return openFederation(federation.Config{Region: region, CAPEM: ca, CertPEM: cert, KeyPEM: key, ListenAddr: listen}, wan)
}

// joinMeta registers node with the control plane and makes it follow the
// topology; leave stops renewing its lease and closes the client.
func joinMeta(node *l2.Node, meta, region, advertise string, weight int, tlsFlags *metaTLSFlags, gw *gateway.Client) (leave func(), err error) {
	ca, cert, key, err := tlsFlags.load()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errUsage, err)
	}
	cl, err := raftmeta.NewClient(raftmeta.ClientConfig{
		Members: strings.Split(meta, ","), CAPEM: ca, CertPEM: cert, KeyPEM: key, Insecure: tlsFlags.insecure,
	})
	if err != nil {
		return nil, err
	}
	// The migrator hooks topology changes before the first one arrives:
	// each moves the affected ranges, reports progress to the control
	// plane and follows `tiercache ctl rebalance pause|resume`. The member
	// also hands it the node's own drain (`tiercache ctl drain`), which no
	// ring change of this node announces: it then pushes all its ranges
	// to the remaining nodes, and the node may be stopped once
	// `tiercache ctl rebalance status` says done.
	mig, err := l2.NewMigrator(node, l2.MigrateConfig{Control: l2.NewMetaControl(cl)})
	if err != nil {
		cl.Close()
		return nil, err
	}
	m, err := node.JoinControlPlane(l2.MetaConfig{Client: cl, Region: region, Address: advertise, Weight: weight, Migrator: mig})
	if err != nil {
		mig.Close()
		cl.Close()
		return nil, err
	}
	removeGW := func() {}
	if gw != nil {
		// The region's gateway, once the topology lists one (unless
		// --global named it already).
		follow := func(t *raftmeta.Topology) { _ = gw.ApplyTopology(t) }
		removeGW = m.Watcher().OnChange(func(_, cur *raftmeta.Topology) { follow(cur) })
		if cur := m.Watcher().Current(); cur != nil {
			follow(cur)
		}
	}
	return func() {
		removeGW()
		m.Close()
		mig.Close()
		cl.Close()
	}, nil
}

// servePprof serves the Go profiler on a loopback address until stop.
func servePprof(addr string) (stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("--pprof: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil, fmt.Errorf("%w: --pprof must be a loopback address, got %q", errUsage, addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.Serve(ln)
	}()
	return func() {
		srv.Close()
		<-done
	}, nil
}

// parsePeers reads "id=host:port,id=host:port".
func parsePeers(s string) ([]l2.Peer, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	var peers []l2.Peer
	for _, item := range strings.Split(s, ",") {
		id, addr, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || id == "" || addr == "" {
			return nil, fmt.Errorf("%w: %q is not id=host:port", errUsage, item)
		}
		peers = append(peers, l2.Peer{ID: id, Addr: addr})
	}
	return peers, nil
}

// parseSize reads a byte count the way redis.conf does: a plain number,
// or one with k/m/g (powers of 1000) or kb/mb/gb (powers of 1024), in any
// case.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"gb", 1 << 30}, {"mb", 1 << 20}, {"kb", 1 << 10}, {"g", 1e9}, {"m", 1e6}, {"k", 1e3}, {"b", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSuffix(t, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%w: bad size %q (want e.g. 256mb, 1gb, 1048576)", errUsage, s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%w: size %q overflows", errUsage, s)
	}
	return n * mult, nil
}
