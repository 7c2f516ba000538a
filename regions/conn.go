package regions

import (
	"container/heap"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Conn is one region's socket on a WAN or a HostWAN. It is a
// net.PacketConn: reads pass straight through, and writes to another
// region are held back for the link's one-way delay, dropped for loss or
// partition, and then sent by one scheduler goroutine per Conn (a timer on
// the earliest due packet, never a goroutine per packet). Close stops that
// goroutine, drops what is still in flight, and closes the wrapped socket.
//
// Conn deliberately offers neither the batch nor the syscall methods of
// *net.UDPConn, so quic-go cannot bypass the simulation through them.
type Conn struct {
	net    router
	region string
	key    netip.AddrPort
	pc     net.PacketConn

	mu     sync.Mutex // protects queue, seq and rng
	queue  packetQueue
	seq    uint64 // breaks ties between packets due at the same instant, keeping send order
	rng    *rand.Rand
	wake   chan struct{} // capacity 1: a new earliest packet or Close
	done   chan struct{}
	closed sync.Once
	loopWG sync.WaitGroup

	queueLimit int

	stats connCounters
}

// router is the network a Conn simulates: a WAN holding every region's
// sockets in one process, or a HostWAN holding one region's in its own.
type router interface {
	// route tells how a packet from region src to dst travels: remote is
	// false when dst is not a simulated remote region (send at once).
	route(src string, dst netip.AddrPort) (l Link, cut, remote bool)
	// isCut reports whether a packet already in flight from src to dst
	// is to be dropped on arrival.
	isCut(src string, dst netip.AddrPort) bool
	// detach forgets a closed Conn's address.
	detach(key netip.AddrPort)
}

// ConnStats counts what happened to the packets a Conn was asked to send.
type ConnStats struct {
	// Sent is every packet written to the Conn.
	Sent uint64
	// Delivered went out on the socket.
	Delivered uint64
	// Lost were dropped by the link's loss rate.
	Lost uint64
	// Blocked were dropped by a partition, at send or at arrival.
	Blocked uint64
	// Overflowed were dropped because QueueLimit packets were in flight.
	Overflowed uint64
}

type connCounters struct {
	sent, delivered, lost, blocked, overflowed atomic.Uint64
}

type packet struct {
	due  time.Time
	seq  uint64
	dst  net.Addr
	key  netip.AddrPort
	data []byte
}

func newConn(r router, region string, key netip.AddrPort, pc net.PacketConn, seed uint64, queueLimit int) *Conn {
	c := &Conn{
		net:        r,
		region:     region,
		key:        key,
		pc:         pc,
		rng:        rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wake:       make(chan struct{}, 1),
		done:       make(chan struct{}),
		queueLimit: queueLimit,
	}
	c.loopWG.Add(1)
	go c.deliverLoop()
	return c
}

// Region returns the region this socket belongs to.
func (c *Conn) Region() string { return c.region }

// Stats returns the Conn's packet counters.
func (c *Conn) Stats() ConnStats {
	return ConnStats{
		Sent:       c.stats.sent.Load(),
		Delivered:  c.stats.delivered.Load(),
		Lost:       c.stats.lost.Load(),
		Blocked:    c.stats.blocked.Load(),
		Overflowed: c.stats.overflowed.Load(),
	}
}

// ReadFrom reads from the wrapped socket.
func (c *Conn) ReadFrom(b []byte) (int, net.Addr, error) { return c.pc.ReadFrom(b) }

// WriteTo sends b to addr through the simulated link. Like UDP, a dropped
// packet is not an error: the caller learns of it only by its absence.
func (c *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	select {
	case <-c.done:
		return 0, net.ErrClosed
	default:
	}
	c.stats.sent.Add(1)
	key, ok := addrKey(addr)
	if !ok {
		return c.pc.WriteTo(b, addr)
	}
	link, cut, remote := c.net.route(c.region, key)
	if !remote {
		c.stats.delivered.Add(1)
		return c.pc.WriteTo(b, addr)
	}
	if cut {
		c.stats.blocked.Add(1)
		return len(b), nil
	}
	c.mu.Lock()
	if link.Loss > 0 && c.rng.Float64() < link.Loss {
		c.mu.Unlock()
		c.stats.lost.Add(1)
		return len(b), nil
	}
	if len(c.queue) >= c.queueLimit {
		c.mu.Unlock()
		c.stats.overflowed.Add(1)
		return len(b), nil
	}
	delay := link.RTT / 2
	if link.Jitter > 0 {
		delay += time.Duration(c.rng.Int64N(int64(2*link.Jitter)+1)) - link.Jitter
	}
	delay = max(delay, 0)
	c.seq++
	p := &packet{due: time.Now().Add(delay), seq: c.seq, dst: addr, key: key, data: append([]byte(nil), b...)}
	heap.Push(&c.queue, p)
	first := c.queue[0] == p
	c.mu.Unlock()
	if first {
		select {
		case c.wake <- struct{}{}:
		default:
		}
	}
	return len(b), nil
}

// deliverLoop sends queued packets when they fall due. It sleeps on one
// timer set for the earliest packet and is woken early when a packet with
// an earlier due time arrives.
func (c *Conn) deliverLoop() {
	defer c.loopWG.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var due []*packet
	for {
		c.mu.Lock()
		now := time.Now()
		due = due[:0]
		for len(c.queue) > 0 && !c.queue[0].due.After(now) {
			due = append(due, heap.Pop(&c.queue).(*packet))
		}
		var wait time.Duration = -1
		if len(c.queue) > 0 {
			wait = c.queue[0].due.Sub(now)
		}
		c.mu.Unlock()

		for _, p := range due {
			if c.net.isCut(c.region, p.key) {
				c.stats.blocked.Add(1)
				continue
			}
			if _, err := c.pc.WriteTo(p.data, p.dst); err == nil {
				c.stats.delivered.Add(1)
			}
		}
		clear(due)

		var timerC <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			timerC = timer.C
		}
		select {
		case <-c.done:
			return
		case <-c.wake:
		case <-timerC:
		}
	}
}

// Close stops the scheduler, drops packets still in flight and closes the
// wrapped socket. It is safe to call more than once.
func (c *Conn) Close() error {
	var err error
	c.closed.Do(func() {
		close(c.done)
		c.loopWG.Wait()
		c.net.detach(c.key)
		c.mu.Lock()
		c.queue = nil
		c.mu.Unlock()
		err = c.pc.Close()
	})
	return err
}

// LocalAddr returns the wrapped socket's address.
func (c *Conn) LocalAddr() net.Addr { return c.pc.LocalAddr() }

// SetDeadline sets the wrapped socket's deadlines. Write deadlines have
// little effect: writes to remote regions never block.
func (c *Conn) SetDeadline(t time.Time) error { return c.pc.SetDeadline(t) }

// SetReadDeadline sets the wrapped socket's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.pc.SetReadDeadline(t) }

// SetWriteDeadline sets the wrapped socket's write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error { return c.pc.SetWriteDeadline(t) }

// SetReadBuffer passes a receive buffer size to the wrapped socket when it
// supports one (quic-go asks for a large buffer).
func (c *Conn) SetReadBuffer(n int) error {
	if s, ok := c.pc.(interface{ SetReadBuffer(int) error }); ok {
		return s.SetReadBuffer(n)
	}
	return nil
}

// SetWriteBuffer passes a send buffer size to the wrapped socket when it
// supports one.
func (c *Conn) SetWriteBuffer(n int) error {
	if s, ok := c.pc.(interface{ SetWriteBuffer(int) error }); ok {
		return s.SetWriteBuffer(n)
	}
	return nil
}

// packetQueue is a min-heap of packets by due time, then send order.
type packetQueue []*packet

func (q packetQueue) Len() int { return len(q) }
func (q packetQueue) Less(i, j int) bool {
	if q[i].due.Equal(q[j].due) {
		return q[i].seq < q[j].seq
	}
	return q[i].due.Before(q[j].due)
}
func (q packetQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *packetQueue) Push(x any)   { *q = append(*q, x.(*packet)) }
func (q *packetQueue) Pop() any {
	old := *q
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return p
}
