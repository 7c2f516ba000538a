package raftmeta

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// handleTopology serves GET /v1/topology.
//
// Query: after=EPOCH holds the request until the epoch passes EPOCH;
// keyspaces_after=V also returns when the keyspace version passes V;
// wait=DURATION caps the hold (default and maximum MaxWatchWait), after
// which the current topology is returned as it is. With neither after nor
// keyspaces_after the answer is immediate. consistent=true answers from the
// leader after it confirms it still leads (a linearizable read); otherwise
// any member answers from what it has applied.
func (m *Member) handleTopology(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	after, err := queryUint(r, "after")
	if err != nil {
		m.writeError(w, err)
		return
	}
	ksAfter, err := queryUint(r, "keyspaces_after")
	if err != nil {
		m.writeError(w, err)
		return
	}
	wait := m.cfg.MaxWatchWait
	if s := q.Get("wait"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			m.writeError(w, fmt.Errorf("%w: wait=%q is not a non-negative duration", ErrInvalid, s))
			return
		}
		wait = min(d, wait)
	}
	if s := q.Get("consistent"); s == "true" || s == "1" {
		m.consistentTopology(w, r)
		return
	}
	passed := func(t *Topology) bool {
		if after == nil && ksAfter == nil {
			return true
		}
		return after != nil && t.Epoch > *after || ksAfter != nil && t.KeyspaceVersion > *ksAfter
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	m.heldPolls.Add(1)
	defer m.heldPolls.Add(-1)
	for {
		v := m.fsm.current()
		if passed(v.topo) {
			m.sendTopology(w, v.topo)
			return
		}
		select {
		case <-v.changed:
		case <-timer.C:
			m.sendTopology(w, m.fsm.current().topo)
			return
		case <-r.Context().Done():
			return
		}
	}
}

func (m *Member) consistentTopology(w http.ResponseWriter, r *http.Request) {
	if !m.IsLeader() {
		m.forward(w, r, nil)
		return
	}
	// Every write this leader acknowledged was applied to its FSM before
	// the acknowledgement, and earlier terms' entries before it became
	// ready; confirming leadership now rules out a newer leader's writes.
	if err := m.raft.VerifyLeader().Error(); err != nil {
		m.writeError(w, fmt.Errorf("%w: %w", ErrNoLeader, err))
		return
	}
	m.sendTopology(w, m.fsm.current().topo)
}

func (m *Member) sendTopology(w http.ResponseWriter, t *Topology) {
	m.stamp(w)
	w.Header().Set(HeaderEpoch, strconv.FormatUint(t.Epoch, 10))
	w.Header().Set(HeaderKeyspaceVersion, strconv.FormatUint(t.KeyspaceVersion, 10))
	m.writeJSON(w, http.StatusOK, t)
}

// handleStatus serves GET /v1/status: this member's view of the group.
func (m *Member) handleStatus(w http.ResponseWriter, _ *http.Request) {
	m.writeJSON(w, http.StatusOK, m.Status())
}
