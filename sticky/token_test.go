package sticky

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func writeSome(f *fixture) *Session {
	s := f.s.NewSession()
	s.RecordWrite([]byte("user:1"), 1<<40|3, "eu-west")
	f.clk.Advance(time.Second)
	s.RecordWrite([]byte("cart:9"), 1<<41, "us-east")
	f.clk.Advance(time.Second)
	s.RecordWrite([]byte("user:2"), 1<<42|1, "eu-west")
	return s
}

func TestTokenRoundTrip(t *testing.T) {
	f := newFixture(t, Config{})
	s := writeSome(f)
	tok := s.Token()
	if strings.ContainsAny(tok, "+/=") {
		t.Fatalf("token %q is not unpadded base64url", tok)
	}
	// Three markers, two regions, 16-byte tag: under 150 bytes.
	if len(tok) > 150 {
		t.Fatalf("token of %d bytes for three markers: %s", len(tok), tok)
	}
	got, err := f.s.Restore(tok)
	if err != nil {
		t.Fatal(err)
	}
	if !sameMarkers(got.Markers(), s.Markers()) {
		t.Fatalf("restored %+v, want %+v", got.Markers(), s.Markers())
	}
	// It behaves the same: windows run from the original write times.
	f.clk.Advance(3*time.Second + time.Millisecond) // user:1 written 5 s + 1 ms ago
	if _, ok := got.Requirement([]byte("user:1")); ok {
		t.Fatal("restored marker outlived its window")
	}
	if req, ok := got.Requirement([]byte("user:2")); !ok || req.MinVersion != 1<<42|1 || req.Region != "eu-west" {
		t.Fatalf("user:2 after restore: %+v %v", req, ok)
	}
	// A session's markers cross regions: restored in eu-west, the
	// eu-west writes are local there.
	eu := newFixture(t, Config{Region: "eu-west"})
	eu.clk.Set(f.clk.Now())
	s2, err := eu.s.Restore(tok)
	if err != nil {
		t.Fatal(err)
	}
	if req, _ := s2.Requirement([]byte("user:2")); !req.Local {
		t.Fatalf("eu-west write restored in eu-west: %+v", req)
	}
}

func TestTokenDropsMarkersOutsideTheirWindow(t *testing.T) {
	f := newFixture(t, Config{})
	s := writeSome(f)
	f.clk.Advance(4 * time.Second) // user:1 (6 s ago) is out, user:2 (4 s) and cart:9 (5 s of 30) are in
	got, err := f.s.Restore(s.Token())
	if err != nil {
		t.Fatal(err)
	}
	if m := got.Markers(); len(m) != 2 || m[0].Name != "cart:9" || m[1].Name != "user:2" {
		t.Fatalf("restored %+v", m)
	}
	f.clk.Advance(time.Hour)
	if tok := s.Token(); tok != "" {
		t.Fatalf("token %q for a session with nothing in its window", tok)
	}
	if got, err := f.s.Restore(""); err != nil || got.Len() != 0 {
		t.Fatalf("empty token: %v", err)
	}
}

func TestTokenExpires(t *testing.T) {
	f := newFixture(t, Config{})
	s := f.s.NewSession()
	s.RecordWrite([]byte("cart:1"), 9, "us-east")
	s.RecordWrite([]byte("user:1"), 8, "us-east")
	tok := s.Token()
	// The token lives as long as its longest window: cart's 30 s.
	f.clk.Advance(30*time.Second - time.Millisecond)
	if _, err := f.s.Restore(tok); err != nil {
		t.Fatalf("inside the longest window: %v", err)
	}
	f.clk.Advance(time.Millisecond)
	got, err := f.s.Restore(tok)
	if !errors.Is(err, ErrTokenExpired) || got == nil || got.Len() != 0 {
		t.Fatalf("after it: %v, want an empty session and ErrTokenExpired", err)
	}
}

func TestForgedAndMangledTokensRejected(t *testing.T) {
	f := newFixture(t, Config{})
	tok := writeSome(f).Token()

	other := newFixture(t, Config{Keys: [][]byte{keyTwo}})
	other.clk.Set(f.clk.Now())
	forged := writeSome(other).Token()
	check := func(name, tok string, want error) {
		t.Helper()
		s, err := f.s.Restore(tok)
		if !errors.Is(err, want) {
			t.Fatalf("%s: %v, want %v", name, err, want)
		}
		if s == nil || s.Len() != 0 {
			t.Fatalf("%s: restored a non-empty session", name)
		}
		if _, ok := s.Requirement([]byte("user:2")); ok {
			t.Fatalf("%s: read made sticky", name)
		}
	}
	check("signed with another key", forged, ErrTokenForged)

	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	for i := range raw {
		for _, bit := range []byte{0x01, 0x80} {
			mangled := []byte(string(raw))
			mangled[i] ^= bit
			check(fmt.Sprintf("bit %#x of byte %d flipped", bit, i), base64.RawURLEncoding.EncodeToString(mangled), ErrTokenForged)
		}
	}
	for n := 1; n < len(raw); n++ {
		want := ErrTokenForged
		if n < 1+macBytes {
			want = ErrTokenMalformed
		}
		check(fmt.Sprintf("truncated to %d bytes", n), base64.RawURLEncoding.EncodeToString(raw[:n]), want)
	}
	check("not base64", "!!not a token!!", ErrTokenMalformed)
	check("padded", tok+"==", ErrTokenMalformed)
	check("oversized", strings.Repeat("A", DefaultMaxTokenBytes+1), ErrTokenTooLarge)

	// Signed contents that do not decode are malformed, not trusted.
	payload := []byte{tokenFormat, 1, 2, 0, 5} // claims 5 markers, has none
	check("signed garbage", base64.RawURLEncoding.EncodeToString(append(payload, mac(keyOne, payload)...)), ErrTokenMalformed)
	payload = []byte{9}
	check("unknown format", base64.RawURLEncoding.EncodeToString(append(payload, mac(keyOne, payload)...)), ErrTokenMalformed)

	none, err := New(Config{Region: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if s, err := none.Restore(tok); !errors.Is(err, ErrNoKeys) || s.Len() != 0 {
		t.Fatalf("no keys: %v", err)
	}
	if none.NewSession().Token() != "" {
		t.Fatal("issued a token without a key")
	}
}

func TestKeyRotation(t *testing.T) {
	old := newFixture(t, Config{Keys: [][]byte{keyOne}})
	tok := writeSome(old).Token()
	// Step 1: the new key is rolled in first; tokens signed with the old
	// one still verify.
	rolled := newFixture(t, Config{Keys: [][]byte{keyTwo, keyOne}})
	rolled.clk.Set(old.clk.Now())
	s, err := rolled.s.Restore(tok)
	if err != nil || s.Len() != 3 {
		t.Fatalf("old token after roll-in: %d markers, %v", s.Len(), err)
	}
	// New tokens are signed with the new key: a process that has not
	// rolled yet cannot read them, so roll in everywhere before relying
	// on them.
	fresh := s.Token()
	if _, err := old.s.Restore(fresh); !errors.Is(err, ErrTokenForged) {
		t.Fatalf("new-key token at an old-key process: %v", err)
	}
	// Step 2: the old key is retired.
	retired := newFixture(t, Config{Keys: [][]byte{keyTwo}})
	retired.clk.Set(old.clk.Now())
	if _, err := retired.s.Restore(tok); !errors.Is(err, ErrTokenForged) {
		t.Fatalf("old-key token after retirement: %v", err)
	}
	if s, err := retired.s.Restore(fresh); err != nil || s.Len() != 3 {
		t.Fatalf("new-key token after retirement: %v", err)
	}
}

func TestTokenKeepsNewestMarkersWithinSizeLimit(t *testing.T) {
	f := newFixture(t, Config{MaxTokenBytes: 256, MaxMarkers: 64})
	s := f.s.NewSession()
	for i := range 64 {
		s.RecordWrite(fmt.Appendf(nil, "cart:%s:%d", strings.Repeat("x", 20), i), uint64(i+1), "us-east")
		f.clk.Advance(time.Millisecond)
	}
	tok := s.Token()
	if len(tok) > 256 {
		t.Fatalf("token of %d bytes over its 256 limit", len(tok))
	}
	got, err := f.s.Restore(tok)
	if err != nil {
		t.Fatal(err)
	}
	m := got.Markers()
	if len(m) < 3 || len(m) >= 64 {
		t.Fatalf("%d markers fit in 256 bytes", len(m))
	}
	if last := m[len(m)-1]; last.Version != 64 {
		t.Fatalf("newest marker dropped: last is %+v", last)
	}
	for i, mk := range m {
		if want := uint64(64 - len(m) + 1 + i); mk.Version != want {
			t.Fatalf("marker %d has version %d, want %d: not the newest run", i, mk.Version, want)
		}
	}
	// A token with more markers than this process allows is refused.
	small := newFixture(t, Config{MaxMarkers: 2})
	small.clk.Set(f.clk.Now())
	if _, err := small.s.Restore(tok); !errors.Is(err, ErrTokenTooLarge) {
		t.Fatalf("token over MaxMarkers: %v", err)
	}
}
