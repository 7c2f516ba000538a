package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"

	"github.com/quic-go/quic-go"

	"github.com/tiercache/tiercache/internal/pki"
	"github.com/tiercache/tiercache/internal/telemetry/tracing"
)

// alpn names the federation protocol in the TLS handshake, so a QUIC peer
// speaking something else is refused before any frame is read.
const alpn = "tiercache-federation/1"

// Application error codes on connections and streams.
const (
	codeNone      quic.ApplicationErrorCode = 0
	codeClosing   quic.ApplicationErrorCode = 1
	codeRefused   quic.ApplicationErrorCode = 2
	codeCancelled quic.StreamErrorCode      = 3
	codeTooLarge  quic.StreamErrorCode      = 4
	codeProtocol  quic.StreamErrorCode      = 5
)

// Handler serves one kind of request from other regions.
//
// Threading: ServeFederation is called on its own goroutine for every
// request, concurrently with other requests of the same and other kinds and
// peers; a slow call delays nobody else. ctx carries the caller's deadline
// and is cancelled when the caller gives up, the connection drops or the
// endpoint closes; Peer(ctx) names the calling region. The handler owns req.
// It must not touch the returned slice afterwards: it is written to the
// peer after ServeFederation returns. A returned error reaches the caller
// as ErrRemote with the error's text.
//
// Endpoint.Close cancels ctx and waits for running handlers to return, so
// a handler must not ignore ctx.
//
// A request marked idempotent may have arrived in 0-RTT data, which an
// attacker who recorded it can replay; requests not so marked are held
// until the handshake has completed and so are never replays.
type Handler interface {
	ServeFederation(ctx context.Context, req []byte) ([]byte, error)
}

// HandlerFunc adapts a function to a Handler.
type HandlerFunc func(ctx context.Context, req []byte) ([]byte, error)

// ServeFederation calls f.
func (f HandlerFunc) ServeFederation(ctx context.Context, req []byte) ([]byte, error) {
	return f(ctx, req)
}

type peerKey struct{}

// Peer returns the region of the peer whose request ctx belongs to.
func Peer(ctx context.Context) (string, bool) {
	r, ok := ctx.Value(peerKey{}).(string)
	return r, ok
}

// Endpoint is one region's federation node: it listens for peers, keeps a
// Link to every peer it was asked to Connect, serves registered Handlers
// and feeds incoming changes to the Replica.
type Endpoint struct {
	cfg       Config
	pc        net.PacketConn
	tr        *quic.Transport
	ln        *quic.EarlyListener
	serverTLS *tls.Config

	ctx    context.Context // cancelled by Close; parent of every goroutine's context
	cancel context.CancelFunc
	wg     sync.WaitGroup // the accept loop and every connection server

	handlersMu sync.RWMutex // protects handlers
	handlers   map[uint8]Handler

	tracer tracing.Ref // SetTracerProvider (trace.go); zero: off

	mu    sync.Mutex // protects links, linkList, inbound, applyMu and closed
	links map[string]*Link
	// linkList is links sorted by region, replaced (never modified) when
	// a link is added, so Publish and Links need not sort per call.
	linkList []*Link
	inbound  map[*quic.Conn]struct{}
	applyMu  map[string]*sync.Mutex // serialises Apply per sending region
	closed   bool
}

// New starts an endpoint listening on cfg.ListenAddr (or cfg.PacketConn).
func New(cfg Config) (*Endpoint, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if err := checkOwnCert(cfg.CertPEM, cfg.Region); err != nil {
		return nil, err
	}
	serverTLS, err := pki.ServerTLS(cfg.CAPEM, cfg.CertPEM, cfg.KeyPEM, pki.RoleServer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	serverTLS.NextProtos = []string{alpn}
	pc := cfg.PacketConn
	if pc == nil {
		if pc, err = net.ListenPacket("udp", cfg.ListenAddr); err != nil {
			return nil, fmt.Errorf("federation: listen %s: %w", cfg.ListenAddr, err)
		}
	}
	e := &Endpoint{
		cfg:       cfg,
		pc:        pc,
		tr:        &quic.Transport{Conn: pc},
		serverTLS: serverTLS,
		handlers:  map[uint8]Handler{},
		links:     map[string]*Link{},
		inbound:   map[*quic.Conn]struct{}{},
		applyMu:   map[string]*sync.Mutex{},
	}
	qc := e.quicConfig()
	qc.Allow0RTT = true
	if e.ln, err = e.tr.ListenEarly(serverTLS, qc); err != nil {
		_ = e.tr.Close()
		_ = pc.Close()
		return nil, fmt.Errorf("federation: listen: %w", err)
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	e.wg.Add(1)
	go e.acceptLoop()
	return e, nil
}

// checkOwnCert catches a certificate issued for another region at start,
// rather than as refusals by every peer later.
func checkOwnCert(certPEM []byte, region string) error {
	blk, _ := pem.Decode(certPEM)
	if blk == nil {
		return fmt.Errorf("%w: CertPEM holds no PEM block", ErrBadConfig)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return fmt.Errorf("%w: CertPEM: %w", ErrBadConfig, err)
	}
	if c.Subject.CommonName != region || !slices.Contains(c.DNSNames, region) {
		return fmt.Errorf("%w: certificate is for %q %v, not region %q", ErrBadConfig, c.Subject.CommonName, c.DNSNames, region)
	}
	return nil
}

func (e *Endpoint) quicConfig() *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout: e.cfg.HandshakeTimeout,
		MaxIdleTimeout:       e.cfg.IdleTimeout,
		KeepAlivePeriod:      e.cfg.KeepAlive,
		// One stream per call, plus the change and anti-entropy streams.
		MaxIncomingStreams:    int64(e.cfg.MaxConcurrentCalls) + 4,
		MaxIncomingUniStreams: -1,
	}
}

// Region returns the endpoint's region.
func (e *Endpoint) Region() string { return e.cfg.Region }

// Addr returns the UDP address peers dial.
func (e *Endpoint) Addr() net.Addr { return e.pc.LocalAddr() }

// Handle registers h for requests of kind, replacing any earlier handler.
// It may be called at any time; requests of a kind with no handler fail
// with ErrUnknownKind at the caller.
func (e *Endpoint) Handle(kind uint8, h Handler) {
	e.handlersMu.Lock()
	e.handlers[kind] = h
	e.handlersMu.Unlock()
}

func (e *Endpoint) handler(kind uint8) Handler {
	e.handlersMu.RLock()
	defer e.handlersMu.RUnlock()
	return e.handlers[kind]
}

// Connect starts a link to region at addr. The link dials in the
// background and redials with backoff for as long as the endpoint lives;
// use Link.WaitConnected to wait for the first connection. The peer's
// certificate must be valid for the name region. region may be the
// endpoint's own: an L2 node links to its region's gateway (l3/gateway).
func (e *Endpoint) Connect(region string, addr net.Addr) (*Link, error) {
	clientTLS, err := pki.ClientTLS(e.cfg.CAPEM, e.cfg.CertPEM, e.cfg.KeyPEM, region, pki.RoleServer)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadConfig, err)
	}
	clientTLS.NextProtos = []string{alpn}
	// Session tickets let a redial resume with 0-RTT.
	clientTLS.ClientSessionCache = tls.NewLRUClientSessionCache(4)
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, ErrClosed
	}
	if _, dup := e.links[region]; dup {
		return nil, fmt.Errorf("%w: %q", ErrDuplicateLink, region)
	}
	l := newLink(e, region, addr, clientTLS)
	e.links[region] = l
	list := append(slices.Clone(e.linkList), l)
	slices.SortFunc(list, func(a, b *Link) int { return strings.Compare(a.region, b.region) })
	e.linkList = list
	l.start()
	return l, nil
}

// Link returns the link to region, if Connect was called for it.
func (e *Endpoint) Link(region string) (*Link, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l, ok := e.links[region]
	return l, ok
}

// Links returns every link, ordered by region. The slice is shared: do
// not modify it.
func (e *Endpoint) Links() []*Link {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.linkList
}

// Publish puts c in the outbox of every link. Call it after c is applied
// to the local store that Source reads, so that a repair after an overflow
// finds it. When Publish returns, c is acknowledged: it will reach every
// linked region unless this process dies first (the outbox is memory).
func (e *Endpoint) Publish(c Change) error {
	for _, l := range e.Links() {
		if _, err := l.Enqueue(c); err != nil {
			return err
		}
	}
	return nil
}

// Close stops every link and connection, waits for their goroutines and
// releases the socket. Changes still in outboxes are lost.
func (e *Endpoint) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	links := make([]*Link, 0, len(e.links))
	for _, l := range e.links {
		links = append(links, l)
	}
	inbound := make([]*quic.Conn, 0, len(e.inbound))
	for c := range e.inbound {
		inbound = append(inbound, c)
	}
	e.mu.Unlock()

	for _, l := range links {
		l.close()
	}
	e.cancel()
	_ = e.ln.Close()
	for _, c := range inbound {
		_ = c.CloseWithError(codeClosing, "endpoint closing")
	}
	e.wg.Wait()
	err := e.tr.Close()
	if cerr := e.pc.Close(); err == nil {
		err = cerr
	}
	return err
}

func (e *Endpoint) acceptLoop() {
	defer e.wg.Done()
	for {
		conn, err := e.ln.Accept(e.ctx)
		if err != nil {
			return
		}
		e.mu.Lock()
		if e.closed {
			e.mu.Unlock()
			_ = conn.CloseWithError(codeClosing, "endpoint closing")
			return
		}
		e.inbound[conn] = struct{}{}
		e.wg.Add(1)
		e.mu.Unlock()
		go func() {
			defer e.wg.Done()
			e.serveConn(conn)
			e.mu.Lock()
			delete(e.inbound, conn)
			e.mu.Unlock()
		}()
	}
}

// applyLock returns the mutex that keeps Apply calls for one sending
// region from overlapping (a change stream and a repair, or a stream and
// its replacement after a reconnect).
func (e *Endpoint) applyLock(region string) *sync.Mutex {
	e.mu.Lock()
	defer e.mu.Unlock()
	m, ok := e.applyMu[region]
	if !ok {
		m = &sync.Mutex{}
		e.applyMu[region] = m
	}
	return m
}
