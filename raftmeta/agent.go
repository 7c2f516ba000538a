package raftmeta

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// AgentConfig describes a node agent.
type AgentConfig struct {
	// Client reaches the control plane (required). The agent does not
	// close it.
	Client *Client
	// Node is the node to register (required, validated).
	Node NodeSpec
	// RenewEvery is the renewal period (default a third of the lease
	// timeout the leader announces, so two renewals may be lost before
	// the lease lapses).
	RenewEvery time.Duration
	// Logger receives the agent's warnings (default: discarded).
	Logger hclog.Logger
}

// Validate reports the first bad field, wrapping ErrConfig.
func (c AgentConfig) Validate() error {
	if c.Client == nil {
		return fmt.Errorf("%w: agent needs a client", ErrConfig)
	}
	if err := c.Node.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if c.RenewEvery < 0 {
		return fmt.Errorf("%w: negative renewal period", ErrConfig)
	}
	return nil
}

// Agent keeps one node registered: it registers, renews the lease
// periodically, and registers again when the leader changes (a new leader
// knows nothing of renewals made to the old one) or forgets the node.
type Agent struct {
	cfg    AgentConfig
	log    hclog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	ready  chan struct{} // closed at the first successful registration
	// after is the agent's timer between calls (time.After; tests step
	// it by hand together with the leader's fake clock).
	after func(time.Duration) <-chan time.Time

	mu    sync.Mutex // protects lease
	lease Lease
}

// StartAgent validates cfg and starts the agent's goroutine; registration
// happens in the background (see WaitRegistered).
func StartAgent(cfg AgentConfig) (*Agent, error) {
	return startAgent(cfg, time.After)
}

func startAgent(cfg AgentConfig, after func(time.Duration) <-chan time.Time) (*Agent, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &Agent{cfg: cfg, log: cfg.Logger, done: make(chan struct{}), ready: make(chan struct{}), after: after}
	if a.log == nil {
		a.log = hclog.NewNullLogger()
	}
	a.log = a.log.With("node", cfg.Node.ID)
	a.ctx, a.cancel = context.WithCancel(context.Background())
	go a.run()
	return a, nil
}

// WaitRegistered blocks until the node has been registered once.
func (a *Agent) WaitRegistered(ctx context.Context) error {
	select {
	case <-a.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-a.done:
		return ErrClosed
	}
}

// Lease returns the latest lease the leader granted.
func (a *Agent) Lease() Lease {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.lease
}

// Close stops renewing (the lease then lapses and the node is marked down)
// and waits for the agent's goroutine.
func (a *Agent) Close() error {
	a.cancel()
	<-a.done
	return nil
}

func (a *Agent) run() {
	defer close(a.done)
	registered, leader := false, ""
	failed := false // the last call failed
	var readyOnce sync.Once
	for {
		if !registered {
			l, err := a.attempt(a.period(), func(ctx context.Context) (Lease, error) { return a.cfg.Client.Register(ctx, a.cfg.Node) })
			failed = err != nil
			if err == nil {
				registered, leader = true, l.Leader
				readyOnce.Do(func() { close(a.ready) })
			}
		}
		// The period comes from the lease just granted: before the first
		// registration the agent only knows DefaultLeaseTimeout, and
		// waiting a third of that after registering under a shorter lease
		// let the lease lapse before the first renewal.
		every := a.period()
		wait := every
		if failed {
			// A call that failed (it may have used up its whole
			// period) is retried soon: a whole period more, then
			// the call, would let the lease lapse after a single
			// slow renewal on a busy machine.
			wait = every / 4
		}
		select {
		case <-a.ctx.Done():
			return
		case <-a.after(wait):
		}
		if !registered {
			continue
		}
		l, err := a.attempt(every, func(ctx context.Context) (Lease, error) { return a.cfg.Client.Renew(ctx, a.cfg.Node.ID) })
		failed = err != nil
		switch {
		case errors.Is(err, ErrUnknownNode):
			registered = false
		case err != nil:
		case l.Leader != leader:
			a.log.Info("leader changed, registering again", "leader", l.Leader)
			registered = false
		}
	}
}

// attempt runs one call bounded by the renewal period, recording the
// lease it returns.
func (a *Agent) attempt(every time.Duration, f func(context.Context) (Lease, error)) (Lease, error) {
	ctx, cancel := context.WithTimeout(a.ctx, every)
	defer cancel()
	l, err := f(ctx)
	if err != nil {
		if a.ctx.Err() == nil {
			a.log.Warn("lease call failed", "error", err)
		}
		return l, err
	}
	a.mu.Lock()
	a.lease = l
	a.mu.Unlock()
	return l, nil
}

func (a *Agent) period() time.Duration {
	if a.cfg.RenewEvery > 0 {
		return a.cfg.RenewEvery
	}
	if t := a.Lease().Timeout; t > 0 {
		return t / 3
	}
	return DefaultLeaseTimeout / 3
}
