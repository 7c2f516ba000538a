package regions

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

// HostWAN simulates the WAN for one process that holds one region's
// sockets, such as a region's gateway run as its own process from a
// deployment file. A WAN needs every region's sockets in one process to
// know where a packet goes; a HostWAN asks a function instead (the
// deployment's RegionOfAddr), and since every region's process wraps its
// own outbound packets, a round trip still sees the profile's RTT: each
// direction is delayed by the link's one-way delay at its sender.
//
// Packets are scheduled by the same Conn a WAN uses (one goroutine per
// Conn, stopped by Close), so delay, jitter, loss and ordering behave the
// same. Partitions are per region: while a region is partitioned, packets
// between it and every other region are dropped, in flight ones included.
// A partition set in one process drops only what that process sends; to
// cut a region off both ways, set it in every process.
//
// Packets to an address whose region is unknown, or to this region, go
// out at once. All methods are safe for concurrent use.
type HostWAN struct {
	profile    *Profile
	region     string
	regionOf   func(addr string) (string, bool)
	queueLimit int

	mu       sync.RWMutex // protects parted, dests and nextSeed
	parted   map[string]bool
	dests    map[netip.AddrPort]string // memo of regionOf; "" for not simulated
	nextSeed uint64
}

// maxMemoDests bounds the memo of destination regions; past it regionOf is
// asked each time (a gateway talks to a handful of peers, so it is never
// reached in practice).
const maxMemoDests = 4096

// NewHostWAN returns the simulated WAN of a process in region of profile
// p. regionOf names the region of a destination address ("host:port", as
// net.Addr.String prints it), or returns false for one that is not part
// of the simulation. Its answer for an address is remembered, so it must
// not change while the HostWAN is in use.
func NewHostWAN(p *Profile, region string, regionOf func(addr string) (string, bool), cfg WANConfig) (*HostWAN, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: nil profile", ErrBadValue)
	}
	if _, ok := p.Region(region); !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRegion, region)
	}
	if regionOf == nil {
		return nil, fmt.Errorf("%w: nil regionOf", ErrBadValue)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	h := &HostWAN{
		profile:    p,
		region:     region,
		regionOf:   regionOf,
		queueLimit: cfg.QueueLimit,
		parted:     map[string]bool{},
		dests:      map[netip.AddrPort]string{},
		nextSeed:   cfg.Seed,
	}
	if h.queueLimit == 0 {
		h.queueLimit = defaultQueueLimit
	}
	if h.nextSeed == 0 {
		h.nextSeed = rand.Uint64()
	}
	return h, nil
}

// Region returns the region this process is in.
func (h *HostWAN) Region() string { return h.region }

// Listen opens a UDP socket on addr and wraps it.
func (h *HostWAN) Listen(addr string) (*Conn, error) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("regions: listen %s: %w", addr, err)
	}
	c, err := h.Attach(pc)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	return c, nil
}

// Attach wraps pc, a socket of this process's region. The Conn owns pc and
// closes it.
func (h *HostWAN) Attach(pc net.PacketConn) (*Conn, error) {
	key, ok := addrKey(pc.LocalAddr())
	if !ok {
		return nil, fmt.Errorf("%w: %v is not a UDP address", ErrBadValue, pc.LocalAddr())
	}
	h.mu.Lock()
	seed := h.nextSeed
	h.nextSeed++
	h.mu.Unlock()
	return newConn(h, h.region, key, pc, seed, h.queueLimit), nil
}

// SetPartitioned cuts region off from every other region (on) or restores
// it (off), for packets this process sends. Packets already in flight to
// or from a cut region are dropped when they fall due.
func (h *HostWAN) SetPartitioned(region string, on bool) error {
	if _, ok := h.profile.Region(region); !ok {
		return fmt.Errorf("%w: %q", ErrUnknownRegion, region)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if on {
		h.parted[region] = true
	} else {
		delete(h.parted, region)
	}
	return nil
}

// Partitioned reports whether region is cut off.
func (h *HostWAN) Partitioned(region string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.parted[region]
}

// route implements router.
func (h *HostWAN) route(src string, dst netip.AddrPort) (Link, bool, bool) {
	region := h.destRegion(dst)
	if region == "" || region == src {
		return Link{}, false, false
	}
	l, ok := h.profile.Link(src, region)
	if !ok {
		return Link{}, false, false
	}
	return l, h.cut(src, region), true
}

// isCut implements router.
func (h *HostWAN) isCut(src string, dst netip.AddrPort) bool {
	region := h.destRegion(dst)
	return region != "" && region != src && h.cut(src, region)
}

// detach implements router; a HostWAN keeps no per-Conn state.
func (h *HostWAN) detach(netip.AddrPort) {}

func (h *HostWAN) cut(a, b string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.parted[a] || h.parted[b]
}

// destRegion returns the region of dst, or "" when it is not simulated.
func (h *HostWAN) destRegion(dst netip.AddrPort) string {
	h.mu.RLock()
	r, ok := h.dests[dst]
	h.mu.RUnlock()
	if ok {
		return r
	}
	r, known := h.regionOf(dst.String())
	if !known {
		r = ""
	} else if _, inProfile := h.profile.Region(r); !inProfile {
		r = "" // a region this profile does not know is not simulated
	}
	h.mu.Lock()
	if len(h.dests) < maxMemoDests {
		h.dests[dst] = r
	}
	h.mu.Unlock()
	return r
}
