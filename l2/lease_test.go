package l2

import (
	"errors"
	"testing"
	"time"
)

// The lease table's own tests are in internal/lease; the node-level lease
// behaviour is covered by tier_cmds_test.go and tier_write_test.go.

func TestTierOptionsValidate(t *testing.T) {
	n, _ := fakeNode(t, nil)
	for _, o := range []TierOptions{{LeasePeriod: -1}, {LeaseWait: -1}, {TrackWindow: -1}, {PushQueue: -1}} {
		if err := n.SetTierOptions(o); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	if err := n.SetTierOptions(TierOptions{LeasePeriod: time.Second}); err != nil {
		t.Fatal(err)
	}
	if got := n.tier.opts.Load().LeasePeriod; got != time.Second {
		t.Fatalf("lease period %v", got)
	}
}
