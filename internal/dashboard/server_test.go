package dashboard

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestNewRefusesBadArguments(t *testing.T) {
	src := twoSamples()
	if _, err := New(nil, Options{}); !errors.Is(err, ErrNilSource) {
		t.Errorf("nil source: err %v, want ErrNilSource", err)
	}
	for _, o := range []Options{
		{Interval: -time.Second},
		{Interval: time.Millisecond},
		{History: -time.Minute},
		{ActionTimeout: -1},
		{Interval: 2 * time.Second, History: time.Second},
	} {
		if _, err := New(src, o); !errors.Is(err, ErrBadOptions) {
			t.Errorf("options %+v: err %v, want ErrBadOptions", o, err)
		}
	}
	if src.snapshotCalls() != 0 {
		t.Errorf("a refused New took %d snapshots", src.snapshotCalls())
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.Interval != DefaultInterval || o.History != DefaultHistory || o.ActionTimeout != DefaultActionTimeout {
		t.Errorf("defaults %+v", o)
	}
	if n := o.historySamples(); n != 601 {
		t.Errorf("10 minutes at 1 s keeps %d samples, want 601", n)
	}
}

// waitFor polls cond until it holds or a generous deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestStartServesAndCloseStopsEverything(t *testing.T) {
	src := twoSamples()
	s, err := New(src, Options{Interval: MinInterval})
	if err != nil {
		t.Fatal(err)
	}
	if src.snapshotCalls() < 1 {
		t.Error("New returned before taking its first snapshot")
	}
	addr, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Start("127.0.0.1:0"); !errors.Is(err, ErrAlreadyStarted) {
		t.Errorf("second Start: err %v, want ErrAlreadyStarted", err)
	}

	// The sampler keeps sampling on its own.
	waitFor(t, "three snapshots", func() bool { return src.snapshotCalls() >= 3 })

	base := "http://" + addr.String()
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "tiercache") {
		t.Errorf("GET /: %d %.80s", resp.StatusCode, page)
	}
	// An action from the page's own origin over real HTTP.
	req, _ := http.NewRequest(http.MethodPost, base+"/api/action", strings.NewReader(`{"kind":"partition-region","target":"eu"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", base)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("same-origin action over HTTP: status %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	calls := src.snapshotCalls()
	if _, err := http.Get(base + "/"); err == nil {
		t.Error("the server still answers after Close")
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if _, err := s.Start("127.0.0.1:0"); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: err %v, want ErrClosed", err)
	}
	// Close waited for the sampler: goleak (TestMain) proves it is gone,
	// and it took no snapshot since.
	if got := src.snapshotCalls(); got != calls {
		t.Errorf("the sampler took %d snapshots after Close", got-calls)
	}
}

func TestStartRefusesABadAddress(t *testing.T) {
	s, err := New(twoSamples(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Start("127.0.0.1:99999"); err == nil {
		t.Error("Start on port 99999 succeeded")
	}
}

func TestCloseWithoutStart(t *testing.T) {
	s, err := New(twoSamples(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
