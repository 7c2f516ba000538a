package main

import (
	"fmt"
	"net"
	"strings"

	"github.com/tiercache/tiercache/l2"
)

// demoRegion is one region's L2 nodes running in this process.
type demoRegion struct {
	name  string
	nodes []*l2.Node
	ids   []string
}

func startDemoRegion(name string, count int) (*demoRegion, error) {
	peers := make([]l2.Peer, count)
	for i := range peers {
		addr, err := reserveLoopbackAddr()
		if err != nil {
			return nil, err
		}
		peers[i] = l2.Peer{ID: fmt.Sprintf("%s-n%d", name, i+1), Addr: addr}
	}
	r := &demoRegion{name: name}
	for _, p := range peers {
		n, err := l2.NewNode(l2.Config{ID: p.ID, Listen: p.Addr, Peers: peers, MaxMemory: 64 << 20})
		if err == nil {
			err = n.Start()
		}
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("start node %s: %w", p.ID, err)
		}
		r.nodes = append(r.nodes, n)
		r.ids = append(r.ids, p.ID)
	}
	return r, nil
}

func (r *demoRegion) addrs() string {
	var s []string
	for i, n := range r.nodes {
		s = append(s, r.ids[i]+"="+n.Addr())
	}
	return strings.Join(s, " ")
}

// Close stops every node.
func (r *demoRegion) Close() {
	for _, n := range r.nodes {
		_ = n.Close()
	}
}

// ownerOps is what a node did as a key's owner: the reads and writes that
// reached its store, forwarded or not.
func ownerOps(n *l2.Node) uint64 {
	s := n.Stats()
	return uint64(s.Store.Gets + s.Store.Sets + s.Store.Deletes)
}

// reserveLoopbackAddr finds a free loopback port. Peers must know each
// other's addresses before any node starts, so ports are picked up front.
func reserveLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}
