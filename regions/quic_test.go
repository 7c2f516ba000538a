package regions

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/tiercache/tiercache/internal/pki"
)

// TestQUICOverWAN runs a real quic-go connection over two simulated
// regions with jitter (so packets reorder) and loss, and checks that a
// megabyte arrives intact and that quic-go measures the profile's RTT.
func TestQUICOverWAN(t *testing.T) {
	w := testWAN(t, 7)
	if err := w.SetLink(Link{A: "us-east", B: "eu-west", RTT: 70 * time.Millisecond, Jitter: 3 * time.Millisecond, Loss: 0.01}); err != nil {
		t.Fatal(err)
	}
	us, eu := listen(t, w, "us-east"), listen(t, w, "eu-west")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn := dialEcho(t, ctx, us, eu)

	payload := make([]byte, 1<<20)
	_, _ = rand.Read(payload)
	s, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = s.Write(payload)
		_ = s.Close()
	}()
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, payload) {
		t.Fatalf("echo corrupted: %d bytes back", len(got))
	}
	st := conn.ConnectionStats()
	if st.MinRTT < 60*time.Millisecond || st.SmoothedRTT > 2*70*time.Millisecond {
		t.Fatalf("quic-go measured min %v smoothed %v on a 70 ms link", st.MinRTT, st.SmoothedRTT)
	}
	if us.Stats().Lost == 0 {
		t.Fatal("no packet was lost on a 1% loss link over a megabyte")
	}
	t.Logf("1 MiB echo: min rtt %v, smoothed %v, packets lost by the link %d", st.MinRTT, st.SmoothedRTT, us.Stats().Lost+eu.Stats().Lost)
}

// dialEcho runs quic-go from client to server over the two packet conns:
// server echoes every stream back until the connection ends. The
// connection, the echo server and both transports are closed when the test
// ends.
func dialEcho(t *testing.T, ctx context.Context, client, server net.PacketConn) *quic.Conn {
	t.Helper()
	serverTLS, clientTLS := quicTLS(t)
	cT, sT := &quic.Transport{Conn: client}, &quic.Transport{Conn: server}
	t.Cleanup(func() { _ = cT.Close() })
	t.Cleanup(func() { _ = sT.Close() })
	ln, err := sT.Listen(serverTLS, &quic.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	serveCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn, err := ln.Accept(serveCtx)
		if err != nil {
			return
		}
		defer conn.CloseWithError(0, "")
		for {
			s, err := conn.AcceptStream(serveCtx)
			if err != nil {
				return
			}
			_, _ = io.Copy(s, s)
			_ = s.Close()
		}
	}()
	t.Cleanup(func() {
		stop()
		wg.Wait()
	})
	conn, err := cT.Dial(ctx, server.LocalAddr(), clientTLS, &quic.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.CloseWithError(0, "") })
	return conn
}

func quicTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	ca, err := pki.NewCA("test", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sc, sk, err := ca.Issue(pki.IssueOptions{CommonName: "eu-west", Role: pki.RoleServer, DNSNames: []string{"eu-west"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)}})
	if err != nil {
		t.Fatal(err)
	}
	cc, ck, err := ca.Issue(pki.IssueOptions{CommonName: "us-east", Role: pki.RoleServer, DNSNames: []string{"us-east"}})
	if err != nil {
		t.Fatal(err)
	}
	server, err = pki.ServerTLS(ca.CertPEM(), sc, sk, pki.RoleServer)
	if err != nil {
		t.Fatal(err)
	}
	client, err = pki.ClientTLS(ca.CertPEM(), cc, ck, "eu-west", pki.RoleServer)
	if err != nil {
		t.Fatal(err)
	}
	server.NextProtos = []string{"regions-test"}
	client.NextProtos = []string{"regions-test"}
	return server, client
}
