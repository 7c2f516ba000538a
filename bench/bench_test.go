package bench

import (
	"errors"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	var s []time.Duration
	for i := 1; i <= 100; i++ {
		s = append(s, time.Duration(101-i)*time.Millisecond)
	}
	if p := Percentile(s, 99); p != 99*time.Millisecond {
		t.Fatalf("p99 = %v", p)
	}
	if p := Percentile(s, 50); p != 50*time.Millisecond {
		t.Fatalf("p50 = %v", p)
	}
	if Percentile(nil, 50) != 0 {
		t.Fatal("empty percentile")
	}
}

func TestLookupUnknown(t *testing.T) {
	if _, err := Lookup("no-such"); !errors.Is(err, ErrUnknownScenario) {
		t.Fatalf("err %v", err)
	}
	if Ratio(1, 0) != 0 || Ratio(3, 2) != 1.5 {
		t.Fatal("ratio")
	}
}
