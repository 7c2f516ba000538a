package regions

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// deploySuffix ends the names of embedded deployment files, which sit
// beside the profiles (local-3.yaml is a profile, local-3-deploy.yaml the
// deployment of it).
const deploySuffix = "-deploy"

//go:embed *-deploy.yaml
var builtinDeploy embed.FS

// BuiltinDeployment returns the embedded deployment of the profile called
// name, e.g. "local-3" (file local-3-deploy.yaml).
func BuiltinDeployment(name string) (*Deployment, error) {
	data, err := builtinDeploy.ReadFile(name + deploySuffix + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("%w: deployment %q (have %s)", ErrUnknownProfile, name, strings.Join(BuiltinDeploymentNames(), ", "))
	}
	return ParseDeployment(data, "")
}

// BuiltinDeploymentNames lists the embedded deployments.
func BuiltinDeploymentNames() []string {
	entries, _ := builtinDeploy.ReadDir(".")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), deploySuffix+".yaml"))
	}
	slices.Sort(names)
	return names
}

// OpenDeployment reads a deployment named on a command line: a path to a
// YAML file (anything with a path separator or ending in .yaml or .yml),
// or else the name of a built-in deployment.
func OpenDeployment(spec string) (*Deployment, error) {
	if strings.ContainsRune(spec, filepath.Separator) || strings.ContainsRune(spec, '/') ||
		strings.HasSuffix(spec, ".yaml") || strings.HasSuffix(spec, ".yml") {
		return LoadDeployment(spec)
	}
	return BuiltinDeployment(spec)
}

// LoadDeployment reads and validates a deployment file. A relative tls_dir
// is taken relative to the file's directory.
func LoadDeployment(path string) (*Deployment, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	d, err := ParseDeployment(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return d, nil
}

// ParseDeployment decodes and validates a YAML deployment; baseDir, when
// not empty, anchors a relative tls_dir. Unknown fields are errors, and
// every problem found is reported (joined), not just the first.
func ParseDeployment(data []byte, baseDir string) (*Deployment, error) {
	var f fileDeployment
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: empty deployment", ErrDecode)
		}
		return nil, fmt.Errorf("%w: %w", ErrDecode, err)
	}
	src, err := f.profile()
	if err != nil {
		return nil, err
	}
	d := f.deployment(src)
	if d.TLSDir != "" && baseDir != "" && !filepath.IsAbs(d.TLSDir) {
		d.TLSDir = filepath.Join(baseDir, d.TLSDir)
	}
	if err := d.validate(src); err != nil {
		return nil, err
	}
	d.Profile = d.placed(src)
	return d, nil
}

// The file format, kept apart from the public types as for profiles.
type fileDeployment struct {
	Name string `yaml:"name"`
	// Profile is a built-in profile's name, or a profile written inline
	// (name, regions, links, as in a profile file).
	Profile     yaml.Node          `yaml:"profile"`
	TLSDir      string             `yaml:"tls_dir"`
	PasswordEnv string             `yaml:"password_env"`
	Meta        []fileMember       `yaml:"meta"`
	Regions     []filePlacedRegion `yaml:"regions"`
}

type fileMember struct {
	ID      string `yaml:"id"`
	Raft    string `yaml:"raft"`
	HTTP    string `yaml:"http"`
	Metrics string `yaml:"metrics"`
}

type filePlacedRegion struct {
	Name    string       `yaml:"name"`
	Nodes   []fileL2Node `yaml:"nodes"`
	Gateway *fileGateway `yaml:"gateway"`
}

type fileL2Node struct {
	ID      string `yaml:"id"`
	RESP    string `yaml:"resp"`
	Metrics string `yaml:"metrics"`
}

type fileGateway struct {
	ID         string `yaml:"id"`
	Federation string `yaml:"federation"`
	Metrics    string `yaml:"metrics"`
}

// profile resolves the profile field: a scalar names a built-in profile, a
// mapping is a profile inline, checked as strictly as a profile file.
func (f *fileDeployment) profile() (*Profile, error) {
	switch f.Profile.Kind {
	case 0:
		return nil, fmt.Errorf("%w: deployment has no profile (a built-in name such as %q, or one inline)", ErrBadValue, DefaultProfile)
	case yaml.ScalarNode:
		return Builtin(f.Profile.Value)
	case yaml.MappingNode:
		data, err := yaml.Marshal(&f.Profile)
		if err != nil {
			return nil, fmt.Errorf("%w: inline profile: %w", ErrDecode, err)
		}
		p, err := Parse(data)
		if err != nil {
			return nil, fmt.Errorf("inline profile: %w", err)
		}
		return p, nil
	default:
		return nil, fmt.Errorf("%w: line %d: profile must be a name or a mapping", ErrDecode, f.Profile.Line)
	}
}

func (f *fileDeployment) deployment(src *Profile) *Deployment {
	d := &Deployment{Name: f.Name, TLSDir: f.TLSDir, PasswordEnv: f.PasswordEnv}
	if d.Name == "" {
		d.Name = src.Name
	}
	for _, m := range f.Meta {
		d.Meta = append(d.Meta, MetaMember{ID: m.ID, RaftAddr: m.Raft, HTTPAddr: m.HTTP, MetricsAddr: m.Metrics})
	}
	for _, z := range f.Regions {
		r := RegionDeployment{Name: z.Name, ID: -1}
		if pr, ok := src.Region(z.Name); ok {
			r.ID = pr.ID
		}
		for _, n := range z.Nodes {
			r.Nodes = append(r.Nodes, L2Node{ID: n.ID, Region: z.Name, RESPAddr: n.RESP, MetricsAddr: n.Metrics})
		}
		if z.Gateway != nil {
			r.Gateway = Gateway{ID: z.Gateway.ID, Region: z.Name, FederationAddr: z.Gateway.Federation, MetricsAddr: z.Gateway.Metrics}
		}
		d.Regions = append(d.Regions, r)
	}
	// Profile order, so iteration matches the profile's; unknown regions
	// (reported by validate) go last.
	order := func(name string) int {
		if i, ok := src.byName[name]; ok {
			return i
		}
		return len(src.Regions)
	}
	slices.SortStableFunc(d.Regions, func(a, b RegionDeployment) int { return order(a.Name) - order(b.Name) })
	return d
}

var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// validate checks d against its profile and builds the lookup indexes.
func (d *Deployment) validate(src *Profile) error {
	var errs []error
	bad := func(err error, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: "+format, append([]any{err}, args...)...))
	}
	d.byID = map[string]deployed{}
	d.byAddr = map[string]string{}
	owner := map[string]string{} // normalised address → who listens on it
	id := func(what, id string, p deployed) {
		if id == "" {
			bad(ErrBadValue, "%s has no id", what)
			return
		}
		if _, dup := d.byID[id]; dup {
			bad(ErrDuplicate, "id %q is used twice", id)
			return
		}
		d.byID[id] = p
	}
	addr := func(what, region, a string, required bool) {
		if a == "" {
			if required {
				bad(ErrBadValue, "%s has no address", what)
			}
			return
		}
		_, port, err := splitHostPort(a)
		if err != nil {
			bad(ErrBadValue, "%s: address %q is not host:port", what, a)
			return
		}
		if port == 0 {
			bad(ErrBadValue, "%s: address %q has port 0; a deployment fixes its ports so processes can find each other", what, a)
		}
		if d.TLSDir == "" && !isLoopback(a) {
			bad(ErrBadValue, "%s: address %q is not loopback, which needs tls_dir", what, a)
		}
		k := normAddr(a)
		if other, dup := owner[k]; dup {
			bad(ErrDuplicate, "address %s is used by %s and %s", a, other, what)
			return
		}
		owner[k] = what
		d.byAddr[k] = region
	}

	if d.PasswordEnv != "" && !envName.MatchString(d.PasswordEnv) {
		bad(ErrBadValue, "password_env %q is not an environment variable name", d.PasswordEnv)
	}
	if len(d.Meta) == 0 {
		bad(ErrBadValue, "deployment has no raftmeta members (meta)")
	}
	for i, m := range d.Meta {
		what := fmt.Sprintf("meta member %q", m.ID)
		if m.ID == "" {
			what = fmt.Sprintf("meta member %d", i)
		}
		id(what, m.ID, deployed{member: i, node: -1})
		addr(what+" raft", "", m.RaftAddr, true)
		addr(what+" http", "", m.HTTPAddr, true)
		addr(what+" metrics", "", m.MetricsAddr, false)
	}

	placed := map[string]bool{}
	for _, r := range d.Regions {
		pr, known := src.Region(r.Name)
		switch {
		case r.Name == "":
			bad(ErrBadValue, "a region entry has no name")
		case !known:
			bad(ErrUnknownRegion, "%q is not a region of profile %q (have %s)", r.Name, src.Name, strings.Join(src.RegionNames(), ", "))
		case placed[r.Name]:
			bad(ErrDuplicate, "region %q is deployed twice", r.Name)
		}
		placed[r.Name] = true
		if len(r.Nodes) == 0 {
			bad(ErrBadValue, "region %q has no L2 nodes", r.Name)
		}
		for i, n := range r.Nodes {
			what := fmt.Sprintf("node %q", n.ID)
			if n.ID == "" {
				what = fmt.Sprintf("region %q node %d", r.Name, i)
			}
			id(what, n.ID, deployed{region: r.Name, member: -1, node: i})
			addr(what+" resp", r.Name, n.RESPAddr, true)
			addr(what+" metrics", r.Name, n.MetricsAddr, false)
		}
		if r.Gateway == (Gateway{}) { // no gateway entry at all
			bad(ErrBadValue, "region %q has no gateway", r.Name)
		} else {
			what := fmt.Sprintf("gateway %q", r.Gateway.ID)
			if r.Gateway.ID == "" {
				what = fmt.Sprintf("region %q gateway", r.Name)
			}
			id(what, r.Gateway.ID, deployed{region: r.Name, member: -1, node: -1})
			addr(what+" federation", r.Name, r.Gateway.FederationAddr, true)
			addr(what+" metrics", r.Name, r.Gateway.MetricsAddr, false)
		}
		if known {
			errs = append(errs, sameNodes(r, pr)...)
		}
	}
	for _, pr := range src.Regions {
		if !placed[pr.Name] {
			bad(ErrBadValue, "region %q of profile %q has no nodes in the deployment", pr.Name, src.Name)
		}
	}
	return errors.Join(errs...)
}

// sameNodes checks that a profile which names a region's nodes and the
// deployment agree on them; a profile may also leave them to the
// deployment by listing none.
func sameNodes(r RegionDeployment, pr Region) []error {
	var errs []error
	ids := func(ns []Node) []string {
		out := make([]string, len(ns))
		for i, n := range ns {
			out[i] = n.ID
		}
		slices.Sort(out)
		return out
	}
	var l2 []string
	for _, n := range r.Nodes {
		l2 = append(l2, n.ID)
	}
	slices.Sort(l2)
	if want := ids(pr.L2); len(want) > 0 && !slices.Equal(l2, want) {
		errs = append(errs, fmt.Errorf("%w: region %q deploys L2 nodes %v but the profile has %v", ErrBadValue, r.Name, l2, want))
	}
	if want := ids(pr.L3); len(want) > 0 && r.Gateway.ID != "" && !slices.Equal([]string{r.Gateway.ID}, want) {
		errs = append(errs, fmt.Errorf("%w: region %q deploys gateway %q but the profile's L3 nodes are %v", ErrBadValue, r.Name, r.Gateway.ID, want))
	}
	return errs
}

// placed returns a copy of src with the deployment's nodes and addresses:
// each region's L2 nodes at their RESP addresses, and its gateway as both
// its one L3 node and its federation endpoint.
func (d *Deployment) placed(src *Profile) *Profile {
	p := &Profile{Name: src.Name, byName: src.byName, links: src.links}
	for _, sr := range src.Regions {
		r := sr
		dr, _ := d.Region(sr.Name)
		r.L2 = make([]Node, len(dr.Nodes))
		for i, n := range dr.Nodes {
			r.L2[i] = Node{ID: n.ID, Addr: n.RESPAddr}
		}
		r.L3 = []Node{{ID: dr.Gateway.ID, Addr: dr.Gateway.FederationAddr}}
		r.Federation = dr.Gateway.FederationAddr
		p.Regions = append(p.Regions, r)
	}
	return p
}

// splitHostPort splits host:port and parses the port as a number.
func splitHostPort(a string) (string, int, error) {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return "", 0, err
	}
	if host == "" {
		return "", 0, errors.New("no host")
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return "", 0, fmt.Errorf("port %q: %w", port, err)
	}
	return host, int(n), nil
}
