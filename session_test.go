package tiercache

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2"
)

var stickyKey = []byte("0123456789abcdef0123456789abcdef")

// stickyKS makes user:* sticky for a minute and keeps every read key in L1.
var stickyKS = &keyspace.Table{Default: keyspace.Settings{TTL: time.Minute, L1: keyspace.L1All, EarlyRefresh: -1, StickyWindow: time.Minute}}

// hintLoader records the hints of each load and returns "primary".
type hintLoader struct {
	mu    sync.Mutex
	hints []Hints
}

func (l *hintLoader) Load(ctx context.Context, _ string) ([]byte, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hints = append(l.hints, HintsFrom(ctx))
	return []byte("primary"), nil
}

// A session that wrote in eu-west reads in us-east, whose copy is older
// and whose owner has no way to reach eu-west: it never sees the old value,
// passing over L1 and loading from the primary with the version hint.
func TestSessionNeverReadsOlderThanItsWrite(t *testing.T) {
	ctx := context.Background()
	us, eu := startRegion(t, 1, l2.TierOptions{}), startRegion(t, 1, l2.TierOptions{})
	usc := us.client(t, Config{Keyspaces: stickyKS, Region: "us-east", StickyKeys: [][]byte{stickyKey}})
	euc := eu.client(t, Config{Keyspaces: stickyKS, Region: "eu-west", StickyKeys: [][]byte{stickyKey}})

	old, err := usc.Set(ctx, "user:1", []byte("old"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "old value in us-east L1", func() bool {
		v, err := usc.Get(ctx, "user:1", nil)
		return err == nil && string(v) == "old" && usc.Stats().L1Hits > 0
	})
	w := euc.NewSession()
	var ver uint64
	for ver <= old { // versions order across regions by HLC; make sure
		if ver, err = w.Set(ctx, "user:1", []byte("new")); err != nil {
			t.Fatal(err)
		}
	}
	tok := w.Token()
	if tok == "" {
		t.Fatal("no token after a sticky write")
	}

	loader := &hintLoader{}
	r := usc.RestoreSession(tok)
	got, err := r.Get(ctx, "user:1", loader)
	if err != nil || string(got) != "primary" {
		t.Fatalf("sticky read %q, %v; want the primary's value", got, err)
	}
	if len(loader.hints) != 1 || loader.hints[0].MinVersion != ver || !loader.hints[0].PreferPrimary {
		t.Fatalf("loader hints %+v; want MinVersion %d and PreferPrimary", loader.hints, ver)
	}
	st := usc.Stats()
	if st.TokensRestored != 1 || st.StickyReads != 1 || st.StickyL1Skips != 1 || st.StickyLoads != 1 {
		t.Fatalf("stats %+v", st)
	}
	// The fill under BEHIND's lease outranks the write: the next sticky
	// read is a hit, without the origin.
	waitFor(t, "fill", func() bool { return usc.Stats().Fills == 1 })
	if got, err := r.Get(ctx, "user:1", loader); err != nil || string(got) != "primary" || len(loader.hints) != 1 {
		t.Fatalf("second sticky read %q, %v after %d loads", got, err, len(loader.hints))
	}
	// A plain session is not sticky.
	if usc.NewSession().Token() != "" {
		t.Fatal("token from an empty session")
	}
}

// A write made in this region is served by the local owner, which has it.
func TestSessionLocalWriteServedLocally(t *testing.T) {
	ctx := context.Background()
	us := startRegion(t, 1, l2.TierOptions{})
	c := us.client(t, Config{Keyspaces: stickyKS, Region: "us-east", L1MaxBytes: -1})
	s := c.NewSession()
	if _, err := s.Set(ctx, "user:2", []byte("mine")); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Get(ctx, "user:2", nil); err != nil || string(got) != "mine" {
		t.Fatalf("read %q, %v", got, err)
	}
	if _, err := s.Invalidate(ctx, "user:2"); err != nil {
		t.Fatal(err)
	}
	loader := &hintLoader{}
	if got, err := s.Get(ctx, "user:2", loader); err != nil || string(got) != "primary" {
		t.Fatalf("read after invalidate %q, %v", got, err)
	}
	if st := c.Stats(); st.StickyReads != 2 || st.StickyLoads != 0 || len(loader.hints) != 1 || loader.hints[0].MinVersion == 0 {
		t.Fatalf("stats %+v, hints %+v", st, loader.hints)
	}
	if s.Token() != "" {
		t.Fatal("token without StickyKeys")
	}
}

func TestRestoreSessionBadTokens(t *testing.T) {
	ctx := context.Background()
	us := startRegion(t, 1, l2.TierOptions{})
	c := us.client(t, Config{Keyspaces: stickyKS, Region: "us-east", StickyKeys: [][]byte{stickyKey}, L1MaxBytes: -1})
	s := c.NewSession()
	if _, err := s.Set(ctx, "user:3", []byte("v")); err != nil {
		t.Fatal(err)
	}
	tok := s.Token()
	forged := tok[:len(tok)-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(tok, "AA")]
	for _, bad := range []string{forged, "!!!", strings.Repeat("A", 5000)} {
		r := c.RestoreSession(bad)
		if got, err := r.Get(ctx, "user:3", nil); err != nil || string(got) != "v" {
			t.Fatalf("read with token %.20q: %q, %v", bad, got, err)
		}
		if r.Token() != "" {
			t.Fatalf("rejected token %.20q restored markers", bad)
		}
	}
	if st := c.Stats(); st.TokensRejected != 3 || st.TokensForged != 1 || st.TokensMalformed != 2 || st.StickyReads != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestStickyConfigValidate(t *testing.T) {
	good := []Node{{ID: "a", Addr: "127.0.0.1:1"}}
	for _, cfg := range []Config{
		{Nodes: good, StickyKeys: [][]byte{stickyKey}},
		{Nodes: good, Region: "us-east", StickyKeys: [][]byte{[]byte("short")}},
	} {
		if err := cfg.Validate(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v", cfg, err)
		}
	}
}
