// Package demo runs the whole tiercache federation in one process, the
// way `tiercache demo` shows it to a new user: a raftmeta control plane of
// three members, the regions of a profile (local-3 by default: three L2
// nodes and one L3 node each) linked over the simulated WAN, an SQLite
// origin database, and in every region app clients running a realistic
// workload (Zipf reads, writes that commit then invalidate, sessions that
// check read-your-writes, a key that trends now and then). It prints one
// summary line a second, reports its figures at the end, and is a
// dashboard.Source, so the dashboard can watch it and act on it.
package demo

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/federated"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/origin"
	"github.com/tiercache/tiercache/sticky"
)

// Demo is a running federation with its workload. Start it, read it
// (Snapshot, Report), act on it (Act), and Close it.
type Demo struct {
	opts    Options
	dir     string
	ownsDir bool
	dep     *federated.Deployment
	db      *origin.DB
	apps    []*app
	began   time.Time
	startup time.Duration

	trend            trend
	log              eventLog     // the demo's own events (trends, operator expiries)
	hot              hotKeyMemory // the keys the L2 nodes flagged lately, by region
	trends, expiries atomic.Uint64
	lastErr          atomic.Pointer[error]
	cancel           context.CancelFunc
	wg               sync.WaitGroup
	closeOnce        sync.Once
	inst             instruments // metrics and span recorders (metrics.go, trace.go)

	sampled chan struct{} // signalled after each sample (capacity 1)

	mu         sync.Mutex // protects the sampler's state below
	first      sample     // taken when the workload started
	samples    []sample   // the last two: now and a second ago
	violations []string   // the first few read-your-writes violations
}

// Start builds the federation and starts the workload; it returns once
// every node is up and every region's app follows the topology.
func Start(opts Options) (*Demo, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	d := &Demo{opts: opts, began: time.Now(), dir: opts.Dir, sampled: make(chan struct{}, 1)}
	if d.dir == "" {
		dir, err := os.MkdirTemp("", "tiercache-demo-")
		if err != nil {
			return nil, fmt.Errorf("demo: temp folder: %w", err)
		}
		d.dir, d.ownsDir = dir, true
	}
	ok := false
	defer func() {
		if !ok {
			d.shutdown()
		}
	}()
	profile, err := loadProfile(opts.Profile)
	if err != nil {
		return nil, err
	}
	ks := d.keyspaces()
	// The origin seeds while the control plane elects and the regions
	// start: the two are the slow parts of startup.
	dbDone := make(chan error, 1)
	go func() {
		db, err := origin.Open(origin.Config{
			Dir: filepath.Join(d.dir, "origin"), Keyspace: userKeyspace, Rows: opts.Rows,
			ReadLatency: opts.OriginLatency, ReplicaLag: opts.ReplicaLag,
		})
		d.db = db
		dbDone <- err
	}()
	d.dep, err = federated.Start(federated.Options{
		Profile: profile, Keyspaces: ks, Seed: opts.Seed,
		ControlPlane: &federated.ControlPlaneOptions{Dir: filepath.Join(d.dir, "meta"), Logs: opts.Logs},
		Hooks:        federated.Hooks{L2Started: d.instrumentL2},
	})
	if dbErr := <-dbDone; err == nil {
		err = dbErr
	}
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// The links' handshakes (a WAN round trip or two) and the nodes'
	// registration overlap.
	connected := make(chan error, 1)
	go func() { connected <- d.dep.WaitConnected(ctx) }()
	err = d.dep.WaitReady(ctx)
	if cerr := <-connected; err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	stickyKey := make([]byte, sticky.MinKeyBytes)
	if _, err := rand.Read(stickyKey); err != nil {
		return nil, err
	}
	for _, r := range d.dep.Regions() {
		a, err := newApp(r, d.dep, d.db, tiercache.Config{Keyspaces: ks, StickyKeys: [][]byte{stickyKey}})
		if err != nil {
			return nil, fmt.Errorf("demo: app in %s: %w", r.Name, err)
		}
		d.apps = append(d.apps, a)
	}
	if err := d.instrument(); err != nil {
		return nil, err
	}
	d.startup = time.Since(d.began)
	d.began = time.Now()
	d.sample() // the baseline of the first interval, not a line to show
	<-d.sampled
	wctx, wcancel := context.WithCancel(context.Background())
	d.cancel = wcancel
	for _, a := range d.apps {
		for i := range opts.Workers {
			d.goFunc(func() { d.worker(wctx, a, uint64(d.indexOf(a)*1000+i+1)) })
		}
	}
	if opts.TrendEvery > 0 {
		d.goFunc(func() { d.trendLoop(wctx) })
	}
	d.goFunc(func() { d.sampleLoop(wctx) })
	ok = true
	return d, nil
}

// keyspaces are the demo's settings: users' rows with a sticky window,
// and trending keys whose stampede scope is global (one origin load per
// expiry across all regions).
func (d *Demo) keyspaces() *keyspace.Table {
	user := keyspace.Settings{TTL: d.opts.TTL, TTLJitter: d.opts.TTL / 10, StickyWindow: d.opts.StickyWindow}
	trend := keyspace.Settings{TTL: 10 * time.Minute, StickyWindow: d.opts.StickyWindow, StampedeScope: keyspace.ScopeGlobal}
	return &keyspace.Table{Default: user, Spaces: map[string]keyspace.Settings{userKeyspace: user, trendKeyspace: trend}}
}

func (d *Demo) goFunc(f func()) {
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		f()
	}()
}

// Startup returns how long Start took to have everything up.
func (d *Demo) Startup() time.Duration { return d.startup }

// Deployment returns the running federation (owned by the demo).
func (d *Demo) Deployment() *federated.Deployment { return d.dep }

// Origin returns the origin database (owned by the demo).
func (d *Demo) Origin() *origin.DB { return d.db }

// Dir returns the folder holding the demo's files.
func (d *Demo) Dir() string { return d.dir }

// Close stops the workload, the federation and the origin, and removes
// the folder Start made.
func (d *Demo) Close() error {
	d.closeOnce.Do(d.shutdown)
	return nil
}

func (d *Demo) shutdown() {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	for _, a := range d.apps {
		a.close()
	}
	if d.dep != nil {
		d.dep.Close()
	}
	d.uninstrument()
	if d.db != nil {
		_ = d.db.Close()
	}
	if d.ownsDir {
		_ = os.RemoveAll(d.dir)
	}
}

// Run starts a demo, writes a summary line to live every second until
// ctx ends, then closes it and returns its final report.
func Run(ctx context.Context, opts Options, live io.Writer) (Report, error) {
	d, err := Start(opts)
	if err != nil {
		return Report{}, err
	}
	defer d.Close()
	return d.Watch(ctx, live), nil
}

// Watch writes a summary line to live after every sample (each second)
// until ctx ends, then stops the workload and returns the final report
// (the demo stays open for Close). Only one Watch may run at a time.
func (d *Demo) Watch(ctx context.Context, live io.Writer) Report {
	for {
		select {
		case <-ctx.Done():
			d.stopWorkload()
			return d.Report()
		case <-d.sampled:
			if live != nil {
				fmt.Fprintln(live, d.Line())
			}
		}
	}
}

// stopWorkload ends the workers and takes a last sample.
func (d *Demo) stopWorkload() {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	d.sample()
}

// noteViolation keeps the first few read-your-writes violations for the
// report and the event log.
func (d *Demo) noteViolation(key string, wrote, read uint64, region string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.violations) < 10 {
		d.violations = append(d.violations, fmt.Sprintf("%s: wrote v%d, read v%d in %s", key, wrote, read, region))
	}
}

// LastError returns the latest error a worker counted (nil if none).
func (d *Demo) LastError() error {
	if p := d.lastErr.Load(); p != nil {
		return *p
	}
	return nil
}

var errUnknownAction = errors.New("demo: unknown action")
