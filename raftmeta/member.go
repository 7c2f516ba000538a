package raftmeta

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/internal/pki"
)

// applyTimeout bounds how long a proposal may wait to enter Raft's queue.
const applyTimeout = 5 * time.Second

// Member is one voter of the control-plane Raft group together with its
// HTTP API and, while it leads, the cluster manager. Open starts it; Close
// stops every goroutine it started and releases its files and ports.
type Member struct {
	cfg    Config
	log    hclog.Logger
	clock  clock.Clock
	fsm    *fsm
	raft   *raft.Raft
	stream *streamLayer
	trans  *raft.NetworkTransport
	store  *raftboltdb.BoltStore

	httpLn   net.Listener
	httpSrv  *http.Server
	httpAddr string
	scheme   string       // "https", or "http" when insecure
	peerTLS  *tls.Config  // client side of member-to-member calls; nil when insecure
	fwd      *http.Client // proxies writes to the leader

	leases    *leaseBook
	readyTerm atomic.Uint64 // the term whose leadership is ready to serve
	heldPolls atomic.Int64  // topology long polls being held right now
	// managerTicks counts finished passes of the manager loop, so tests
	// can wait for the manager to have looked instead of sleeping.
	managerTicks atomic.Uint64

	ctx    context.Context // cancelled by Close; parent of every request
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// Open starts a member: Raft over its (TLS) transport with its log in
// DataDir, the HTTP API, the lease manager and, if Join is set, the loop
// that asks the group to add it.
func Open(cfg Config) (*Member, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m := &Member{cfg: cfg, log: cfg.Logger.With("member", cfg.ID), clock: cfg.Clock, fsm: newFSM(), scheme: "http"}
	m.leases = newLeaseBook(cfg.LeaseTimeout, cfg.UpAfter)
	m.ctx, m.cancel = context.WithCancel(context.Background())

	var raftServerTLS, apiTLS *tls.Config
	if !cfg.Insecure {
		var err error
		if raftServerTLS, err = pki.ServerTLS(cfg.CAPEM, cfg.CertPEM, cfg.KeyPEM, pki.RoleServer); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		if m.peerTLS, err = pki.ClientTLS(cfg.CAPEM, cfg.CertPEM, cfg.KeyPEM, "", pki.RoleServer); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		// Resumed sessions skip the certificate work, which matters when
		// a candidate has to dial its peers mid-election on a busy host.
		m.peerTLS.ClientSessionCache = tls.NewLRUClientSessionCache(16)
		if apiTLS, err = pki.ServerTLS(cfg.CAPEM, cfg.CertPEM, cfg.KeyPEM, pki.RoleServer, pki.RoleNode, pki.RoleClient, pki.RoleAdmin); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		m.scheme = "https"
	}
	cleanup := []func(){m.cancel}
	fail := func(err error) (*Member, error) {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
		return nil, err
	}

	raftLn, err := net.Listen("tcp", cfg.RaftAddr)
	if err != nil {
		return fail(fmt.Errorf("raftmeta: listen raft: %w", err))
	}
	if ip := raftLn.Addr().(*net.TCPAddr).IP; ip.IsUnspecified() {
		raftLn.Close()
		return fail(fmt.Errorf("%w: raft address %q: peers need a concrete host to dial", ErrConfig, cfg.RaftAddr))
	}
	m.stream = newStreamLayer(raftLn, raftLn.Addr(), raftServerTLS, m.peerTLS)
	cleanup = append(cleanup, func() { m.stream.Close() })

	if err := m.openRaft(); err != nil {
		return fail(err)
	}
	cleanup = append(cleanup, m.closeRaft)

	if m.httpLn, err = net.Listen("tcp", cfg.HTTPAddr); err != nil {
		return fail(fmt.Errorf("raftmeta: listen http: %w", err))
	}
	m.httpAddr = m.httpLn.Addr().String()
	m.fwd = &http.Client{Transport: &http.Transport{TLSClientConfig: m.peerTLS, MaxIdleConnsPerHost: 8, IdleConnTimeout: 30 * time.Second}}
	m.httpSrv = &http.Server{
		Handler:           m.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return m.ctx },
		ErrorLog:          m.log.StandardLogger(&hclog.StandardLoggerOptions{InferLevels: true}),
	}
	ln := m.httpLn
	if apiTLS != nil {
		ln = tls.NewListener(ln, apiTLS)
	}
	m.goFunc(func() {
		if err := m.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.log.Error("http server stopped", "error", err)
		}
	})
	m.goFunc(m.manage)
	if len(cfg.Join) > 0 {
		m.goFunc(m.join)
	}
	m.log.Info("member started", "raft", m.RaftAddr(), "http", m.httpAddr)
	return m, nil
}

func (m *Member) openRaft() error {
	cfg := m.cfg
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("raftmeta: data dir: %w", err)
	}
	store, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(cfg.DataDir, "raft.db")})
	if err != nil {
		return fmt.Errorf("raftmeta: open log store: %w", err)
	}
	snaps, err := raft.NewFileSnapshotStoreWithLogger(cfg.DataDir, 2, m.log.Named("snapshots"))
	if err != nil {
		store.Close()
		return fmt.Errorf("raftmeta: open snapshot store: %w", err)
	}
	m.trans = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  m.stream,
		MaxPool: 3,
		Timeout: 2 * time.Second,
		Logger:  m.log.Named("raft-net"),
	})
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.ID)
	rc.HeartbeatTimeout = cfg.Raft.HeartbeatTimeout
	rc.ElectionTimeout = cfg.Raft.ElectionTimeout
	rc.LeaderLeaseTimeout = cfg.Raft.LeaderLeaseTimeout
	rc.CommitTimeout = cfg.Raft.CommitTimeout
	rc.SnapshotThreshold = cfg.Raft.SnapshotThreshold
	rc.SnapshotInterval = cfg.Raft.SnapshotInterval
	rc.TrailingLogs = cfg.Raft.TrailingLogs
	rc.Logger = m.log.Named("raft")
	fail := func(err error) error {
		m.trans.Close()
		store.Close()
		return err
	}
	if err := raft.ValidateConfig(rc); err != nil {
		return fail(fmt.Errorf("%w: raft: %w", ErrConfig, err))
	}
	if cfg.Bootstrap {
		has, err := raft.HasExistingState(store, store, snaps)
		if err != nil {
			return fail(fmt.Errorf("raftmeta: read raft state: %w", err))
		}
		if !has {
			boot := raft.Configuration{Servers: []raft.Server{{Suffrage: raft.Voter, ID: rc.LocalID, Address: m.trans.LocalAddr()}}}
			if err := raft.BootstrapCluster(rc, store, store, snaps, m.trans, boot); err != nil {
				return fail(fmt.Errorf("raftmeta: bootstrap: %w", err))
			}
		}
	}
	r, err := raft.NewRaft(rc, m.fsm, store, store, snaps, m.trans)
	if err != nil {
		return fail(fmt.Errorf("raftmeta: start raft: %w", err))
	}
	m.raft, m.store = r, store
	return nil
}

func (m *Member) closeRaft() {
	if err := m.raft.Shutdown().Error(); err != nil {
		m.log.Warn("raft shutdown", "error", err)
	}
	m.trans.Close()
	m.store.Close()
}

// goFunc runs f in a goroutine that Close waits for.
func (m *Member) goFunc(f func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

// Close stops the API (ending long polls), the manager and Raft, closes
// the transport and the log store, and waits for every goroutine. It does
// not hand leadership over first: to the group it looks like a crash, which
// Raft is built to survive.
func (m *Member) Close() error {
	m.once.Do(func() {
		m.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if err := m.httpSrv.Shutdown(ctx); err != nil {
			m.httpSrv.Close()
		}
		cancel()
		m.wg.Wait()
		m.closeRaft()
		m.fwd.CloseIdleConnections()
		m.log.Info("member stopped")
	})
	return nil
}

// ID returns the member's id.
func (m *Member) ID() string { return m.cfg.ID }

// RaftAddr returns the address peers dial for Raft RPC.
func (m *Member) RaftAddr() string { return m.stream.Addr().String() }

// HTTPAddr returns the address of the member's API.
func (m *Member) HTTPAddr() string { return m.httpAddr }

// Topology returns this member's latest applied topology (possibly behind
// the leader's).
func (m *Member) Topology() *Topology { return m.fsm.current().topo }

// IsLeader reports whether this member leads and is ready to serve writes.
func (m *Member) IsLeader() bool {
	t := m.readyTerm.Load()
	return t != 0 && m.raft.State() == raft.Leader && m.raft.CurrentTerm() == t
}

// leaderInfo returns the leader's id and API address as this member knows
// them; either may be empty.
func (m *Member) leaderInfo() (id, httpAddr string) {
	_, lid := m.raft.LeaderWithID()
	id = string(lid)
	if id == m.cfg.ID {
		return id, m.httpAddr
	}
	for _, mi := range m.fsm.current().members {
		if mi.ID == id {
			return id, mi.HTTPAddress
		}
	}
	return id, ""
}

// Status returns this member's view of the group.
func (m *Member) Status() Status {
	v := m.fsm.current()
	lid, lhttp := m.leaderInfo()
	st := Status{
		Member:          m.cfg.ID,
		RaftState:       m.raft.State().String(),
		Leader:          lid,
		LeaderHTTP:      lhttp,
		Term:            m.raft.CurrentTerm(),
		Epoch:           v.topo.Epoch,
		KeyspaceVersion: v.topo.KeyspaceVersion,
		CommitIndex:     m.raft.CommitIndex(),
		AppliedIndex:    m.raft.AppliedIndex(),
		HeldPolls:       m.heldPolls.Load(),
	}
	known := map[string]MemberInfo{}
	for _, mi := range v.members {
		known[mi.ID] = mi
	}
	if f := m.raft.GetConfiguration(); f.Error() == nil {
		for _, s := range f.Configuration().Servers {
			mi := known[string(s.ID)]
			mi.ID, mi.RaftAddress = string(s.ID), string(s.Address)
			mi.Voter = s.Suffrage == raft.Voter
			mi.Leader = mi.ID == lid
			if mi.ID == m.cfg.ID {
				mi.HTTPAddress = m.httpAddr
			}
			st.Members = append(st.Members, mi)
		}
	}
	return st
}

// setPartitioned cuts (or restores) this member's Raft traffic both ways;
// the API keeps serving. Tests use it to partition a member away.
func (m *Member) setPartitioned(on bool) { m.stream.setRefused(on) }
