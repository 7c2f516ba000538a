// Package tcproto names the versioned tier protocol that the tier client
// and the L2 node speak beside the standard Redis commands (TC.GET, TC.SET,
// TC.DEL, TC.UNLEASE, TC.TRACK), and encodes and parses its requests, so
// both ends agree on every word and position. docs/protocol.md is the
// reference; this package is its code.
package tcproto

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/tidwall/redcon"
)

// ErrSyntax is wrapped by every request parse error.
var ErrSyntax = errors.New("tcproto: syntax error")

// Command names, lower case as the node's table holds them; clients send
// them upper case.
const (
	CmdGet     = "tc.get"
	CmdSet     = "tc.set"
	CmdDel     = "tc.del"
	CmdUnlease = "tc.unlease"
	CmdTrack   = "tc.track"
)

// Status is the first element of a TC.GET or TC.SET reply.
type Status uint8

// TC.GET statuses.
const (
	StatusNone  Status = iota
	StatusHit          // fresh value
	StatusStale        // value past its soft expiry, inside its hard expiry
	StatusLease        // miss; the caller holds the lease (token) to fill it
	StatusWait         // miss; another caller holds the lease: retry after WaitMs
	StatusMiss         // miss; no lease asked for or none to give
	// TC.SET statuses.
	StatusOK      // stored (TC.SET) or tombstoned (TC.DEL)
	StatusNoLease // refused: the lease token is not the key's live lease
	StatusOlder   // refused: the key holds a newer version or tombstone
	// StatusBehind answers a TC.GET with MINVER whose version neither the
	// node nor the writer's region (FROM) could serve: the reply's version
	// is what the node holds (0: nothing), and lease_token, if non-zero,
	// lets the caller fill after loading from the primary.
	StatusBehind
)

var statusNames = [...]string{
	StatusNone: "", StatusHit: "HIT", StatusStale: "STALE", StatusLease: "LEASE",
	StatusWait: "WAIT", StatusMiss: "MISS", StatusOK: "OK",
	StatusNoLease: "NOLEASE", StatusOlder: "OLDER", StatusBehind: "BEHIND",
}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "Status(" + strconv.Itoa(int(s)) + ")"
}

// ParseStatus maps a status word back to its Status (StatusNone if unknown).
func ParseStatus(b []byte) Status {
	for i, n := range statusNames {
		if i != 0 && string(b) == n {
			return Status(i)
		}
	}
	return StatusNone
}

// Flags is the bit set in a TC.GET reply.
type Flags int64

// The reply flags.
const (
	FlagHot     Flags = 1 << iota // the node sees the key as a heavy hitter
	FlagTracked                   // invalidations of the key are pushed to TC.TRACK subscribers
	FlagRemote                    // a MINVER read served from the writer's region (FROM)
)

// GetReplyLen is the number of elements of a TC.GET reply:
//
//	[status, value, version, soft_ttl_ms, hard_ttl_ms, flags, lease_token, wait_ms]
//
// TTLs are what remains at the node's clock; -1 means no expiry. A STALE
// value's soft_ttl_ms is zero or negative.
const GetReplyLen = 8

// SetReplyLen is the number of elements of a TC.SET or TC.DEL reply:
// [status, version]. For OLDER, version is the newer one that won.
const SetReplyLen = 2

// PushInvalidate is the first element of every message on a TC.TRACK
// connection after its confirmation: ["invalidate", key, version].
const PushInvalidate = "invalidate"

// Redirect is the error code of the reply a node gives when the sender's
// epoch is older than the node's and the key moved:
// "-TCMOVED <epoch> <owner-id> <owner-addr>".
const Redirect = "TCMOVED"

// Option words of TC.GET and TC.SET.
const (
	OptLease   = "LEASE"   // TC.SET: the lease token that fills the key
	OptNoLease = "NOLEASE" // TC.GET: answer a miss with MISS, grant no lease
	OptRefresh = "REFRESH" // TC.GET: grant a refresh lease even on a fresh hit, if the value is still at the given version (0: any)
	OptHits    = "HITS"    // TC.GET: reads of the key the client's L1 served since its last fetch
	OptTrack   = "TRACK"   // TC.GET: the client keeps the key in L1: push its invalidations
	OptMinVer  = "MINVER"  // TC.GET: read-your-writes: serve no value older than this version; TC.SET, TC.DEL: version the write above it
	OptFrom    = "FROM"    // TC.GET: with MINVER, the region where that version was written
	OptTrace   = "TRACE"   // TC.GET: the caller's W3C traceparent, so the node's span joins its trace
)

// MaxTraceLen bounds TRACE's argument (a W3C traceparent is 55 bytes; a
// later version may be longer). A longer or missing one is ignored.
const MaxTraceLen = 128

// GetRequest is a parsed TC.GET.
type GetRequest struct {
	Key     []byte
	Epoch   uint64
	NoLease bool
	Refresh bool
	// RefreshOf is the version a refresh means to replace: once another
	// client has refreshed the key, its version differs and no lease is
	// granted, so K clients refreshing the same expiry load once.
	RefreshOf uint64
	Track     bool
	Hits      uint64
	// MinVer is a sticky read's requirement: no value older than it.
	MinVer uint64
	// From is the region that wrote MinVer, asked when this one lags.
	From []byte
	// Trace is the caller's W3C traceparent (nil: none). The parser only
	// bounds its length; the node validates it and ignores a bad one.
	Trace []byte
}

// AppendGet encodes r as a RESP command.
func AppendGet(dst []byte, r GetRequest) []byte {
	n := 3
	if r.NoLease {
		n++
	}
	if r.Refresh {
		n += 2
	}
	if r.Track {
		n++
	}
	if r.Hits > 0 {
		n += 2
	}
	if r.MinVer > 0 {
		n += 2
		if len(r.From) > 0 {
			n += 2
		}
	}
	if len(r.Trace) > 0 {
		n += 2
	}
	dst = redcon.AppendArray(dst, n)
	dst = redcon.AppendBulkString(dst, "TC.GET")
	dst = redcon.AppendBulk(dst, r.Key)
	dst = redcon.AppendBulkUint(dst, r.Epoch)
	if r.NoLease {
		dst = redcon.AppendBulkString(dst, OptNoLease)
	}
	if r.Refresh {
		dst = redcon.AppendBulkString(dst, OptRefresh)
		dst = redcon.AppendBulkUint(dst, r.RefreshOf)
	}
	if r.Track {
		dst = redcon.AppendBulkString(dst, OptTrack)
	}
	if r.Hits > 0 {
		dst = redcon.AppendBulkString(dst, OptHits)
		dst = redcon.AppendBulkUint(dst, r.Hits)
	}
	if r.MinVer > 0 {
		dst = redcon.AppendBulkString(dst, OptMinVer)
		dst = redcon.AppendBulkUint(dst, r.MinVer)
		if len(r.From) > 0 {
			dst = redcon.AppendBulkString(dst, OptFrom)
			dst = redcon.AppendBulk(dst, r.From)
		}
	}
	if len(r.Trace) > 0 {
		dst = redcon.AppendBulkString(dst, OptTrace)
		dst = redcon.AppendBulk(dst, r.Trace)
	}
	return dst
}

// maxRegionName bounds FROM's region name.
const maxRegionName = 64

// ParseGet parses the arguments of a TC.GET (args[0] is the name).
func ParseGet(args [][]byte) (GetRequest, error) {
	var r GetRequest
	if len(args) < 3 {
		return r, fmt.Errorf("%w: TC.GET key epoch [options]", ErrSyntax)
	}
	r.Key = args[1]
	var err error
	if r.Epoch, err = parseUint(args[2]); err != nil {
		return r, err
	}
	for i := 3; i < len(args); i++ {
		switch {
		case equalFold(args[i], OptNoLease):
			r.NoLease = true
		case equalFold(args[i], OptRefresh) && i+1 < len(args):
			i++
			r.Refresh = true
			if r.RefreshOf, err = parseUint(args[i]); err != nil {
				return r, err
			}
		case equalFold(args[i], OptTrack):
			r.Track = true
		case equalFold(args[i], OptHits) && i+1 < len(args):
			i++
			if r.Hits, err = parseUint(args[i]); err != nil {
				return r, err
			}
		case equalFold(args[i], OptMinVer) && i+1 < len(args):
			i++
			if r.MinVer, err = parseUint(args[i]); err != nil {
				return r, err
			}
		case equalFold(args[i], OptFrom) && i+1 < len(args):
			i++
			if len(args[i]) == 0 || len(args[i]) > maxRegionName {
				return r, fmt.Errorf("%w: TC.GET FROM region of %d bytes", ErrSyntax, len(args[i]))
			}
			r.From = args[i]
		case equalFold(args[i], OptTrace):
			// Tracing is best effort: a missing or oversized context is
			// dropped, never an error to the caller.
			if i+1 < len(args) {
				i++
				if len(args[i]) <= MaxTraceLen {
					r.Trace = args[i]
				}
			}
		default:
			return r, fmt.Errorf("%w: TC.GET option %q", ErrSyntax, args[i])
		}
	}
	return r, nil
}

// SetRequest is a parsed TC.SET.
type SetRequest struct {
	Key       []byte
	Epoch     uint64
	Value     []byte
	SoftTTLMs int64 // 0 or equal to HardTTLMs: no stale phase
	HardTTLMs int64 // 0: no expiry
	Lease     uint64
	// MinVer is the newest version the writing session has written: the
	// node versions this write above it, so the session's later write
	// wins even when it lands in another region in the same millisecond.
	MinVer uint64
}

// AppendSet encodes r as a RESP command.
func AppendSet(dst []byte, r SetRequest) []byte {
	n := 6
	if r.Lease != 0 {
		n += 2
	}
	if r.MinVer != 0 {
		n += 2
	}
	dst = redcon.AppendArray(dst, n)
	dst = redcon.AppendBulkString(dst, "TC.SET")
	dst = redcon.AppendBulk(dst, r.Key)
	dst = redcon.AppendBulkUint(dst, r.Epoch)
	dst = redcon.AppendBulk(dst, r.Value)
	dst = redcon.AppendBulkInt(dst, r.SoftTTLMs)
	dst = redcon.AppendBulkInt(dst, r.HardTTLMs)
	if r.Lease != 0 {
		dst = redcon.AppendBulkString(dst, OptLease)
		dst = redcon.AppendBulkUint(dst, r.Lease)
	}
	if r.MinVer != 0 {
		dst = redcon.AppendBulkString(dst, OptMinVer)
		dst = redcon.AppendBulkUint(dst, r.MinVer)
	}
	return dst
}

// ParseSet parses the arguments of a TC.SET.
func ParseSet(args [][]byte) (SetRequest, error) {
	var r SetRequest
	if len(args) < 6 {
		return r, fmt.Errorf("%w: TC.SET key epoch value soft_ttl_ms hard_ttl_ms [LEASE token] [MINVER version]", ErrSyntax)
	}
	r.Key, r.Value = args[1], args[3]
	var err error
	if r.Epoch, err = parseUint(args[2]); err != nil {
		return r, err
	}
	if r.SoftTTLMs, err = parseInt(args[4]); err != nil {
		return r, err
	}
	if r.HardTTLMs, err = parseInt(args[5]); err != nil {
		return r, err
	}
	if r.SoftTTLMs < 0 || r.HardTTLMs < 0 || (r.HardTTLMs > 0 && r.SoftTTLMs > r.HardTTLMs) {
		return r, fmt.Errorf("%w: TC.SET ttls soft %d hard %d", ErrSyntax, r.SoftTTLMs, r.HardTTLMs)
	}
	for i := 6; i < len(args); i++ {
		switch {
		case equalFold(args[i], OptLease) && i+1 < len(args):
			i++
			if r.Lease, err = parseUint(args[i]); err != nil {
				return r, err
			}
		case equalFold(args[i], OptMinVer) && i+1 < len(args):
			i++
			if r.MinVer, err = parseUint(args[i]); err != nil {
				return r, err
			}
		default:
			return r, fmt.Errorf("%w: TC.SET option %q", ErrSyntax, args[i])
		}
	}
	return r, nil
}

// AppendDel encodes TC.DEL key epoch.
func AppendDel(dst, key []byte, epoch uint64) []byte {
	dst = redcon.AppendArray(dst, 3)
	dst = redcon.AppendBulkString(dst, "TC.DEL")
	dst = redcon.AppendBulk(dst, key)
	return redcon.AppendBulkUint(dst, epoch)
}

// AppendDelAfter encodes TC.DEL key epoch MINVER minVer: an invalidation
// versioned above minVer, the newest version the writing session wrote
// (minVer 0 encodes a plain TC.DEL).
func AppendDelAfter(dst, key []byte, epoch, minVer uint64) []byte {
	if minVer == 0 {
		return AppendDel(dst, key, epoch)
	}
	dst = redcon.AppendArray(dst, 5)
	dst = redcon.AppendBulkString(dst, "TC.DEL")
	dst = redcon.AppendBulk(dst, key)
	dst = redcon.AppendBulkUint(dst, epoch)
	dst = redcon.AppendBulkString(dst, OptMinVer)
	return redcon.AppendBulkUint(dst, minVer)
}

// ParseDel parses "TC.DEL key epoch [MINVER version]".
func ParseDel(args [][]byte) (key []byte, epoch, minVer uint64, err error) {
	switch {
	case len(args) == 3:
	case len(args) == 5 && equalFold(args[3], OptMinVer):
		if minVer, err = parseUint(args[4]); err != nil {
			return nil, 0, 0, err
		}
	default:
		return nil, 0, 0, fmt.Errorf("%w: TC.DEL key epoch [MINVER version]", ErrSyntax)
	}
	if epoch, err = parseUint(args[2]); err != nil {
		return nil, 0, 0, err
	}
	return args[1], epoch, minVer, nil
}

// AppendUnlease encodes TC.UNLEASE key epoch token.
func AppendUnlease(dst, key []byte, epoch, token uint64) []byte {
	dst = redcon.AppendArray(dst, 4)
	dst = redcon.AppendBulkString(dst, "TC.UNLEASE")
	dst = redcon.AppendBulk(dst, key)
	dst = redcon.AppendBulkUint(dst, epoch)
	return redcon.AppendBulkUint(dst, token)
}

// ParseKeyEpoch parses "NAME key epoch [token]" (TC.UNLEASE; a plain TC.DEL).
func ParseKeyEpoch(args [][]byte, withToken bool) (key []byte, epoch, token uint64, err error) {
	want := 3
	if withToken {
		want = 4
	}
	if len(args) != want {
		return nil, 0, 0, fmt.Errorf("%w: %s takes %d arguments", ErrSyntax, args[0], want-1)
	}
	if epoch, err = parseUint(args[2]); err != nil {
		return nil, 0, 0, err
	}
	if withToken {
		if token, err = parseUint(args[3]); err != nil {
			return nil, 0, 0, err
		}
	}
	return args[1], epoch, token, nil
}

// AppendTrack encodes TC.TRACK.
func AppendTrack(dst []byte) []byte {
	dst = redcon.AppendArray(dst, 1)
	return redcon.AppendBulkString(dst, "TC.TRACK")
}

// parseUint parses a decimal below 2^63 without allocating.
func parseUint(b []byte) (uint64, error) {
	if len(b) == 0 || len(b) > 19 {
		return 0, fmt.Errorf("%w: %q is not a non-negative integer", ErrSyntax, string(b))
	}
	var n uint64
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("%w: %q is not a non-negative integer", ErrSyntax, string(b))
		}
		n = n*10 + uint64(c-'0')
	}
	if n > 1<<63-1 {
		return 0, fmt.Errorf("%w: %q is out of range", ErrSyntax, string(b))
	}
	return n, nil
}

func parseInt(b []byte) (int64, error) {
	if len(b) > 0 && b[0] == '-' {
		n, err := parseUint(b[1:])
		return -int64(n), err
	}
	n, err := parseUint(b)
	return int64(n), err
}

// equalFold compares an argument with an upper-case option word.
func equalFold(b []byte, word string) bool {
	if len(b) != len(word) {
		return false
	}
	for i := range b {
		c := b[i]
		if c >= 'a' && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}
