package raftmeta

import (
	"fmt"
	"net/http"
	"time"
)

// Lease is the answer to a node's registration or renewal.
type Lease struct {
	Node  string    `json:"node"`
	State NodeState `json:"state"`
	// Epoch is the topology epoch as the leader had it.
	Epoch uint64 `json:"epoch"`
	// Leader is the member that granted the lease; an agent registers
	// again when it changes, since a new leader's lease book starts empty.
	Leader string `json:"leader"`
	// Timeout is how long the lease lasts without another renewal.
	Timeout time.Duration `json:"timeout"`
}

// readCommand reads the body and builds the command for a write; build
// gets the raw body and the optional expect_epoch. Bad input is answered
// with 400 and the command is nil.
func (m *Member) readCommand(w http.ResponseWriter, r *http.Request, build func(body []byte, expect *uint64) (*command, error)) ([]byte, *command) {
	body, err := readBody(r)
	if err != nil {
		m.writeError(w, err)
		return nil, nil
	}
	expect, err := queryUint(r, "expect_epoch")
	if err != nil {
		m.writeError(w, err)
		return nil, nil
	}
	c, err := build(body, expect)
	if err != nil {
		m.writeError(w, err)
		return nil, nil
	}
	return body, c
}

// handleRegister serves POST /v1/nodes with a NodeSpec body: the node is
// added (up) or its addresses and weight updated, and its lease renewed.
func (m *Member) handleRegister(w http.ResponseWriter, r *http.Request) {
	var spec NodeSpec
	body, c := m.readCommand(w, r, func(body []byte, expect *uint64) (*command, error) {
		if err := decodeValid(body, &spec); err != nil {
			return nil, err
		}
		return &command{Op: opRegister, Spec: &spec, ExpectEpoch: expect}, nil
	})
	if c == nil {
		return
	}
	res, ok := m.applyOrForward(w, r, body, c)
	if !ok {
		return
	}
	m.leases.renew(spec.ID, m.clock.Now())
	m.replyLease(w, spec.ID, res.Epoch)
}

// handleRenew serves POST /v1/nodes/{id}/renew. It never writes to Raft:
// the leader notes the time in memory.
func (m *Member) handleRenew(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !m.IsLeader() {
		m.forward(w, r, nil)
		return
	}
	t := m.fsm.current().topo
	if _, ok := t.Node(id); !ok {
		m.writeError(w, fmt.Errorf("%w: %q (register first)", ErrUnknownNode, id))
		return
	}
	m.leases.renew(id, m.clock.Now())
	m.replyLease(w, id, t.Epoch)
}

func (m *Member) replyLease(w http.ResponseWriter, id string, epoch uint64) {
	t := m.fsm.current().topo
	n, _ := t.Node(id)
	m.stamp(w)
	m.writeJSON(w, http.StatusOK, Lease{Node: id, State: n.State, Epoch: max(epoch, t.Epoch), Leader: m.cfg.ID, Timeout: m.cfg.LeaseTimeout})
}

// handleDrain serves POST /v1/nodes/{id}/drain and /undrain.
func (m *Member) handleDrain(drain bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, c := m.readCommand(w, r, func(body []byte, expect *uint64) (*command, error) {
			if err := noBody(body); err != nil {
				return nil, err
			}
			return &command{Op: opDrain, NodeID: r.PathValue("id"), Drain: drain, ExpectEpoch: expect}, nil
		})
		if c != nil {
			m.write(w, r, body, c)
		}
	}
}

// WeightRequest is the body of POST /v1/nodes/{id}/weight.
type WeightRequest struct {
	Weight int `json:"weight"`
}

// handleWeight serves POST /v1/nodes/{id}/weight.
func (m *Member) handleWeight(w http.ResponseWriter, r *http.Request) {
	body, c := m.readCommand(w, r, func(body []byte, expect *uint64) (*command, error) {
		var req WeightRequest
		if err := decodeStrict(body, &req); err != nil {
			return nil, err
		}
		if err := validWeight(req.Weight, false); err != nil {
			return nil, err
		}
		return &command{Op: opSetWeight, NodeID: r.PathValue("id"), Weight: req.Weight, ExpectEpoch: expect}, nil
	})
	if c != nil {
		m.write(w, r, body, c)
	}
}

// handleRemoveNode serves DELETE /v1/nodes/{id}: the node leaves the
// topology (decommissioning; a node that is merely dead is marked down).
func (m *Member) handleRemoveNode(w http.ResponseWriter, r *http.Request) {
	body, c := m.readCommand(w, r, func(body []byte, expect *uint64) (*command, error) {
		if err := noBody(body); err != nil {
			return nil, err
		}
		return &command{Op: opRemoveNode, NodeID: r.PathValue("id"), ExpectEpoch: expect}, nil
	})
	if c != nil {
		m.write(w, r, body, c)
	}
}

// handleAddRegion serves POST /v1/regions with a Region body, pinning a
// region's id (registration otherwise picks the lowest free one).
func (m *Member) handleAddRegion(w http.ResponseWriter, r *http.Request) {
	body, c := m.readCommand(w, r, func(body []byte, expect *uint64) (*command, error) {
		var reg Region
		if err := decodeStrict(body, &reg); err != nil {
			return nil, err
		}
		if err := validName("region", reg.Name); err != nil {
			return nil, err
		}
		if err := validRegionID(reg.ID); err != nil {
			return nil, err
		}
		return &command{Op: opAddRegion, Region: &reg, ExpectEpoch: expect}, nil
	})
	if c != nil {
		m.write(w, r, body, c)
	}
}

func noBody(b []byte) error {
	for _, c := range b {
		if c != ' ' && c != '\n' && c != '\r' && c != '\t' {
			return fmt.Errorf("%w: this endpoint takes no body", ErrInvalid)
		}
	}
	return nil
}
