package raftmeta

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// forwardTimeout bounds one proxied request; a long poll is never proxied.
const forwardTimeout = 10 * time.Second

// forward proxies r (whose body was already read into body) to the leader
// and relays its answer, headers included, so the caller sees the leader's
// epoch and id. A request that was itself forwarded is not forwarded
// again: leadership moved under it, and the caller retries.
func (m *Member) forward(w http.ResponseWriter, r *http.Request, body []byte) {
	if by := r.Header.Get(HeaderForwardedBy); by != "" {
		m.writeError(w, fmt.Errorf("%w: %s forwarded here but %s does not lead", ErrNoLeader, by, m.cfg.ID))
		return
	}
	lid, addr := m.leaderInfo()
	if lid == "" || addr == "" || lid == m.cfg.ID {
		m.writeError(w, fmt.Errorf("%w: %s knows no ready leader", ErrNoLeader, m.cfg.ID))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, r.Method, m.scheme+"://"+addr+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		m.writeError(w, fmt.Errorf("%w: build forward: %w", ErrNoLeader, err))
		return
	}
	for _, h := range []string{"Content-Type", HeaderIdempotencyKey} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set(HeaderForwardedBy, m.cfg.ID)
	resp, err := m.fwd.Do(req)
	if err != nil {
		m.writeError(w, fmt.Errorf("%w: leader %s unreachable: %w", ErrNoLeader, lid, err))
		return
	}
	defer resp.Body.Close()
	for k, vs := range resp.Header {
		if strings.HasPrefix(k, "X-Tiercache-") || k == "Content-Type" {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	if _, err := io.Copy(w, io.LimitReader(resp.Body, 4<<20)); err != nil {
		m.log.Debug("relay leader answer", "error", err)
	}
}
