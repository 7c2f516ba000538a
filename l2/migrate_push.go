package l2

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/tiercache/tiercache/l2/ring"
	"github.com/tiercache/tiercache/l2/store"
)

// The previous owner's side of a migration: one scan of the store picks
// the keys of the ranges this node loses, hottest first; batches go to
// their new owners within the rate limit.

// limiter spaces batches so that keys/s and bytes/s stay under their
// limits: a batch goes when the previous one's cost has elapsed, so the
// first goes at once and bursts never exceed one batch.
type limiter struct {
	keysPerSec, bytesPerSec float64 // <= 0: no limit
	ready                   time.Time
}

// reserve books a batch and returns how long to wait before sending it.
func (l *limiter) reserve(now time.Time, keys, bytes int) time.Duration {
	if l.ready.Before(now) {
		l.ready = now
	}
	wait := l.ready.Sub(now)
	var cost float64
	if l.keysPerSec > 0 {
		cost = float64(keys) / l.keysPerSec
	}
	if l.bytesPerSec > 0 {
		cost = max(cost, float64(bytes)/l.bytesPerSec)
	}
	l.ready = l.ready.Add(time.Duration(cost * float64(time.Second)))
	return wait
}

// pushKey is a key found in a moved range.
type pushKey struct {
	key  []byte
	hot  uint32
	move int // index into the migration's moves
}

// pushBatch is one tc.mput being filled for a new owner.
type pushBatch struct {
	args  [][]byte
	moves []int // the move of each key, to count ranges done
	bytes int
}

// push is one running migration of this node's lost ranges.
type push struct {
	m      *Migrator
	gen    uint64
	epoch  uint64
	moves  []ring.Move // From == this node
	addrs  map[string]string
	left   []int // keys not yet sent, per move
	lim    limiter
	failed map[string]bool // new owners a batch could not reach
}

// startPush cancels any running push and starts one for moves.
func (m *Migrator) startPush(epoch uint64, all []ring.Move, addrs map[string]string) error {
	self := m.node.cfg.ID
	var moves []ring.Move
	for _, mv := range all {
		if mv.From == self {
			moves = append(moves, mv)
		}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	if m.cancel != nil {
		m.cancel()
	}
	m.gen++
	now := m.clk.Now()
	m.prog = MigrationProgress{Node: self, FromEpoch: m.prog.Epoch, Epoch: epoch, State: MigrationRunning, RangesTotal: len(moves), StartedAt: now, UpdatedAt: now}
	if m.paused {
		m.prog.State = MigrationPaused
	}
	if len(moves) == 0 {
		m.prog.State = MigrationDone
		m.cancel, m.finished = nil, nil
		return nil
	}
	ctx, cancel := context.WithCancel(m.ctx)
	done := make(chan struct{})
	m.cancel, m.finished = cancel, done
	p := &push{m: m, gen: m.gen, epoch: epoch, moves: moves, addrs: addrs, left: make([]int, len(moves)),
		lim: limiter{keysPerSec: m.cfg.KeysPerSec, bytesPerSec: m.cfg.BytesPerSec}, failed: map[string]bool{}}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(done)
		defer cancel()
		p.run(ctx)
	}()
	return nil
}

// update changes the progress record if this push is still the current one.
func (p *push) update(f func(*MigrationProgress)) {
	p.m.mu.Lock()
	defer p.m.mu.Unlock()
	if p.m.gen == p.gen {
		f(&p.m.prog)
		p.m.prog.UpdatedAt = p.m.clk.Now()
	}
}

func (p *push) spans() []span {
	var spans []span
	for i, mv := range p.moves {
		spans = appendSpans(spans, mv.Range, i)
	}
	sortSpans(spans)
	return spans
}

func (p *push) run(ctx context.Context) {
	st := p.m.node.store
	spans := p.spans()
	var keys []pushKey
	var totalBytes int64
	st.Range(0, 0, func(key []byte, it store.Item, hot uint32) bool {
		if sp, ok := findSpan(spans, xxhash.Sum64(key)); ok {
			keys = append(keys, pushKey{key: key, hot: hot, move: sp.src})
			p.left[sp.src]++
			totalBytes += int64(len(key) + len(it.Value))
		}
		return ctx.Err() == nil
	})
	empty := 0
	for _, n := range p.left {
		if n == 0 {
			empty++
		}
	}
	p.update(func(pr *MigrationProgress) {
		pr.KeysTotal, pr.BytesTotal, pr.RangesDone = int64(len(keys)), totalBytes, empty
	})
	p.announce()
	// Hottest first: the keys most likely to be read soon reach the new
	// owner before the pull-through has to fetch them one by one.
	slices.SortStableFunc(keys, func(a, b pushKey) int { return int(b.hot) - int(a.hot) })

	pending := map[string]*pushBatch{}
	for _, k := range keys {
		if ctx.Err() != nil {
			return
		}
		to := p.moves[k.move].To
		b := pending[to]
		if b == nil {
			b = &pushBatch{args: [][]byte{[]byte(cmdMigratePut), []byte(p.m.node.cfg.ID), strconv.AppendUint(nil, p.epoch, 10)}}
			pending[to] = b
		}
		it, ok := st.Peek(k.key)
		if !ok {
			p.sent(nil, []int{k.move}, 0, 0) // gone since the scan: nothing to move
			continue
		}
		b.args = append(b.args, k.key, it.Value, strconv.AppendUint(nil, it.Version, 10),
			strconv.AppendInt(nil, it.ExpireAt, 10), strconv.AppendInt(nil, it.SoftExpireAt, 10))
		b.moves = append(b.moves, k.move)
		b.bytes += len(k.key) + len(it.Value)
		if len(b.moves) >= p.m.cfg.BatchKeys || b.bytes >= p.m.cfg.BatchBytes {
			delete(pending, to)
			if p.flush(ctx, to, b) != nil {
				return
			}
		}
	}
	for _, to := range sortedKeys(pending) {
		if p.flush(ctx, to, pending[to]) != nil {
			return
		}
	}
	p.finish(ctx, spans)
}

// announce tells each new owner which ranges to pull from this node
// until the push is done, for a new owner that did not see the old ring.
func (p *push) announce() {
	by := map[string][][]byte{}
	for i, mv := range p.moves {
		if p.left[i] == 0 {
			continue // nothing here to pull
		}
		by[mv.To] = append(by[mv.To], strconv.AppendUint(nil, mv.Range.Start, 10), strconv.AppendUint(nil, mv.Range.End, 10))
	}
	self, addr := p.m.node.cfg.ID, p.m.node.Addr()
	const chunk = 4096 // ranges per command, well under MaxArgs
	for to, rgs := range by {
		for len(rgs) > 0 {
			n := min(len(rgs), 2*chunk)
			args := append([][]byte{[]byte(cmdMigrateBegin), []byte(self), []byte(addr), strconv.AppendUint(nil, p.epoch, 10)}, rgs[:n]...)
			rgs = rgs[n:]
			if err := p.call(to, args); err != nil {
				p.m.node.cfg.Logger.Warn("l2: migration announce failed", "to", to, "err", err)
				break
			}
		}
	}
}

func (p *push) call(to string, args [][]byte) error {
	peer, err := p.m.linkTo(to, p.addrs[to])
	if err != nil {
		return err
	}
	_, err = p.m.roundTrip(peer, 0, args)
	return err
}

// flush waits out a pause and the rate limit, then sends b to its new
// owner, retrying a failed send twice.
func (p *push) flush(ctx context.Context, to string, b *pushBatch) error {
	if p.failed[to] {
		// Its pull-through stays on (no tc.mdone) until PullWindow;
		// retrying every batch would only slow the other owners' push.
		p.sent(nil, b.moves, 0, len(b.moves))
		return nil
	}
	if err := p.waitGate(ctx); err != nil {
		return err
	}
	if err := p.m.sleep(ctx, p.lim.reserve(p.m.clk.Now(), len(b.moves), b.bytes)); err != nil {
		return err
	}
	if err := p.waitGate(ctx); err != nil { // paused while waiting for the limit
		return err
	}
	var err error
	for attempt := range 3 {
		if attempt > 0 {
			if serr := p.m.sleep(ctx, time.Duration(attempt)*100*time.Millisecond); serr != nil {
				return serr
			}
		}
		if err = p.call(to, b.args); err == nil {
			break
		}
	}
	if errors.Is(err, ErrClosed) {
		return err // this node or the migrator is closing
	}
	if err != nil {
		p.m.node.cfg.Logger.Warn("l2: migration batch failed", "to", to, "keys", len(b.moves), "err", err)
		p.failed[to] = true
		p.sent(nil, b.moves, 0, len(b.moves))
		return nil
	}
	p.sent(b, b.moves, b.bytes, 0)
	return nil
}

// waitGate returns once the migrator is not paused.
func (p *push) waitGate(ctx context.Context) error {
	p.m.mu.Lock()
	gate := p.m.gate
	p.m.mu.Unlock()
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sent counts keys handed over (or skipped) and the ranges they finish.
func (p *push) sent(b *pushBatch, moves []int, bytes, failed int) {
	finished := 0
	for _, mv := range moves {
		p.left[mv]--
		if p.left[mv] == 0 {
			finished++
		}
	}
	p.update(func(pr *MigrationProgress) {
		pr.RangesDone += finished
		pr.Failed += int64(failed)
		if b != nil {
			pr.Keys += int64(len(moves))
			pr.Bytes += int64(bytes)
			pr.Batches++
		}
	})
}

// finish ends the new owners' pull-through and drops the moved copies,
// except those a failed new owner never got.
func (p *push) finish(ctx context.Context, spans []span) {
	for _, to := range sortedKeys(p.addrsOfMoves()) {
		if p.failed[to] {
			continue // let its pull-through run on until PullWindow
		}
		if err := p.call(to, [][]byte{[]byte(cmdMigrateDone), []byte(p.m.node.cfg.ID), strconv.AppendUint(nil, p.epoch, 10)}); err != nil {
			p.m.node.cfg.Logger.Warn("l2: migration done message failed", "to", to, "err", err)
		}
	}
	if !p.m.cfg.KeepMoved && ctx.Err() == nil {
		n := p.m.node
		rg, self := n.Ring(), n.cfg.ID
		var owners []string
		n.store.Range(0, 0, func(key []byte, _ store.Item, _ uint32) bool {
			if sp, ok := findSpan(spans, xxhash.Sum64(key)); ok && !p.failed[p.moves[sp.src].To] {
				// A copy this node still keeps as a replica of the
				// new primary stays.
				copies := n.cluster().keyspaces.Load().For(key).Copies()
				if copies > 1 {
					if owners = rg.Owners(key, copies, owners[:0]); slices.Contains(owners, self) {
						return ctx.Err() == nil
					}
				}
				n.store.Delete(key)
			}
			return ctx.Err() == nil
		})
	}
	p.update(func(pr *MigrationProgress) {
		pr.State = MigrationDone
		pr.RangesDone = pr.RangesTotal
	})
}

func (p *push) addrsOfMoves() map[string]bool {
	out := map[string]bool{}
	for _, mv := range p.moves {
		out[mv.To] = true
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
