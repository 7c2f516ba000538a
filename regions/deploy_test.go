package regions

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// goodDeployment is a two-region deployment with its profile inline; the
// rejection table below breaks it one way at a time.
const goodDeployment = `
name: two
profile:
  name: two
  regions:
    - {name: a, id: 0, l2: {count: 2}, l3: {count: 1}}
    - {name: b, id: 1}
  links:
    - {between: [a, b], rtt: 30ms}
tls_dir: certs
password_env: TC_PASS
meta:
  - {id: m1, raft: "127.0.0.1:19001", http: "127.0.0.1:19101"}
  - {id: m2, raft: "127.0.0.1:19002", http: "127.0.0.1:19102", metrics: "127.0.0.1:19202"}
regions:
  - name: b
    nodes:
      - {id: b1, resp: "127.0.0.1:17201", metrics: "127.0.0.1:17211"}
    gateway: {id: bg, federation: "127.0.0.1:17402"}
  - name: a
    nodes:
      - {id: a-l2-0, resp: "127.0.0.1:17101"}
      - {id: a-l2-1, resp: "127.0.0.1:17102"}
    gateway: {id: a-l3-0, federation: "127.0.0.1:17401", metrics: "127.0.0.1:17411"}
`

func TestParseDeployment(t *testing.T) {
	d, err := ParseDeployment([]byte(goodDeployment), "/etc/tc")
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "two" || d.TLSDir != "/etc/tc/certs" || d.PasswordEnv != "TC_PASS" {
		t.Fatalf("deployment %+v", d)
	}
	if got := []string{d.Regions[0].Name, d.Regions[1].Name}; !slices.Equal(got, []string{"a", "b"}) || d.Regions[1].ID != 1 {
		t.Fatalf("regions not in profile order: %+v", d.Regions)
	}
	if got := d.MetaAddrs(); !slices.Equal(got, []string{"127.0.0.1:19101", "127.0.0.1:19102"}) {
		t.Fatalf("meta addrs %v", got)
	}
	if m, ok := d.Member("m2"); !ok || m.RaftAddr != "127.0.0.1:19002" || m.MetricsAddr != "127.0.0.1:19202" {
		t.Fatalf("member m2 %+v %v", m, ok)
	}
	if n, ok := d.NodeByID("b1"); !ok || n.Region != "b" || n.RESPAddr != "127.0.0.1:17201" || n.MetricsAddr != "127.0.0.1:17211" {
		t.Fatalf("node b1 %+v %v", n, ok)
	}
	if g, ok := d.GatewayByID("a-l3-0"); !ok || g.Region != "a" || g.FederationAddr != "127.0.0.1:17401" {
		t.Fatalf("gateway %+v %v", g, ok)
	}
	// Each lookup finds only its own kind of process.
	if _, ok := d.NodeByID("m1"); ok {
		t.Fatal("a member found as a node")
	}
	if _, ok := d.NodeByID("bg"); ok {
		t.Fatal("a gateway found as a node")
	}
	if _, ok := d.GatewayByID("b1"); ok {
		t.Fatal("a node found as a gateway")
	}
	if _, ok := d.Member("a-l2-0"); ok {
		t.Fatal("a node found as a member")
	}
	for addr, want := range map[string]string{
		"127.0.0.1:17402":          "b",
		"[::ffff:127.0.0.1]:17401": "a",
		"127.0.0.1:17211":          "b",
		"127.0.0.1:19101":          "", // members have no region
		"127.0.0.1:1":              "",
		"nonsense":                 "",
	} {
		got, ok := d.RegionOfAddr(addr)
		if got != want || ok != (want != "") {
			t.Errorf("RegionOfAddr(%s) = %q %v, want %q", addr, got, ok, want)
		}
	}
	// The placed profile carries the deployment's nodes and addresses.
	a, _ := d.Profile.Region("a")
	if a.Federation != "127.0.0.1:17401" || len(a.L2) != 2 || a.L2[1] != (Node{ID: "a-l2-1", Addr: "127.0.0.1:17102"}) || a.L3[0].ID != "a-l3-0" {
		t.Fatalf("placed region a %+v", a)
	}
	if l, ok := d.Profile.Link("b", "a"); !ok || l.RTT.Milliseconds() != 30 {
		t.Fatalf("placed profile lost its links: %+v", l)
	}
	f, ok := d.TLS("bg")
	if !ok || f != (TLSFiles{CA: "/etc/tc/certs/ca.pem", Cert: "/etc/tc/certs/bg.pem", Key: "/etc/tc/certs/bg-key.pem"}) {
		t.Fatalf("tls %+v %v", f, ok)
	}
}

func TestDeploymentPassword(t *testing.T) {
	d, err := ParseDeployment([]byte(goodDeployment), "")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("TC_PASS", "")
	if _, err := d.Password(); !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "TC_PASS") {
		t.Fatalf("empty password env: %v", err)
	}
	t.Setenv("TC_PASS", "s3cret")
	if pw, err := d.Password(); err != nil || pw != "s3cret" {
		t.Fatalf("password %q %v", pw, err)
	}
	d.PasswordEnv = ""
	if pw, err := d.Password(); err != nil || pw != "" {
		t.Fatalf("no password env: %q %v", pw, err)
	}
}

func TestBuiltinDeployment(t *testing.T) {
	d, err := BuiltinDeployment(DefaultProfile)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := Builtin(DefaultProfile)
	if got, want := d.Profile.RegionNames(), p.RegionNames(); !slices.Equal(got, want) {
		t.Fatalf("regions %v, profile has %v", got, want)
	}
	if len(d.Meta) != 3 || d.TLSDir != "pki" {
		t.Fatalf("members %+v, tls dir %q", d.Meta, d.TLSDir)
	}
	for _, r := range d.Regions {
		if len(r.Nodes) != 3 || r.Gateway.FederationAddr == "" {
			t.Fatalf("region %+v", r)
		}
		if got, ok := d.RegionOfAddr(r.Gateway.FederationAddr); !ok || got != r.Name {
			t.Fatalf("gateway of %s maps to %q", r.Name, got)
		}
	}
	// Clear of scripts/local-cluster.sh's defaults.
	for _, a := range []string{"127.0.0.1:7001", "127.0.0.1:9001", "127.0.0.1:9101"} {
		if _, ok := d.byAddr[a]; ok {
			t.Fatalf("%s clashes with scripts/local-cluster.sh", a)
		}
	}
	if _, err := BuiltinDeployment("nope"); !errors.Is(err, ErrUnknownProfile) {
		t.Fatalf("unknown built-in deployment: %v", err)
	}
	if slices.Contains(BuiltinNames(), "local-3-deploy") {
		t.Fatal("a deployment is listed as a profile")
	}
	if _, err := Builtin("local-3-deploy"); !errors.Is(err, ErrUnknownProfile) {
		t.Fatalf("a deployment loaded as a profile: %v", err)
	}
	if !slices.Equal(BuiltinDeploymentNames(), []string{"local-3"}) {
		t.Fatalf("built-in deployments %v", BuiltinDeploymentNames())
	}
}

func TestOpenDeployment(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.yaml")
	if err := os.WriteFile(path, []byte(goodDeployment), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := OpenDeployment(path)
	if err != nil {
		t.Fatal(err)
	}
	if d.TLSDir != filepath.Join(dir, "certs") {
		t.Fatalf("relative tls_dir resolved to %q", d.TLSDir)
	}
	if d, err := OpenDeployment("local-3"); err != nil || d.Name != "local-3" {
		t.Fatalf("built-in by name: %v", err)
	}
	if _, err := OpenDeployment(filepath.Join(dir, "missing.yaml")); !errors.Is(err, ErrDecode) {
		t.Fatalf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(strings.Replace(goodDeployment, "name: b\n    nodes", "name: z\n    nodes", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadDeployment(bad); !errors.Is(err, ErrUnknownRegion) || !strings.Contains(err.Error(), bad) {
		t.Fatalf("error does not name the file: %v", err)
	}
}

func TestParseDeploymentRejects(t *testing.T) {
	r := func(old, new string) string {
		if !strings.Contains(goodDeployment, old) {
			t.Fatalf("test table: %q not in the good deployment", old)
		}
		return strings.Replace(goodDeployment, old, new, 1)
	}
	cases := []struct {
		name, yaml string
		want       error
		says       string // a fragment the message must contain
	}{
		{"empty", "", ErrDecode, "empty"},
		{"unknown field", r("tls_dir:", "tls_dri:"), ErrDecode, "tls_dri"},
		{"no profile", r("profile:\n  name: two", "profile_x: 1\nx:\n  name: two"), ErrDecode, ""},
		{"profile missing", withProfile(""), ErrBadValue, "no profile"},
		{"unknown builtin profile", withProfile("profile: mars\n"), ErrUnknownProfile, "mars"},
		{"profile a list", withProfile("profile: [a]\n"), ErrDecode, "name or a mapping"},
		{"bad inline profile", r("rtt: 30ms", "rtt: -30ms"), ErrBadValue, "inline profile"},
		{"unknown region", r("name: b\n    nodes", "name: z\n    nodes"), ErrUnknownRegion, `"z"`},
		{"region deployed twice", r("name: b\n    nodes", "name: a\n    nodes"), ErrDuplicate, `region "a" is deployed twice`},
		{"profile region without nodes", r("      - {id: b1, resp: \"127.0.0.1:17201\", metrics: \"127.0.0.1:17211\"}\n", ""), ErrBadValue, `region "b" has no L2 nodes`},
		{"profile region not deployed", r("  - name: b\n    nodes:\n      - {id: b1, resp: \"127.0.0.1:17201\", metrics: \"127.0.0.1:17211\"}\n    gateway: {id: bg, federation: \"127.0.0.1:17402\"}\n", ""), ErrBadValue, `region "b" of profile "two" has no nodes`},
		{"missing gateway", r("    gateway: {id: bg, federation: \"127.0.0.1:17402\"}\n", ""), ErrBadValue, `region "b" has no gateway`},
		{"gateway without address", r(`{id: bg, federation: "127.0.0.1:17402"}`, `{id: bg}`), ErrBadValue, `gateway "bg" federation has no address`},
		{"gateway without id", r(`{id: bg, federation:`, `{federation:`), ErrBadValue, `region "b" gateway has no id`},
		{"node without id", r(`{id: b1, resp:`, `{resp:`), ErrBadValue, `region "b" node 0 has no id`},
		{"node without address", r(`{id: b1, resp: "127.0.0.1:17201", `, `{id: b1, `), ErrBadValue, `node "b1" resp has no address`},
		{"duplicate node id", r("{id: b1,", "{id: m1,"), ErrDuplicate, `id "m1" is used twice`},
		{"duplicate member id", r("{id: m2,", "{id: m1,"), ErrDuplicate, `id "m1" is used twice`},
		{"duplicate address", r(`resp: "127.0.0.1:17201"`, `resp: "127.0.0.1:19101"`), ErrDuplicate, "127.0.0.1:19101 is used by"},
		{"duplicate address mapped", r(`resp: "127.0.0.1:17201"`, `resp: "[::ffff:127.0.0.1]:17101"`), ErrDuplicate, "is used by"},
		{"address not host:port", r(`raft: "127.0.0.1:19001"`, `raft: "127.0.0.1"`), ErrBadValue, `"127.0.0.1" is not host:port`},
		{"address with no host", r(`raft: "127.0.0.1:19001"`, `raft: ":19001"`), ErrBadValue, "not host:port"},
		{"port not a number", r(`raft: "127.0.0.1:19001"`, `raft: "127.0.0.1:raft"`), ErrBadValue, "not host:port"},
		{"port 0", r(`http: "127.0.0.1:19101"`, `http: "127.0.0.1:0"`), ErrBadValue, "port 0"},
		{"member without raft", r(`raft: "127.0.0.1:19001", `, ``), ErrBadValue, `meta member "m1" raft has no address`},
		{"no members", r("meta:\n  - {id: m1, raft: \"127.0.0.1:19001\", http: \"127.0.0.1:19101\"}\n  - {id: m2, raft: \"127.0.0.1:19002\", http: \"127.0.0.1:19102\", metrics: \"127.0.0.1:19202\"}\n", ""), ErrBadValue, "no raftmeta members"},
		{"public address without tls", strings.Replace(r("tls_dir: certs\n", ""), `"127.0.0.1:17201"`, `"10.0.0.5:17201"`, 1), ErrBadValue, "needs tls_dir"},
		{"bad env name", r("password_env: TC_PASS", "password_env: TC-PASS"), ErrBadValue, "TC-PASS"},
		{"node not in profile", r("{id: a-l2-1,", "{id: a-x,"), ErrBadValue, "but the profile has"},
		{"gateway not the profile's l3", r("{id: a-l3-0,", "{id: a-gw,"), ErrBadValue, "profile's L3 nodes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseDeployment([]byte(c.yaml), "")
			if !errors.Is(err, c.want) || !strings.Contains(fmtErr(err), c.says) {
				t.Fatalf("got %v, want %v saying %q", err, c.want, c.says)
			}
		})
	}
}

func TestParseDeploymentReportsEveryProblem(t *testing.T) {
	y := strings.Replace(goodDeployment, "{id: b1,", "{id: m1,", 1)
	y = strings.Replace(y, "name: b\n    nodes", "name: z\n    nodes", 1)
	_, err := ParseDeployment([]byte(y), "")
	if !errors.Is(err, ErrDuplicate) || !errors.Is(err, ErrUnknownRegion) || !errors.Is(err, ErrBadValue) {
		t.Fatalf("want the duplicate id, the unknown region and the undeployed region b, got %v", err)
	}
}

// withProfile replaces the good deployment's inline profile with p.
func withProfile(p string) string {
	start, end := strings.Index(goodDeployment, "profile:"), strings.Index(goodDeployment, "tls_dir:")
	return goodDeployment[:start] + p + goodDeployment[end:]
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
