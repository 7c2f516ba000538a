package raftmeta

import (
	"net/http"

	"github.com/tiercache/tiercache/internal/keyspace"
)

// KeyspaceList is the answer to GET /v1/keyspaces.
type KeyspaceList struct {
	Version uint64         `json:"version"`
	Table   keyspace.Table `json:"table"`
}

// KeyspaceEntry is the answer to GET /v1/keyspaces/{name}.
type KeyspaceEntry struct {
	Name     string            `json:"name"`
	Version  uint64            `json:"version"`
	Settings keyspace.Settings `json:"settings"`
	// Inherited is true when the keyspace has no settings of its own and
	// Settings are the table's default.
	Inherited bool `json:"inherited,omitempty"`
}

func (m *Member) handleKeyspaces(w http.ResponseWriter, _ *http.Request) {
	t := m.fsm.current().topo
	m.writeJSON(w, http.StatusOK, KeyspaceList{Version: t.KeyspaceVersion, Table: t.Keyspaces})
}

func (m *Member) handleKeyspaceGet(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := validName("keyspace", name); err != nil {
		m.writeError(w, err)
		return
	}
	t := m.fsm.current().topo
	e := KeyspaceEntry{Name: name, Version: t.KeyspaceVersion, Settings: t.Keyspaces.Default, Inherited: name != DefaultKeyspace}
	if s, ok := t.Keyspaces.Spaces[name]; ok {
		e.Settings, e.Inherited = s, false
	}
	m.writeJSON(w, http.StatusOK, e)
}

// handleKeyspaceSet serves PUT /v1/keyspaces/{name}?expect_version=V with
// a keyspace.Settings body. The name "default" sets the table's default.
// Unknown fields and invalid settings are refused and change nothing.
func (m *Member) handleKeyspaceSet(w http.ResponseWriter, r *http.Request) {
	m.keyspaceWrite(w, r, func(name string, body []byte) (*command, error) {
		var s keyspace.Settings
		if err := decodeValid(body, &s); err != nil {
			return nil, err
		}
		return &command{Op: opSetKeyspace, Keyspace: name, Settings: &s}, nil
	})
}

// handleKeyspaceDelete serves DELETE /v1/keyspaces/{name}; the keyspace
// falls back to the default (deleting "default" resets it).
func (m *Member) handleKeyspaceDelete(w http.ResponseWriter, r *http.Request) {
	m.keyspaceWrite(w, r, func(name string, body []byte) (*command, error) {
		if err := noBody(body); err != nil {
			return nil, err
		}
		return &command{Op: opDeleteKeyspace, Keyspace: name}, nil
	})
}

func (m *Member) keyspaceWrite(w http.ResponseWriter, r *http.Request, build func(name string, body []byte) (*command, error)) {
	name := r.PathValue("name")
	if err := validName("keyspace", name); err != nil {
		m.writeError(w, err)
		return
	}
	body, err := readBody(r)
	if err != nil {
		m.writeError(w, err)
		return
	}
	expect, err := queryUint(r, "expect_version")
	if err != nil {
		m.writeError(w, err)
		return
	}
	c, err := build(name, body)
	if err != nil {
		m.writeError(w, err)
		return
	}
	c.ExpectKeyspaceVersion = expect
	m.write(w, r, body, c)
}
