// Package regions describes a deployment's geography and simulates the wide
// area network between its regions.
//
// A Profile names the regions (each with a small id that hybrid logical clock
// versions carry), the L2 and L3 nodes in each, and the round-trip time,
// jitter and loss of every link between two regions. Profiles are YAML files;
// the ones shipped with the binary (local-3: us-east, eu-west, ap-south) are
// embedded so the demo and the tests run with no files on disk.
//
// A WAN applies a profile to real UDP sockets: every packet a wrapped
// net.PacketConn sends towards another region is delayed by half the link's
// round trip plus jitter, dropped with the link's loss rate, or blocked while
// the two regions are partitioned. It sits under quic-go the way tc netem sits
// under the kernel, so federation links see a realistic network on loopback.
// When each region runs in its own process, a HostWAN does the same for
// that process's sockets alone, each side delaying what it sends.
//
// A Deployment (deploy.go) places a profile on machines: the addresses of
// the raftmeta members, of every region's L2 nodes and of its gateway, the
// certificates' directory and the password's environment variable, so the
// separate processes of a federation start from one file.
package regions

import (
	"errors"
	"fmt"
	"net"
	"time"
)

// Errors returned by profile loading and by the WAN. Validation errors wrap
// one of these; several problems in one profile are joined with errors.Join.
var (
	// ErrDecode means the YAML could not be read into a profile (syntax, an
	// unknown field, a wrong type).
	ErrDecode = errors.New("regions: cannot decode profile")
	// ErrUnknownRegion names a region that the profile does not define.
	ErrUnknownRegion = errors.New("regions: unknown region")
	// ErrMissingLink means two regions have no link between them.
	ErrMissingLink = errors.New("regions: missing link")
	// ErrDuplicate means a name, id or link appears twice.
	ErrDuplicate = errors.New("regions: duplicate")
	// ErrBadValue is a value out of its range (negative RTT, loss ≥ 1, id > 15…).
	ErrBadValue = errors.New("regions: bad value")
	// ErrUnknownProfile names a built-in profile that does not exist.
	ErrUnknownProfile = errors.New("regions: unknown built-in profile")
)

// MaxRegionID is the largest region id: versions keep the writing region in
// four bits (see internal/hlc).
const MaxRegionID = 15

// Profile is a validated deployment description. It is immutable once
// loaded and safe for concurrent use.
type Profile struct {
	// Name identifies the profile (e.g. "local-3").
	Name string
	// Regions in the order the file lists them.
	Regions []Region

	byName map[string]int
	links  map[pair]Link
}

// Region is one region of a profile.
type Region struct {
	Name string
	// ID is the region's number in versions, 0..MaxRegionID.
	ID int
	// Federation is the address the region's federation endpoint listens on;
	// empty when the deployment assigns it at run time.
	Federation string
	// L2 are the nodes of the region's L2 cluster.
	L2 []Node
	// L3 are the region's members of the global tier.
	L3 []Node
}

// Node is one L2 or L3 node.
type Node struct {
	// ID is unique across the whole profile.
	ID string
	// Addr is host:port, or empty when assigned at run time.
	Addr string
}

// Link is the network between two regions. Delays are round trips; a packet
// takes RTT/2 plus or minus Jitter one way.
type Link struct {
	A, B string
	// RTT is the round-trip time.
	RTT time.Duration
	// Jitter is the largest deviation of a one-way delay from RTT/2; the
	// deviation is uniform in [-Jitter, +Jitter], which reorders packets.
	Jitter time.Duration
	// Loss is the probability in [0, 1) that a packet is dropped, each
	// direction independently.
	Loss float64
}

// OneWay returns the mean one-way delay of the link.
func (l Link) OneWay() time.Duration { return l.RTT / 2 }

type pair struct{ a, b string }

func pairOf(a, b string) pair {
	if a > b {
		a, b = b, a
	}
	return pair{a, b}
}

// Region returns the region called name.
func (p *Profile) Region(name string) (Region, bool) {
	i, ok := p.byName[name]
	if !ok {
		return Region{}, false
	}
	return p.Regions[i], true
}

// RegionByID returns the region whose id is id.
func (p *Profile) RegionByID(id int) (Region, bool) {
	for _, r := range p.Regions {
		if r.ID == id {
			return r, true
		}
	}
	return Region{}, false
}

// RegionNames returns the region names in profile order.
func (p *Profile) RegionNames() []string {
	names := make([]string, len(p.Regions))
	for i, r := range p.Regions {
		names[i] = r.Name
	}
	return names
}

// Link returns the link between regions a and b in either order. A region
// to itself is a zero-delay, lossless link.
func (p *Profile) Link(a, b string) (Link, bool) {
	if _, ok := p.byName[a]; !ok {
		return Link{}, false
	}
	if _, ok := p.byName[b]; !ok {
		return Link{}, false
	}
	if a == b {
		return Link{A: a, B: b}, true
	}
	l, ok := p.links[pairOf(a, b)]
	if ok && l.A != a {
		l.A, l.B = l.B, l.A
	}
	return l, ok
}

// Links returns every link of the profile.
func (p *Profile) Links() []Link {
	out := make([]Link, 0, len(p.links))
	for i, a := range p.Regions {
		for _, b := range p.Regions[i+1:] {
			if l, ok := p.Link(a.Name, b.Name); ok {
				out = append(out, l)
			}
		}
	}
	return out
}

// validate checks the profile and builds its indexes. Every problem found
// is reported, not just the first.
func (p *Profile) validate(links []Link) error {
	var errs []error
	bad := func(err error, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{err}, args...)...))
	}
	if p.Name == "" {
		bad(ErrBadValue, "profile has no name")
	}
	if len(p.Regions) == 0 {
		bad(ErrBadValue, "profile has no regions")
	}
	p.byName = make(map[string]int, len(p.Regions))
	ids := map[int]string{}
	nodeIDs := map[string]string{}
	for i, r := range p.Regions {
		switch {
		case r.Name == "":
			bad(ErrBadValue, "region %d has no name", i)
		case hasDup(p.byName, r.Name):
			bad(ErrDuplicate, "region name %q", r.Name)
		default:
			p.byName[r.Name] = i
		}
		if r.ID < 0 || r.ID > MaxRegionID {
			bad(ErrBadValue, "region %q: id %d not in 0..%d", r.Name, r.ID, MaxRegionID)
		} else if other, dup := ids[r.ID]; dup {
			bad(ErrDuplicate, "region id %d used by %q and %q", r.ID, other, r.Name)
		} else {
			ids[r.ID] = r.Name
		}
		if r.Federation != "" && !validAddr(r.Federation) {
			bad(ErrBadValue, "region %q: federation address %q is not host:port", r.Name, r.Federation)
		}
		for _, n := range append(append([]Node(nil), r.L2...), r.L3...) {
			if n.ID == "" {
				bad(ErrBadValue, "region %q: node with no id", r.Name)
				continue
			}
			if other, dup := nodeIDs[n.ID]; dup {
				bad(ErrDuplicate, "node id %q in %q and %q", n.ID, other, r.Name)
			}
			nodeIDs[n.ID] = r.Name
			if n.Addr != "" && !validAddr(n.Addr) {
				bad(ErrBadValue, "node %q: address %q is not host:port", n.ID, n.Addr)
			}
		}
	}
	p.links = make(map[pair]Link, len(links))
	for _, l := range links {
		name := l.A + "–" + l.B
		known := true
		for _, r := range []string{l.A, l.B} {
			if _, ok := p.byName[r]; !ok {
				bad(ErrUnknownRegion, "link %s names %q", name, r)
				known = false
			}
		}
		if l.A == l.B {
			bad(ErrBadValue, "link %s joins a region to itself", name)
			continue
		}
		if l.RTT < 0 {
			bad(ErrBadValue, "link %s: negative rtt %v", name, l.RTT)
		}
		if l.Jitter < 0 {
			bad(ErrBadValue, "link %s: negative jitter %v", name, l.Jitter)
		}
		if !(l.Loss >= 0 && l.Loss < 1) { // also rejects NaN
			bad(ErrBadValue, "link %s: loss %v not in [0, 1)", name, l.Loss)
		}
		if !known {
			continue
		}
		k := pairOf(l.A, l.B)
		if _, dup := p.links[k]; dup {
			bad(ErrDuplicate, "link %s", name)
			continue
		}
		p.links[k] = l
	}
	for i, a := range p.Regions {
		for _, b := range p.Regions[i+1:] {
			if a.Name == b.Name {
				continue
			}
			if _, ok := p.links[pairOf(a.Name, b.Name)]; !ok {
				bad(ErrMissingLink, "no link between %q and %q", a.Name, b.Name)
			}
		}
	}
	return errors.Join(errs...)
}

func hasDup(m map[string]int, k string) bool {
	_, ok := m[k]
	return ok
}

func validAddr(a string) bool {
	_, _, err := net.SplitHostPort(a)
	return err == nil
}
