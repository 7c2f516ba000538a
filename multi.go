package tiercache

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/internal/tcproto"
	"github.com/tiercache/tiercache/l1"
)

// multiResolvers bounds the misses of one GetMulti resolved at once
// (leases, waits and loads).
const multiResolvers = 8

// GetMulti returns the values of keys: L1 first, then one pipelined round
// trip per owner node for the rest, the owners asked in parallel, then the
// misses resolved as Get resolves them (leases, waits, loads), a few at a
// time. The map holds every key found or loaded, in slices the caller
// owns; the error joins those of the keys that are missing from it.
func (c *Client) GetMulti(ctx context.Context, keys []string, loader Loader) (map[string][]byte, error) {
	out := make(map[string][]byte, len(keys))
	topo := c.topo.Load()
	byNode := map[*nodeClient][]*readReq{}
	seen := make(map[string]struct{}, len(keys))
	for _, key := range keys {
		if _, dup := seen[key]; dup {
			continue
		}
		seen[key] = struct{}{}
		kb := bytesOf(key)
		rq := c.newReadReq(key, kb, c.keyspaceOf(kb), loader)
		if c.l1 != nil && rq.ks.L1Mode() != keyspace.L1Off {
			if v, _, st := c.l1.Get(nil, kb); st != l1.Miss {
				c.hot.countHit(kb)
				if st == l1.Stale {
					c.stats.l1Stale.Add(1)
					bg := *rq
					bg.bg = true
					c.refreshL1(&bg)
				} else {
					c.stats.l1Hits.Add(1)
				}
				out[key] = v
				continue
			}
		}
		n := topo.owner(kb)
		byNode[n] = append(byNode[n], rq)
	}

	var (
		mu   sync.Mutex // protects out and errs
		errs []error
		wg   sync.WaitGroup
	)
	sem := make(chan struct{}, multiResolvers)
	record := func(key string, v []byte, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
			return
		}
		out[key] = v
	}
	resolveLater := func(f func() ([]byte, error), key string) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			v, err := f()
			record(key, v, err)
		}()
	}
	for n, rqs := range byNode {
		wg.Add(1)
		go func() {
			defer wg.Done()
			te := n.trackEpoch.Load()
			reqs := make([]tcproto.GetRequest, len(rqs))
			for i, rq := range rqs {
				reqs[i] = c.getRequest(rq, topo.epoch)
			}
			reps, buf, ends, err := n.getMany(ctx, c.deadline(ctx), reqs, nil)
			if err != nil {
				for _, rq := range rqs {
					resolveLater(func() ([]byte, error) {
						if !errors.Is(err, ErrUnavailable) {
							return c.fetch(ctx, nil, rq)
						}
						return c.degraded(ctx, nil, rq, err)
					}, rq.key)
				}
				return
			}
			start := 0
			for i, rep := range reps {
				rq := rqs[i]
				v := buf[start:ends[i]:ends[i]]
				start = ends[i]
				if rep.status == tcproto.StatusHit {
					c.stats.l2Hits.Add(1)
					c.afterHit(ctx, rq, n, te, v, rep)
					record(rq.key, v, nil)
					continue
				}
				resolveLater(func() ([]byte, error) {
					return c.resolve(ctx, nil, v, rq, n, topo.epoch, te, rep)
				}, rq.key)
			}
		}()
	}
	wg.Wait()
	return out, errors.Join(errs...)
}
