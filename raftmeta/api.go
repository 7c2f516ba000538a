package raftmeta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/tiercache/tiercache/internal/pki"
)

// Headers every answer carries, so a reader knows who answered and as of
// which epoch; a write proxied to the leader carries the leader's.
const (
	HeaderMember          = "X-Tiercache-Member"
	HeaderLeader          = "X-Tiercache-Leader"
	HeaderEpoch           = "X-Tiercache-Epoch"
	HeaderKeyspaceVersion = "X-Tiercache-Keyspace-Version"
	// HeaderMembers lists the API addresses of the group's members,
	// comma-separated, so clients learn where to go when one dies.
	HeaderMembers = "X-Tiercache-Members"
	// HeaderForwardedBy marks a request a follower proxied to the leader;
	// the leader never forwards it again.
	HeaderForwardedBy = "X-Tiercache-Forwarded-By"
	// HeaderIdempotencyKey makes a write apply once however often it is
	// retried (across members and leader changes).
	HeaderIdempotencyKey = "Idempotency-Key"
)

// maxBody bounds every request body; control-plane requests are small.
const maxBody = 64 << 10

// WriteResult is the answer to a write.
type WriteResult struct {
	Epoch           uint64 `json:"epoch"`
	KeyspaceVersion uint64 `json:"keyspace_version"`
	// Changed is false when the write found nothing to change or repeated
	// an idempotency key already applied.
	Changed bool `json:"changed"`
}

// access says who may call an endpoint.
type access int

const (
	anyone access = iota // any authenticated role
	nodes                // node agents, operators, members
	admins               // operators and members only
)

func (m *Member) routes() http.Handler {
	mux := http.NewServeMux()
	handle := func(pattern string, a access, h http.HandlerFunc) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			m.stamp(w)
			if err := m.authorize(r, a); err != nil {
				m.writeError(w, err)
				return
			}
			h(w, r)
		})
	}
	handle("GET /v1/topology", anyone, m.handleTopology)
	handle("GET /v1/status", anyone, m.handleStatus)
	handle("POST /v1/nodes", nodes, m.handleRegister)
	handle("POST /v1/nodes/{id}/renew", nodes, m.handleRenew)
	handle("POST /v1/nodes/{id}/drain", admins, m.handleDrain(true))
	handle("POST /v1/nodes/{id}/undrain", admins, m.handleDrain(false))
	handle("POST /v1/nodes/{id}/weight", admins, m.handleWeight)
	handle("DELETE /v1/nodes/{id}", admins, m.handleRemoveNode)
	handle("POST /v1/regions", admins, m.handleAddRegion)
	handle("GET /v1/keyspaces", anyone, m.handleKeyspaces)
	handle("GET /v1/keyspaces/{name}", anyone, m.handleKeyspaceGet)
	handle("PUT /v1/keyspaces/{name}", admins, m.handleKeyspaceSet)
	handle("DELETE /v1/keyspaces/{name}", admins, m.handleKeyspaceDelete)
	handle("POST /v1/members", admins, m.handleAddMember)
	handle("DELETE /v1/members/{id}", admins, m.handleRemoveMember)
	handle("GET /v1/rebalance", anyone, m.handleRebalanceGet)
	handle("PUT /v1/rebalance", admins, m.handleRebalanceSet)
	handle("DELETE /v1/rebalance", admins, m.handleRebalanceClear)
	handle("POST /v1/rebalance/report", nodes, m.handleRebalanceReport)
	handle("PUT /v1/rebalance/state", admins, m.handleRebalanceState)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		m.stamp(w)
		m.writeError(w, fmt.Errorf("%w: no endpoint %s %s", ErrInvalid, r.Method, r.URL.Path))
	})
	return mux
}

// authorize applies the per-endpoint role rules. The TLS handshake has
// already checked that the certificate comes from the deployment CA and
// carries some role; insecure mode has no identities and allows all.
func (m *Member) authorize(r *http.Request, a access) error {
	if m.cfg.Insecure {
		return nil
	}
	if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 {
		return fmt.Errorf("%w: no client certificate", ErrForbidden)
	}
	role := pki.RoleOf(r.TLS.PeerCertificates[0])
	ok := false
	switch a {
	case anyone:
		ok = role != ""
	case nodes:
		ok = role == pki.RoleNode || role == pki.RoleAdmin || role == pki.RoleServer
	case admins:
		ok = role == pki.RoleAdmin || role == pki.RoleServer
	}
	if !ok {
		return fmt.Errorf("%w: role %q may not %s %s", ErrForbidden, role, r.Method, r.URL.Path)
	}
	return nil
}

// stamp sets the headers every answer carries.
func (m *Member) stamp(w http.ResponseWriter) {
	v := m.fsm.current()
	lid, _ := m.leaderInfo()
	h := w.Header()
	h.Set(HeaderMember, m.cfg.ID)
	h.Set(HeaderLeader, lid)
	h.Set(HeaderEpoch, strconv.FormatUint(v.topo.Epoch, 10))
	h.Set(HeaderKeyspaceVersion, strconv.FormatUint(v.topo.KeyspaceVersion, 10))
	addrs := make([]string, 0, len(v.members)+1)
	self := false
	for _, mi := range v.members {
		if mi.HTTPAddress != "" {
			addrs = append(addrs, mi.HTTPAddress)
			self = self || mi.HTTPAddress == m.httpAddr
		}
	}
	if !self {
		addrs = append(addrs, m.httpAddr)
	}
	h.Set(HeaderMembers, strings.Join(addrs, ","))
}

func (m *Member) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		m.log.Debug("write response", "error", err)
	}
}

func (m *Member) writeError(w http.ResponseWriter, err error) {
	code, status := codeOf(err)
	if status == http.StatusInternalServerError {
		m.log.Error("request failed", "error", err)
	}
	cur := m.fsm.current().topo
	m.writeJSON(w, status, &APIError{Code: code, Message: err.Error(), Member: m.cfg.ID, Epoch: cur.Epoch, KeyspaceVersion: cur.KeyspaceVersion})
}

// readBody reads a bounded request body.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, fmt.Errorf("%w: read body: %w", ErrInvalid, err)
	}
	if len(b) > maxBody {
		return nil, fmt.Errorf("%w: body over %d bytes", ErrInvalid, maxBody)
	}
	return b, nil
}

// decodeStrict decodes exactly one JSON value into v and refuses unknown
// fields, so a typo in a setting is an error instead of a silent default.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: trailing data after the JSON value", ErrInvalid)
	}
	return nil
}

// decodeValid decodes b strictly into v and checks it, so every write
// endpoint refuses a malformed or invalid body the same way.
func decodeValid(b []byte, v interface{ Validate() error }) error {
	if err := decodeStrict(b, v); err != nil {
		return err
	}
	if err := v.Validate(); err != nil {
		if errors.Is(err, ErrInvalid) {
			return err
		}
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// readValid reads the request body and decodes it with decodeValid; it
// returns the body for forwarding to the leader.
func readValid(r *http.Request, v interface{ Validate() error }) ([]byte, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	return body, decodeValid(body, v)
}

// queryUint reads an optional unsigned query parameter.
func queryUint(r *http.Request, name string) (*uint64, error) {
	s := r.URL.Query().Get(name)
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: %s=%q is not an unsigned integer", ErrInvalid, name, s)
	}
	return &v, nil
}

// write runs a validated command on the leader and answers with the
// WriteResult.
func (m *Member) write(w http.ResponseWriter, r *http.Request, body []byte, c *command) {
	if res, ok := m.applyOrForward(w, r, body, c); ok {
		m.replyWrite(w, res)
	}
}

// applyOrForward runs a validated command here if this member leads, and
// reports true so the caller answers. Otherwise it proxies the original
// request (body included) to the leader, or answers the error, and reports
// false.
func (m *Member) applyOrForward(w http.ResponseWriter, r *http.Request, body []byte, c *command) (applyResult, bool) {
	if !m.IsLeader() {
		m.forward(w, r, body)
		return applyResult{}, false
	}
	c.Key = r.Header.Get(HeaderIdempotencyKey)
	if len(c.Key) > 128 {
		m.writeError(w, fmt.Errorf("%w: idempotency key over 128 bytes", ErrInvalid))
		return applyResult{}, false
	}
	res, err := m.propose(c)
	if err != nil {
		m.writeError(w, err)
		return applyResult{}, false
	}
	return res, true
}

func (m *Member) replyWrite(w http.ResponseWriter, res applyResult) {
	m.stamp(w)
	m.writeJSON(w, http.StatusOK, WriteResult{Epoch: res.Epoch, KeyspaceVersion: res.KeyspaceVersion, Changed: res.Changed})
}
