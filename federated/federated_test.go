package federated

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache"
	"github.com/tiercache/tiercache/internal/keyspace"
	"github.com/tiercache/tiercache/l3"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// L1 off: every read reaches L2, which is what these tests are about.
var plain = &keyspace.Table{Default: keyspace.Settings{TTL: time.Minute, L1: keyspace.L1Off, EarlyRefresh: -1}}

func start(t *testing.T, ks *keyspace.Table) *Deployment {
	t.Helper()
	return startWith(t, Options{Keyspaces: ks, Seed: 1})
}

// startWith starts a deployment of opts and waits until its links are up.
func startWith(t *testing.T, opts Options) *Deployment {
	t.Helper()
	d, err := Start(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(d.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := d.WaitConnected(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

func region(t *testing.T, d *Deployment, name string) *Region {
	t.Helper()
	r, err := d.Region(name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func client(t *testing.T, r *Region, ks *keyspace.Table) *tiercache.Client {
	t.Helper()
	return clientWith(t, r, tiercache.Config{Keyspaces: ks})
}

// clientWith is an app client of cfg over r's L2 nodes.
func clientWith(t *testing.T, r *Region, cfg tiercache.Config) *tiercache.Client {
	t.Helper()
	for _, p := range r.Peers() {
		cfg.Nodes = append(cfg.Nodes, tiercache.Node{ID: p.ID, Addr: p.Addr})
	}
	c, err := tiercache.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// noOrigin fails the test if a read reaches the origin.
func noOrigin(t *testing.T) tiercache.Loader {
	return tiercache.LoaderFunc(func(context.Context, string) ([]byte, error) {
		t.Errorf("origin loaded")
		return nil, errors.New("no origin here")
	})
}

// waitDelivered waits until every change r published has been applied by
// every other region.
func waitDelivered(t *testing.T, r *Region) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, l := range r.Endpoint.Links() {
		if err := l.WaitDelivered(ctx, l.Stats().Enqueued); err != nil {
			t.Fatalf("%s→%s: %v", r.Name, l.Region(), err)
		}
	}
}

func TestWriteIsReadInOtherRegions(t *testing.T) {
	d := start(t, plain)
	ctx := context.Background()
	us := client(t, region(t, d, "us-east"), plain)
	for _, v := range []string{"v1", "v2"} {
		ver, err := us.Set(ctx, "user:1", []byte(v))
		if err != nil {
			t.Fatal(err)
		}
		waitDelivered(t, region(t, d, "us-east"))
		for _, name := range []string{"eu-west", "ap-south"} {
			got, err := client(t, region(t, d, name), plain).Get(ctx, "user:1", noOrigin(t))
			if err != nil || string(got) != v {
				t.Fatalf("%s read %q, %v; want %q (version %d)", name, got, err, v, ver)
			}
		}
	}
	for _, name := range []string{"eu-west", "ap-south"} {
		r := region(t, d, name)
		if st := r.Owner([]byte("user:1")).GlobalStats(); st.Applied < 2 || st.Published != 0 {
			t.Fatalf("%s owner stats %+v: want both changes applied, none published again", name, st)
		}
	}
}

func TestMissServedFromGlobalTier(t *testing.T) {
	d := start(t, plain)
	ctx := context.Background()
	var loads atomic.Int64
	origin := tiercache.LoaderFunc(func(context.Context, string) ([]byte, error) {
		loads.Add(1)
		return []byte("loaded"), nil
	})
	us := region(t, d, "us-east")
	if _, err := client(t, us, plain).Get(ctx, "page:7", origin); err != nil {
		t.Fatal(err)
	}
	// The fill reaches the key's L3 owner in the background.
	waitFor(t, func() bool {
		rep, err := us.Client.Get(ctx, l3.GetRequest{Key: []byte("page:7")})
		return err == nil && rep.Status == l3.StatusHit
	})
	eu := region(t, d, "eu-west")
	got, err := client(t, eu, plain).Get(ctx, "page:7", noOrigin(t))
	if err != nil || string(got) != "loaded" || loads.Load() != 1 {
		t.Fatalf("eu-west read %q, %v after %d loads", got, err, loads.Load())
	}
	if st := eu.Owner([]byte("page:7")).GlobalStats(); st.Hits != 1 {
		t.Fatalf("eu-west owner stats %+v: want one global hit", st)
	}
}

// A region cut off from the writer holds a lease and loads the old value
// while the write lands at the global owner: its fill must not reach the
// global tier, and its own copy must give way when the write arrives.
func TestStaleFillFromLaggingRegionRefused(t *testing.T) {
	d := start(t, plain)
	ctx := context.Background()
	us, eu, ap := region(t, d, "us-east"), region(t, d, "eu-west"), region(t, d, "ap-south")
	key := keyOwnedBy(t, eu, "acct:")
	if err := d.WAN.Partition("us-east", "ap-south"); err != nil {
		t.Fatal(err)
	}
	loading, release := make(chan struct{}), make(chan struct{})
	var releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	defer letGo() // a failed test must not leave the read blocked
	var loadOnce sync.Once
	old := tiercache.LoaderFunc(func(context.Context, string) ([]byte, error) {
		loadOnce.Do(func() { close(loading) })
		<-release
		return []byte("old"), nil
	})
	apClient := client(t, ap, plain)
	var wg sync.WaitGroup
	wg.Add(1)
	readDone := make(chan struct{})
	go func() {
		defer wg.Done()
		defer close(readDone)
		if _, err := apClient.Get(ctx, key, old); err != nil {
			t.Errorf("ap-south read: %v", err)
		}
	}()
	select {
	case <-loading:
	case <-readDone:
		t.Fatal("ap-south's read ended without loading from the origin")
	case <-time.After(30 * time.Second):
		t.Fatal("ap-south's read did not reach the origin in 30 s")
	}
	ver, err := client(t, us, plain).Set(ctx, key, []byte("new"))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		rep, err := eu.L3.Get(l3.GetRequest{Key: []byte(key)})
		return err == nil && rep.Item.Version == ver
	})
	letGo()
	wg.Wait()
	owner := ap.Owner([]byte(key))
	waitFor(t, func() bool { return owner.GlobalStats().FillErrors == 1 })
	if rep, _ := eu.L3.Get(l3.GetRequest{Key: []byte(key)}); !bytes.Equal(rep.Item.Value, []byte("new")) {
		t.Fatalf("global owner holds %q", rep.Item.Value)
	}
	if err := d.WAN.Heal("us-east", "ap-south"); err != nil {
		t.Fatal(err)
	}
	waitDelivered(t, us)
	got, err := client(t, ap, plain).Get(ctx, key, noOrigin(t))
	if err != nil || string(got) != "new" {
		t.Fatalf("ap-south reads %q, %v after the write arrived", got, err)
	}
}

func TestGlobalStampedeOneOriginLoad(t *testing.T) {
	ks := &keyspace.Table{Default: keyspace.Settings{TTL: time.Minute, L1: keyspace.L1Off, EarlyRefresh: -1, StampedeScope: keyspace.ScopeGlobal}}
	d := start(t, ks)
	var loads atomic.Int64
	origin := tiercache.LoaderFunc(func(context.Context, string) ([]byte, error) {
		loads.Add(1)
		time.Sleep(100 * time.Millisecond)
		return []byte("article"), nil
	})
	var wg sync.WaitGroup
	begin := make(chan struct{})
	for _, r := range d.Regions() {
		c := client(t, r, ks)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-begin
				got, err := c.Get(context.Background(), "news:1", origin)
				if err != nil || string(got) != "article" {
					t.Errorf("%s read %q, %v", r.Name, got, err)
				}
			}()
		}
	}
	close(begin)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d origin loads for 60 concurrent misses in 3 regions, want 1", n)
	}
}

// keyOwnedBy returns a key with prefix whose global owner is r's L3 node.
func keyOwnedBy(t *testing.T, r *Region, prefix string) string {
	t.Helper()
	for i := range 1000 {
		k := prefix + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if m, err := r.Client.Owner([]byte(k)); err == nil && m.ID == r.L3.ID() {
			return k
		}
	}
	t.Fatalf("no key owned by %s", r.Name)
	return ""
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// remoteKey finds a key (prefix then a number) whose L3 owner is in
// another region than home, and that owner.
func remoteKey(t *testing.T, home *Region, prefix string) (string, l3.Member) {
	t.Helper()
	for i := range 1000 {
		key := prefix + strconv.Itoa(i)
		owner, err := home.Client.Owner([]byte(key))
		if err != nil {
			t.Fatal(err)
		}
		if owner.Region != "" && owner.Region != home.Name {
			return key, owner
		}
	}
	t.Fatalf("no key owned outside %s", home.Name)
	return "", l3.Member{}
}
