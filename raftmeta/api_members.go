package raftmeta

import (
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/raft"
)

// membershipTimeout bounds a Raft configuration change.
const membershipTimeout = 10 * time.Second

// JoinRequest is the body of POST /v1/members.
type JoinRequest struct {
	ID          string `json:"id"`
	RaftAddress string `json:"raft_address"`
	HTTPAddress string `json:"http_address"`
}

// Validate reports the first bad field, wrapping ErrInvalid.
func (j JoinRequest) Validate() error {
	if err := validName("member id", j.ID); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(j.RaftAddress); err != nil {
		return fmt.Errorf("%w: raft_address %q: want host:port", ErrInvalid, j.RaftAddress)
	}
	if _, _, err := net.SplitHostPort(j.HTTPAddress); err != nil {
		return fmt.Errorf("%w: http_address %q: want host:port", ErrInvalid, j.HTTPAddress)
	}
	return nil
}

// handleAddMember serves POST /v1/members: the leader adds the member as a
// voter (a no-op if it is already one at that address) and records its API
// address in the FSM.
func (m *Member) handleAddMember(w http.ResponseWriter, r *http.Request) {
	var j JoinRequest
	body, err := readValid(r, &j)
	if err != nil {
		m.writeError(w, err)
		return
	}
	if !m.IsLeader() {
		m.forward(w, r, body)
		return
	}
	f := m.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		m.writeError(w, fmt.Errorf("%w: %w", ErrNoLeader, err))
		return
	}
	present := false
	for _, s := range f.Configuration().Servers {
		if string(s.ID) == j.ID && string(s.Address) == j.RaftAddress && s.Suffrage == raft.Voter {
			present = true
		}
	}
	if !present {
		if err := m.raft.AddVoter(raft.ServerID(j.ID), raft.ServerAddress(j.RaftAddress), 0, membershipTimeout).Error(); err != nil {
			m.writeError(w, fmt.Errorf("%w: add voter %s: %w", ErrNoLeader, j.ID, err))
			return
		}
		m.log.Info("member added", "id", j.ID, "raft", j.RaftAddress)
	}
	res, err := m.propose(&command{Op: opSetMember, Member: &MemberInfo{ID: j.ID, RaftAddress: j.RaftAddress, HTTPAddress: j.HTTPAddress}})
	if err != nil {
		m.writeError(w, err)
		return
	}
	m.replyWrite(w, res)
}

// handleRemoveMember serves DELETE /v1/members/{id}.
func (m *Member) handleRemoveMember(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := validName("member id", id); err != nil {
		m.writeError(w, err)
		return
	}
	if !m.IsLeader() {
		m.forward(w, r, nil)
		return
	}
	f := m.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		m.writeError(w, fmt.Errorf("%w: %w", ErrNoLeader, err))
		return
	}
	present := false
	for _, s := range f.Configuration().Servers {
		present = present || string(s.ID) == id
	}
	if !present {
		m.writeError(w, fmt.Errorf("%w: %q", ErrUnknownMember, id))
		return
	}
	// Forget the address first: removing the leader itself ends its term,
	// after which it could no longer propose.
	res, err := m.propose(&command{Op: opRemoveMember, NodeID: id})
	if err != nil {
		m.writeError(w, err)
		return
	}
	if err := m.raft.RemoveServer(raft.ServerID(id), 0, membershipTimeout).Error(); err != nil {
		m.writeError(w, fmt.Errorf("%w: remove server %s: %w", ErrNoLeader, id, err))
		return
	}
	m.log.Info("member removed", "id", id)
	m.replyWrite(w, res)
}

// handleRebalanceGet serves GET /v1/rebalance: the progress record, or
// JSON null when there is none.
func (m *Member) handleRebalanceGet(w http.ResponseWriter, _ *http.Request) {
	m.writeJSON(w, http.StatusOK, m.fsm.current().rebalance)
}

// handleRebalanceSet serves PUT /v1/rebalance with a Rebalance body.
func (m *Member) handleRebalanceSet(w http.ResponseWriter, r *http.Request) {
	var rb Rebalance
	body, err := readValid(r, &rb)
	if err != nil {
		m.writeError(w, err)
		return
	}
	m.write(w, r, body, &command{Op: opSetRebalance, Rebalance: &rb})
}

// handleRebalanceClear serves DELETE /v1/rebalance.
func (m *Member) handleRebalanceClear(w http.ResponseWriter, r *http.Request) {
	m.write(w, r, nil, &command{Op: opSetRebalance})
}
