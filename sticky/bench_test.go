package sticky

import (
	"fmt"
	"testing"
	"time"

	"github.com/tiercache/tiercache/internal/hlc"
)

// BenchmarkRequirement is the cost sticky adds to every read: a session
// with a full set of markers, asked for a key it wrote, for one it did not,
// and an empty session.
//
//	go test -run '^$' -bench . -benchmem ./sticky
func BenchmarkRequirement(b *testing.B) {
	f := newFixture(b, Config{})
	full := f.s.NewSession()
	for i := range DefaultMaxMarkers {
		full.RecordWrite(fmt.Appendf(nil, "cart:%d", i), hlc.Make(start.UnixMilli(), uint16(i), 1), "eu-west")
	}
	for _, bc := range []struct {
		name string
		s    *Session
		key  []byte
		ok   bool
	}{
		{"written", full, []byte("cart:17"), true},
		{"not-written", full, []byte("cart:999"), false},
		{"empty", f.s.NewSession(), []byte("cart:17"), false},
		{"nil", nil, []byte("cart:17"), false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, ok := bc.s.Requirement(bc.key); ok != bc.ok {
					b.Fatal("wrong answer")
				}
			}
		})
	}
}

// BenchmarkToken measures issuing and restoring a token of n markers with
// realistic versions and keys, and reports its size.
func BenchmarkToken(b *testing.B) {
	for _, n := range []int{1, 8, 32} {
		f := newFixture(b, Config{})
		s := f.s.NewSession()
		for i := range n {
			s.RecordWrite(fmt.Appendf(nil, "cart:%08d", i), hlc.Make(start.UnixMilli()+int64(i), 0, uint8(i%3)), []string{"us-east", "eu-west", "ap-south"}[i%3])
			f.clk.Advance(time.Millisecond)
		}
		tok := s.Token()
		b.Run(fmt.Sprintf("issue/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				s.Token()
			}
			b.ReportMetric(float64(len(tok)), "token_bytes")
		})
		b.Run(fmt.Sprintf("restore/%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.s.Restore(tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
