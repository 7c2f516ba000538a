package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode"
)

// MaxActionBytes bounds the body of POST /api/action; an Action is a
// kind and a name, far smaller.
const MaxActionBytes = 4 << 10

// maxTargetLen bounds an action's target (a node id, region or key).
const maxTargetLen = 512

// actionNeedsTarget lists the known action kinds and whether each needs
// a target.
var actionNeedsTarget = map[string]bool{
	ActionKillNode:        true,
	ActionRestartNode:     true,
	ActionPartitionRegion: true,
	ActionHealRegion:      true,
	ActionExpireHotKey:    false, // "" means the current trending key
}

// ActionResponse is the body of a successful POST /api/action.
type ActionResponse struct {
	OK     bool   `json:"ok"`
	Action Action `json:"action"`
}

// handleAction checks an operator action and hands it to the source:
// POST only, from this page's own origin, a small JSON body naming a
// known kind.
func (s *Server) handleAction(w http.ResponseWriter, r *http.Request) {
	if !checkPostedJSON(w, r) {
		return
	}
	var a Action
	if status, err := decodeBody(w, r, &a, MaxActionBytes, "action", `{"kind": ..., "target": ...}`); err != nil {
		writeError(w, status, err.Error())
		return
	}
	if err := validateAction(a); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.opts.ActionTimeout)
	defer cancel()
	if err := s.src.Act(ctx, a); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			writeError(w, http.StatusGatewayTimeout, fmt.Sprintf("%s %q did not finish within %v: %v", a.Kind, a.Target, s.opts.ActionTimeout, err))
			return
		}
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("%s %q failed: %v", a.Kind, a.Target, err))
		return
	}
	s.refreshLatest()
	writeJSON(w, http.StatusOK, ActionResponse{OK: true, Action: a})
}

// checkSameOrigin refuses a request a browser sent from another site's
// page (cross-site request forgery). A request with no Origin header
// comes from no page (curl, a Go client) and passes.
func checkSameOrigin(r *http.Request) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return fmt.Errorf("cross-origin request refused (Sec-Fetch-Site: %s)", site)
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("cross-origin request refused: Origin %q is not this host (%s)", origin, r.Host)
	}
	if !strings.EqualFold(u.Host, r.Host) {
		return fmt.Errorf("cross-origin request refused: Origin %q is not this host (%s)", origin, r.Host)
	}
	return nil
}

func checkJSONContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return errors.New("missing Content-Type: send application/json")
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return fmt.Errorf("content type %q not accepted: send application/json", ct)
	}
	return nil
}

// checkPostedJSON answers r with an error and returns false unless it is
// a POST from this page's own origin carrying JSON: the checks every
// request that changes or runs something passes (/api/action, /api/trace).
func checkPostedJSON(w http.ResponseWriter, r *http.Request) bool {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed: %s is POSTed", r.Method, r.URL.Path))
		return false
	}
	if err := checkSameOrigin(r); err != nil {
		writeError(w, http.StatusForbidden, err.Error())
		return false
	}
	if err := checkJSONContentType(r); err != nil {
		writeError(w, http.StatusUnsupportedMediaType, err.Error())
		return false
	}
	return true
}

// decodeBody reads exactly one JSON value of at most limit bytes, with no
// unknown fields, into v (a what, shaped like shape). On error it returns
// the status to answer.
func decodeBody(w http.ResponseWriter, r *http.Request, v any, limit int64, what, shape string) (int, error) {
	tooLarge := fmt.Errorf("%s body over %d bytes", what, limit)
	if r.ContentLength > limit {
		return http.StatusRequestEntityTooLarge, tooLarge
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		// One value only: anything after it is a malformed body.
		if _, extra := dec.Token(); extra != io.EOF {
			err = errors.New("data after the JSON object")
		}
	}
	var big *http.MaxBytesError
	switch {
	case err == nil:
		return http.StatusOK, nil
	case errors.As(err, &big):
		return http.StatusRequestEntityTooLarge, tooLarge
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, fmt.Errorf("empty body: send %s", shape)
	default:
		return http.StatusBadRequest, fmt.Errorf("malformed %s: %v", what, err)
	}
}

// validateAction refuses unknown kinds and missing or unprintable
// targets.
func validateAction(a Action) error {
	needsTarget, known := actionNeedsTarget[a.Kind]
	if !known {
		return fmt.Errorf("unknown action kind %q: want one of %s, %s, %s, %s, %s", a.Kind,
			ActionKillNode, ActionRestartNode, ActionPartitionRegion, ActionHealRegion, ActionExpireHotKey)
	}
	if needsTarget && a.Target == "" {
		return fmt.Errorf("action %s needs a target", a.Kind)
	}
	return checkName("action target", a.Target)
}

// checkName refuses a name from a request body (what it is: "action
// target", "trace key") over maxTargetLen bytes or with an unprintable
// character.
func checkName(what, v string) error {
	if len(v) > maxTargetLen {
		return fmt.Errorf("%s is %d bytes, over %d", what, len(v), maxTargetLen)
	}
	if i := strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }); i >= 0 {
		return fmt.Errorf("%s %q has an unprintable character at byte %d", what, v, i)
	}
	return nil
}
