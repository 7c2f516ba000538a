package l2

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
	"github.com/tiercache/tiercache/l2/ring"
)

// Range migration (DESIGN.md, "Membership, topology, rebalancing"). When the
// ring changes, only the ranges ring.Diff names move. For each moved range:
//
//   - the new owner takes the range's reads and writes at once. A TC.GET
//     that misses there first asks the previous owner over the peer link
//     (a pull-through read, tc.mget) and keeps what it gets with the
//     item's own version and expiry (SetIfNewer), so the origin sees no
//     cold-start spike;
//   - the previous owner pushes the range's keys to the new owner in the
//     background (tc.mput), hottest first, in batches limited in keys/s
//     and bytes/s, and says when it is done (tc.mdone), which ends the
//     pull-through for its ranges; it then drops its copies, so a later
//     move back cannot resurrect values deleted meanwhile.
//
// Versions keep this safe without any locking between the two nodes: a
// pushed or pulled item is stored only if newer than what the new owner
// holds, a write on the new owner gets a version above any it has seen
// (the HLC observes every migrated version) and a delete there leaves a
// tombstone that refuses an older pushed item. A pull also carries the
// previous owner's tombstone, so a delete made there just before the
// switch is respected.
//
// Pull-through was preferred over forwarding reads of unmigrated ranges to
// the previous owner: forwarding would split one key's reads and writes
// over two nodes and need a per-key handoff, where pull-through leaves the
// new owner the single authority from the first moment and costs one extra
// peer round trip only on its misses, only during the migration.

// Migration defaults.
const (
	DefaultMigrateKeysPerSec  = 50_000
	DefaultMigrateBytesPerSec = 64 << 20
	DefaultMigrateBatchKeys   = 256
	DefaultMigrateBatchBytes  = 1 << 20
	DefaultMigratePullWindow  = 10 * time.Minute
	DefaultMigrateReport      = time.Second
)

// Migration errors.
var (
	// ErrMigrationCanceled means a newer transition or Close ended a
	// migration before it finished.
	ErrMigrationCanceled = errors.New("l2: migration canceled")
	// ErrMigratePush means a batch could not be pushed to its new owner.
	ErrMigratePush = errors.New("l2: migration push failed")
)

// MigrateConfig tunes a Migrator. The zero value means the defaults.
type MigrateConfig struct {
	// KeysPerSec and BytesPerSec bound the push rate of one node (defaults
	// 50,000 keys/s and 64 MiB/s); a negative value means no limit.
	KeysPerSec  float64
	BytesPerSec float64
	// BatchKeys and BatchBytes bound one tc.mput (defaults 256 keys, 1 MiB).
	BatchKeys  int
	BatchBytes int
	// PullWindow ends a pull-through that the previous owner never
	// finished (it crashed), so a dead node is not asked forever
	// (default 10 min).
	PullWindow time.Duration
	// KeepMoved keeps the previous owner's copies after a range is pushed
	// (default: they are dropped).
	KeepMoved bool
	// Control, when set, receives progress reports and says whether the
	// operator paused the rebalance (the raftmeta record, see
	// NewMetaControl); it is polled every ReportEvery (default 1 s).
	Control     MigrationControl
	ReportEvery time.Duration
}

// Validate reports the first bad field, wrapping ErrInvalidConfig.
func (c MigrateConfig) Validate() error {
	switch {
	case c.BatchKeys < 0:
		return fmt.Errorf("%w: migrate batch keys %d is negative", ErrInvalidConfig, c.BatchKeys)
	case c.BatchBytes < 0:
		return fmt.Errorf("%w: migrate batch bytes %d is negative", ErrInvalidConfig, c.BatchBytes)
	case c.PullWindow < 0:
		return fmt.Errorf("%w: migrate pull window %v is negative", ErrInvalidConfig, c.PullWindow)
	case c.ReportEvery < 0:
		return fmt.Errorf("%w: migrate report interval %v is negative", ErrInvalidConfig, c.ReportEvery)
	}
	return nil
}

func (c MigrateConfig) withDefaults() MigrateConfig {
	if c.KeysPerSec == 0 {
		c.KeysPerSec = DefaultMigrateKeysPerSec
	}
	if c.BytesPerSec == 0 {
		c.BytesPerSec = DefaultMigrateBytesPerSec
	}
	if c.BatchKeys == 0 {
		c.BatchKeys = DefaultMigrateBatchKeys
	}
	if c.BatchBytes == 0 {
		c.BatchBytes = DefaultMigrateBatchBytes
	}
	if c.PullWindow == 0 {
		c.PullWindow = DefaultMigratePullWindow
	}
	if c.ReportEvery == 0 {
		c.ReportEvery = DefaultMigrateReport
	}
	return c
}

// Migrator moves one node's share of the ring when the region changes.
// Create it with NewMigrator; it follows the node's ApplyTopology (the
// OnTopologyChange hook), and Transition drives it by hand (tests, a node
// draining out of the region). Stop it with Close. Its methods are safe for concurrent use.
type Migrator struct {
	node *Node
	cfg  MigrateConfig
	clk  clock.Clock
	// sleep waits d or until ctx ends; tests swap it for one that advances
	// a fake clock, so rate limits are checked without wall time.
	sleep func(ctx context.Context, d time.Duration) error

	pulls     atomic.Pointer[pullSet]
	pullCount atomic.Uint64
	pullHits  atomic.Uint64

	mu       sync.Mutex // protects the fields below
	links    map[string]*peer
	book     map[string]string // peer addresses learnt from Transition
	prog     MigrationProgress
	reported MigrationProgress // the last report the control plane took
	gate     chan struct{}     // closed while running; open while paused
	paused   bool
	gen      uint64             // counts pushes; only the current one updates prog
	cancel   context.CancelFunc // the running push, or nil
	finished chan struct{}      // closed when the running push ends
	closed   bool
	ctx      context.Context // ended by Close
	stop     context.CancelFunc
	unhook   func()
	wg       sync.WaitGroup // the push and control goroutines
}

// NewMigrator attaches a migrator to n. A node has at most one; attaching a
// second replaces the first as the one that serves pull-through reads.
func NewMigrator(n *Node, cfg MigrateConfig) (*Migrator, error) {
	return newMigrator(n, cfg, sleepCtx)
}

// newMigrator is NewMigrator with the wait injected (tests: a fake clock).
func newMigrator(n *Node, cfg MigrateConfig, sleep func(context.Context, time.Duration) error) (*Migrator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	ctx, stop := context.WithCancel(context.Background())
	gate := make(chan struct{})
	close(gate)
	m := &Migrator{
		node: n, cfg: cfg, clk: clock.Or(n.cfg.Clock), sleep: sleep,
		links: map[string]*peer{}, book: map[string]string{}, gate: gate, ctx: ctx, stop: stop,
		prog: MigrationProgress{Node: n.cfg.ID, State: MigrationIdle},
	}
	// The routing's addresses seed the book, so the first topology
	// change still knows how to reach a node it drops (see RingChanged).
	for id, p := range n.routing.Load().peers {
		m.book[id] = p.addr
	}
	registerMigrator(n, m)
	// Follow the control plane: every ApplyTopology moves the ranges.
	m.unhook = n.OnTopologyChange(m.RingChanged)
	if cfg.Control != nil {
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			m.controlLoop(ctx)
		}()
	}
	return m, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close cancels any migration, ends pull-through and waits for the
// migrator's goroutines. The node keeps running. Safe to call twice.
func (m *Migrator) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.stop()
	links := m.links
	m.links = map[string]*peer{}
	m.mu.Unlock()
	// Outside m.mu: ApplyTopology holds the hook lock while RingChanged
	// takes m.mu.
	m.unhook()
	for _, p := range links {
		p.close() // fails calls in flight, so the push goroutine returns
	}
	m.wg.Wait()
	m.pulls.Store(nil)
	unregisterMigrator(m.node, m)
	return nil
}

// Pause holds the push between batches until Resume. Pull-through reads
// go on: they are what keeps the origin quiet meanwhile.
func (m *Migrator) Pause() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.paused {
		return
	}
	m.paused, m.gate = true, make(chan struct{})
	if m.prog.State == MigrationRunning {
		m.prog.State = MigrationPaused
	}
}

// Resume lets a paused push continue.
func (m *Migrator) Resume() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.paused {
		return
	}
	m.paused = false
	close(m.gate)
	if m.prog.State == MigrationPaused {
		m.prog.State = MigrationRunning
	}
}

// Progress returns a snapshot of this node's migration.
func (m *Migrator) Progress() MigrationProgress {
	m.mu.Lock()
	p := m.prog
	m.mu.Unlock()
	p.Pulls, p.PullHits = m.pullCount.Load(), m.pullHits.Load()
	if p.State == MigrationRunning && p.Bytes > 0 && p.BytesTotal > p.Bytes {
		elapsed := m.clk.Now().Sub(p.StartedAt)
		p.ETA = time.Duration(float64(elapsed) * float64(p.BytesTotal-p.Bytes) / float64(p.Bytes))
	}
	return p
}

// Wait blocks until the running push (if any) ends or ctx does.
func (m *Migrator) Wait(ctx context.Context) error {
	m.mu.Lock()
	done := m.finished
	m.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Transition moves the region from oldPeers to newPeers at epoch: it
// starts pull-through for the ranges this node gains, installs newPeers
// as the node's routing (when the node is in it) and starts pushing the
// ranges it loses. It returns at once; Wait or Progress follow the push.
// A node leaving the region (not in newPeers) keeps its routing and
// serves until closed: that is the drain.
func (m *Migrator) Transition(epoch uint64, oldPeers, newPeers []Peer) error {
	oldR, err := peersRing(oldPeers)
	if err != nil {
		return err
	}
	newR, err := peersRing(newPeers)
	if err != nil {
		return err
	}
	addrs := map[string]string{}
	for _, ps := range [][]Peer{oldPeers, newPeers} {
		for _, p := range ps {
			addrs[p.ID] = p.Addr
		}
	}
	self := m.node.cfg.ID
	var moves []ring.Move
	if oldR != nil && newR != nil {
		moves = ring.Diff(oldR, newR)
	}
	m.mu.Lock()
	closed := m.closed
	for id, addr := range addrs {
		m.book[id] = addr
	}
	m.mu.Unlock()
	if closed {
		return ErrClosed
	}
	// Pull-through first, so the ranges this node gains never miss to
	// the origin, even for an instant.
	m.addPulls(epoch, self, moves, addrs)
	if inPeers(self, newPeers) {
		// The routing swap; the OnTopologyChange hook (RingChanged)
		// starts the push of the ranges the node loses.
		return m.node.ApplyTopology(epoch, newPeers)
	}
	return m.startPush(epoch, moves, addrs)
}

// Drain moves every range this node holds to its owner in newPeers, a
// membership without this node; the node keeps serving until the push is
// done (Wait) and it is closed.
func (m *Migrator) Drain(epoch uint64, newPeers []Peer) error {
	var cur []Peer
	for _, rn := range m.node.Ring().Nodes() {
		p := Peer{ID: rn.ID, Weight: rn.Weight}
		if peer := m.node.routing.Load().peers[rn.ID]; peer != nil {
			p.Addr = peer.addr
		}
		cur = append(cur, p)
	}
	return m.Transition(epoch, cur, newPeers)
}

// RingChanged is the topology hook's form of Transition, for a node whose
// routing already holds newRing: peer addresses come from the routing.
func (m *Migrator) RingChanged(oldRing, newRing *ring.Ring, epoch uint64) {
	if oldRing == nil || newRing == nil {
		return
	}
	// The routing holds newRing's addresses only: a node that left
	// (drained, down) is found in the book, which keeps every address
	// seen, so the pull-through from it can dial it.
	m.mu.Lock()
	for id, p := range m.node.routing.Load().peers {
		m.book[id] = p.addr
	}
	addrs := maps.Clone(m.book)
	last, started := m.prog.Epoch, m.prog.State != MigrationIdle
	m.mu.Unlock()
	moves := ring.Diff(oldRing, newRing)
	if started && epoch == last && len(moves) == 0 {
		// The same topology applied again: raftmeta keeps the epoch for a
		// keyspace-only change (`ctl keyspace set`) and every up node
		// re-applies it. Nothing moves, and starting a push would cancel
		// the running one and report done, abandoning the rebalance.
		return
	}
	m.addPulls(epoch, m.node.cfg.ID, moves, addrs)
	if err := m.startPush(epoch, moves, addrs); err != nil {
		m.node.cfg.Logger.Warn("l2: migration not started", "epoch", epoch, "err", err)
	}
}

func inPeers(id string, peers []Peer) bool {
	for _, p := range peers {
		if p.ID == id {
			return true
		}
	}
	return false
}

// peersRing builds the ring for peers (nil for none): the node's routing
// (buildRouting) and the migrator's before/after views share it.
func peersRing(peers []Peer) (*ring.Ring, error) {
	if len(peers) == 0 {
		return nil, nil
	}
	nodes := make([]ring.Node, len(peers))
	for i, p := range peers {
		nodes[i] = ring.Node{ID: p.ID, Weight: p.Weight}
	}
	r, err := ring.New(nodes, ring.Options{})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidConfig, err)
	}
	return r, nil
}

// linkTo returns the migrator's own link to id, dialled on first use.
func (m *Migrator) linkTo(id, addr string) (*peer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if p := m.links[id]; p != nil && (addr == "" || p.addr == addr) {
		return p, nil
	}
	if addr == "" {
		return nil, fmt.Errorf("%w: %s", ErrUnknownPeer, id)
	}
	if old := m.links[id]; old != nil {
		old.close()
	}
	p := newPeer(m.node, id, addr)
	m.links[id] = p
	return p, nil
}

// roundTrip sends args to a peer, to run there whatever its ring says,
// and waits for the reply (bounded by the node's ForwardTimeout).
func (m *Migrator) roundTrip(p *peer, pick uint64, args [][]byte) ([]byte, error) {
	cl := newCall()
	if err := p.links[pick%uint64(len(p.links))].send(2, args, cl); err != nil {
		return nil, err
	}
	<-cl.done
	if cl.err != nil {
		return nil, cl.err
	}
	if len(cl.reply) > 0 && cl.reply[0] == '-' {
		return nil, fmt.Errorf("%w: %s", ErrMigratePush, trimReply(cl.reply))
	}
	return cl.reply, nil
}

// controlLoop reports progress and follows the operator's pause.
func (m *Migrator) controlLoop(ctx context.Context) {
	for {
		if err := m.sleep(ctx, m.cfg.ReportEvery); err != nil {
			return
		}
		m.syncControl(ctx)
	}
}

// syncControl runs one report and pause poll.
func (m *Migrator) syncControl(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, m.cfg.ReportEvery+time.Second)
	defer cancel()
	if paused, err := m.cfg.Control.Paused(rctx); err == nil {
		if paused {
			m.Pause()
		} else {
			m.Resume()
		}
	}
	// Only a change is reported: an idle or finished migrator costs the
	// control plane no Raft writes.
	p := m.Progress()
	p.Pulls, p.PullHits = 0, 0
	m.mu.Lock()
	same := p == m.reported
	m.mu.Unlock()
	if p.State == MigrationIdle || same {
		return
	}
	if err := m.cfg.Control.Report(rctx, p); err != nil {
		if ctx.Err() == nil {
			m.node.cfg.Logger.Warn("l2: migration report failed", "err", err)
		}
		return
	}
	m.mu.Lock()
	m.reported = p
	m.mu.Unlock()
}
