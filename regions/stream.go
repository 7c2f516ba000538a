package regions

import (
	"fmt"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// StreamConn is one side of a TCP connection between two regions of a WAN,
// so that a stream protocol can be compared with QUIC over the same
// simulated link (the WAN itself only carries datagrams). What it writes
// reaches the peer after the link's one-way delay and jitter, as a Conn's
// datagrams do, but in order, as TCP delivers; reads pass straight
// through, so wrap both ends. The link's settings are read at each Write,
// so SetLink applies to streams as to datagrams.
//
// Loss is modelled, not simulated: a segment (streamMSS bytes) lost at the
// link's rate arrives one RTT late, when a fast retransmit would bring it
// (TCP's best case; a tail loss waiting for an RTO comes later), and every
// byte written after it waits behind it: head-of-line blocking. Partitions
// do not apply to streams.
//
// Write copies and queues (as a socket buffer would, but unbounded) and one
// goroutine per StreamConn sends each segment when due; Close stops it.
type StreamConn struct {
	net.Conn
	wan      *WAN
	from, to string

	mu    sync.Mutex // protects queue, last and rng
	queue []segment
	last  time.Time // due time of the last segment queued, for order
	rng   *rand.Rand
	wake  chan struct{} // capacity 1: the queue went from empty to not
	done  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

// streamMSS is the segment size loss is drawn per, a typical TCP MSS.
const streamMSS = 1400

type segment struct {
	due  time.Time
	data []byte
}

// Stream wraps c, one end of a stream connection, as region from's side of
// the link to region to. The StreamConn owns c and closes it.
func (w *WAN) Stream(from, to string, c net.Conn) (*StreamConn, error) {
	if _, ok := w.profile.Link(from, to); !ok || from == to {
		return nil, fmt.Errorf("%w: link %q–%q", ErrUnknownRegion, from, to)
	}
	w.mu.Lock()
	seed := w.nextSeed
	w.nextSeed++
	w.mu.Unlock()
	s := &StreamConn{
		Conn: c, wan: w, from: from, to: to,
		rng:  rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		wake: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	s.wg.Add(1)
	go s.sendLoop()
	return s, nil
}

// Write queues b for delivery after the link's delay and returns.
func (s *StreamConn) Write(b []byte) (int, error) {
	select {
	case <-s.done:
		return 0, net.ErrClosed
	default:
	}
	s.wan.mu.RLock()
	l := s.wan.links[pairOf(s.from, s.to)]
	s.wan.mu.RUnlock()
	now := time.Now()
	s.mu.Lock()
	wasEmpty := len(s.queue) == 0
	for off := 0; off < len(b); off += streamMSS {
		due := now.Add(l.RTT / 2)
		if l.Jitter > 0 {
			due = due.Add(time.Duration(s.rng.Int64N(int64(2*l.Jitter)+1)) - l.Jitter)
		}
		if l.Loss > 0 && s.rng.Float64() < l.Loss {
			due = due.Add(l.RTT)
		}
		due = later(due, s.last) // never overtake an earlier byte
		s.last = due
		s.queue = append(s.queue, segment{due, append([]byte(nil), b[off:min(off+streamMSS, len(b))]...)})
	}
	s.mu.Unlock()
	if wasEmpty {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return len(b), nil
}

func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// sendLoop writes the segments that fell due in one write, then sleeps
// until the next is due. Due times only grow, so a Write never needs to
// wake it early unless the queue was empty.
func (s *StreamConn) sendLoop() {
	defer s.wg.Done()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var buf []byte
	for {
		s.mu.Lock()
		now := time.Now()
		buf = buf[:0]
		n := 0
		for n < len(s.queue) && !s.queue[n].due.After(now) {
			buf = append(buf, s.queue[n].data...)
			n++
		}
		s.queue = s.queue[n:]
		wait := time.Duration(-1)
		if len(s.queue) > 0 {
			wait = s.queue[0].due.Sub(now)
		}
		s.mu.Unlock()
		if len(buf) > 0 {
			if _, err := s.Conn.Write(buf); err != nil {
				s.shut()
				return
			}
		}
		var timerC <-chan time.Time
		if wait >= 0 {
			timer.Reset(wait)
			timerC = timer.C
		}
		select {
		case <-s.done:
			return
		case <-s.wake:
		case <-timerC:
		}
	}
}

func (s *StreamConn) shut() (err error) {
	s.once.Do(func() {
		close(s.done)
		err = s.Conn.Close()
	})
	return err
}

// Close drops what is still queued, closes the wrapped connection and
// waits for the send goroutine. It is safe to call more than once.
func (s *StreamConn) Close() error {
	err := s.shut()
	s.wg.Wait()
	return err
}
