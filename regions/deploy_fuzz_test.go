package regions

import (
	"testing"
)

// FuzzParseDeployment: no input makes the parser panic, and what it
// accepts is a deployment every lookup can trust: each process id found
// where the file put it, each region with a gateway and a profile region.
func FuzzParseDeployment(f *testing.F) {
	seed, err := builtin.ReadFile("local-3-deploy.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("name: x\nprofile: local-3\nmeta: []\n"))
	f.Add([]byte("{"))
	f.Fuzz(func(t *testing.T, data []byte) {
		// baseDir only anchors a relative tls_dir; nothing is read there.
		d, err := ParseDeployment(data, "/deployments")
		if err != nil {
			return
		}
		if len(d.Meta) == 0 || len(d.MetaAddrs()) != len(d.Meta) {
			t.Fatalf("accepted a deployment with members %+v", d.Meta)
		}
		for _, m := range d.Meta {
			if got, ok := d.Member(m.ID); !ok || got != m {
				t.Fatalf("member %q not found as itself", m.ID)
			}
		}
		for _, r := range d.Regions {
			if _, ok := d.Profile.Region(r.Name); !ok {
				t.Fatalf("region %q is not in the profile", r.Name)
			}
			if g, ok := d.GatewayByID(r.Gateway.ID); !ok || g.Region != r.Name {
				t.Fatalf("region %q's gateway %q not found there", r.Name, r.Gateway.ID)
			}
			if reg, ok := d.RegionOfAddr(r.Gateway.FederationAddr); !ok || reg != r.Name {
				t.Fatalf("gateway address %q maps to %q, want %q", r.Gateway.FederationAddr, reg, r.Name)
			}
			for _, n := range r.Nodes {
				if got, ok := d.NodeByID(n.ID); !ok || got.Region != r.Name {
					t.Fatalf("node %q not found in %q", n.ID, r.Name)
				}
			}
		}
	})
}
