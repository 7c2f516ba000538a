package breaker

import (
	"errors"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/clock"
)

func newTest(t *testing.T) (*Breaker, *clock.Fake) {
	t.Helper()
	clk := clock.NewFake(time.Unix(1_000_000, 0))
	b, err := New(Config{Failures: 3, Cooldown: time.Second, MaxCooldown: 4 * time.Second, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return b, clk
}

func fail(t *testing.T, b *Breaker, n int) {
	t.Helper()
	for range n {
		probe, err := b.Allow()
		if err != nil {
			t.Fatalf("Allow: %v", err)
		}
		b.Done(probe, false)
	}
}

func TestOpensAfterConsecutiveFailures(t *testing.T) {
	b, _ := newTest(t)
	fail(t, b, 2)
	b.Done(false, true) // a success resets the run
	fail(t, b, 2)
	if b.State() != Closed {
		t.Fatalf("state %v after 2 failures", b.State())
	}
	fail(t, b, 1)
	if b.State() != Open {
		t.Fatalf("state %v after 3 failures", b.State())
	}
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
		t.Fatalf("Allow on open: %v", err)
	}
	if b.Trips() != 1 {
		t.Fatalf("trips %d", b.Trips())
	}
}

func TestProbeClosesOrReopensWithLongerCooldown(t *testing.T) {
	b, clk := newTest(t)
	fail(t, b, 3)
	clk.Advance(1200*time.Millisecond + time.Millisecond) // past the jittered cooldown
	probe, err := b.Allow()
	if err != nil || !probe {
		t.Fatalf("probe %v err %v", probe, err)
	}
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
		t.Fatalf("second call while probing: %v", err)
	}
	b.Done(true, false) // the probe failed: cooldown doubles to 2 s
	clk.Advance(1500 * time.Millisecond)
	if _, err := b.Allow(); !errors.Is(err, ErrOpen) {
		t.Fatalf("allowed before the doubled cooldown: %v", err)
	}
	clk.Advance(time.Second) // 2.5 s > 2 s * 1.2
	probe, err = b.Allow()
	if err != nil || !probe {
		t.Fatalf("second probe %v err %v", probe, err)
	}
	b.Done(true, true)
	if b.State() != Closed {
		t.Fatalf("state %v after a good probe", b.State())
	}
	if probe, err := b.Allow(); err != nil || probe {
		t.Fatalf("closed breaker: probe %v err %v", probe, err)
	}
}

func TestLostProbeIsReplaced(t *testing.T) {
	b, clk := newTest(t)
	fail(t, b, 3)
	clk.Advance(2 * time.Second)
	if probe, _ := b.Allow(); !probe {
		t.Fatal("no probe")
	}
	// The probe's caller never reports; after a cooldown another probe
	// is let through.
	clk.Advance(2 * time.Second)
	if probe, err := b.Allow(); err != nil || !probe {
		t.Fatalf("replacement probe %v err %v", probe, err)
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{Failures: -1}, {Cooldown: -1}, {MaxCooldown: -1}, {Cooldown: time.Second, MaxCooldown: time.Millisecond}} {
		if err := c.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", c, err)
		}
	}
	if _, err := New(Config{}); err != nil {
		t.Fatal(err)
	}
}
