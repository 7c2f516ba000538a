package l3

import (
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l2/store"
)

// Mode says what a Get may grant on a miss or a stale hit.
type Mode uint8

// The modes.
const (
	// ModeRead grants nothing: a miss is a plain miss.
	ModeRead Mode = iota
	// ModeTicket (stampede scope region) answers a miss with a fill
	// ticket shared by every misser of the lease period; nobody waits.
	ModeTicket
	// ModeLease (stampede scope global) grants one exclusive lease per key
	// per lease period across all regions; the other missers wait.
	ModeLease
)

// ModeFor returns the mode a reader with a loader uses for a keyspace:
// ModeLease for stampede scope global, else ModeTicket.
func ModeFor(s keyspace.Settings) Mode {
	if s.Scope() == keyspace.ScopeGlobal {
		return ModeLease
	}
	return ModeTicket
}

// Status is the outcome of a request.
type Status uint8

// The statuses. The zero value is invalid, so a reply that was never set
// does not read as a hit.
const (
	// StatusHit is a fresh value. Token is set only when a refresh was
	// asked for and granted (never, today).
	StatusHit Status = iota + 1
	// StatusStale is a value past its soft expiry, inside its hard one.
	// Under ModeLease the first reader per lease period gets a Token (a
	// lease) to refresh it and the others serve the stale value; under
	// ModeTicket every reader gets the period's shared ticket.
	StatusStale
	// StatusLease is a miss whose caller holds the key's exclusive lease:
	// it should load from the origin and Fill with Token.
	StatusLease
	// StatusWait is a miss while another caller holds the lease: retry
	// after WaitMs, or serve something stale.
	StatusWait
	// StatusMiss is a miss. Under ModeTicket, Token is a fill ticket.
	StatusMiss
	// StatusOK is an accepted Fill, Invalidate or Release.
	StatusOK
	// StatusNoLease is a Fill refused because its token is not the key's
	// live lease or ticket (expired, spent, or dropped by a write or
	// invalidation since it was granted), or a Release of such a token.
	StatusNoLease
	// StatusOlder is a write refused because the node holds a newer or
	// equal version or tombstone of the key; Version is that version.
	StatusOlder
)

var statusNames = [...]string{"", "HIT", "STALE", "LEASE", "WAIT", "MISS", "OK", "NOLEASE", "OLDER"}

func (s Status) String() string {
	if int(s) < len(statusNames) && s != 0 {
		return statusNames[s]
	}
	return "INVALID"
}

// GetRequest reads a key from its owner.
type GetRequest struct {
	Key  []byte
	Mode Mode
}

// GetReply answers a GetRequest. Item holds the value, its version and its
// absolute expiries (unix ms, at the caller's clock when it came over the
// WAN) for StatusHit and StatusStale, and is zero otherwise. Item.Value
// must not be modified.
type GetReply struct {
	Status Status
	Item   store.Item
	// Token is the lease (StatusLease, StatusStale under ModeLease) or
	// fill ticket (StatusMiss, StatusStale under ModeTicket) to Fill with.
	Token uint64
	// WaitMs is the retry hint of StatusWait.
	WaitMs int64
}

// FillRequest stores a value loaded from the origin under a token from Get.
// Item.Version is required: it is the version the writing L2 owner gave
// the value, and the node keeps the fill only if it is newer than what it
// holds. ExpireAt and SoftExpireAt are absolute unix ms (0: none).
type FillRequest struct {
	Key   []byte
	Token uint64
	Item  store.Item
}

// WriteReply answers a Fill or an Invalidate: StatusOK with the version
// now held, StatusNoLease, or StatusOlder with the newer version held.
type WriteReply struct {
	Status  Status
	Version uint64
}
