package federated

import (
	"slices"
	"sync"
	"testing"

	"github.com/tiercache/tiercache/l2"
)

// L2Started sees every L2 node the deployment starts, the ones
// RestartNode starts included, and MetaMembers are the control plane's.
func TestHooksSeeEveryStartedNode(t *testing.T) {
	var (
		mu   sync.Mutex
		seen = map[string][]*l2.Node{}
		regs = map[string]string{}
	)
	hooks := Hooks{L2Started: func(region, id string, n *l2.Node) {
		mu.Lock()
		defer mu.Unlock()
		seen[id] = append(seen[id], n)
		regs[id] = region
	}}
	d, err := Start(Options{Keyspaces: plain, Seed: 1, ControlPlane: &ControlPlaneOptions{Dir: t.TempDir()}, Hooks: hooks})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	if got := len(d.MetaMembers()); got != 3 {
		t.Errorf("%d control-plane members, want 3", got)
	}
	mu.Lock()
	for _, r := range d.Regions() {
		for _, id := range r.NodeIDs() {
			if ns := seen[id]; len(ns) != 1 || ns[0] != r.Node(id) || regs[id] != r.Name {
				t.Errorf("node %s of %s: hook saw %v in %q", id, r.Name, ns, regs[id])
			}
		}
	}
	if len(seen) != 9 {
		t.Errorf("hook saw %d nodes, want 9", len(seen))
	}
	mu.Unlock()

	r := d.Regions()[1]
	id := r.NodeIDs()[2]
	if err := d.KillNode(id); err != nil {
		t.Fatal(err)
	}
	if err := d.RestartNode(id); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if ns := seen[id]; len(ns) != 2 || ns[1] != r.Node(id) || slices.Contains(ns[:1], r.Node(id)) {
		t.Errorf("after the restart the hook saw %v for %s, want the old node then %p", ns, id, r.Node(id))
	}

	plainDep, err := Start(Options{Keyspaces: plain, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(plainDep.Close)
	if m := plainDep.MetaMembers(); m != nil {
		t.Errorf("a deployment without a control plane has members %v", m)
	}
}
