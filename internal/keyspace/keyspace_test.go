package keyspace

import (
	"errors"
	"testing"
	"time"
)

func TestOf(t *testing.T) {
	for in, want := range map[string]string{"user:42": "user", "plain": "plain", ":x": "", "a:b:c": "a"} {
		if got := string(Of([]byte(in))); got != want {
			t.Errorf("Of(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDefaults(t *testing.T) {
	var s Settings
	if s.Hard() != DefaultTTL || s.Soft() != DefaultTTL || s.L1Mode() != L1Hot || s.HotTTL() != DefaultHotL1TTL ||
		s.Copies() != 1 || s.MaxValue() != DefaultMaxValueBytes || s.Scope() != ScopeRegion || s.Beta() != 1 {
		t.Fatalf("zero value defaults wrong: %+v", s)
	}
	s = Settings{TTL: time.Minute, SoftTTL: 10 * time.Second, EarlyRefresh: -1}
	if s.Hard() != time.Minute || s.Soft() != 10*time.Second || s.Beta() != 0 {
		t.Fatalf("derived lifetimes wrong")
	}
}

func TestValidateRejects(t *testing.T) {
	bad := []Settings{
		{TTL: -time.Second},
		{SoftTTL: 2 * time.Minute, HardTTL: time.Minute},
		{SoftTTL: 2 * time.Minute}, // over the default hard TTL of 60s
		{L1: "sometimes"},
		{StampedeScope: "planet"},
		{Replicas: -1},
		{MaxValueBytes: MaxValueBytesLimit + 1},
		{StickyWindow: -1},
	}
	for i, s := range bad {
		if err := s.Validate(); !errors.Is(err, ErrInvalid) {
			t.Errorf("case %d %+v: err %v", i, s, err)
		}
	}
	if err := (Settings{TTL: time.Minute, SoftTTL: 30 * time.Second, L1: L1All}).Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestTableFor(t *testing.T) {
	tab := &Table{Default: Settings{TTL: time.Second}, Spaces: map[string]Settings{"user": {TTL: time.Hour}}}
	if tab.For([]byte("user:1")).TTL != time.Hour || tab.For([]byte("post:1")).TTL != time.Second {
		t.Fatal("lookup wrong")
	}
	if n := testing.AllocsPerRun(100, func() { tab.For([]byte("user:1")) }); n != 0 {
		t.Fatalf("For allocates %v", n)
	}
}
