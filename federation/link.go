package federation

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/quic-go/quic-go"
)

// Link is this region's connection to one peer region: requests out
// (Call), this region's changes out (Enqueue, the change stream), and
// repair after overflow (anti-entropy). It dials in the background and
// redials with exponential backoff and jitter whenever the connection
// drops; the outbox carries over, so a link that comes back replays from
// the peer's last acknowledgement.
//
// Requests and changes from the peer arrive on the peer's own link to us
// and are served by the Endpoint. All methods are safe for concurrent use.
type Link struct {
	ep        *Endpoint
	cfg       Config
	region    string
	addr      net.Addr // guarded by mu: Redirect moves it
	clientTLS *tls.Config
	ob        *outbox
	log       *slog.Logger

	ctx    context.Context // cancelled by close
	cancel context.CancelFunc
	wg     sync.WaitGroup // the dial loop

	mu      sync.Mutex // protects cur, changed, lastErr and the throughput fields
	cur     *session
	changed chan struct{} // closed when cur changes
	lastErr error
	sendBps float64
	recvBps float64
	repair  repairStats

	dials, connects, dialErrors atomic.Uint64
	calls, callErrors           atomic.Uint64
	streamErrors                atomic.Uint64
	passes                      atomic.Uint64

	randMu sync.Mutex // protects rng
	rng    *rand.Rand
}

type repairStats struct {
	buckets, keys int
	took          time.Duration
}

// session is one QUIC connection of a link.
type session struct {
	conn  *quic.Conn
	ready chan struct{} // closed once the hello succeeded
	// early is set when the dial returned before the handshake completed,
	// i.e. with 0-RTT keys: idempotent calls may use the connection before
	// the hello. A full handshake waits for the hello, which is what shows
	// that the peer accepted our certificate.
	early bool
}

func newLink(e *Endpoint, region string, addr net.Addr, clientTLS *tls.Config) *Link {
	l := &Link{
		ep:        e,
		cfg:       e.cfg,
		region:    region,
		addr:      addr,
		clientTLS: clientTLS,
		ob:        newOutbox(e.cfg.OutboxMaxChanges, e.cfg.OutboxMaxBytes, e.cfg.MaxFrameBytes, e.cfg.Clock),
		log:       e.cfg.Logger.With("region", e.cfg.Region, "peer", region),
		changed:   make(chan struct{}),
		rng:       rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())),
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	return l
}

func (l *Link) start() {
	l.wg.Add(1)
	go l.dialLoop()
}

func (l *Link) close() {
	l.cancel()
	l.wg.Wait()
}

func (l *Link) rand() float64 {
	l.randMu.Lock()
	defer l.randMu.Unlock()
	return l.rng.Float64()
}

// Region returns the peer region.
func (l *Link) Region() string { return l.region }

// Addr returns the address the link dials.
func (l *Link) Addr() net.Addr {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.addr
}

// Redirect makes the link dial addr from now on: a peer that moved (a
// gateway restarted on another host) is followed without restarting this
// side. A connection to the old address is closed, and the outbox carries
// over as after any reconnect, so the peer gets every change from its last
// acknowledgement. Redirecting to the current address does nothing.
func (l *Link) Redirect(addr net.Addr) {
	l.mu.Lock()
	if l.addr.String() == addr.String() {
		l.mu.Unlock()
		return
	}
	l.addr = addr
	s := l.cur
	l.mu.Unlock()
	l.log.Info("federation: peer moved", "addr", addr.String())
	if s != nil {
		_ = s.conn.CloseWithError(codeClosing, "peer moved")
	}
}

// Connected reports whether a connection to the peer is up and has passed
// its hello.
func (l *Link) Connected() bool {
	l.mu.Lock()
	s := l.cur
	l.mu.Unlock()
	if s == nil {
		return false
	}
	select {
	case <-s.ready:
		return s.conn.Context().Err() == nil
	default:
		return false
	}
}

// WaitConnected waits until the link is connected or ctx is done.
func (l *Link) WaitConnected(ctx context.Context) error {
	_, err := l.session(ctx, true)
	return err
}

// LastError returns the last dial or connection error (nil if none). A
// refused identity wraps ErrPeerRefused.
func (l *Link) LastError() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastErr
}

// dialLoop keeps a connection to the peer for the life of the link.
func (l *Link) dialLoop() {
	defer l.wg.Done()
	failures := 0
	for l.ctx.Err() == nil {
		l.dials.Add(1)
		s, err := l.dial()
		if err == nil {
			if err = l.runSession(s); err == nil {
				failures = 0 // a connection that got through its hello resets the backoff
			}
		}
		if l.ctx.Err() != nil {
			return
		}
		if err != nil {
			l.dialErrors.Add(1)
			l.setErr(err)
			l.log.Debug("federation: link failed", "err", err, "failures", failures)
		}
		if !sleepCtx(l.ctx, backoff(failures, l.cfg.BackoffMin, l.cfg.BackoffMax, l.rand)) {
			return
		}
		failures++
	}
}

func (l *Link) dial() (*session, error) {
	ctx, cancel := context.WithTimeout(l.ctx, l.cfg.HandshakeTimeout)
	defer cancel()
	l.mu.Lock()
	addr := l.addr
	l.mu.Unlock()
	conn, err := l.ep.tr.DialEarly(ctx, addr, l.clientTLS, l.ep.quicConfig())
	if err != nil {
		return nil, classify(err)
	}
	s := &session{conn: conn, ready: make(chan struct{})}
	select {
	case <-conn.HandshakeComplete():
	default:
		s.early = true
	}
	l.setSession(s)
	return s, nil
}

// runSession completes the handshake and hello, runs the change stream,
// anti-entropy and throughput sampling, and returns when the connection
// ends. It returns nil if the connection was established before it ended.
func (l *Link) runSession(s *session) error {
	defer l.setSession(nil)
	conn := s.conn
	stop := context.AfterFunc(l.ctx, func() { _ = conn.CloseWithError(codeClosing, "link closing") })
	defer stop()
	if err := l.hello(s); err != nil {
		_ = conn.CloseWithError(codeRefused, err.Error())
		return err
	}
	l.connects.Add(1)
	l.setErr(nil)
	l.log.Info("federation: link up", "0rtt", conn.ConnectionState().Used0RTT)
	close(s.ready)
	l.notify()

	ctx, cancel := context.WithCancel(conn.Context())
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); l.runChangeStream(ctx, s) }()
	go func() { defer wg.Done(); l.runAntiEntropy(ctx, s) }()
	go func() { defer wg.Done(); l.sampleThroughput(ctx, conn) }()
	<-ctx.Done()
	cancel()
	wg.Wait()
	cause := context.Cause(conn.Context())
	l.log.Info("federation: link down", "cause", cause)
	if l.ctx.Err() == nil {
		l.setErr(classify(cause))
	}
	return nil
}

// hello waits for the handshake (and, after a rejected 0-RTT attempt, for
// the connection to be usable again), then checks that the peer answers as
// the region we dialled.
func (l *Link) hello(s *session) error {
	ctx, cancel := context.WithTimeout(l.ctx, l.cfg.HandshakeTimeout)
	defer cancel()
	conn := s.conn
	select {
	case <-conn.HandshakeComplete():
	case <-conn.Context().Done():
		return classify(context.Cause(conn.Context()))
	case <-ctx.Done():
		return ctx.Err()
	}
	if !conn.ConnectionState().Used0RTT {
		// A no-op on a plain dial; after a rejected 0-RTT attempt it makes
		// the connection usable for new streams.
		if _, err := conn.NextConnection(ctx); err != nil {
			return classify(err)
		}
	}
	str, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return classify(err)
	}
	defer str.CancelRead(codeCancelled)
	stopCancel := context.AfterFunc(ctx, func() { str.CancelRead(codeCancelled); str.CancelWrite(codeCancelled) })
	defer stopCancel()
	if _, err := str.Write(appendHello(nil, l.cfg.Region)); err != nil {
		return classify(err)
	}
	_ = str.Close()
	typ, payload, err := readFrame(str, l.cfg.MaxFrameBytes)
	if err != nil {
		return classify(err)
	}
	if typ == frameError {
		return fmt.Errorf("%w: %s", ErrPeerRefused, payload)
	}
	status, body, err := decodeReply(payload)
	if err != nil || typ != frameReply || status != statusOK || string(body) != l.region {
		return fmt.Errorf("%w: bad hello reply from %s (type %d, %q)", ErrPeerRefused, l.region, typ, body)
	}
	return nil
}

// classify marks TLS failures and refusals as ErrPeerRefused.
func classify(err error) error {
	if err == nil {
		return nil
	}
	var te *quic.TransportError
	if errors.As(err, &te) && te.ErrorCode.IsCryptoError() {
		return fmt.Errorf("%w: %w", ErrPeerRefused, err)
	}
	var ae *quic.ApplicationError
	if errors.As(err, &ae) && ae.ErrorCode == codeRefused {
		return fmt.Errorf("%w: %w", ErrPeerRefused, err)
	}
	return err
}

func (l *Link) setErr(err error) {
	l.mu.Lock()
	l.lastErr = err
	l.mu.Unlock()
}

func (l *Link) setSession(s *session) {
	l.mu.Lock()
	l.cur = s
	l.mu.Unlock()
	l.notify()
}

func (l *Link) notify() {
	l.mu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// session returns a live session: any (possibly still in 0-RTT) when
// needReady is false, else one that passed its hello. It waits for one
// until ctx is done.
func (l *Link) session(ctx context.Context, needReady bool) (*session, error) {
	for {
		l.mu.Lock()
		s, changed := l.cur, l.changed
		l.mu.Unlock()
		if s != nil && s.conn.Context().Err() == nil {
			if !needReady && s.early {
				return s, nil
			}
			select {
			case <-s.ready:
				return s, nil
			default:
			}
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: %s: %w", ErrLinkDown, l.region, context.Cause(ctx))
		case <-l.ctx.Done():
			return nil, ErrClosed
		}
	}
}

// sampleThroughput turns quic-go's byte counters into rates every
// StatsInterval.
func (l *Link) sampleThroughput(ctx context.Context, conn *quic.Conn) {
	t := time.NewTicker(l.cfg.StatsInterval)
	defer t.Stop()
	prev, prevAt := conn.ConnectionStats(), time.Now()
	for {
		select {
		case <-ctx.Done():
			l.mu.Lock()
			l.sendBps, l.recvBps = 0, 0
			l.mu.Unlock()
			return
		case now := <-t.C:
			cur := conn.ConnectionStats()
			secs := now.Sub(prevAt).Seconds()
			l.mu.Lock()
			l.sendBps = float64(cur.BytesSent-prev.BytesSent) / secs
			l.recvBps = float64(cur.BytesReceived-prev.BytesReceived) / secs
			l.mu.Unlock()
			prev, prevAt = cur, now
		}
	}
}

func (l *Link) noteRepair(buckets, keys int, took time.Duration) {
	l.passes.Add(1)
	l.mu.Lock()
	l.repair = repairStats{buckets: buckets, keys: keys, took: took}
	l.mu.Unlock()
	l.log.Info("federation: anti-entropy pass done", "buckets", buckets, "keys", keys, "took", took)
}

// Stats returns a snapshot of the link.
func (l *Link) Stats() LinkStats {
	ob := l.ob.stats()
	st := LinkStats{
		Region:                l.region,
		Connected:             l.Connected(),
		Dials:                 l.dials.Load(),
		Connects:              l.connects.Load(),
		DialErrors:            l.dialErrors.Load(),
		Calls:                 l.calls.Load(),
		CallErrors:            l.callErrors.Load(),
		StreamErrors:          l.streamErrors.Load(),
		AntiEntropyPasses:     l.passes.Load(),
		OutboxChanges:         ob.changes,
		OutboxBytes:           ob.bytes,
		Enqueued:              ob.enqueued,
		Acked:                 ob.acked,
		Delivered:             ob.delivered,
		Overflows:             ob.overflows,
		NeedsAntiEntropy:      ob.needsAntiEntropy,
		ReplicationLagP50:     ob.lagP50,
		ReplicationLagP99:     ob.lagP99,
		ReplicationLagMax:     ob.lagMax,
		ReplicationLagSamples: ob.lagSamples,
	}
	l.mu.Lock()
	s := l.cur
	if l.lastErr != nil {
		st.LastError = l.lastErr.Error()
	}
	st.SendBytesPerSec, st.RecvBytesPerSec = l.sendBps, l.recvBps
	st.LastRepairBuckets, st.LastRepairKeys, st.LastRepairDuration = l.repair.buckets, l.repair.keys, l.repair.took
	l.mu.Unlock()
	if s != nil {
		cs := s.conn.ConnectionStats()
		st.RTT, st.MinRTT = cs.SmoothedRTT, cs.MinRTT
		st.BytesSent, st.BytesReceived = cs.BytesSent, cs.BytesReceived
		st.PacketsSent, st.PacketsLost = cs.PacketsSent, cs.PacketsLost
		select {
		case <-s.ready:
			st.Used0RTT = s.conn.ConnectionState().Used0RTT
		default:
		}
	}
	return st
}
