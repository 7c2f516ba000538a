package main

import (
	"flag"
	"fmt"
	"strings"

	"github.com/tiercache/tiercache/raftmeta"
	"github.com/tiercache/tiercache/regions"
)

// metaDeployOwned are the meta flags a deployment file decides; setting
// one beside --deploy is an error rather than a silent override, so the
// file stays the one description of the federation.
var metaDeployOwned = []string{"raft", "http", "bootstrap", "join", "metrics", "ca", "cert", "key", "insecure"}

// metaFromDeployment fills a member's settings from the deployment named by
// spec: its Raft and API addresses and metrics address, bootstrap for the
// first member and a join through the others for the rest, and its
// certificates from the TLS directory (tlsDir, when set, replaces the
// file's), or plain TCP when the deployment has none.
func metaFromDeployment(fs *flag.FlagSet, spec, tlsDir string, cfg *raftmeta.Config, join, metricsAddr *string, tf *metaTLSFlags) error {
	var clash []string
	fs.Visit(func(f *flag.Flag) {
		for _, owned := range metaDeployOwned {
			if f.Name == owned {
				clash = append(clash, "--"+owned)
			}
		}
	})
	if len(clash) > 0 {
		return fmt.Errorf("%s: set by the deployment file, not with --deploy", strings.Join(clash, ", "))
	}
	d, err := regions.OpenDeployment(spec)
	if err != nil {
		return err
	}
	m, ok := d.Member(cfg.ID)
	if !ok {
		ids := make([]string, len(d.Meta))
		for i, mm := range d.Meta {
			ids[i] = mm.ID
		}
		return fmt.Errorf("--id %q is not a raftmeta member of deployment %q (members: %s)", cfg.ID, d.Name, strings.Join(ids, ", "))
	}
	cfg.RaftAddr, cfg.HTTPAddr, *metricsAddr = m.RaftAddr, m.HTTPAddr, m.MetricsAddr
	// The first member forms the group (once: Bootstrap is ignored when
	// the data directory has Raft state); the others ask any member to
	// add them.
	if d.Meta[0].ID == m.ID {
		cfg.Bootstrap = true
	} else {
		var peers []string
		for _, other := range d.Meta {
			if other.ID != m.ID {
				peers = append(peers, other.HTTPAddr)
			}
		}
		*join = strings.Join(peers, ",")
	}
	if tlsDir != "" {
		override := *d // a copy: the loaded deployment stays as read
		override.TLSDir = tlsDir
		d = &override
	}
	tf.fromDeployment(d, m.ID)
	return nil
}
