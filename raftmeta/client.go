package raftmeta

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/pki"
)

// Client defaults.
const (
	DefaultRequestTimeout = 5 * time.Second
	DefaultRetryFor       = 10 * time.Second
	// watchWait is how long one long poll asks the member to hold on.
	watchWait = 25 * time.Second
)

// ClientConfig describes how to reach the control plane.
type ClientConfig struct {
	// Members are API addresses (host:port) to start from; the client
	// learns the rest from the members' answers.
	Members []string
	// CAPEM, CertPEM and KeyPEM are the deployment CA and the caller's
	// certificate (role node, client, admin or server). Required unless
	// Insecure.
	CAPEM, CertPEM, KeyPEM []byte
	// Insecure talks plain HTTP; only to loopback members.
	Insecure bool
	// RequestTimeout bounds one request to one member (default 5s; a long
	// poll gets its hold time on top).
	RequestTimeout time.Duration
	// RetryFor is how long a call keeps trying members that fail or have
	// no leader before giving up with ErrUnavailable (default 10s).
	RetryFor time.Duration
}

// Validate reports the first bad field, wrapping ErrConfig.
func (c ClientConfig) Validate() error {
	if len(c.Members) == 0 {
		return fmt.Errorf("%w: no member addresses", ErrConfig)
	}
	for _, a := range c.Members {
		host, _, err := net.SplitHostPort(a)
		if err != nil {
			return fmt.Errorf("%w: member address %q: want host:port", ErrConfig, a)
		}
		if c.Insecure && !isLoopback(host) {
			return fmt.Errorf("%w: member address %q: %w", ErrConfig, a, ErrNotLoopback)
		}
	}
	if err := checkTLSChoice(c.Insecure, c.CAPEM, c.CertPEM, c.KeyPEM); err != nil {
		return err
	}
	if c.RequestTimeout < 0 || c.RetryFor < 0 {
		return fmt.Errorf("%w: negative timeout", ErrConfig)
	}
	return nil
}

// Client calls the control-plane API, failing over between members. It is
// safe for concurrent use. Writes carry an idempotency key that stays the
// same across retries, so a write whose answer was lost is applied once.
type Client struct {
	cfg    ClientConfig
	scheme string
	hc     *http.Client
	closed atomic.Bool

	mu      sync.Mutex // protects members and next
	members []string
	next    int // index of the member to try first
}

// NewClient returns a client for the members in cfg.
func NewClient(cfg ClientConfig) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.RetryFor == 0 {
		cfg.RetryFor = DefaultRetryFor
	}
	tr := &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     60 * time.Second,
	}
	c := &Client{cfg: cfg, scheme: "http", hc: &http.Client{Transport: tr}, members: slices.Clone(cfg.Members)}
	if !cfg.Insecure {
		tc, err := pki.ClientTLS(cfg.CAPEM, cfg.CertPEM, cfg.KeyPEM, "", pki.RoleServer)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
		tr.TLSClientConfig = tc
		c.scheme = "https"
	}
	return c, nil
}

// Close releases idle connections; calls after Close fail with ErrClosed.
func (c *Client) Close() error {
	c.closed.Store(true)
	c.hc.CloseIdleConnections()
	return nil
}

// Members returns the API addresses the client knows.
func (c *Client) Members() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.members)
}

// call is one logical API call.
type call struct {
	method string
	path   string
	query  url.Values
	body   any
	key    string        // idempotency key for writes
	hold   time.Duration // long-poll hold on top of the request timeout
}

// do runs cl against members until one answers with something other than
// "unreachable" or "no leader", decoding a 200 answer into out.
func (c *Client) do(ctx context.Context, cl call, out any) (http.Header, error) {
	if c.closed.Load() {
		return nil, ErrClosed
	}
	var body []byte
	if cl.body != nil {
		var err error
		if body, err = json.Marshal(cl.body); err != nil {
			return nil, fmt.Errorf("%w: encode body: %w", ErrInvalid, err)
		}
	}
	giveUp := time.Now().Add(c.cfg.RetryFor)
	pause := 20 * time.Millisecond
	var last error
	for attempt := 0; ; attempt++ {
		addr, round := c.pick(attempt)
		h, err := c.once(ctx, addr, cl, body, out)
		if err == nil {
			c.learn(h)
			return h, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !retryable(err) {
			return h, err
		}
		last = err
		c.skip(addr)
		if time.Now().After(giveUp) {
			return nil, fmt.Errorf("%w: %w", ErrUnavailable, last)
		}
		if round {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(pause):
			}
			pause = min(pause*2, 500*time.Millisecond)
		}
	}
}

// pick returns the member to try on this attempt and whether it ends a
// round through all of them.
func (c *Client) pick(attempt int) (string, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.members)
	return c.members[c.next%n], attempt%n == n-1
}

// skip moves past addr after it failed.
func (c *Client) skip(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.members[c.next%len(c.members)] == addr {
		c.next = (c.next + 1) % len(c.members)
	}
}

// learn adds the member addresses an answer listed.
func (c *Client) learn(h http.Header) {
	list := h.Get(HeaderMembers)
	if list == "" {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, a := range strings.Split(list, ",") {
		if a == "" || slices.Contains(c.members, a) {
			continue
		}
		if host, _, err := net.SplitHostPort(a); err != nil || c.cfg.Insecure && !isLoopback(host) {
			continue
		}
		c.members = append(c.members, a)
	}
}

func (c *Client) once(ctx context.Context, addr string, cl call, body []byte, out any) (http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout+cl.hold)
	defer cancel()
	u := url.URL{Scheme: c.scheme, Host: addr, Path: cl.path, RawQuery: cl.query.Encode()}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, cl.method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if cl.key != "" {
		req.Header.Set(HeaderIdempotencyKey, cl.key)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, &transportError{addr: addr, err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return nil, &transportError{addr: addr, err: err}
	}
	if resp.StatusCode != http.StatusOK {
		ae := &APIError{}
		if json.Unmarshal(b, ae) != nil || ae.Code == "" {
			ae.Code, ae.Message = "internal", strings.TrimSpace(string(b))
		}
		ae.Status = resp.StatusCode
		if ae.Member == "" {
			ae.Member = resp.Header.Get(HeaderMember)
		}
		return resp.Header, ae
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return nil, &transportError{addr: addr, err: fmt.Errorf("decode answer: %w", err)}
		}
	}
	return resp.Header, nil
}

// transportError is a member that could not be reached or answered
// garbage; another member may do better.
type transportError struct {
	addr string
	err  error
}

func (e *transportError) Error() string { return fmt.Sprintf("member %s: %v", e.addr, e.err) }
func (e *transportError) Unwrap() error { return e.err }

func retryable(err error) bool {
	var te *transportError
	if errors.As(err, &te) {
		return true
	}
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Status == http.StatusServiceUnavailable || ae.Status == http.StatusBadGateway || ae.Status == http.StatusGatewayTimeout
	}
	return false
}

// newKey returns a fresh idempotency key.
func newKey() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
