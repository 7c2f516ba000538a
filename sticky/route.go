package sticky

// Action is where a sticky read goes.
type Action uint8

// The actions.
const (
	// Local: serve the read from this region's tiers as usual.
	Local Action = iota
	// Remote: send the read to Decision.Region (the writer's region) over
	// the federation link; its tiers hold the version. If that region
	// cannot be reached in time, do what Load says.
	Remote
	// Load: read through this region's tiers as on a miss, accepting no
	// value older than Hint.MinVersion, and call the Loader with Hint.
	Load
)

var actionNames = [...]string{"local", "remote", "load"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "invalid"
}

// LoaderHint is what a Loader is told when it runs inside a sticky window:
// the origin must return MinVersion's write or a newer one, which a
// lagging read replica may not have.
type LoaderHint struct {
	MinVersion    uint64
	PreferPrimary bool
}

// Decision is Route's answer. Hint is set whenever the read is sticky, so
// that any load made for it (a Load decision, a Remote that failed, a
// region that missed) is hinted.
type Decision struct {
	Action Action
	Region string // for Remote
	Hint   LoaderHint
}

// Route decides where a read goes, given the session's requirement for the
// key (the zero Requirement when it has none) and what this region holds:
// localHas says the local tiers have a copy, at localVersion.
//
//	requirement   local copy              writer region   decision
//	none          any                     -               Local
//	MinVersion v  at v or newer           any             Local
//	MinVersion v  older than v, or none   another         Remote(writer)
//	MinVersion v  older than v, or none   this one        Load
//
// The last row happens when this region's copy was evicted or has expired:
// nothing nearer than the origin is known to hold v.
func Route(req Requirement, localVersion uint64, localHas bool) Decision {
	if req.MinVersion == 0 {
		return Decision{Action: Local}
	}
	hint := LoaderHint{MinVersion: req.MinVersion, PreferPrimary: true}
	switch {
	case localHas && localVersion >= req.MinVersion:
		return Decision{Action: Local, Hint: hint}
	case !req.Local && req.Region != "":
		return Decision{Action: Remote, Region: req.Region, Hint: hint}
	}
	return Decision{Action: Load, Hint: hint}
}
