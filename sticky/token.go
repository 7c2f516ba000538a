package sticky

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"slices"
)

// Token layout, before base64url (no padding):
//
//	payload:  format byte (1)
//	          issued at, unix ms          uvarint
//	          lifetime, ms                uvarint (expiry = issued + lifetime)
//	          region count, then names    uvarint, (uvarint length, bytes)...
//	          marker count, then markers  uvarint, marker...
//	marker:   flags byte (1: keyspace marker)
//	          name                        uvarint length, bytes
//	          version                     uvarint
//	          region                      uvarint index into the names
//	          age at issue, ms            uvarint (written at = issued - age)
//	mac:      the first 16 bytes of HMAC-SHA256(key, domain || payload)
//
// Region names are listed once, so a session that wrote in one region pays
// for its name once. Markers go oldest first, as a session keeps them. A
// 128-bit tag is the usual truncation of HMAC-SHA256 and keeps the token
// short. The domain string keeps these MACs from being valid for anything
// else signed with the same key.

const (
	tokenFormat = 1
	macBytes    = 16
	flagKS      = 1
	// minTokenBytes is the smallest MaxTokenBytes allowed: room for one
	// marker with a short key.
	minTokenBytes = 128
	// headerBound is the most the fixed fields can take: the format byte
	// and four uvarints.
	headerBound = 1 + 4*binary.MaxVarintLen64
	// maxLifetimeMs bounds a token's lifetime (about 35 years), so expiry
	// arithmetic cannot overflow.
	maxLifetimeMs = 1 << 40
	// maxRegions bounds the region list (hlc versions carry 16 regions).
	maxRegions = 64
)

var macDomain = []byte("tiercache/sticky-token/v1\x00")

func mac(key, payload []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(macDomain)
	h.Write(payload)
	return h.Sum(nil)[:macBytes]
}

// Token returns the session as a signed token to hand to the user (a
// cookie, a header), with only the markers still inside their window,
// newest first until MaxTokenBytes is reached. It returns "" when there is
// nothing to carry or no key to sign with.
func (s *Session) Token() string {
	if s == nil || len(s.s.cfg.Keys) == 0 {
		return ""
	}
	cfg := &s.s.cfg
	now := s.s.now()
	t := s.s.table()
	s.mu.Lock()
	s.pruneLocked(t, now)
	ms := slices.Clone(s.markers)
	s.mu.Unlock()

	// Newest first, while the token stays within bounds.
	var (
		regions []string
		chosen  []marker
		raw     = headerBound + macBytes
		expiry  int64
	)
	for i := len(ms) - 1; i >= 0; i-- {
		m := ms[i]
		size := 1 + uvarintLen(uint64(len(m.name))) + len(m.name) + uvarintLen(m.version) + uvarintLen(uint64(len(regions))) + uvarintLen(uint64(max(now-m.at, 0)))
		newRegion := !slices.Contains(regions, m.region)
		if newRegion {
			size += uvarintLen(uint64(len(m.region))) + len(m.region)
		}
		if base64.RawURLEncoding.EncodedLen(raw+size) > cfg.MaxTokenBytes || (newRegion && len(regions) == maxRegions) {
			break
		}
		raw += size
		if newRegion {
			regions = append(regions, m.region)
		}
		chosen = append(chosen, m)
		expiry = max(expiry, m.at+m.window(t))
	}
	if len(chosen) == 0 {
		return ""
	}
	slices.Reverse(chosen)

	b := make([]byte, 0, raw)
	b = append(b, tokenFormat)
	b = binary.AppendUvarint(b, uint64(max(now, 0)))
	b = binary.AppendUvarint(b, uint64(min(expiry-now, maxLifetimeMs)))
	b = binary.AppendUvarint(b, uint64(len(regions)))
	for _, r := range regions {
		b = appendString(b, r)
	}
	b = binary.AppendUvarint(b, uint64(len(chosen)))
	for _, m := range chosen {
		var flags byte
		if m.keyspace {
			flags = flagKS
		}
		b = append(b, flags)
		b = appendString(b, m.name)
		b = binary.AppendUvarint(b, m.version)
		b = binary.AppendUvarint(b, uint64(slices.Index(regions, m.region)))
		b = binary.AppendUvarint(b, uint64(max(now-m.at, 0)))
	}
	b = append(b, mac(cfg.Keys[0], b)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func appendString(b []byte, s string) []byte {
	return append(binary.AppendUvarint(b, uint64(len(s))), s...)
}

func uvarintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}

// Restore returns the session a token carries. It always returns a usable
// session: for "" an empty one and no error; for a token it cannot accept
// an empty one and the reason (ErrTokenTooLarge, ErrTokenMalformed,
// ErrTokenForged, ErrTokenExpired, ErrNoKeys), which the caller may log
// but must not turn into a failed request. Markers whose window has passed
// under the current keyspace settings are dropped.
func (s *Sessions) Restore(token string) (*Session, error) {
	sess := s.NewSession()
	if token == "" {
		return sess, nil
	}
	ms, err := s.decode(token)
	if err != nil {
		return sess, err
	}
	now := s.now()
	for i := range ms {
		// A token from a process whose clock runs ahead: its windows
		// start no later than now here.
		ms[i].at = min(ms[i].at, now)
	}
	sess.markers = ms
	sess.pruneLocked(s.table(), now)
	return sess, nil
}

func (s *Sessions) decode(token string) ([]marker, error) {
	cfg := &s.cfg
	switch {
	case len(cfg.Keys) == 0:
		return nil, ErrNoKeys
	case len(token) > cfg.MaxTokenBytes:
		return nil, fmt.Errorf("%w: %d bytes (limit %d)", ErrTokenTooLarge, len(token), cfg.MaxTokenBytes)
	}
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrTokenMalformed, err)
	}
	if len(raw) < 1+macBytes {
		return nil, fmt.Errorf("%w: %d bytes", ErrTokenMalformed, len(raw))
	}
	payload, tag := raw[:len(raw)-macBytes], raw[len(raw)-macBytes:]
	signed := false
	for _, k := range cfg.Keys {
		if hmac.Equal(mac(k, payload), tag) {
			signed = true
			break
		}
	}
	if !signed {
		return nil, ErrTokenForged
	}
	issued, ms, err := decodePayload(payload, cfg.MaxMarkers)
	if err != nil {
		return nil, err
	}
	if now := s.now(); now >= issued.expiry {
		return nil, fmt.Errorf("%w: %d ms ago", ErrTokenExpired, now-issued.expiry)
	}
	return ms, nil
}

type issue struct{ at, expiry int64 }

// decodePayload decodes a signed payload. It trusts nothing: every count
// and length is checked against what is left before it is used.
func decodePayload(p []byte, maxMarkers int) (issue, []marker, error) {
	d := decoder{b: p}
	if f := d.byte(); f != tokenFormat && d.err == nil {
		return issue{}, nil, fmt.Errorf("%w: format %d", ErrTokenMalformed, f)
	}
	at := d.uvarint()
	life := d.uvarint()
	if at > 1<<53 || life > maxLifetimeMs {
		d.fail()
	}
	var is issue
	is.at = int64(at)
	is.expiry = is.at + int64(life)
	nRegions := d.uvarint()
	if nRegions > maxRegions {
		return issue{}, nil, fmt.Errorf("%w: %d regions", ErrTokenTooLarge, nRegions)
	}
	regions := make([]string, 0, min(nRegions, uint64(len(d.b))))
	for range nRegions {
		regions = append(regions, d.string())
	}
	nMarkers := d.uvarint()
	if nMarkers > uint64(maxMarkers) {
		return issue{}, nil, fmt.Errorf("%w: %d markers (limit %d)", ErrTokenTooLarge, nMarkers, maxMarkers)
	}
	ms := make([]marker, 0, min(nMarkers, uint64(len(d.b))))
	for range nMarkers {
		flags := d.byte()
		m := marker{keyspace: flags&flagKS != 0, name: d.string(), version: d.uvarint()}
		ri := d.uvarint()
		age := d.uvarint()
		if flags&^flagKS != 0 || m.version == 0 || ri >= uint64(len(regions)) || age > at || m.name == "" {
			d.fail()
			break
		}
		m.region = regions[ri]
		m.at = is.at - int64(age)
		ms = append(ms, m)
	}
	if d.err == nil && len(d.b) != 0 {
		d.fail()
	}
	if d.err != nil {
		return issue{}, nil, d.err
	}
	return is, ms, nil
}

// decoder reads a payload; the first error sticks and later reads return
// zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() {
	if d.err == nil {
		d.err = fmt.Errorf("%w: bad contents", ErrTokenMalformed)
	}
	d.b = nil
}

func (d *decoder) byte() byte {
	if len(d.b) == 0 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}
