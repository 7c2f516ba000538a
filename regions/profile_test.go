package regions

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestBuiltinDefault(t *testing.T) {
	p, err := Builtin(DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(p.RegionNames(), ","); got != "us-east,eu-west,ap-south" {
		t.Fatalf("regions %s", got)
	}
	for _, c := range []struct {
		a, b string
		rtt  time.Duration
	}{{"us-east", "eu-west", 70 * time.Millisecond}, {"eu-west", "ap-south", 140 * time.Millisecond}, {"ap-south", "us-east", 200 * time.Millisecond}} {
		l, ok := p.Link(c.a, c.b)
		if !ok || l.RTT != c.rtt || l.A != c.a || l.B != c.b {
			t.Fatalf("link %s-%s: %+v %v", c.a, c.b, l, ok)
		}
	}
	eu, _ := p.Region("eu-west")
	if eu.ID != 1 || len(eu.L2) != 3 || eu.L2[2].ID != "eu-west-l2-2" || len(eu.L3) != 1 {
		t.Fatalf("eu-west %+v", eu)
	}
	if r, ok := p.RegionByID(2); !ok || r.Name != "ap-south" {
		t.Fatalf("id 2: %+v", r)
	}
	if l, ok := p.Link("us-east", "us-east"); !ok || l.RTT != 0 {
		t.Fatalf("self link %+v", l)
	}
	if _, ok := p.Link("us-east", "mars"); ok {
		t.Fatal("link to unknown region")
	}
	if len(p.Links()) != 3 {
		t.Fatalf("links %v", p.Links())
	}
	if _, err := Builtin("nope"); !errors.Is(err, ErrUnknownProfile) {
		t.Fatalf("unknown builtin: %v", err)
	}
}

const goodProfile = `
name: two
regions:
  - name: a
    id: 0
    federation: 127.0.0.1:7400
    l2:
      nodes:
        - {id: a1, addr: "127.0.0.1:7001"}
        - {id: a2}
    l3: {count: 1}
  - name: b
    id: 15
links:
  - between: [a, b]
    rtt: 30ms
    jitter: 1ms
    loss: 0.01
`

func TestParseExplicitNodes(t *testing.T) {
	p, err := Parse([]byte(goodProfile))
	if err != nil {
		t.Fatal(err)
	}
	a, _ := p.Region("a")
	if a.Federation != "127.0.0.1:7400" || len(a.L2) != 2 || a.L2[0].Addr != "127.0.0.1:7001" || a.L3[0].ID != "a-l3-0" {
		t.Fatalf("a %+v", a)
	}
	l, _ := p.Link("b", "a")
	if l.A != "b" || l.RTT != 30*time.Millisecond || l.Jitter != time.Millisecond || l.Loss != 0.01 || l.OneWay() != 15*time.Millisecond {
		t.Fatalf("link %+v", l)
	}
}

func TestParseRejects(t *testing.T) {
	cases := []struct {
		name, yaml string
		want       error
	}{
		{"unknown field", strings.Replace(goodProfile, "jitter:", "jiter:", 1), ErrDecode},
		{"bare number duration", strings.Replace(goodProfile, "rtt: 30ms", "rtt: 30", 1), ErrDecode},
		{"empty", "", ErrDecode},
		{"unknown region in link", strings.Replace(goodProfile, "[a, b]", "[a, c]", 1), ErrUnknownRegion},
		{"missing pair", strings.Replace(goodProfile, "links:", "  - name: c\n    id: 3\nlinks:", 1), ErrMissingLink},
		{"negative rtt", strings.Replace(goodProfile, "rtt: 30ms", "rtt: -30ms", 1), ErrBadValue},
		{"negative jitter", strings.Replace(goodProfile, "jitter: 1ms", "jitter: -1ms", 1), ErrBadValue},
		{"loss one", strings.Replace(goodProfile, "loss: 0.01", "loss: 1", 1), ErrBadValue},
		{"duplicate id", strings.Replace(goodProfile, "id: 15", "id: 0", 1), ErrDuplicate},
		{"id out of range", strings.Replace(goodProfile, "id: 15", "id: 16", 1), ErrBadValue},
		{"duplicate name", strings.Replace(goodProfile, "name: b", "name: a", 1), ErrDuplicate},
		{"duplicate node", strings.Replace(goodProfile, "{id: a2}", "{id: a1}", 1), ErrDuplicate},
		{"duplicate link", goodProfile + "  - between: [b, a]\n    rtt: 5ms\n", ErrDuplicate},
		{"self link", goodProfile + "  - between: [a, a]\n    rtt: 5ms\n", ErrBadValue},
		{"three ends", strings.Replace(goodProfile, "[a, b]", "[a, b, a]", 1), ErrBadValue},
		{"no id", strings.Replace(goodProfile, "    id: 15\n", "", 1), ErrBadValue},
		{"bad addr", strings.Replace(goodProfile, `"127.0.0.1:7001"`, `"nowhere"`, 1), ErrBadValue},
		{"count beyond the bound", strings.Replace(goodProfile, "l3: {count: 1}", "l3: {count: 2000000000}", 1), ErrBadValue},
		{"count mismatch", strings.Replace(goodProfile, "    l2:\n", "    l2:\n      count: 5\n", 1), ErrBadValue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.yaml))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
}

func TestParseReportsEveryProblem(t *testing.T) {
	y := strings.Replace(goodProfile, "rtt: 30ms", "rtt: -30ms", 1)
	y = strings.Replace(y, "id: 15", "id: 0", 1)
	_, err := Parse([]byte(y))
	if !errors.Is(err, ErrBadValue) || !errors.Is(err, ErrDuplicate) {
		t.Fatalf("want both problems, got %v", err)
	}
}

func TestLoadFileNamesPath(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	if err := os.WriteFile(path, []byte(strings.Replace(goodProfile, "[a, b]", "[a, z]", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if !errors.Is(err, ErrUnknownRegion) || !strings.Contains(err.Error(), path) {
		t.Fatalf("err %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, ErrDecode) {
		t.Fatalf("missing file: %v", err)
	}
}
