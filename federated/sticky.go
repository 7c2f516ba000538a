package federated

import (
	"context"
	"fmt"
	"time"

	"github.com/tiercache/tiercache/federation"
	"github.com/tiercache/tiercache/l2"
	"github.com/tiercache/tiercache/l3"
)

// Sticky reads between regions (l2/global_sticky.go): an L2 owner whose
// copy is older than a session's write asks the writer's region for the
// key over the federation link; that region's handler reads its own L2
// owner. The request is a read, so it is idempotent and may ride 0-RTT.
// The kind and codec are l3's (l3/sticky_wire.go), shared with the region
// gateways.

// stickyReader is an L2 node's l2.StickyReader over its region's endpoint.
type stickyReader struct{ ep *federation.Endpoint }

func (s stickyReader) ReadSticky(ctx context.Context, region string, key []byte, minVersion uint64) (l2.StickyRead, error) {
	l, ok := s.ep.Link(region)
	if !ok {
		return l2.StickyRead{}, fmt.Errorf("%w: %q", ErrUnknownRegion, region)
	}
	resp, err := l.Call(ctx, l3.KindStickyRead, l3.AppendStickyRequest(nil, key, minVersion), true)
	if err != nil {
		return l2.StickyRead{}, err
	}
	return l3.DecodeStickyReply(resp, time.Now().UnixMilli())
}

// serveSticky is a region's handler: it reads the key's L2 owner.
func serveSticky(r *Region) federation.Handler {
	return federation.HandlerFunc(func(_ context.Context, req []byte) ([]byte, error) {
		key, minVersion, err := l3.DecodeStickyRequest(req)
		if err != nil {
			return nil, err
		}
		return l3.AppendStickyReply(nil, r.Owner(key).ReadSticky(key, minVersion), time.Now().UnixMilli()), nil
	})
}
