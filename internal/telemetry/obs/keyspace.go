package obs

import (
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// KeyspaceReads are the per-keyspace read counters every tier exports
// under the same names and descriptions, told apart by a tier label
// ("l1", "l2", "l3"), so one dashboard query gives the hit ratio of each
// tier and keyspace.
type KeyspaceReads struct {
	hits, stale, misses metric.Int64ObservableCounter
}

// KeyspaceReads adds the three counters.
func (o *Observables) KeyspaceReads() KeyspaceReads {
	return KeyspaceReads{
		hits:   o.Counter("tiercache_keyspace_hits", "reads a tier answered fresh, by keyspace"),
		stale:  o.Counter("tiercache_keyspace_stale_hits", "reads a tier answered past the soft expiry, by keyspace"),
		misses: o.Counter("tiercache_keyspace_misses", "reads a tier could not answer, by keyspace"),
	}
}

// Observe reports one tier's counts for one keyspace, labelled with base,
// tier and keyspace.
func (k KeyspaceReads) Observe(ob metric.Observer, base []attribute.KeyValue, tier, keyspace string, hits, stale, misses uint64) {
	attrs := Attrs(base, attribute.String("tier", tier), attribute.String("keyspace", keyspace))
	ob.ObserveInt64(k.hits, Int64(hits), attrs)
	ob.ObserveInt64(k.stale, Int64(stale), attrs)
	ob.ObserveInt64(k.misses, Int64(misses), attrs)
}
