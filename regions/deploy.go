package regions

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
)

// A Deployment places a profile on machines: it gives every process of a
// multi-process federation its addresses, and says where the certificates
// are and which environment variable holds the cluster password. Each
// process (tiercache meta, node, global) reads the same file and picks its
// own entry by id, so one file describes the whole federation.
//
// A Deployment is immutable once loaded and safe for concurrent use.
type Deployment struct {
	// Name identifies the deployment (e.g. "local-3").
	Name string
	// Profile is the deployment's region profile, with every region's L2
	// nodes, L3 node and federation address filled in from the deployment:
	// code that reads a profile sees where things really are.
	Profile *Profile
	// TLSDir is the directory `tiercache ctl certs` wrote: ca.pem, and
	// ID.pem and ID-key.pem for every process id. A relative path in a file
	// is resolved against the file's directory; in a built-in deployment it
	// is relative to the working directory. Empty means no TLS, which only
	// loopback addresses allow.
	TLSDir string
	// PasswordEnv names the environment variable holding the password L2
	// nodes require (AUTH); empty means no password.
	PasswordEnv string
	// Meta are the raftmeta members. The first one forms the group; the
	// others join it.
	Meta []MetaMember
	// Regions are the deployed regions, in profile order.
	Regions []RegionDeployment

	byID   map[string]deployed
	byAddr map[string]string // normalised address → region ("" for members)
}

// MetaMember is one raftmeta member.
type MetaMember struct {
	ID string
	// RaftAddr is where the member listens for Raft RPC.
	RaftAddr string
	// HTTPAddr is the member's API, which nodes and ctl dial.
	HTTPAddr string
	// MetricsAddr serves /metrics; empty means off.
	MetricsAddr string
}

// RegionDeployment is where one region's processes run.
type RegionDeployment struct {
	Name string
	// ID is the region's id in versions, from the profile.
	ID int
	// Nodes are the region's L2 nodes.
	Nodes []L2Node
	// Gateway is the region's one global-tier process: its L3 node and its
	// federation endpoint.
	Gateway Gateway
}

// L2Node is one regional node.
type L2Node struct {
	ID     string
	Region string
	// RESPAddr is where the node serves RESP.
	RESPAddr string
	// MetricsAddr serves /metrics; empty means off.
	MetricsAddr string
}

// Gateway is a region's global-tier process.
type Gateway struct {
	ID     string
	Region string
	// FederationAddr is the UDP address its QUIC federation endpoint
	// listens on.
	FederationAddr string
	// MetricsAddr serves /metrics; empty means off.
	MetricsAddr string
}

// TLSFiles are the PEM files one process authenticates with.
type TLSFiles struct {
	CA, Cert, Key string
}

// deployed locates a process id.
type deployed struct {
	region string // "" for a raftmeta member
	member int    // index in Meta, or -1
	node   int    // index in the region's Nodes, or -1 for the gateway
}

// Region returns the deployment of the region called name.
func (d *Deployment) Region(name string) (RegionDeployment, bool) {
	for _, r := range d.Regions {
		if r.Name == name {
			return r, true
		}
	}
	return RegionDeployment{}, false
}

// Member returns the raftmeta member whose id is id.
func (d *Deployment) Member(id string) (MetaMember, bool) {
	p, ok := d.byID[id]
	if !ok || p.member < 0 {
		return MetaMember{}, false
	}
	return d.Meta[p.member], true
}

// NodeByID returns the L2 node whose id is id.
func (d *Deployment) NodeByID(id string) (L2Node, bool) {
	p, ok := d.byID[id]
	if !ok || p.member >= 0 || p.node < 0 {
		return L2Node{}, false
	}
	r, _ := d.Region(p.region)
	return r.Nodes[p.node], true
}

// GatewayByID returns the gateway whose id is id.
func (d *Deployment) GatewayByID(id string) (Gateway, bool) {
	p, ok := d.byID[id]
	if !ok || p.member >= 0 || p.node >= 0 {
		return Gateway{}, false
	}
	r, _ := d.Region(p.region)
	return r.Gateway, true
}

// RegionOfAddr returns the region of the process listening on addr (any of
// its addresses: RESP, federation, metrics). Raftmeta members belong to no
// region, so their addresses report false, as do addresses not in the
// deployment. IP addresses compare by value ("127.0.0.1:7001" and
// "[::ffff:127.0.0.1]:7001" are the same); host names compare as written,
// unresolved, so a HostWAN (which asks with the IP a packet goes to) needs
// the gateways' federation addresses written as IPs.
func (d *Deployment) RegionOfAddr(addr string) (string, bool) {
	r, ok := d.byAddr[normAddr(addr)]
	return r, ok && r != ""
}

// MetaAddrs returns the members' API addresses, in file order: what
// `tiercache node --meta` and `tiercache ctl --meta` take.
func (d *Deployment) MetaAddrs() []string {
	out := make([]string, len(d.Meta))
	for i, m := range d.Meta {
		out[i] = m.HTTPAddr
	}
	return out
}

// TLS returns the certificate files of the process called id, and false
// when the deployment runs without TLS.
func (d *Deployment) TLS(id string) (TLSFiles, bool) {
	if d.TLSDir == "" {
		return TLSFiles{}, false
	}
	return TLSFiles{
		CA:   filepath.Join(d.TLSDir, "ca.pem"),
		Cert: filepath.Join(d.TLSDir, id+".pem"),
		Key:  filepath.Join(d.TLSDir, id+"-key.pem"),
	}, true
}

// Password reads the cluster password from the environment variable the
// deployment names. It is an error for that variable to be unset or
// empty, since the nodes would then run without the protection the
// deployment asks for; with no variable named it returns "".
func (d *Deployment) Password() (string, error) {
	if d.PasswordEnv == "" {
		return "", nil
	}
	pw := os.Getenv(d.PasswordEnv)
	if pw == "" {
		return "", fmt.Errorf("%w: deployment %q wants the cluster password in $%s, which is empty", ErrBadValue, d.Name, d.PasswordEnv)
	}
	return pw, nil
}

// normAddr puts an address in the form RegionOfAddr compares: IP literals
// unmapped and printed canonically, host names as written.
func normAddr(addr string) string {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
	}
	return addr
}

// isLoopback reports whether host:port names this machine only.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}
