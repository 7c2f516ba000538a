// Package pki makes and checks the certificates that authenticate tiercache's
// processes to each other: one deployment CA, and leaf certificates that
// carry a role (server, node, client, admin) as a URI SAN. Raft RPC accepts
// only the server role; the control-plane API and federation links check
// roles per endpoint, so a stolen app certificate cannot join the Raft group.
package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Role is what a certificate's holder may do.
type Role string

// The roles.
const (
	RoleServer Role = "server" // raftmeta members, node servers, federation peers
	RoleNode   Role = "node"   // node agents talking to raftmeta
	RoleClient Role = "client" // apps
	RoleAdmin  Role = "admin"  // operators (tiercache ctl)
)

const roleURIPrefix = "tiercache://role/"

// Errors.
var (
	ErrBadPEM    = errors.New("pki: bad PEM input")
	ErrWrongRole = errors.New("pki: certificate role not allowed")
	ErrNoRole    = errors.New("pki: certificate carries no tiercache role")
	ErrBadRole   = errors.New("pki: unknown role")
)

// CA is a deployment's certificate authority.
type CA struct {
	cert    *x509.Certificate
	certPEM []byte
	key     *ecdsa.PrivateKey
}

// NewCA makes a self-signed CA valid from now for validity.
func NewCA(commonName string, validity time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("pki: generate CA key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"tiercache"}},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("pki: sign CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("pki: parse CA: %w", err)
	}
	return &CA{cert: cert, certPEM: pemEncode("CERTIFICATE", der), key: key}, nil
}

// LoadCA reads a CA from its PEM certificate and key.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	cert, err := parseCert(certPEM)
	if err != nil {
		return nil, err
	}
	key, err := parseKey(keyPEM)
	if err != nil {
		return nil, err
	}
	return &CA{cert: cert, certPEM: certPEM, key: key}, nil
}

// CertPEM returns the CA certificate in PEM.
func (ca *CA) CertPEM() []byte { return ca.certPEM }

// KeyPEM returns the CA private key in PEM.
func (ca *CA) KeyPEM() ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(ca.key)
	if err != nil {
		return nil, fmt.Errorf("pki: marshal key: %w", err)
	}
	return pemEncode("EC PRIVATE KEY", der), nil
}

// IssueOptions describe a leaf certificate.
type IssueOptions struct {
	CommonName string
	Role       Role
	DNSNames   []string
	IPs        []net.IP
	// NotBefore and NotAfter default to now-1m and now+1 year.
	NotBefore, NotAfter time.Time
}

// Issue signs a leaf certificate usable for both server and client TLS.
func (ca *CA) Issue(o IssueOptions) (certPEM, keyPEM []byte, err error) {
	if !validRole(o.Role) {
		return nil, nil, fmt.Errorf("%w: %q", ErrBadRole, o.Role)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: generate key: %w", err)
	}
	now := time.Now()
	if o.NotBefore.IsZero() {
		o.NotBefore = now.Add(-time.Minute)
	}
	if o.NotAfter.IsZero() {
		o.NotAfter = now.Add(365 * 24 * time.Hour)
	}
	roleURI, _ := url.Parse(roleURIPrefix + string(o.Role))
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: o.CommonName, Organization: []string{"tiercache"}},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:     o.DNSNames,
		IPAddresses:  o.IPs,
		URIs:         []*url.URL{roleURI},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: sign leaf: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: marshal key: %w", err)
	}
	return pemEncode("CERTIFICATE", der), pemEncode("EC PRIVATE KEY", kder), nil
}

// RoleOf returns the role a certificate carries, or "" if none.
func RoleOf(cert *x509.Certificate) Role {
	for _, u := range cert.URIs {
		s := u.String()
		if len(s) > len(roleURIPrefix) && s[:len(roleURIPrefix)] == roleURIPrefix {
			return Role(s[len(roleURIPrefix):])
		}
	}
	return ""
}

// CheckRole reports whether the verified peer certificate carries one of
// the allowed roles.
func CheckRole(cert *x509.Certificate, allowed ...Role) error {
	r := RoleOf(cert)
	if r == "" {
		return ErrNoRole
	}
	if !slices.Contains(allowed, r) {
		return fmt.Errorf("%w: %q (allowed %v)", ErrWrongRole, r, allowed)
	}
	return nil
}

// ServerTLS returns a TLS 1.3 server config that requires a client
// certificate from the CA carrying one of clientRoles.
func ServerTLS(caPEM, certPEM, keyPEM []byte, clientRoles ...Role) (*tls.Config, error) {
	pool, pair, err := load(caPEM, certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:            tls.VersionTLS13,
		Certificates:          []tls.Certificate{pair},
		ClientCAs:             pool,
		ClientAuth:            tls.RequireAndVerifyClientCert,
		VerifyPeerCertificate: verifyRole(clientRoles),
	}, nil
}

// ClientTLS returns a TLS 1.3 client config that presents certPEM, checks
// the server against the CA and serverName, and requires one of serverRoles.
func ClientTLS(caPEM, certPEM, keyPEM []byte, serverName string, serverRoles ...Role) (*tls.Config, error) {
	pool, pair, err := load(caPEM, certPEM, keyPEM)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		MinVersion:            tls.VersionTLS13,
		Certificates:          []tls.Certificate{pair},
		RootCAs:               pool,
		ServerName:            serverName,
		VerifyPeerCertificate: verifyRole(serverRoles),
	}, nil
}

// WriteDevPKI makes a development CA and one certificate per name in dir:
// ca.pem, ca-key.pem, NAME.pem and NAME-key.pem, valid for localhost and
// 127.0.0.1 (and NAME as a DNS name). An existing ca.pem/ca-key.pem in dir
// is reused so certificates can be added later.
func WriteDevPKI(dir string, names map[string]Role) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	ca, err := loadOrMakeCA(dir)
	if err != nil {
		return err
	}
	for name, role := range names {
		c, k, err := ca.Issue(IssueOptions{
			CommonName: name, Role: role,
			DNSNames: []string{name, "localhost"},
			IPs:      []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		})
		if err != nil {
			return fmt.Errorf("pki: issue %s: %w", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".pem"), c, 0o644); err != nil {
			return fmt.Errorf("pki: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+"-key.pem"), k, 0o600); err != nil {
			return fmt.Errorf("pki: %w", err)
		}
	}
	return nil
}

func loadOrMakeCA(dir string) (*CA, error) {
	certPEM, err1 := os.ReadFile(filepath.Join(dir, "ca.pem"))
	keyPEM, err2 := os.ReadFile(filepath.Join(dir, "ca-key.pem"))
	if err1 == nil && err2 == nil {
		return LoadCA(certPEM, keyPEM)
	}
	ca, err := NewCA("tiercache development CA", 5*365*24*time.Hour)
	if err != nil {
		return nil, err
	}
	kp, err := ca.KeyPEM()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), ca.CertPEM(), 0o644); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ca-key.pem"), kp, 0o600); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	return ca, nil
}

func verifyRole(allowed []Role) func([][]byte, [][]*x509.Certificate) error {
	return func(_ [][]byte, chains [][]*x509.Certificate) error {
		if len(allowed) == 0 {
			return nil
		}
		if len(chains) == 0 || len(chains[0]) == 0 {
			return fmt.Errorf("%w: no verified chain", ErrWrongRole)
		}
		return CheckRole(chains[0][0], allowed...)
	}
}

func load(caPEM, certPEM, keyPEM []byte) (*x509.CertPool, tls.Certificate, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, tls.Certificate{}, fmt.Errorf("%w: no CA certificate", ErrBadPEM)
	}
	pair, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, tls.Certificate{}, fmt.Errorf("%w: %w", ErrBadPEM, err)
	}
	return pool, pair, nil
}

func parseCert(b []byte) (*x509.Certificate, error) {
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, fmt.Errorf("%w: want CERTIFICATE", ErrBadPEM)
	}
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPEM, err)
	}
	return c, nil
}

func parseKey(b []byte) (*ecdsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: want EC PRIVATE KEY", ErrBadPEM)
	}
	k, err := x509.ParseECPrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadPEM, err)
	}
	return k, nil
}

func validRole(r Role) bool {
	switch r {
	case RoleServer, RoleNode, RoleClient, RoleAdmin:
		return true
	}
	return false
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		// crypto/rand does not fail on supported platforms; fall back to time.
		return big.NewInt(time.Now().UnixNano())
	}
	return n
}

func pemEncode(typ string, der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}
