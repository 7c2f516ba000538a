package raftmeta

import (
	"context"
	"fmt"
	"net/http"
	"slices"
)

// Rebalance progress from the nodes and pause/resume from the operator.
// Each node's migrator reports its own share (POST /v1/rebalance/report),
// which the FSM merges into the one record, so concurrent reports never
// overwrite each other; the operator's pause and resume change only the
// record's state (PUT /v1/rebalance/state), which the migrators poll.

// reportRebalance merges rep into the record.
func (st *state) reportRebalance(rep *RebalanceReport) (bool, error) {
	if rep == nil {
		return false, fmt.Errorf("%w: report_rebalance without report", ErrInvalid)
	}
	if err := rep.Validate(); err != nil {
		return false, err
	}
	r := mergeReport(st.Rebalance, *rep, st.drainingL2())
	if r == nil {
		return false, nil // a report for an older rebalance
	}
	st.Rebalance = r
	return true, nil
}

// drainingL2 returns the L2 nodes marked draining, sorted: each has every
// range it holds to push (l2's ClusterMember drains it at each epoch), so
// a rebalance is not done until it has reported.
func (st *state) drainingL2() []string {
	var ids []string
	for id, n := range st.Nodes {
		if n.Tier == TierL2 && n.State == StateDraining {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// setRebalanceState pauses or resumes the record. A pause with no
// rebalance running (or a finished one) holds the next.
func (st *state) setRebalanceState(want *Rebalance) (bool, error) {
	if want == nil || (want.State != RebalancePaused && want.State != RebalanceRunning) {
		return false, fmt.Errorf("%w: rebalance state must be paused or running", ErrInvalid)
	}
	hold := want.State == RebalancePaused
	if st.Rebalance == nil {
		// Nothing runs yet: a pause holds the next rebalance.
		if !hold {
			return false, nil
		}
		st.Rebalance = &Rebalance{ID: "held", State: RebalanceDone, Hold: true}
		return true, nil
	}
	r := *st.Rebalance
	r.Hold = hold
	if r.State != RebalanceDone {
		r.State = want.State
	}
	if r.Hold == st.Rebalance.Hold && r.State == st.Rebalance.State {
		return false, nil
	}
	st.Rebalance = &r
	return true, nil
}

// handleRebalanceReport serves POST /v1/rebalance/report with a
// RebalanceReport body.
func (m *Member) handleRebalanceReport(w http.ResponseWriter, r *http.Request) {
	var rep RebalanceReport
	body, err := readValid(r, &rep)
	if err != nil {
		m.writeError(w, err)
		return
	}
	m.write(w, r, body, &command{Op: opReportRebalance, Report: &rep})
}

// rebalanceStateBody is the body of PUT /v1/rebalance/state.
type rebalanceStateBody struct {
	State RebalanceState `json:"state"`
}

// handleRebalanceState serves PUT /v1/rebalance/state.
func (m *Member) handleRebalanceState(w http.ResponseWriter, r *http.Request) {
	body, err := readBody(r)
	if err != nil {
		m.writeError(w, err)
		return
	}
	var s rebalanceStateBody
	if err := decodeStrict(body, &s); err != nil {
		m.writeError(w, err)
		return
	}
	m.write(w, r, body, &command{Op: opRebalanceState, Rebalance: &Rebalance{State: s.State}})
}

// ReportRebalance merges one node's progress into the rebalance record.
func (c *Client) ReportRebalance(ctx context.Context, rep RebalanceReport) (WriteResult, error) {
	return c.write(ctx, http.MethodPost, "/v1/rebalance/report", rep, nil)
}

// PauseRebalance asks the migrators to stop pushing between batches;
// pull-through reads go on.
func (c *Client) PauseRebalance(ctx context.Context) (WriteResult, error) {
	return c.write(ctx, http.MethodPut, "/v1/rebalance/state", rebalanceStateBody{State: RebalancePaused}, nil)
}

// ResumeRebalance lets paused migrators continue.
func (c *Client) ResumeRebalance(ctx context.Context) (WriteResult, error) {
	return c.write(ctx, http.MethodPut, "/v1/rebalance/state", rebalanceStateBody{State: RebalanceRunning}, nil)
}
