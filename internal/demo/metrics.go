package demo

import (
	"errors"
	"fmt"
	"net/http"
	"sync"

	"go.opentelemetry.io/otel/attribute"

	"github.com/tiercache/tiercache/internal/dashboard"
	"github.com/tiercache/tiercache/internal/telemetry"
	"github.com/tiercache/tiercache/l2"
)

var _ dashboard.MetricsSource = (*Demo)(nil)

// instruments are the demo's metrics and trace recorders. Every component
// registers into one Telemetry: they all live in this process, and their
// series are told apart by the labels each component puts on them (region
// and node, link for the federation endpoints, member for the control
// plane, region for the app clients). L2 nodes are instrumented as the
// deployment starts them (federated.Hooks), so a restarted node is too.
type instruments struct {
	mu     sync.Mutex
	tel    *telemetry.Telemetry
	err    error                   // the Telemetry's setup failure, reported by instrument
	l2     map[string]func() error // unregister of each L2 node id's current node
	unregs []func() error          // everything else's
	traces tracers
}

// telemetry returns the Telemetry, building it on first use; mu is held.
func (in *instruments) telemetryLocked() *telemetry.Telemetry {
	if in.tel == nil && in.err == nil {
		in.tel, in.err = telemetry.New()
	}
	return in.tel
}

// instrumentL2 is the deployment's hook for every L2 node it starts: it
// traces the node's traced requests and exports its metrics (replacing
// the series of the killed node the same id had).
func (d *Demo) instrumentL2(region, id string, n *l2.Node) {
	n.SetTracerProvider(d.inst.traces.provider("l2", region, id))
	d.inst.mu.Lock()
	defer d.inst.mu.Unlock()
	tel := d.inst.telemetryLocked()
	if tel == nil {
		return
	}
	if d.inst.l2 == nil {
		d.inst.l2 = map[string]func() error{}
	}
	if old := d.inst.l2[id]; old != nil {
		_ = old()
		delete(d.inst.l2, id)
	}
	unreg, err := n.RegisterMetrics(tel.Meter("tiercache/l2"), region)
	if err != nil {
		d.inst.err = errors.Join(d.inst.err, fmt.Errorf("demo: metrics of %s: %w", id, err))
		return
	}
	d.inst.l2[id] = unreg
}

// instrument gives the L3 nodes and federation endpoints their tracer
// providers and registers the metrics of everything but the L2 nodes
// (done as they start): L3 nodes, endpoints, the regions' global-tier
// clients, app clients and the control plane's members. Called once the apps exist.
func (d *Demo) instrument() error {
	d.inst.mu.Lock()
	defer d.inst.mu.Unlock()
	tel := d.inst.telemetryLocked()
	if d.inst.err != nil {
		return fmt.Errorf("demo: metrics: %w", d.inst.err)
	}
	add := func(unreg func() error, err error) error {
		if err != nil {
			return fmt.Errorf("demo: metrics: %w", err)
		}
		d.inst.unregs = append(d.inst.unregs, unreg)
		return nil
	}
	ks := d.keyspaces()
	for _, a := range d.apps {
		r := a.region
		r.L3.SetTracerProvider(d.inst.traces.provider("l3", r.Name, r.L3.ID()))
		r.Endpoint.SetTracerProvider(d.inst.traces.provider("federation", r.Name, r.Name))
		r.L3.SetKeyspaces(ks)
		if err := add(r.L3.RegisterMetrics(tel.Meter("tiercache/l3"))); err != nil {
			return err
		}
		if err := add(r.Endpoint.RegisterMetrics(tel.Meter("tiercache/federation"))); err != nil {
			return err
		}
		if err := add(r.Client.RegisterMetrics(tel.Meter("tiercache/l3client"))); err != nil {
			return err
		}
		if err := add(a.client.RegisterMetrics(tel.Meter("tiercache/client"), attribute.String("region", r.Name))); err != nil {
			return err
		}
	}
	for _, m := range d.dep.MetaMembers() {
		if err := add(m.RegisterMetrics(tel.Meter("tiercache/raftmeta"))); err != nil {
			return err
		}
	}
	return nil
}

// uninstrument stops every observation and the Telemetry.
func (d *Demo) uninstrument() {
	d.inst.mu.Lock()
	defer d.inst.mu.Unlock()
	for _, u := range d.inst.unregs {
		_ = u()
	}
	for _, u := range d.inst.l2 {
		_ = u()
	}
	d.inst.unregs, d.inst.l2 = nil, nil
	if d.inst.tel != nil {
		_ = d.inst.tel.Close()
	}
	d.inst.traces.shutdown()
}

// MetricsHandler serves every component's metrics as Prometheus text
// (the dashboard mounts it on /metrics).
func (d *Demo) MetricsHandler() http.Handler {
	d.inst.mu.Lock()
	tel := d.inst.tel
	d.inst.mu.Unlock()
	if tel == nil {
		return nil
	}
	return tel.Handler()
}
