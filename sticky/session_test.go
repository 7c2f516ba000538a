package sticky

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/keyspace"
)

func TestWindowHonoured(t *testing.T) {
	f := newFixture(t, Config{})
	s := f.s.NewSession()
	s.RecordWrite([]byte("user:1"), 100, "eu-west")
	req, ok := s.Requirement([]byte("user:1"))
	if !ok || req != (Requirement{MinVersion: 100, Region: "eu-west"}) {
		t.Fatalf("right after the write: %+v %v", req, ok)
	}
	if _, ok := s.Requirement([]byte("user:2")); ok {
		t.Fatal("another key of the keyspace is sticky under key scope")
	}
	f.clk.Advance(5*time.Second - time.Millisecond)
	if _, ok := s.Requirement([]byte("user:1")); !ok {
		t.Fatal("sticky window ended early")
	}
	f.clk.Advance(time.Millisecond)
	if req, ok := s.Requirement([]byte("user:1")); ok {
		t.Fatalf("still sticky after the 5 s window: %+v", req)
	}
	if len(s.Markers()) != 0 {
		t.Fatalf("expired marker kept: %+v", s.Markers())
	}
}

func TestWindowFollowsTheTable(t *testing.T) {
	f := newFixture(t, Config{})
	s := f.s.NewSession()
	s.RecordWrite([]byte("other:1"), 5, "us-east")
	if s.Len() != 0 {
		t.Fatal("recorded a write in a keyspace with no window")
	}
	s.RecordWrite([]byte("cart:1"), 7, "us-east")
	f.clk.Advance(10 * time.Second)
	if req, ok := s.Requirement([]byte("cart:1")); !ok || !req.Local {
		t.Fatalf("cart inside its 30 s window: %+v %v", req, ok)
	}
	// The operator shortens the window: it applies to markers already
	// held.
	f.table.Store(&keyspace.Table{Spaces: map[string]keyspace.Settings{"cart": {StickyWindow: 10 * time.Second}}})
	if _, ok := s.Requirement([]byte("cart:1")); ok {
		t.Fatal("marker outlived a shortened window")
	}
}

func TestNewerWriteWinsAndRestartsTheWindow(t *testing.T) {
	f := newFixture(t, Config{})
	s := f.s.NewSession()
	s.RecordWrite([]byte("user:1"), 200, "ap-south")
	f.clk.Advance(4 * time.Second)
	// An older version reported late (two writes racing in the app) must
	// not lower the requirement.
	s.RecordWrite([]byte("user:1"), 150, "us-east")
	f.clk.Advance(4 * time.Second)
	req, ok := s.Requirement([]byte("user:1"))
	if !ok || req.MinVersion != 200 || req.Region != "ap-south" {
		t.Fatalf("%+v %v, want 200 from ap-south, window restarted by the last write", req, ok)
	}
	s.RecordWrite([]byte("user:1"), 300, "us-east")
	if req, _ := s.Requirement([]byte("user:1")); req != (Requirement{MinVersion: 300, Region: "us-east", Local: true}) {
		t.Fatalf("after a newer write: %+v", req)
	}
	if s.Len() != 1 {
		t.Fatalf("%d markers for one key", s.Len())
	}
}

func TestKeyspaceScope(t *testing.T) {
	f := newFixture(t, Config{Scope: ScopeKeyspace})
	s := f.s.NewSession()
	s.RecordWrite([]byte("user:1"), 100, "eu-west")
	for _, k := range []string{"user:1", "user:2", "user"} {
		if req, ok := s.Requirement([]byte(k)); !ok || req.MinVersion != 100 {
			t.Fatalf("%s under keyspace scope: %+v %v", k, req, ok)
		}
	}
	if _, ok := s.Requirement([]byte("cart:1")); ok {
		t.Fatal("another keyspace is sticky")
	}
	if m := s.Markers(); len(m) != 1 || m[0].Name != "user" || !m[0].Keyspace {
		t.Fatalf("markers %+v", m)
	}
}

func TestMarkersBoundedOldestEvicted(t *testing.T) {
	f := newFixture(t, Config{MaxMarkers: 4})
	s := f.s.NewSession()
	for i := range 10 {
		s.RecordWrite(fmt.Appendf(nil, "cart:%d", i), uint64(i+1), "us-east")
		f.clk.Advance(time.Millisecond)
	}
	if s.Len() != 4 {
		t.Fatalf("%d markers, want the bound 4", s.Len())
	}
	for i := range 10 {
		_, ok := s.Requirement(fmt.Appendf(nil, "cart:%d", i))
		if ok != (i >= 6) {
			t.Fatalf("cart:%d sticky = %v; want only the 4 newest", i, ok)
		}
	}
	// Rewriting an old key makes it the newest.
	s.RecordWrite([]byte("cart:6"), 50, "us-east")
	s.RecordWrite([]byte("cart:10"), 51, "us-east")
	if _, ok := s.Requirement([]byte("cart:6")); !ok {
		t.Fatal("a rewritten key was evicted as if old")
	}
	if _, ok := s.Requirement([]byte("cart:7")); ok {
		t.Fatal("the oldest marker survived")
	}
}

func TestNilSessionIsEmpty(t *testing.T) {
	var s *Session
	s.RecordWrite([]byte("user:1"), 1, "x")
	if _, ok := s.Requirement([]byte("user:1")); ok || s.Len() != 0 || s.Token() != "" || s.Markers() != nil {
		t.Fatal("nil session is not empty")
	}
}

func TestSessionConcurrentUse(t *testing.T) {
	f := newFixture(t, Config{MaxMarkers: 8})
	s := f.s.NewSession()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				k := fmt.Appendf(nil, "user:%d", (g*7+i)%20)
				switch i % 4 {
				case 0:
					s.RecordWrite(k, uint64(i+1), "eu-west")
				case 1:
					s.Requirement(k)
				case 2:
					_, _ = f.s.Restore(s.Token())
				default:
					f.clk.Advance(time.Millisecond)
				}
			}
		}()
	}
	wg.Wait()
	if s.Len() > 8 {
		t.Fatalf("%d markers over the bound", s.Len())
	}
}

func TestConfigValidate(t *testing.T) {
	bad := []Config{
		{},
		{Region: "r", Scope: 9},
		{Region: "r", MaxMarkers: -1},
		{Region: "r", MaxMarkers: MaxMarkersLimit + 1},
		{Region: "r", MaxTokenBytes: 10},
		{Region: "r", MaxTokenBytes: MaxTokenBytesLimit + 1},
		{Region: "r", Keys: [][]byte{[]byte("short")}},
		{Region: "r", Keys: make([][]byte, MaxKeys+1)},
	}
	for _, c := range bad {
		if _, err := New(c); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", c, err)
		}
	}
	if _, err := New(Config{Region: "r"}); err != nil {
		t.Errorf("minimal config: %v", err)
	}
}
