package raftmeta

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/raft"
)

// maxCASRetries bounds how often propose refills an expected counter that
// a concurrent write moved.
const maxCASRetries = 8

// manage is the leader-side loop: it notices leadership, makes it ready
// (applies everything earlier terms committed, grants every node a full
// lease of grace, records this member's API address), and then checks
// leases every CheckInterval.
func (m *Member) manage() {
	t := time.NewTicker(m.cfg.CheckInterval)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-m.raft.LeaderCh():
		case <-t.C:
		}
		if m.ensureReady() {
			m.checkLeases()
		}
		m.managerTicks.Add(1)
	}
}

// ensureReady reports whether this member is a ready leader, doing the
// once-per-term preparation when it has just become one.
func (m *Member) ensureReady() bool {
	if m.raft.State() != raft.Leader {
		if m.readyTerm.Swap(0) != 0 {
			m.leases.reset()
			m.log.Info("lost leadership")
		}
		return false
	}
	term := m.raft.CurrentTerm()
	if m.readyTerm.Load() == term {
		return true
	}
	// The barrier makes the FSM reflect every entry of earlier terms, so
	// the epoch this leader compares against is the latest committed one.
	if err := m.raft.Barrier(applyTimeout).Error(); err != nil {
		m.log.Warn("leader barrier failed", "error", err)
		return false
	}
	now := m.clock.Now()
	ids := make([]string, 0, len(m.fsm.current().topo.Nodes))
	for _, n := range m.fsm.current().topo.Nodes {
		ids = append(ids, n.ID)
	}
	m.leases.grant(ids, now)
	m.readyTerm.Store(term)
	m.log.Info("leading", "term", term, "epoch", m.fsm.current().topo.Epoch, "nodes", len(ids))
	self := MemberInfo{ID: m.cfg.ID, RaftAddress: m.RaftAddr(), HTTPAddress: m.httpAddr}
	if !m.knowsMember(self) {
		if _, err := m.propose(&command{Op: opSetMember, Member: &self}); err != nil {
			m.log.Warn("record own address", "error", err)
		}
	}
	return true
}

func (m *Member) knowsMember(mi MemberInfo) bool {
	for _, k := range m.fsm.current().members {
		if k.ID == mi.ID {
			return k.RaftAddress == mi.RaftAddress && k.HTTPAddress == mi.HTTPAddress
		}
	}
	return false
}

// checkLeases publishes the lease verdicts, all in one epoch.
func (m *Member) checkLeases() {
	verdicts := m.leases.verdicts(m.fsm.current().topo.Nodes, m.clock.Now())
	if len(verdicts) == 0 {
		return
	}
	res, err := m.propose(&command{Op: opSetLive, Live: verdicts})
	if err != nil {
		m.log.Warn("publish node states", "error", err)
		return
	}
	if res.Changed {
		m.log.Info("node states changed", "epoch", res.Epoch, "live", verdicts)
	}
}

// propose applies c through Raft on this member, which must be the ready
// leader. A topology or keyspace command without an expected counter gets
// the current one and is retried if a concurrent write moves it; one that
// came with its own expectation fails with the conflict instead.
func (m *Member) propose(c *command) (applyResult, error) {
	autoEpoch := c.Op.topology() && c.ExpectEpoch == nil
	autoKS := c.Op.keyspaces() && c.ExpectKeyspaceVersion == nil
	for attempt := 0; ; attempt++ {
		if !m.IsLeader() {
			return applyResult{}, ErrNoLeader
		}
		cur := m.fsm.current().topo
		if autoEpoch {
			e := cur.Epoch
			c.ExpectEpoch = &e
		}
		if autoKS {
			v := cur.KeyspaceVersion
			c.ExpectKeyspaceVersion = &v
		}
		b, err := c.encode()
		if err != nil {
			return applyResult{}, err
		}
		f := m.raft.Apply(b, applyTimeout)
		if err := f.Error(); err != nil {
			// The entry may still commit (leadership lost mid-way); the
			// caller retries with the same idempotency key to find out.
			return applyResult{}, fmt.Errorf("%w: %w", ErrNoLeader, err)
		}
		res, _ := f.Response().(applyResult)
		conflict := errors.Is(res.Err, ErrEpochConflict) && autoEpoch || errors.Is(res.Err, ErrKeyspaceConflict) && autoKS
		if conflict && attempt < maxCASRetries {
			continue
		}
		return res, res.Err
	}
}
