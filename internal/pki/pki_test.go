package pki

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

type leaf struct{ cert, key []byte }

func issue(t *testing.T, ca *CA, o IssueOptions) leaf {
	t.Helper()
	if o.IPs == nil {
		o.IPs = []net.IP{net.IPv4(127, 0, 0, 1)}
	}
	c, k, err := ca.Issue(o)
	if err != nil {
		t.Fatal(err)
	}
	return leaf{c, k}
}

// handshake runs one TLS handshake over loopback and returns the client's
// and server's errors.
func handshake(t *testing.T, srv, cli *tls.Config) (clientErr, serverErr error) {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", srv)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		err = c.(*tls.Conn).Handshake()
		if err == nil {
			_, err = c.Write([]byte("ok"))
		}
		done <- err
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), cli)
	if err == nil {
		_, err = io.ReadFull(c, make([]byte, 2))
		c.Close()
	}
	return err, <-done
}

func TestRolesAndCAs(t *testing.T) {
	ca, err := NewCA("test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewCA("other", time.Hour)
	server := issue(t, ca, IssueOptions{CommonName: "m1", Role: RoleServer, DNSNames: []string{"m1"}})
	peer := issue(t, ca, IssueOptions{CommonName: "m2", Role: RoleServer})
	node := issue(t, ca, IssueOptions{CommonName: "n1", Role: RoleNode})
	foreign := issue(t, other, IssueOptions{CommonName: "m9", Role: RoleServer})
	expired := issue(t, ca, IssueOptions{CommonName: "old", Role: RoleServer, NotBefore: time.Now().Add(-2 * time.Hour), NotAfter: time.Now().Add(-time.Hour)})

	srv, err := ServerTLS(ca.CertPEM(), server.cert, server.key, RoleServer)
	if err != nil {
		t.Fatal(err)
	}
	client := func(l leaf, caPEM []byte, name string) *tls.Config {
		c, err := ClientTLS(caPEM, l.cert, l.key, name, RoleServer)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if ce, se := handshake(t, srv, client(peer, ca.CertPEM(), "m1")); ce != nil || se != nil {
		t.Fatalf("server peer refused: %v / %v", ce, se)
	}
	if _, se := handshake(t, srv, client(node, ca.CertPEM(), "m1")); !errors.Is(se, ErrWrongRole) {
		t.Fatalf("node role accepted on a server-only endpoint: %v", se)
	}
	if _, se := handshake(t, srv, client(foreign, ca.CertPEM(), "m1")); se == nil {
		t.Fatal("certificate from a foreign CA accepted")
	}
	if _, se := handshake(t, srv, client(expired, ca.CertPEM(), "m1")); se == nil {
		t.Fatal("expired certificate accepted")
	}
	if ce, _ := handshake(t, srv, client(peer, ca.CertPEM(), "wrong-name")); ce == nil {
		t.Fatal("server with the wrong name accepted")
	}
	noCert := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: client(peer, ca.CertPEM(), "m1").RootCAs, ServerName: "m1"}
	if _, se := handshake(t, srv, noCert); se == nil {
		t.Fatal("client without a certificate accepted")
	}
}

func TestWriteDevPKIReusesCA(t *testing.T) {
	dir := t.TempDir()
	if err := WriteDevPKI(dir, map[string]Role{"m1": RoleServer}); err != nil {
		t.Fatal(err)
	}
	ca1, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err := WriteDevPKI(dir, map[string]Role{"ctl": RoleAdmin}); err != nil {
		t.Fatal(err)
	}
	ca2, _ := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if string(ca1) != string(ca2) {
		t.Fatal("CA was replaced")
	}
	c, _ := os.ReadFile(filepath.Join(dir, "ctl.pem"))
	cert, err := parseCert(c)
	if err != nil || RoleOf(cert) != RoleAdmin {
		t.Fatalf("ctl cert role %q err %v", RoleOf(cert), err)
	}
	if _, _, err := (&CA{}).Issue(IssueOptions{Role: "wizard"}); !errors.Is(err, ErrBadRole) {
		t.Fatalf("bad role err %v", err)
	}
}
