package raftmeta

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"

	"github.com/tiercache/tiercache/internal/pki"
)

// rpcAs sends a RequestVote to member m over a Raft transport that
// presents the given certificate, and returns the RPC's error.
func rpcAs(t *testing.T, m *Member, caPEM, certPEM, keyPEM []byte) error {
	t.Helper()
	clientTLS, err := pki.ClientTLS(caPEM, certPEM, keyPEM, "", pki.RoleServer)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	stream := newStreamLayer(ln, ln.Addr(), nil, clientTLS)
	trans := raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{Stream: stream, MaxPool: 1, Timeout: 2 * time.Second, Logger: testLogger(t, "intruder")})
	defer trans.Close()
	var resp raft.RequestVoteResponse
	req := raft.RequestVoteRequest{RPCHeader: raft.RPCHeader{ProtocolVersion: raft.ProtocolVersionMax, ID: []byte("intruder"), Addr: []byte(ln.Addr().String())}, Term: 0, LastLogIndex: 0}
	return trans.RequestVote("m1", raft.ServerAddress(m.RaftAddr()), &req, &resp)
}

func TestRaftTransportTakesOnlyServerCertificates(t *testing.T) {
	c := newCluster(t, clusterOpts{n: 1})
	m := c.members[0]
	p := loadPKI(t)
	for _, role := range []pki.Role{pki.RoleNode, pki.RoleClient, pki.RoleAdmin} {
		if err := rpcAs(t, m, p.caPEM, p.certs[role][0], p.certs[role][1]); err == nil {
			t.Fatalf("Raft RPC with a %s certificate was answered", role)
		}
	}
	if err := rpcAs(t, m, p.caPEM, p.foreignCert, p.foreignKey); err == nil {
		t.Fatal("Raft RPC with another CA's server certificate was answered")
	}
	// The member's own kind of certificate gets an answer, so the refusals
	// above are about the certificate, not the harness.
	s := p.certs[pki.RoleServer]
	if err := rpcAs(t, m, p.caPEM, s[0], s[1]); err != nil {
		t.Fatalf("Raft RPC with a server certificate: %v", err)
	}
	if !m.IsLeader() || m.raft.CurrentTerm() == 0 {
		t.Fatal("the member lost leadership to a refused peer")
	}
}

func TestStreamLayerRefusesWhilePartitioned(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := newStreamLayer(ln, ln.Addr(), nil, nil)
	defer s.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := s.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	out, err := s.Dial(raft.ServerAddress(ln.Addr().String()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	in := <-accepted
	s.setRefused(true)
	// Existing connections are cut both ways.
	in.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := in.Read(make([]byte, 1)); err == nil {
		t.Fatal("read on a cut connection succeeded")
	}
	if _, err := s.Dial(raft.ServerAddress(ln.Addr().String()), time.Second); !errors.Is(err, ErrRefused) {
		t.Fatalf("dial while partitioned: %v", err)
	}
	// A peer dialling in is dropped at once.
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	raw.SetReadDeadline(time.Now().Add(2 * time.Second))
	var ne net.Error
	if _, err := raw.Read(make([]byte, 1)); err == nil || errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("inbound connection while partitioned: %v", err)
	}
	raw.Close()
	out.Close()
	s.setRefused(false)
	again, err := s.Dial(raft.ServerAddress(ln.Addr().String()), time.Second)
	if err != nil {
		t.Fatalf("dial after healing: %v", err)
	}
	again.Close()
	s.Close()
	for range accepted {
	}
}
