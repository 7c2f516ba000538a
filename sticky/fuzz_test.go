package sticky

import (
	"encoding/base64"
	"errors"
	"testing"
)

// FuzzRestore feeds Restore arbitrary tokens, and arbitrary payloads
// signed with the deployment key (so the decoder behind the signature
// check is exercised too). Nothing may panic; an unsigned token is never
// accepted; a signed payload that is accepted re-encodes to a token that
// restores to the same markers (the newest of them, if it had to shrink).
// The corpus lives in testdata/fuzz/FuzzRestore.
//
//	go test -run '^$' -fuzz FuzzRestore -fuzztime 60s ./sticky
func FuzzRestore(f *testing.F) {
	fx := newFixture(f, Config{})
	real := writeSome(fx).Token()
	raw, _ := base64.RawURLEncoding.DecodeString(real)
	f.Add([]byte(real))
	f.Add(raw[:len(raw)-macBytes])
	f.Add([]byte{tokenFormat, 0, 0, 0, 0})
	f.Add([]byte{tokenFormat, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := fx.s.Restore(string(data))
		if s == nil {
			t.Fatal("Restore returned no session")
		}
		if err == nil && len(data) > 0 && string(data) != real {
			t.Fatalf("accepted an unsigned token %q", data)
		}
		if err != nil && s.Len() != 0 {
			t.Fatal("a rejected token left markers")
		}

		signed := base64.RawURLEncoding.EncodeToString(append(append([]byte(nil), data...), mac(keyOne, data)...))
		s, err = fx.s.Restore(signed)
		if err != nil {
			for _, want := range []error{ErrTokenMalformed, ErrTokenExpired, ErrTokenTooLarge} {
				if errors.Is(err, want) {
					return
				}
			}
			t.Fatalf("signed payload rejected with %v", err)
		}
		if s.Len() > fx.s.cfg.MaxMarkers {
			t.Fatalf("%d markers over the bound", s.Len())
		}
		got := s.Markers()
		again, err := fx.s.Restore(s.Token())
		if err != nil {
			t.Fatalf("re-encoded token rejected: %v", err)
		}
		am := again.Markers()
		if len(am) > len(got) || !sameMarkers(am, got[len(got)-len(am):]) {
			t.Fatalf("re-encoded markers %+v, want the newest of %+v", am, got)
		}
	})
}
