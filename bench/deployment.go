package bench

import (
	"context"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/federated"
	"github.com/tiercache/tiercache/internal/keyspace"
)

// connectTimeout bounds how long a scenario waits for the federated
// assembly's links to come up before it gives up.
const connectTimeout = 15 * time.Second

// startFederated starts the in-process federated assembly and waits until
// every region's links are up. The caller closes the deployment; on an
// error nothing is left running.
func startFederated(ctx context.Context, opts federated.Options) (*federated.Deployment, error) {
	d, err := federated.Start(opts)
	if err != nil {
		return nil, err
	}
	wctx, cancel := context.WithTimeout(ctx, connectTimeout)
	defer cancel()
	if err := d.WaitConnected(wctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// regionNodes names a region's L2 nodes as the tier client does.
func regionNodes(r *federated.Region) []tiercache.Node {
	var nodes []tiercache.Node
	for _, p := range r.Peers() {
		nodes = append(nodes, tiercache.Node{ID: p.ID, Addr: p.Addr})
	}
	return nodes
}

// regionClient is a tier client of one region's L2 nodes.
func regionClient(r *federated.Region, ks *keyspace.Table) (*tiercache.Client, error) {
	return tiercache.New(tiercache.Config{Nodes: regionNodes(r), Keyspaces: ks})
}
