package raftmeta

import (
	"context"
	"time"
)

// joinRetry is the pause between attempts to be added to the group.
const joinRetry = 500 * time.Millisecond

// join asks the members in Config.Join to add this member as a voter,
// until one agrees or the member closes. It authenticates with the
// member's own server certificate, which the API accepts for membership.
func (m *Member) join() {
	c, err := NewClient(ClientConfig{
		Members:  m.cfg.Join,
		CAPEM:    m.cfg.CAPEM,
		CertPEM:  m.cfg.CertPEM,
		KeyPEM:   m.cfg.KeyPEM,
		Insecure: m.cfg.Insecure,
		RetryFor: joinRetry,
	})
	if err != nil {
		m.log.Error("join: bad client config", "error", err)
		return
	}
	defer c.Close()
	req := JoinRequest{ID: m.cfg.ID, RaftAddress: m.RaftAddr(), HTTPAddress: m.httpAddr}
	for {
		ctx, cancel := context.WithTimeout(m.ctx, 15*time.Second)
		_, err := c.AddMember(ctx, req)
		cancel()
		if err == nil {
			m.log.Info("joined the group", "via", m.cfg.Join)
			return
		}
		m.log.Warn("join failed, retrying", "error", err)
		select {
		case <-m.ctx.Done():
			return
		case <-time.After(joinRetry):
		}
	}
}
