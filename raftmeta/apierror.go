package raftmeta

import (
	"errors"
	"fmt"
	"net/http"
)

// APIError is a failure the API reported. It unwraps to the package error
// its Code names, so errors.Is(err, ErrEpochConflict) works on it.
type APIError struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"error"`
	// Member is the member that answered.
	Member string `json:"member,omitempty"`
	// Epoch and KeyspaceVersion are the answering member's current ones,
	// so a caller that lost a compare-and-set knows what to expect next.
	Epoch           uint64 `json:"epoch"`
	KeyspaceVersion uint64 `json:"keyspace_version"`
}

func (e *APIError) Error() string {
	from := e.Member
	if from == "" {
		from = "a member"
	}
	return fmt.Sprintf("%s (HTTP %d from %s)", e.Message, e.Status, from)
}

// Unwrap returns the package error matching Code.
func (e *APIError) Unwrap() error {
	for _, c := range apiCodes {
		if c.code == e.Code {
			return c.err
		}
	}
	return nil
}

// apiCodes maps package errors to wire codes and HTTP statuses. The first
// entry whose error matches wins.
var apiCodes = []struct {
	err    error
	code   string
	status int
}{
	{ErrInvalid, "invalid", http.StatusBadRequest},
	{ErrConfig, "invalid", http.StatusBadRequest},
	{ErrForbidden, "forbidden", http.StatusForbidden},
	{ErrUnknownNode, "unknown_node", http.StatusNotFound},
	{ErrUnknownKeyspace, "unknown_keyspace", http.StatusNotFound},
	{ErrUnknownMember, "unknown_member", http.StatusNotFound},
	{ErrEpochConflict, "epoch_conflict", http.StatusConflict},
	{ErrKeyspaceConflict, "keyspace_conflict", http.StatusConflict},
	{ErrRegionConflict, "region_conflict", http.StatusConflict},
	{ErrRegionsFull, "regions_full", http.StatusConflict},
	{ErrNoLeader, "no_leader", http.StatusServiceUnavailable},
	{ErrClosed, "closed", http.StatusServiceUnavailable},
}

// codeOf returns the wire code and HTTP status of err.
func codeOf(err error) (string, int) {
	for _, c := range apiCodes {
		if errors.Is(err, c.err) {
			return c.code, c.status
		}
	}
	return "internal", http.StatusInternalServerError
}
