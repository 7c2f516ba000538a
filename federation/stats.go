package federation

import (
	"slices"
	"time"
)

// LinkStats is a snapshot of one link, as plain numbers for logs, tests
// and (later) metrics.
type LinkStats struct {
	// Region is the peer region.
	Region string
	// Connected is true while a connection has passed its hello.
	Connected bool
	// Dials counts connection attempts; Connects those that passed the
	// hello; DialErrors the attempts that failed.
	Dials, Connects, DialErrors uint64
	// Used0RTT is true if the current connection resumed with 0-RTT.
	Used0RTT bool
	// LastError is the last dial or connection error, "" if none.
	LastError string

	// RTT is quic-go's smoothed round-trip estimate, MinRTT its minimum.
	RTT, MinRTT time.Duration
	// SendBytesPerSec and RecvBytesPerSec are the throughput over the last
	// StatsInterval; BytesSent and BytesReceived are totals of the current
	// connection.
	SendBytesPerSec, RecvBytesPerSec float64
	BytesSent, BytesReceived         uint64
	// PacketsSent and PacketsLost are quic-go's counts for the current
	// connection (lost as declared by its loss detection).
	PacketsSent, PacketsLost uint64

	// Calls counts requests sent, CallErrors those that failed.
	Calls, CallErrors uint64

	// OutboxChanges and OutboxBytes are what waits for delivery.
	OutboxChanges, OutboxBytes int
	// Enqueued is the last sequence number handed out, Acked the highest
	// the peer acknowledged, Delivered the highest below which nothing is
	// missing at the peer (it trails Acked while a repair is owed).
	Enqueued, Acked, Delivered uint64
	// Overflows counts outbox overflows; NeedsAntiEntropy says a repair is
	// owed; AntiEntropyPasses counts completed passes, and the last one's
	// differing buckets, repaired keys and duration follow.
	Overflows             uint64
	NeedsAntiEntropy      bool
	AntiEntropyPasses     uint64
	LastRepairBuckets     int
	LastRepairKeys        int
	LastRepairDuration    time.Duration
	ReplicationLagP50     time.Duration
	ReplicationLagP99     time.Duration
	ReplicationLagMax     time.Duration
	ReplicationLagSamples int
	StreamErrors          uint64
}

// lagSamples is how many recent lag measurements a link keeps.
const lagSamples = 4096

// lagRing keeps the latest replication lag samples; percentiles are taken
// over them when Stats is called, not on the hot path.
type lagRing struct {
	buf  [lagSamples]time.Duration
	next int
	full bool
}

func (r *lagRing) add(d time.Duration) {
	r.buf[r.next] = d
	r.next++
	if r.next == len(r.buf) {
		r.next, r.full = 0, true
	}
}

func (r *lagRing) summary() (p50, p99, maxLag time.Duration, n int) {
	n = r.next
	if r.full {
		n = len(r.buf)
	}
	if n == 0 {
		return 0, 0, 0, 0
	}
	s := slices.Clone(r.buf[:n])
	slices.Sort(s)
	return s[percentileIndex(n, 50)], s[percentileIndex(n, 99)], s[n-1], n
}

// percentileIndex is the nearest-rank index of percentile p in n sorted
// samples.
func percentileIndex(n, p int) int { return (n*p+99)/100 - 1 }
