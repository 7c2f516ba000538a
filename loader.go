package tiercache

import "context"

// Loader reads a key's value from the origin (the application's database)
// on a miss.
//
// Threading: Load may be called concurrently, for different keys and, from
// different processes or when Defences.NoSingleflight is set, for the same
// key. Within one Client with singleflight on, at most one Load per key
// runs at a time for callers, plus at most one background refresh. A
// background refresh (stale-while-revalidate, early refresh, pre-warm) runs
// Load on a goroutine of the Client with a context that ends at the
// client's LoadTimeout or Close, not the caller's; HintsFrom tells which.
// Load must honour ctx and must not call the Client for the same key.
//
// The returned slice is owned by the Client afterwards; Load must not
// modify it.
type Loader interface {
	Load(ctx context.Context, key string) ([]byte, error)
}

// LoaderFunc adapts a function to Loader.
type LoaderFunc func(ctx context.Context, key string) ([]byte, error)

// Load calls f.
func (f LoaderFunc) Load(ctx context.Context, key string) ([]byte, error) { return f(ctx, key) }

// Hints tell a Loader why it is called. A Loader that ignores them is
// correct, except that one reading a lagging database replica should honour
// MinVersion/PreferPrimary for read-your-writes.
type Hints struct {
	// Background is set when no caller waits for this load: a refresh of
	// a stale, early-expiring or pre-warmed value.
	Background bool
	// Prewarm is set when the load refreshes a hot key before it expires.
	Prewarm bool
	// Degraded is set when the key's node is unreachable: loads run under
	// a concurrency cap, and the value is cached only in the gutter (with
	// its short TTL) when the client has gutter nodes, else not at all.
	Degraded bool
	// Leased is set when the load holds the region's lease for the key:
	// its result fills the cache unless the key is invalidated meanwhile.
	Leased bool
	// MinVersion is set for a read of a Session inside its sticky window
	// (read-your-writes): the load must return the session's write,
	// whose cache version is MinVersion, or a newer one (0: any).
	MinVersion uint64
	// PreferPrimary is set with MinVersion: a lagging read replica of the
	// database may not have the session's write yet, so read the primary.
	PreferPrimary bool
}

type hintsKey struct{}

// HintsFrom returns the hints the Client put in a Loader's context.
func HintsFrom(ctx context.Context) Hints {
	h, _ := ctx.Value(hintsKey{}).(Hints)
	return h
}

func withHints(ctx context.Context, h Hints) context.Context {
	return context.WithValue(ctx, hintsKey{}, h)
}
