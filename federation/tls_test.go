package federation

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/tiercache/tiercache/internal/pki"
)

func issue(t *testing.T, ca *pki.CA, name string, role pki.Role, notAfter time.Time) (cert, key []byte) {
	t.Helper()
	cert, key, err := ca.Issue(pki.IssueOptions{
		CommonName: name, Role: role, DNSNames: []string{name},
		IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, NotAfter: notAfter,
	})
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

func newCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

func testEndpoint(t *testing.T, region string, caPEM, cert, key []byte) *Endpoint {
	t.Helper()
	e, err := New(Config{
		Region: region, CAPEM: caPEM, CertPEM: cert, KeyPEM: key,
		KeepAlive: 100 * time.Millisecond, IdleTimeout: time.Second, HandshakeTimeout: time.Second,
		BackoffMin: 20 * time.Millisecond, BackoffMax: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// refusedLink connects from to the server under the name as and checks
// that the link never comes up, reports ErrPeerRefused, and never reaches
// the server's handler.
func refusedLink(t *testing.T, from *Endpoint, server *Endpoint, as string, served *atomic.Int32) {
	t.Helper()
	l, err := from.Connect(as, server.Addr())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 800*time.Millisecond)
	defer cancel()
	if _, err := l.Call(ctx, 1, []byte("x"), true); !errors.Is(err, ErrLinkDown) {
		t.Fatalf("call over a refused link: %v", err)
	}
	if !errors.Is(l.LastError(), ErrPeerRefused) {
		t.Fatalf("last error %v, want ErrPeerRefused", l.LastError())
	}
	if l.Connected() || l.Stats().Connects != 0 {
		t.Fatalf("refused link counts as connected: %+v", l.Stats())
	}
	if served.Load() != 0 {
		t.Fatal("a refused peer reached the handler")
	}
}

func TestTLSRefusals(t *testing.T) {
	ca := newCA(t)
	euCert, euKey := issue(t, ca, "eu-west", pki.RoleServer, time.Time{})
	eu := testEndpoint(t, "eu-west", ca.CertPEM(), euCert, euKey)
	var served atomic.Int32
	eu.Handle(1, HandlerFunc(func(_ context.Context, req []byte) ([]byte, error) {
		served.Add(1)
		return req, nil
	}))

	t.Run("good peer is served", func(t *testing.T) {
		c, k := issue(t, ca, "us-east", pki.RoleServer, time.Time{})
		us := testEndpoint(t, "us-east", ca.CertPEM(), c, k)
		l, _ := us.Connect("eu-west", eu.Addr())
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		if _, err := l.Call(ctx, 1, []byte("x"), false); err != nil {
			t.Fatal(err)
		}
		served.Store(0)
	})
	t.Run("other CA", func(t *testing.T) {
		other := newCA(t)
		c, k := issue(t, other, "us-east", pki.RoleServer, time.Time{})
		refusedLink(t, testEndpoint(t, "us-east", other.CertPEM(), c, k), eu, "eu-west", &served)
	})
	t.Run("other CA's client trusting ours", func(t *testing.T) {
		// The client trusts the server, the server does not trust it.
		other := newCA(t)
		c, k := issue(t, other, "us-east", pki.RoleServer, time.Time{})
		refusedLink(t, testEndpoint(t, "us-east", ca.CertPEM(), c, k), eu, "eu-west", &served)
	})
	t.Run("expired certificate", func(t *testing.T) {
		c, k := issue(t, ca, "us-east", pki.RoleServer, time.Now().Add(-time.Minute))
		refusedLink(t, testEndpoint(t, "us-east", ca.CertPEM(), c, k), eu, "eu-west", &served)
	})
	t.Run("wrong name", func(t *testing.T) {
		c, k := issue(t, ca, "us-east", pki.RoleServer, time.Time{})
		// eu-west's certificate does not say ap-south.
		refusedLink(t, testEndpoint(t, "us-east", ca.CertPEM(), c, k), eu, "ap-south", &served)
	})
	t.Run("wrong role", func(t *testing.T) {
		c, k := issue(t, ca, "us-east", pki.RoleClient, time.Time{})
		refusedLink(t, testEndpoint(t, "us-east", ca.CertPEM(), c, k), eu, "eu-west", &served)
	})
	t.Run("no certificate", func(t *testing.T) {
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(ca.CertPEM())
		tlsConf := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: pool, ServerName: "eu-west", NextProtos: []string{alpn}}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		conn, err := quic.DialAddr(ctx, eu.Addr().String(), tlsConf, &quic.Config{})
		if err == nil {
			// TLS 1.3 lets the client finish before the server checks it;
			// the refusal arrives as the connection's end.
			defer conn.CloseWithError(0, "")
			if s, serr := conn.OpenStreamSync(ctx); serr == nil {
				frame, _ := appendCall(nil, callHeader{kind: 1}, []byte("x"), DefaultMaxFrameBytes)
				_, _ = s.Write(frame)
				_ = s.Close()
				_, _, err = readFrame(s, DefaultMaxFrameBytes)
			} else {
				err = serr
			}
		}
		var te *quic.TransportError
		if !errors.As(err, &te) || !te.ErrorCode.IsCryptoError() {
			t.Fatalf("a peer without a certificate got %v, want a TLS refusal", err)
		}
		if served.Load() != 0 {
			t.Fatal("a peer without a certificate reached the handler")
		}
	})
}

func TestOwnCertificateMustNameRegion(t *testing.T) {
	ca := newCA(t)
	c, k := issue(t, ca, "ap-south", pki.RoleServer, time.Time{})
	_, err := New(Config{Region: "us-east", CAPEM: ca.CertPEM(), CertPEM: c, KeyPEM: k})
	if !errors.Is(err, ErrBadConfig) {
		t.Fatalf("certificate for another region: %v", err)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{Region: "r", CAPEM: []byte("x"), CertPEM: []byte("x"), KeyPEM: []byte("x")}
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, mut := range map[string]func(*Config){
		"no region":            func(c *Config) { c.Region = "" },
		"no cert":              func(c *Config) { c.CertPEM = nil },
		"huge frame":           func(c *Config) { c.MaxFrameBytes = MaxFrameBytesLimit + 1 },
		"tiny frame":           func(c *Config) { c.MaxFrameBytes = 10 },
		"negative limit":       func(c *Config) { c.OutboxMaxBytes = -1 },
		"buckets not pow2":     func(c *Config) { c.AntiEntropyBuckets = 1000 },
		"digests over frame":   func(c *Config) { c.MaxFrameBytes = 4096; c.AntiEntropyBuckets = 4096 },
		"negative duration":    func(c *Config) { c.IdleTimeout = -1 },
		"backoff inverted":     func(c *Config) { c.BackoffMin = time.Minute; c.BackoffMax = time.Second },
		"keepalive above idle": func(c *Config) { c.KeepAlive = 10 * time.Second },
	} {
		c := good
		mut(&c)
		if err := c.Validate(); !errors.Is(err, ErrBadConfig) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
