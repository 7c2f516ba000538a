package federation

import (
	"errors"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

func change(i int) Change {
	return Change{Key: []byte(fmt.Sprintf("k%d", i)), Value: []byte("v"), Version: uint64(i + 1)}
}

func TestOutboxSequencesAcksAndLag(t *testing.T) {
	clk := clock.NewFake(time.Unix(1000, 0))
	o := newOutbox(100, 1<<20, DefaultMaxFrameBytes, clk)
	for i := 0; i < 10; i++ {
		seq, err := o.enqueue(change(i))
		if err != nil || seq != uint64(i+1) {
			t.Fatalf("enqueue %d: seq %d err %v", i, seq, err)
		}
	}
	b := o.batch(o.resumeSeq(), 4, 1<<20)
	if len(b) != 4 || b[0].seq != 1 || b[3].seq != 4 {
		t.Fatalf("first batch %+v", b)
	}
	applied := clk.Now().Add(30 * time.Millisecond).UnixNano()
	o.ack(4, applied)
	if o.delivered() != 4 || o.resumeSeq() != 5 {
		t.Fatalf("delivered %d resume %d", o.delivered(), o.resumeSeq())
	}
	o.ack(3, applied) // stale acks change nothing
	if s := o.stats(); s.changes != 6 || s.acked != 4 || s.lagP50 != 30*time.Millisecond || s.lagSamples != 4 {
		t.Fatalf("stats %+v", s)
	}
	// A reconnect resumes after the last ack, even if more had been sent.
	if b := o.batch(o.resumeSeq(), 100, 1<<20); len(b) != 6 || b[0].seq != 5 {
		t.Fatalf("resume batch %+v", b)
	}
	// Batches respect the byte budget but always carry at least one change.
	if b := o.batch(5, 100, 1); len(b) != 1 {
		t.Fatalf("byte-bounded batch %d", len(b))
	}
}

func TestOutboxOverflowOwesAntiEntropy(t *testing.T) {
	o := newOutbox(5, 1<<20, DefaultMaxFrameBytes, clock.NewFake(time.Unix(0, 0)))
	for i := 0; i < 5; i++ {
		_, _ = o.enqueue(change(i))
	}
	o.ack(2, 0)
	if _, due := o.antiEntropyDue(); due {
		t.Fatal("anti-entropy owed before any overflow")
	}
	for i := 5; i < 8; i++ { // the 8th live change overflows
		_, _ = o.enqueue(change(i))
	}
	s := o.stats()
	if s.overflows != 1 || !s.needsAntiEntropy || s.changes > 5 {
		t.Fatalf("after overflow %+v", s)
	}
	if d := o.delivered(); d != 2 {
		t.Fatalf("delivered %d, want 2: sequences 3.. were dropped", d)
	}
	// The stream skips the dropped sequences.
	b := o.batch(3, 100, 1<<20)
	if len(b) == 0 || b[0].seq <= 5 {
		t.Fatalf("batch after overflow starts at %+v", b)
	}
	last := b[len(b)-1].seq
	o.ack(last, 0)
	if d := o.delivered(); d != 2 {
		t.Fatalf("acks alone must not cover dropped changes: delivered %d", d)
	}
	gen, due := o.antiEntropyDue()
	if !due {
		t.Fatal("no pass owed")
	}
	// A drop while the pass runs leaves another pass owed.
	for i := 0; i < 6; i++ {
		_, _ = o.enqueue(change(100 + i))
	}
	o.antiEntropyDone(gen)
	if _, due := o.antiEntropyDue(); !due {
		t.Fatal("drop during the pass was forgotten")
	}
	gen, _ = o.antiEntropyDue()
	o.antiEntropyDone(gen)
	o.ack(o.stats().enqueued, 0)
	if s := o.stats(); s.needsAntiEntropy || s.delivered != s.enqueued {
		t.Fatalf("after the second pass %+v", s)
	}
}

func TestOutboxByteBoundAndOversizedChange(t *testing.T) {
	o := newOutbox(1000, 3*(changeOverhead+3), 4096, clock.NewFake(time.Unix(0, 0)))
	for i := 0; i < 3; i++ {
		_, _ = o.enqueue(change(i))
	}
	if s := o.stats(); s.overflows != 0 || s.changes != 3 {
		t.Fatalf("%+v", s)
	}
	_, _ = o.enqueue(change(3))
	if s := o.stats(); s.overflows != 1 || s.changes != 1 {
		t.Fatalf("byte bound: %+v", s)
	}
	if _, err := o.enqueue(Change{Key: []byte("big"), Value: make([]byte, 5000)}); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("change larger than a frame: %v", err)
	}
}

func TestOutboxCopiesChanges(t *testing.T) {
	o := newOutbox(10, 1<<20, DefaultMaxFrameBytes, clock.NewFake(time.Unix(0, 0)))
	key := []byte("key")
	_, _ = o.enqueue(Change{Key: key, Value: []byte("v")})
	key[0] = 'X'
	if b := o.batch(1, 1, 1<<20); string(b[0].change.Key) != "key" {
		t.Fatalf("outbox shares the caller's buffer: %q", b[0].change.Key)
	}
}

func TestBackoffGrowsWithJitterAndCap(t *testing.T) {
	lo, hi := 50*time.Millisecond, time.Second
	for attempt, want := range []time.Duration{50, 100, 200, 400, 800, 1000, 1000} {
		want *= time.Millisecond
		if got := backoff(attempt, lo, hi, func() float64 { return 0 }); got != want/2 {
			t.Errorf("attempt %d, no jitter: %v, want %v", attempt, got, want/2)
		}
		if got := backoff(attempt, lo, hi, func() float64 { return math.Nextafter(1, 0) }); got < want*99/100 || got > want {
			t.Errorf("attempt %d, full jitter: %v, want about %v", attempt, got, want)
		}
	}
	if got := backoff(1000, lo, hi, func() float64 { return 0.5 }); got > hi {
		t.Errorf("attempt 1000: %v", got)
	}
}

func TestDigestTableMatchesScan(t *testing.T) {
	type kv struct {
		key string
		v   uint64
	}
	var entries []kv
	table := NewDigestTable(4096)
	for i := 0; i < 1000; i++ {
		e := kv{fmt.Sprintf("key-%d", i), uint64(i * 7)}
		entries = append(entries, e)
		table.Toggle([]byte(e.key), e.v)
	}
	// Replace one entry's version: toggle the old one out, the new one in.
	table.Toggle([]byte(entries[5].key), entries[5].v)
	entries[5].v = 12345
	table.Toggle([]byte(entries[5].key), entries[5].v)
	for _, n := range []int{1, 16, 256, 4096} {
		scan := make([]uint64, n)
		for _, e := range entries {
			h := KeyHash([]byte(e.key))
			i := BucketOf(h, n)
			if lo, hi := BucketRange(i, n); h < lo || h > hi {
				t.Fatalf("hash %x outside bucket %d of %d [%x, %x]", h, i, n, lo, hi)
			}
			scan[i] ^= EntryDigest([]byte(e.key), e.v)
		}
		got := make([]uint64, n)
		table.Fill(got)
		for i := range got {
			if got[i] != scan[i] {
				t.Fatalf("%d buckets: bucket %d table %x scan %x", n, i, got[i], scan[i])
			}
		}
	}
	if lo, hi := BucketRange(4095, 4096); hi != math.MaxUint64 || lo != 4095<<52 {
		t.Fatalf("last bucket [%x, %x]", lo, hi)
	}
	if EntryDigest([]byte("k"), 1) == EntryDigest([]byte("k"), 2) {
		t.Fatal("versions do not change the digest")
	}
}
