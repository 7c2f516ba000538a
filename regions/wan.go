package regions

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
)

// WANConfig tunes a WAN. The zero value is the documented default.
type WANConfig struct {
	// Seed makes loss and jitter reproducible; 0 picks a random seed.
	Seed uint64
	// QueueLimit is the most packets one Conn holds in flight, like netem's
	// limit: past it packets are dropped as an overflowing router would.
	// 0 means 10000.
	QueueLimit int
}

const defaultQueueLimit = 10000

// Validate reports a bad setting.
func (c WANConfig) Validate() error {
	if c.QueueLimit < 0 {
		return fmt.Errorf("%w: WAN queue limit %d is negative", ErrBadValue, c.QueueLimit)
	}
	return nil
}

// WAN simulates the network between the regions of a profile on real
// sockets. Wrap each region's socket with Attach (or open one with Listen);
// the wrapper knows the sending region, and the WAN maps the destination
// address back to its region to pick the link.
//
// Delays are applied by the sender, so both ends of a simulated link must be
// wrapped by the same WAN: a packet to an address no Conn of this WAN owns,
// or to the sender's own region, goes out at once.
//
// The WAN runs on the wall clock, not an injected clock: it exists to put
// real delays between real packets. All methods are safe for concurrent use.
type WAN struct {
	profile    *Profile
	queueLimit int

	mu    sync.RWMutex // protects addrs, links, cut and nextSeed
	addrs map[netip.AddrPort]string
	links map[pair]Link
	cut   map[pair]bool
	// nextSeed seeds each Conn's generator, so a fixed WANConfig.Seed gives
	// every Conn a reproducible but distinct stream.
	nextSeed uint64
}

// NewWAN returns a WAN applying p.
func NewWAN(p *Profile, cfg WANConfig) (*WAN, error) {
	if p == nil {
		return nil, fmt.Errorf("%w: nil profile", ErrBadValue)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w := &WAN{
		profile:    p,
		queueLimit: cfg.QueueLimit,
		addrs:      map[netip.AddrPort]string{},
		links:      make(map[pair]Link, len(p.links)),
		cut:        map[pair]bool{},
		nextSeed:   cfg.Seed,
	}
	if w.queueLimit == 0 {
		w.queueLimit = defaultQueueLimit
	}
	if w.nextSeed == 0 {
		w.nextSeed = rand.Uint64()
	}
	for k, l := range p.links {
		w.links[k] = l
	}
	return w, nil
}

// Profile returns the profile the WAN was made from.
func (w *WAN) Profile() *Profile { return w.profile }

// Listen opens a UDP socket on addr (e.g. "127.0.0.1:0") for region and
// wraps it.
func (w *WAN) Listen(region, addr string) (*Conn, error) {
	if _, ok := w.profile.Region(region); !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRegion, region)
	}
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("regions: listen %s: %w", addr, err)
	}
	c, err := w.Attach(region, pc)
	if err != nil {
		_ = pc.Close()
		return nil, err
	}
	return c, nil
}

// Attach wraps pc as a socket of region. The Conn owns pc and closes it.
func (w *WAN) Attach(region string, pc net.PacketConn) (*Conn, error) {
	if _, ok := w.profile.Region(region); !ok {
		return nil, fmt.Errorf("%w: %q", ErrUnknownRegion, region)
	}
	key, ok := addrKey(pc.LocalAddr())
	if !ok {
		return nil, fmt.Errorf("%w: %v is not a UDP address", ErrBadValue, pc.LocalAddr())
	}
	w.mu.Lock()
	if other, dup := w.addrs[key]; dup {
		w.mu.Unlock()
		return nil, fmt.Errorf("%w: address %v already attached for %q", ErrDuplicate, key, other)
	}
	w.addrs[key] = region
	seed := w.nextSeed
	w.nextSeed++
	w.mu.Unlock()
	return newConn(w, region, key, pc, seed, w.queueLimit), nil
}

// RegionOf returns the region whose Conn owns addr.
func (w *WAN) RegionOf(addr net.Addr) (string, bool) {
	key, ok := addrKey(addr)
	if !ok {
		return "", false
	}
	w.mu.RLock()
	defer w.mu.RUnlock()
	r, ok := w.addrs[key]
	return r, ok
}

// Partition cuts the link between a and b in both directions. Packets
// already in flight on it are dropped when they arrive.
func (w *WAN) Partition(a, b string) error {
	return w.setCut(a, b, true)
}

// Heal restores the link between a and b.
func (w *WAN) Heal(a, b string) error {
	return w.setCut(a, b, false)
}

// Isolate cuts every link of region; Heal restores them one by one and
// HealAll all at once.
func (w *WAN) Isolate(region string) error {
	if _, ok := w.profile.Region(region); !ok {
		return fmt.Errorf("%w: %q", ErrUnknownRegion, region)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.profile.Regions {
		if r.Name != region {
			w.cut[pairOf(region, r.Name)] = true
		}
	}
	return nil
}

// HealAll restores every link.
func (w *WAN) HealAll() {
	w.mu.Lock()
	clear(w.cut)
	w.mu.Unlock()
}

// Partitioned reports whether the link between a and b is cut.
func (w *WAN) Partitioned(a, b string) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.cut[pairOf(a, b)]
}

// SetLink changes a link's delay, jitter or loss at run time (tests use it
// to make a link lossy or slow for a while). Packets in flight keep the
// delay they were sent with.
func (w *WAN) SetLink(l Link) error {
	if _, ok := w.profile.Link(l.A, l.B); !ok || l.A == l.B {
		return fmt.Errorf("%w: link %q–%q", ErrUnknownRegion, l.A, l.B)
	}
	if l.RTT < 0 || l.Jitter < 0 || !(l.Loss >= 0 && l.Loss < 1) {
		return fmt.Errorf("%w: link %q–%q: rtt %v, jitter %v, loss %v", ErrBadValue, l.A, l.B, l.RTT, l.Jitter, l.Loss)
	}
	w.mu.Lock()
	w.links[pairOf(l.A, l.B)] = l
	w.mu.Unlock()
	return nil
}

func (w *WAN) setCut(a, b string, cut bool) error {
	if _, ok := w.profile.Link(a, b); !ok || a == b {
		return fmt.Errorf("%w: link %q–%q", ErrUnknownRegion, a, b)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if cut {
		w.cut[pairOf(a, b)] = true
	} else {
		delete(w.cut, pairOf(a, b))
	}
	return nil
}

// route tells how a packet from region src to dst travels: remote is false
// when dst is not a simulated remote region (send at once).
func (w *WAN) route(src string, dst netip.AddrPort) (l Link, cut, remote bool) {
	w.mu.RLock()
	defer w.mu.RUnlock()
	region, ok := w.addrs[dst]
	if !ok || region == src {
		return Link{}, false, false
	}
	k := pairOf(src, region)
	return w.links[k], w.cut[k], true
}

func (w *WAN) isCut(src string, dst netip.AddrPort) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	region, ok := w.addrs[dst]
	return ok && w.cut[pairOf(src, region)]
}

func (w *WAN) detach(key netip.AddrPort) {
	w.mu.Lock()
	delete(w.addrs, key)
	w.mu.Unlock()
}

func addrKey(a net.Addr) (netip.AddrPort, bool) {
	ua, ok := a.(*net.UDPAddr)
	if !ok || ua == nil {
		return netip.AddrPort{}, false
	}
	ap := ua.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
}
