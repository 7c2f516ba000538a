package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/l3"
	"github.com/tiercache/tiercache/l3/gateway"
	"github.com/tiercache/tiercache/raftmeta"
	"github.com/tiercache/tiercache/regions"
)

func init() {
	register("global", "run a region's gateway to the global tier (L3 node + federation)", runGlobal)
}

// fedTLSFlags are the federation certificate flags `global` and `node`
// share: the deployment CA and a certificate whose name is the region
// (`tiercache ctl certs --out DIR REGION=server`).
type fedTLSFlags struct{ ca, cert, key string }

func (f *fedTLSFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.ca, "fed-ca", "", "federation CA certificate (PEM; default --ca)")
	fs.StringVar(&f.cert, "fed-cert", "", "federation certificate for the region, CN = region name (PEM)")
	fs.StringVar(&f.key, "fed-key", "", "its private key (PEM)")
}

// fromDir fills unset files from a certificate directory: ca.pem and
// REGION.pem / REGION-key.pem.
func (f *fedTLSFlags) fromDir(dir, region string) {
	if f.ca == "" {
		f.ca = filepath.Join(dir, "ca.pem")
	}
	if f.cert == "" {
		f.cert = filepath.Join(dir, region+".pem")
	}
	if f.key == "" {
		f.key = filepath.Join(dir, region+"-key.pem")
	}
}

func (f *fedTLSFlags) set() bool { return f.cert != "" || f.key != "" }

// load reads the files, the CA defaulting to metaCA.
func (f *fedTLSFlags) load(metaCA string) (ca, cert, key []byte, err error) {
	caPath := f.ca
	if caPath == "" {
		caPath = metaCA
	}
	if caPath == "" || f.cert == "" || f.key == "" {
		return nil, nil, nil, errors.New("federation needs --fed-cert and --fed-key (and --fed-ca or --ca); 'tiercache ctl certs --out DIR REGION=server' makes them")
	}
	out := make([][]byte, 3)
	for i, p := range []string{caPath, f.cert, f.key} {
		if out[i], err = os.ReadFile(p); err != nil {
			return nil, nil, nil, err
		}
	}
	return out[0], out[1], out[2], nil
}

// openFederation opens the process's federation endpoint. Its timeouts
// notice a dead peer in 3 s and redial within a second, so a restarted
// process is found again quickly on a LAN or loopback; with wan (a
// deployment file's profile) its socket sends through the simulated WAN.
func openFederation(cfg federation.Config, wan *regions.HostWAN) (*federation.Endpoint, error) {
	cfg.KeepAlive, cfg.IdleTimeout = 500*time.Millisecond, 3*time.Second
	cfg.BackoffMin, cfg.BackoffMax = 50*time.Millisecond, time.Second
	if wan != nil {
		pc, err := wan.Listen(cfg.ListenAddr)
		if err != nil {
			return nil, fmt.Errorf("--fed-listen: %w", err)
		}
		cfg.PacketConn = pc
	}
	ep, err := federation.New(cfg)
	if err != nil && cfg.PacketConn != nil {
		_ = cfg.PacketConn.Close()
	}
	return ep, err
}

// fromDeployment fills what `node` and `global` take alike from process id
// (of region) in deployment d: the control plane's addresses, the metrics
// address and password unless given on the command line, the control
// plane and federation certificates (plain TCP when d has none). It
// returns the simulated WAN the process's federation socket sends through:
// other regions are other processes, each delaying what it sends by the
// profile's one-way delay, so a round trip sees the profile's RTT.
func fromDeployment(d *regions.Deployment, id, region, metrics string, meta, metricsAddr, password *string, metaTLS *metaTLSFlags, fedTLS *fedTLSFlags) (*regions.HostWAN, error) {
	*meta = strings.Join(d.MetaAddrs(), ",")
	if *metricsAddr == "" {
		*metricsAddr = metrics
	}
	if metaTLS.fromDeployment(d, id) {
		fedTLS.fromDir(d.TLSDir, region)
	}
	if *password == "" {
		var err error
		if *password, err = d.Password(); err != nil {
			return nil, err
		}
	}
	return regions.NewHostWAN(d.Profile, region, d.RegionOfAddr, regions.WANConfig{})
}

func runGlobal(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("global", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		id          = fs.String("id", "", "this gateway's id (its L3 node id; required)")
		region      = fs.String("region", "", "the region this gateway serves (required without --deploy)")
		meta        = fs.String("meta", "", "control plane API address(es), comma-separated (required without --deploy)")
		listen      = fs.String("fed-listen", "127.0.0.1:7401", "UDP address of the federation endpoint")
		advertise   = fs.String("advertise", "", "federation address other regions and the region's nodes dial (default the bound address)")
		password    = fs.String("password", "", "the region's L2 password, for delivering other regions' writes (or env TIERCACHE_REQUIREPASS)")
		metricsAddr = fs.String("metrics", "", "serve Prometheus metrics on http://ADDR/metrics (empty: off)")
		deploy      = fs.String("deploy", "", "deployment file (or built-in name): region, addresses, certificates and password for --id")
		verbose     = fs.Bool("v", false, "log federation and topology events to stderr")
		metaTLS     metaTLSFlags
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
	if *id == "" {
		return fmt.Errorf("%w: --id is required", errUsage)
	}
	var wan *regions.HostWAN
	if *deploy != "" {
		d, err := regions.OpenDeployment(*deploy)
		if err != nil {
			return err
		}
		gw, ok := d.GatewayByID(*id)
		if !ok {
			return fmt.Errorf("%w: deployment %q has no gateway %q", errUsage, d.Name, *id)
		}
		*region, *listen = gw.Region, gw.FederationAddr
		if wan, err = fromDeployment(d, *id, gw.Region, gw.MetricsAddr, meta, metricsAddr, password, &metaTLS, &fedTLS); err != nil {
			return err
		}
	}
	if *region == "" || *meta == "" {
		return fmt.Errorf("%w: --region and --meta are required (or --deploy)", errUsage)
	}
	if *password == "" {
		*password = os.Getenv("TIERCACHE_REQUIREPASS")
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	fedCA, fedCert, fedKey, err := fedTLS.load(metaTLS.ca)
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	metaCA, metaCert, metaKey, err := metaTLS.load()
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}

	node, err := l3.NewNode(l3.Config{ID: *id, Region: *region})
	if err != nil {
		return err
	}
	defer node.Close()
	srv, err := gateway.NewServer(gateway.ServerConfig{Region: *region, Node: node, Password: *password, Logger: logger})
	if err != nil {
		return err
	}
	defer srv.Close()
	ep, err := openFederation(federation.Config{Region: *region, CAPEM: fedCA, CertPEM: fedCert, KeyPEM: fedKey, ListenAddr: *listen,
		Replica: srv, Source: node, Logger: logger}, wan)
	if err != nil {
		return err
	}
	defer ep.Close() // before srv and node: no Apply runs on a closed node
	if err := srv.Start(ep); err != nil {
		return err
	}
	fedAddr := ep.Addr().String()
	if *advertise != "" {
		fedAddr = *advertise
	}
	if _, _, err := net.SplitHostPort(fedAddr); err != nil {
		return fmt.Errorf("%w: --advertise %q: %w", errUsage, fedAddr, err)
	}
	fmt.Fprintf(stdout, "tiercache global %s (region %s) federation on %s\n", *id, *region, ep.Addr())

	cl, err := raftmeta.NewClient(raftmeta.ClientConfig{Members: strings.Split(*meta, ","), CAPEM: metaCA, CertPEM: metaCert, KeyPEM: metaKey, Insecure: metaTLS.insecure})
	if err != nil {
		return err
	}
	defer cl.Close()
	watcher := raftmeta.NewWatcher(cl)
	defer watcher.Close()
	apply := func(t *raftmeta.Topology) {
		if err := srv.ApplyTopology(t); err != nil {
			logger.Warn("global: topology not fully applied", "epoch", t.Epoch, "err", err)
		}
	}
	remove := watcher.OnChange(func(_, cur *raftmeta.Topology) { apply(cur) })
	defer remove()
	if cur := watcher.Current(); cur != nil {
		apply(cur)
	}
	agent, err := raftmeta.StartAgent(raftmeta.AgentConfig{Client: cl,
		Node: raftmeta.NodeSpec{ID: *id, Region: *region, Tier: raftmeta.TierL3, Address: fedAddr, FederationAddress: fedAddr}})
	if err != nil {
		return fmt.Errorf("%w: %w", errUsage, err)
	}
	defer agent.Close()
	fmt.Fprintf(stdout, "tiercache global %s joining the control plane at %s\n", *id, *meta)

	if *metricsAddr != "" {
		register := func(m metric.Meter) (func() error, error) {
			return registerAll(m, node.RegisterMetrics, ep.RegisterMetrics, srv.Client().RegisterMetrics, srv.RegisterMetrics)
		}
		addr, stop, err := serveMetrics(*metricsAddr, "tiercache/l3", register)
		if err != nil {
			return err
		}
		defer stop()
		fmt.Fprintf(stdout, "tiercache global %s metrics on http://%s/metrics\n", *id, addr)
	}
	<-ctx.Done()
	fmt.Fprintf(stdout, "tiercache global %s shutting down\n", *id)
	return nil
}
