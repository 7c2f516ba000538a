package regions

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// DefaultProfile is the built-in profile used when none is given.
const DefaultProfile = "local-3"

//go:embed *.yaml
var builtin embed.FS

// Builtin returns the embedded profile called name (the file name without
// ".yaml"), e.g. DefaultProfile.
func Builtin(name string) (*Profile, error) {
	data, err := builtin.ReadFile(name + ".yaml")
	if err != nil || strings.HasSuffix(name, deploySuffix) {
		return nil, fmt.Errorf("%w: %q (have %s)", ErrUnknownProfile, name, strings.Join(BuiltinNames(), ", "))
	}
	return Parse(data)
}

// BuiltinNames lists the embedded profiles.
func BuiltinNames() []string {
	entries, _ := builtin.ReadDir(".")
	var names []string
	for _, e := range entries {
		if name := strings.TrimSuffix(e.Name(), ".yaml"); !strings.HasSuffix(name, deploySuffix) {
			names = append(names, name) // deployments are embedded too; see BuiltinDeployment
		}
	}
	sort.Strings(names)
	return names
}

// Load reads a profile from a YAML file.
func Load(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Parse decodes and validates a YAML profile. Unknown fields are errors, so
// a misspelt key is reported instead of silently ignored.
func Parse(data []byte) (*Profile, error) {
	var f fileProfile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty document", ErrDecode)
		}
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	p, links, err := f.profile()
	if err != nil {
		return nil, err
	}
	if err := p.validate(links); err != nil {
		return nil, err
	}
	return p, nil
}

// The file format. It is kept apart from the public types so the YAML can
// change shape (counts that expand into node lists, durations with units)
// without the Go API following.
type fileProfile struct {
	Name    string       `yaml:"name"`
	Regions []fileRegion `yaml:"regions"`
	Links   []fileLink   `yaml:"links"`
}

type fileRegion struct {
	Name       string   `yaml:"name"`
	ID         *int     `yaml:"id"`
	Federation string   `yaml:"federation"`
	L2         fileTier `yaml:"l2"`
	L3         fileTier `yaml:"l3"`
}

// fileTier lists nodes explicitly, or gives a count and lets ids be made
// up as REGION-l2-0, REGION-l2-1…
type fileTier struct {
	Count int        `yaml:"count"`
	Nodes []fileNode `yaml:"nodes"`
}

type fileNode struct {
	ID   string `yaml:"id"`
	Addr string `yaml:"addr"`
}

type fileLink struct {
	Between []string `yaml:"between"`
	RTT     duration `yaml:"rtt"`
	Jitter  duration `yaml:"jitter"`
	Loss    float64  `yaml:"loss"`
}

// duration accepts only strings with a unit ("70ms"): a bare number would
// silently mean nanoseconds.
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!str" {
		return fmt.Errorf("line %d: duration %q needs a unit, e.g. \"70ms\"", n.Line, n.Value)
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*d = duration(v)
	return nil
}

func (f *fileProfile) profile() (*Profile, []Link, error) {
	var errs []error
	p := &Profile{Name: f.Name}
	for i, fr := range f.Regions {
		if fr.ID == nil {
			errs = append(errs, fmt.Errorf("%w: region %d (%q) has no id", ErrBadValue, i, fr.Name))
			continue
		}
		r := Region{Name: fr.Name, ID: *fr.ID, Federation: fr.Federation}
		var err error
		if r.L2, err = fr.L2.nodes(fr.Name, "l2"); err != nil {
			errs = append(errs, err)
		}
		if r.L3, err = fr.L3.nodes(fr.Name, "l3"); err != nil {
			errs = append(errs, err)
		}
		p.Regions = append(p.Regions, r)
	}
	links := make([]Link, 0, len(f.Links))
	for i, fl := range f.Links {
		if len(fl.Between) != 2 {
			errs = append(errs, fmt.Errorf("%w: link %d: between needs exactly two regions, has %d", ErrBadValue, i, len(fl.Between)))
			continue
		}
		links = append(links, Link{
			A: fl.Between[0], B: fl.Between[1],
			RTT: time.Duration(fl.RTT), Jitter: time.Duration(fl.Jitter), Loss: fl.Loss,
		})
	}
	return p, links, errors.Join(errs...)
}

// MaxNodesPerTier bounds a region's L2 or L3 node count in a profile: a
// count expands into a node list, so a mistyped one must not allocate
// without limit.
const MaxNodesPerTier = 4096

func (t fileTier) nodes(region, tier string) ([]Node, error) {
	if t.Count < 0 {
		return nil, fmt.Errorf("%w: region %q: %s count %d is negative", ErrBadValue, region, tier, t.Count)
	}
	if t.Count > MaxNodesPerTier || len(t.Nodes) > MaxNodesPerTier {
		return nil, fmt.Errorf("%w: region %q: %s has more than %d nodes", ErrBadValue, region, tier, MaxNodesPerTier)
	}
	if len(t.Nodes) > 0 {
		if t.Count != 0 && t.Count != len(t.Nodes) {
			return nil, fmt.Errorf("%w: region %q: %s count %d but %d nodes listed", ErrBadValue, region, tier, t.Count, len(t.Nodes))
		}
		out := make([]Node, len(t.Nodes))
		for i, n := range t.Nodes {
			out[i] = Node(n)
		}
		return out, nil
	}
	out := make([]Node, t.Count)
	for i := range out {
		out[i] = Node{ID: fmt.Sprintf("%s-%s-%d", region, tier, i)}
	}
	return out, nil
}
