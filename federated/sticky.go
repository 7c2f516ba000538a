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

// KindStickyRead is the federation request kind of a sticky read; its
// codec lives in l3 (l3/sticky_wire.go), shared with the region gateways.
const KindStickyRead = l3.KindStickyRead

// ErrStickyWire is a sticky read request or reply that does not decode.
var ErrStickyWire = l3.ErrStickyWire

const (
	stickyValue = l3.StickyValue
	stickyTomb  = l3.StickyTomb
)

// stickyReader is an L2 node's l2.StickyReader over its region's endpoint.
type stickyReader struct{ ep *federation.Endpoint }

func (s stickyReader) ReadSticky(ctx context.Context, region string, key []byte, minVersion uint64) (l2.StickyRead, error) {
	l, ok := s.ep.Link(region)
	if !ok {
		return l2.StickyRead{}, fmt.Errorf("%w: %q", ErrUnknownRegion, region)
	}
	resp, err := l.Call(ctx, KindStickyRead, l3.AppendStickyRequest(nil, key, minVersion), true)
	if err != nil {
		return l2.StickyRead{}, err
	}
	return decodeStickyReply(resp, time.Now().UnixMilli())
}

// serveSticky is a region's handler: it reads the key's L2 owner.
func serveSticky(r *Region) federation.Handler {
	return federation.HandlerFunc(func(_ context.Context, req []byte) ([]byte, error) {
		key, minVersion, err := l3.DecodeStickyRequest(req)
		if err != nil {
			return nil, err
		}
		return encodeStickyReply(r.Owner(key).ReadSticky(key, minVersion), time.Now().UnixMilli()), nil
	})
}

func encodeStickyReply(rd l2.StickyRead, now int64) []byte { return l3.AppendStickyReply(nil, rd, now) }

func decodeStickyReply(b []byte, now int64) (l2.StickyRead, error) {
	return l3.DecodeStickyReply(b, now)
}
