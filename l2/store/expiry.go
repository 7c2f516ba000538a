package store

import (
	"math/rand/v2"
	"time"
)

// Active expiry, after Redis: each period the sampler looks at a few random
// keys that have an expiry in every shard and removes the expired ones,
// repeating while more than a quarter of a sample was expired, up to a
// bounded number of rounds, so memory held by keys nobody reads is
// reclaimed without scanning everything.
const (
	expirySample     = 20  // keys looked at per round
	expiryMaxRounds  = 16  // rounds per shard per period
	expiryRepeatPct  = 25  // repeat while more than this share was expired
	tombPrunePerTick = 256 // stale tombstones forgotten per shard per period
)

func (s *Store) runExpiry(period time.Duration) {
	defer s.wg.Done()
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.expireTick()
		}
	}
}

// expireTick runs one period of active expiry over every shard and
// returns how many items and tombstones it removed.
func (s *Store) expireTick() int {
	now := s.nowMillis()
	n := 0
	for i := range s.shards {
		n += s.shards[i].expireSample(now)
	}
	return n
}

// expireSample is one shard's share of a tick. It takes the write lock
// once per round, so other callers wait at most one round of sampling.
func (sh *shard) expireSample(now int64) int {
	sh.mu.Lock()
	n := sh.pruneTombsLocked(now, tombPrunePerTick)
	sh.mu.Unlock()
	for range expiryMaxRounds {
		sh.mu.Lock()
		sampled, removed := 0, 0
		for ; sampled < expirySample && len(sh.withTTL) > 0; sampled++ {
			i := sh.withTTL[rand.IntN(len(sh.withTTL))]
			if now >= sh.entries[i].expireAt {
				sh.removeLocked(i)
				removed++
			}
		}
		sh.expired += int64(removed)
		sh.mu.Unlock()
		n += removed
		if sampled == 0 || removed*100 <= sampled*expiryRepeatPct {
			break
		}
	}
	return n
}
