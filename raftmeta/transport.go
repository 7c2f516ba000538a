package raftmeta

import (
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// streamLayer is the raft.StreamLayer under the member's NetworkTransport:
// TCP wrapped in TLS 1.3 whose both sides must present server-role
// certificates of the deployment CA (plain TCP when insecure). It tracks
// its connections so Close and a partition cut them, and it can be told to
// refuse all traffic, which is how tests partition a member away.
type streamLayer struct {
	ln        net.Listener
	advertise net.Addr
	serverTLS *tls.Config // nil when insecure
	clientTLS *tls.Config // nil when insecure

	mu      sync.Mutex // protects conns, refused, closed
	conns   map[*trackedConn]struct{}
	refused bool
	closed  bool
}

var _ raft.StreamLayer = (*streamLayer)(nil)

func newStreamLayer(ln net.Listener, advertise net.Addr, serverTLS, clientTLS *tls.Config) *streamLayer {
	return &streamLayer{
		ln:        ln,
		advertise: advertise,
		serverTLS: serverTLS,
		clientTLS: clientTLS,
		conns:     map[*trackedConn]struct{}{},
	}
}

// Accept implements net.Listener. The TLS handshake (and with it the role
// check) happens on the connection's first read, in raft's per-connection
// goroutine, so one slow peer does not hold up the accept loop.
func (s *streamLayer) Accept() (net.Conn, error) {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return nil, err
		}
		if s.serverTLS != nil {
			c = tls.Server(c, s.serverTLS)
		}
		if tc, ok := s.track(c); ok {
			return tc, nil
		}
	}
}

// Dial implements raft.StreamLayer.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	s.mu.Lock()
	refused, closed := s.refused, s.closed
	s.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if refused {
		return nil, fmt.Errorf("dial %s: %w", address, ErrRefused)
	}
	d := &net.Dialer{Timeout: timeout}
	var c net.Conn
	var err error
	if s.clientTLS != nil {
		// An empty ServerName in the config makes crypto/tls check the
		// certificate against the host part of address.
		c, err = (&tls.Dialer{NetDialer: d, Config: s.clientTLS}).Dial("tcp", string(address))
	} else {
		c, err = d.Dial("tcp", string(address))
	}
	if err != nil {
		return nil, err
	}
	tc, ok := s.track(c)
	if !ok {
		return nil, fmt.Errorf("dial %s: %w", address, ErrRefused)
	}
	return tc, nil
}

// track registers c, or closes it and reports false when the layer is
// refusing or closed.
func (s *streamLayer) track(c net.Conn) (*trackedConn, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.refused || s.closed {
		c.Close()
		return nil, false
	}
	tc := &trackedConn{Conn: c, owner: s}
	s.conns[tc] = struct{}{}
	return tc, true
}

// Close implements net.Listener: it stops accepting and cuts every
// connection, so no raft goroutine is left blocked on a read.
func (s *streamLayer) Close() error {
	s.mu.Lock()
	s.closed = true
	conns := s.takeConnsLocked()
	s.mu.Unlock()
	err := s.ln.Close()
	for _, c := range conns {
		c.Conn.Close()
	}
	return err
}

// Addr implements net.Listener with the address peers dial.
func (s *streamLayer) Addr() net.Addr { return s.advertise }

// setRefused turns the partition on or off. On, it cuts every connection
// and refuses new ones both ways until turned off.
func (s *streamLayer) setRefused(refused bool) {
	s.mu.Lock()
	s.refused = refused
	var conns []*trackedConn
	if refused {
		conns = s.takeConnsLocked()
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.Conn.Close()
	}
}

func (s *streamLayer) takeConnsLocked() []*trackedConn {
	out := make([]*trackedConn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	clear(s.conns)
	return out
}

func (s *streamLayer) forget(c *trackedConn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// trackedConn leaves its layer's set when closed.
type trackedConn struct {
	net.Conn
	owner *streamLayer
	once  sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.owner.forget(c) })
	return c.Conn.Close()
}
