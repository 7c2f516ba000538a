package gateway

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/internal/telemetry/obs"
)

// RegisterMetrics exports the gateway's Stats as observable counters on m,
// labelled region, read at collection time. unregister stops them.
func (s *Server) RegisterMetrics(m metric.Meter) (unregister func() error, err error) {
	o := obs.NewObservables(m)
	var (
		own       = o.Counter("tiercache_gateway_own_changes", "own region's writes applied at the L3 node")
		delivered = o.Counter("tiercache_gateway_delivered", "other regions' writes delivered to an L2 owner here")
		errs      = o.Counter("tiercache_gateway_deliver_errors", "deliveries to an L2 owner that failed (the batch is replayed)")
		refused   = o.Counter("tiercache_gateway_refused", "gateway calls refused from another region's peers")
		all       = obs.Attrs([]attribute.KeyValue{attribute.String("region", s.cfg.Region)})
	)
	return o.Register(func(_ context.Context, ob metric.Observer) error {
		st := s.Stats()
		ob.ObserveInt64(own, obs.Int64(st.Own), all)
		ob.ObserveInt64(delivered, obs.Int64(st.Delivered), all)
		ob.ObserveInt64(errs, obs.Int64(st.DeliverErrors), all)
		ob.ObserveInt64(refused, obs.Int64(st.Refused), all)
		return nil
	})
}
