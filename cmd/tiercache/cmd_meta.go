package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/tiercache/tiercache/raftmeta"
	"github.com/tiercache/tiercache/regions"
)

func init() {
	register("meta", "run a member of the raftmeta control plane", runMeta)
}

// metaTLSFlags are the certificate flags meta and ctl share.
type metaTLSFlags struct {
	ca, cert, key string
	insecure      bool
}

func (f *metaTLSFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.ca, "ca", f.ca, "deployment CA certificate (PEM)")
	fs.StringVar(&f.cert, "cert", f.cert, "this process's certificate (PEM)")
	fs.StringVar(&f.key, "key", f.key, "this process's private key (PEM)")
	fs.BoolVar(&f.insecure, "insecure", f.insecure, "plain TCP without authentication (loopback addresses only)")
}

// fromDeployment takes the certificates deployment d gives process id, or
// plain TCP when d has none; it reports whether d has them.
func (f *metaTLSFlags) fromDeployment(d *regions.Deployment, id string) bool {
	files, ok := d.TLS(id)
	if !ok {
		f.insecure = true
		return false
	}
	f.ca, f.cert, f.key = files.CA, files.Cert, files.Key
	return true
}

// load reads the three PEM files, or none when insecure.
func (f *metaTLSFlags) load() (ca, cert, key []byte, err error) {
	if f.insecure {
		if f.ca != "" || f.cert != "" || f.key != "" {
			return nil, nil, nil, errors.New("--insecure and certificates are exclusive")
		}
		return nil, nil, nil, nil
	}
	if f.ca == "" || f.cert == "" || f.key == "" {
		return nil, nil, nil, errors.New("need --ca, --cert and --key (or --insecure on loopback); 'tiercache ctl certs' makes a development set")
	}
	out := make([][]byte, 3)
	for i, p := range []string{f.ca, f.cert, f.key} {
		if out[i], err = os.ReadFile(p); err != nil {
			return nil, nil, nil, err
		}
	}
	return out[0], out[1], out[2], nil
}

func runMeta(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("meta", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		cfg         raftmeta.Config
		join        string
		logLevel    string
		metricsAddr string
		tf          metaTLSFlags
		deploy      string
		tlsDir      string
	)
	fs.StringVar(&cfg.ID, "id", "", "member id, stable across restarts (required)")
	fs.StringVar(&cfg.RaftAddr, "raft", "127.0.0.1:9001", "Raft listen address")
	fs.StringVar(&cfg.HTTPAddr, "http", "127.0.0.1:9101", "API listen address")
	fs.StringVar(&cfg.DataDir, "data", "", "directory for the Raft log and snapshots (required)")
	fs.BoolVar(&cfg.Bootstrap, "bootstrap", false, "form a new group of this member if the data directory is empty")
	fs.StringVar(&join, "join", "", "API address(es) of existing members to join, comma-separated")
	fs.DurationVar(&cfg.LeaseTimeout, "lease", raftmeta.DefaultLeaseTimeout, "node lease timeout")
	fs.DurationVar(&cfg.UpAfter, "up-after", 0, "steady renewal a down node needs before it is up again (default: the lease timeout)")
	fs.StringVar(&logLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	fs.StringVar(&metricsAddr, "metrics", "", "serve Prometheus metrics on http://ADDR/metrics (empty: off)")
	fs.StringVar(&deploy, "deploy", "", "take this member's addresses, peers and certificates from a deployment file (or a built-in deployment's name, e.g. local-3)")
	fs.StringVar(&tlsDir, "tls", "", "with --deploy, read certificates from this directory instead of the deployment's tls_dir")
	tf.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: tiercache meta --id ID --data DIR [--raft ADDR] [--http ADDR] [--bootstrap | --join ADDR] [--ca F --cert F --key F | --insecure]")
		fmt.Fprintln(stderr, "       tiercache meta --deploy FILE --id ID --data DIR [--tls DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.ID == "" || cfg.DataDir == "" {
		return errors.New("--id and --data are required")
	}
	if deploy != "" {
		if err := metaFromDeployment(fs, deploy, tlsDir, &cfg, &join, &metricsAddr, &tf); err != nil {
			return err
		}
	} else if tlsDir != "" {
		return errors.New("--tls needs --deploy")
	}
	if !cfg.Bootstrap && join == "" {
		fmt.Fprintln(stderr, "note: neither --bootstrap nor --join: waiting to be added by an existing member or to resume from --data")
	}
	if join != "" {
		cfg.Join = strings.Split(join, ",")
	}
	var err error
	cfg.Insecure = tf.insecure
	if cfg.CAPEM, cfg.CertPEM, cfg.KeyPEM, err = tf.load(); err != nil {
		return err
	}
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "raftmeta", Output: stderr, Level: hclog.LevelFromString(logLevel)})
	m, err := raftmeta.Open(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "meta %s: raft %s, api %s, data %s\n", m.ID(), m.RaftAddr(), m.HTTPAddr(), cfg.DataDir)
	if metricsAddr != "" {
		addr, stop, err := serveMetrics(metricsAddr, "tiercache/raftmeta", m.RegisterMetrics)
		if err != nil {
			m.Close()
			return err
		}
		defer stop() // runs after Close: the gauges read Raft's counters, which outlive its shutdown
		fmt.Fprintf(stderr, "meta %s: metrics on http://%s/metrics\n", m.ID(), addr)
	}
	<-ctx.Done()
	done := make(chan struct{})
	go func() {
		m.Close()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-time.After(10 * time.Second):
		return errors.New("member did not stop within 10s")
	}
}
