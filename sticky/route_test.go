package sticky

import (
	"testing"
	"time"
)

func TestRouteDecisions(t *testing.T) {
	hint := LoaderHint{MinVersion: 100, PreferPrimary: true}
	remote := Requirement{MinVersion: 100, Region: "eu-west"}
	here := Requirement{MinVersion: 100, Region: "us-east", Local: true}
	cases := []struct {
		name    string
		req     Requirement
		version uint64
		has     bool
		want    Decision
	}{
		{"not sticky, miss", Requirement{}, 0, false, Decision{Action: Local}},
		{"not sticky, hit", Requirement{}, 5, true, Decision{Action: Local}},
		{"replication caught up", remote, 100, true, Decision{Action: Local, Hint: hint}},
		{"local copy newer", remote, 150, true, Decision{Action: Local, Hint: hint}},
		{"local copy older", remote, 99, true, Decision{Action: Remote, Region: "eu-west", Hint: hint}},
		{"local miss, remote writer", remote, 0, false, Decision{Action: Remote, Region: "eu-west", Hint: hint}},
		{"version without a copy is no copy", remote, 200, false, Decision{Action: Remote, Region: "eu-west", Hint: hint}},
		{"written here, still here", here, 100, true, Decision{Action: Local, Hint: hint}},
		{"written here, evicted", here, 0, false, Decision{Action: Load, Hint: hint}},
		{"written here, older copy", here, 50, true, Decision{Action: Load, Hint: hint}},
		{"writer region unknown", Requirement{MinVersion: 100}, 0, false, Decision{Action: Load, Hint: hint}},
	}
	for _, c := range cases {
		if got := Route(c.req, c.version, c.has); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
	if Local.String() != "local" || Remote.String() != "remote" || Load.String() != "load" || Action(9).String() != "invalid" {
		t.Error("Action names")
	}
}

// The session and the router together: a write in eu-west, read from
// us-east, before and after replication and after the window.
func TestSessionAndRoute(t *testing.T) {
	f := newFixture(t, Config{Region: "us-east"})
	s := f.s.NewSession()
	s.RecordWrite([]byte("user:7"), 500, "eu-west")
	req, _ := s.Requirement([]byte("user:7"))
	if d := Route(req, 400, true); d.Action != Remote || d.Region != "eu-west" {
		t.Fatalf("before replication: %+v", d)
	}
	if d := Route(req, 500, true); d.Action != Local {
		t.Fatalf("after replication: %+v", d)
	}
	f.clk.Advance(5 * time.Second)
	req, _ = s.Requirement([]byte("user:7"))
	if d := Route(req, 400, true); d != (Decision{Action: Local}) {
		t.Fatalf("after the window: %+v", d)
	}
}
