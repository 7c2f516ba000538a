package federation

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/tiercache/tiercache/internal/telemetry/obs"
)

// RegisterMetrics exports every link's Stats as OpenTelemetry observable
// instruments on m, labelled region=<this endpoint's region> and
// link=<peer region>. The link list is read at each collection, so links
// connected later are included; the lag percentiles are computed then too,
// never on the change stream. unregister stops the observations.
//
// Byte and packet counts are quic-go's for the current connection: they
// restart from zero after a reconnect, which Prometheus' rate() reads as
// a counter reset.
func (e *Endpoint) RegisterMetrics(m metric.Meter) (unregister func() error, err error) {
	o := obs.NewObservables(m)
	var (
		connected  = o.Gauge("tiercache_federation_connected", "1 while the link's connection has passed its hello")
		rtt        = o.Seconds("tiercache_federation_rtt", "smoothed round-trip time of the link")
		minRTT     = o.Seconds("tiercache_federation_min_rtt", "minimum round-trip time of the link")
		lag        = o.Seconds("tiercache_federation_lag", "replication lag of recent changes, by quantile")
		lagSamples = o.Gauge("tiercache_federation_lag_samples", "changes the lag quantiles are taken over")
		sendBps    = o.FloatGauge("tiercache_federation_send_bytes_per_second", "throughput sent over the last stats interval")
		recvBps    = o.FloatGauge("tiercache_federation_receive_bytes_per_second", "throughput received over the last stats interval")
		outbox     = o.Gauge("tiercache_federation_outbox_changes", "changes waiting for delivery")
		outboxB    = o.Gauge("tiercache_federation_outbox_bytes", "bytes waiting for delivery")
		behind     = o.Gauge("tiercache_federation_undelivered", "changes enqueued but not yet delivered (enqueued - delivered)")
		repairOwed = o.Gauge("tiercache_federation_needs_anti_entropy", "1 while a repair is owed after an outbox overflow")
		enqueued   = o.Counter("tiercache_federation_enqueued", "changes handed to the link")
		dials      = o.Counter("tiercache_federation_dials", "connection attempts")
		dialErrs   = o.Counter("tiercache_federation_dial_errors", "connection attempts that failed")
		calls      = o.Counter("tiercache_federation_calls", "requests sent")
		callErrs   = o.Counter("tiercache_federation_call_errors", "requests that failed")
		streamErrs = o.Counter("tiercache_federation_stream_errors", "change stream failures")
		overflows  = o.Counter("tiercache_federation_outbox_overflows", "outbox overflows")
		passes     = o.Counter("tiercache_federation_anti_entropy_passes", "completed anti-entropy passes")
		sent       = o.Counter("tiercache_federation_sent_bytes", "bytes sent on the current connection")
		received   = o.Counter("tiercache_federation_received_bytes", "bytes received on the current connection")
		lost       = o.Counter("tiercache_federation_packets_lost", "packets declared lost on the current connection")
		region     = attribute.String("region", e.cfg.Region)
	)
	return o.Register(func(_ context.Context, ob metric.Observer) error {
		for _, l := range e.Links() {
			s := l.Stats()
			base := []attribute.KeyValue{region, attribute.String("link", s.Region)}
			all := obs.Attrs(base)
			for _, g := range []struct {
				inst metric.Float64Observable
				v    float64
			}{
				{rtt, s.RTT.Seconds()}, {minRTT, s.MinRTT.Seconds()},
				{sendBps, s.SendBytesPerSec}, {recvBps, s.RecvBytesPerSec},
			} {
				ob.ObserveFloat64(g.inst, g.v, all)
			}
			for q, d := range map[string]float64{"0.5": s.ReplicationLagP50.Seconds(), "0.99": s.ReplicationLagP99.Seconds(), "max": s.ReplicationLagMax.Seconds()} {
				ob.ObserveFloat64(lag, d, obs.Attrs(base, attribute.String("quantile", q)))
			}
			for _, c := range []struct {
				inst metric.Int64Observable
				v    int64
			}{
				{connected, obs.Bool(s.Connected)}, {lagSamples, int64(s.ReplicationLagSamples)},
				{outbox, int64(s.OutboxChanges)}, {outboxB, int64(s.OutboxBytes)},
				{behind, obs.Int64(s.Enqueued - min(s.Delivered, s.Enqueued))},
				{repairOwed, obs.Bool(s.NeedsAntiEntropy)}, {enqueued, obs.Int64(s.Enqueued)},
				{dials, obs.Int64(s.Dials)}, {dialErrs, obs.Int64(s.DialErrors)},
				{calls, obs.Int64(s.Calls)}, {callErrs, obs.Int64(s.CallErrors)},
				{streamErrs, obs.Int64(s.StreamErrors)}, {overflows, obs.Int64(s.Overflows)},
				{passes, obs.Int64(s.AntiEntropyPasses)}, {sent, obs.Int64(s.BytesSent)},
				{received, obs.Int64(s.BytesReceived)}, {lost, obs.Int64(s.PacketsLost)},
			} {
				ob.ObserveInt64(c.inst, c.v, all)
			}
		}
		return nil
	})
}
