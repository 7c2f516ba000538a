package origin

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/tiercache/tiercache"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T, cfg Config) *DB {
	t.Helper()
	d, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

func TestSeededRowsLoadAtVersionOne(t *testing.T) {
	d := open(t, Config{Keyspace: "user", Rows: 100, PayloadBytes: 10})
	ctx := context.Background()
	v, err := d.Load(ctx, "user:42")
	if err != nil {
		t.Fatal(err)
	}
	if string(v) != "v1|user:42|abcdefghij" {
		t.Fatalf("load = %q", v)
	}
	if ver, ok := VersionOf(v); !ok || ver != 1 || d.Committed("user:42") != 1 {
		t.Fatalf("version %d %v, committed %d", ver, ok, d.Committed("user:42"))
	}
	if _, err := d.Load(ctx, "user:100"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("load past the seeded rows: %v, want ErrNotFound", err)
	}
	if st := d.Stats(); st.Reads != 2 || st.NotFound != 1 || st.Writes != 0 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWriteCommitsNewVersion(t *testing.T) {
	d := open(t, Config{Keyspace: "user", Rows: 10})
	ctx := context.Background()
	for want := uint64(2); want <= 4; want++ {
		got, err := d.Write(ctx, "user:3", []byte("p"+string(rune('0'+want))))
		if err != nil || got != want {
			t.Fatalf("write = %d, %v; want version %d", got, err, want)
		}
	}
	v, err := d.Load(ctx, "user:3")
	if err != nil || string(v) != "v4|user:3|p4" || d.Committed("user:3") != 4 {
		t.Fatalf("load = %q, %v; committed %d", v, err, d.Committed("user:3"))
	}
	// A write to a key with no row creates it.
	if got, err := d.Write(ctx, "user:new", []byte("x")); err != nil || got != 1 {
		t.Fatalf("new row version %d, %v", got, err)
	}
	if st := d.Stats(); st.Writes != 4 {
		t.Fatalf("stats %+v", st)
	}
}

func TestConcurrentWritesGetDistinctVersions(t *testing.T) {
	d := open(t, Config{Keyspace: "k", Rows: 1})
	const writers, each = 8, 10
	var mu sync.Mutex
	seen := map[uint64]bool{}
	var wg sync.WaitGroup
	for range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				v, err := d.Write(context.Background(), "k:0", []byte("x"))
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[v] {
					t.Errorf("version %d handed out twice", v)
				}
				seen[v] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if want := uint64(1 + writers*each); d.Committed("k:0") != want {
		t.Fatalf("committed %d, want %d", d.Committed("k:0"), want)
	}
}

func TestReplicaLagServesPreviousUnlessPrimary(t *testing.T) {
	d := open(t, Config{Keyspace: "user", Rows: 1, ReplicaLag: time.Hour})
	ctx := context.Background()
	if _, err := d.Write(ctx, "user:0", []byte("new")); err != nil {
		t.Fatal(err)
	}
	v, err := d.LoadHinted(ctx, "user:0", tiercache.Hints{})
	if ver, _ := VersionOf(v); err != nil || ver != 1 {
		t.Fatalf("replica read %q, %v: want the previous version 1", v, err)
	}
	v, err = d.LoadHinted(ctx, "user:0", tiercache.Hints{MinVersion: 7, PreferPrimary: true})
	if ver, _ := VersionOf(v); err != nil || ver != 2 {
		t.Fatalf("primary read %q, %v: want version 2", v, err)
	}
	if st := d.Stats(); st.Reads != 2 || st.PrimaryReads != 1 || st.ReplicaStale != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestLoadHonoursContextDuringLatency(t *testing.T) {
	d := open(t, Config{Keyspace: "user", Rows: 1, ReadLatency: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Load(ctx, "user:0"); !errors.Is(err, context.Canceled) {
		t.Fatalf("load = %v, want context.Canceled", err)
	}
	if st := d.Stats(); st.Reads != 0 {
		t.Fatalf("a cancelled load counted as a query: %+v", st)
	}
}

func TestCloseRemovesItsFolderOnly(t *testing.T) {
	d, err := Open(Config{Rows: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := d.Dir()
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("temp folder %s still there: %v", dir, err)
	}
	if _, err := d.Load(context.Background(), "row:0"); err == nil {
		t.Fatal("load after close succeeded")
	}
	given := t.TempDir()
	d2, err := Open(Config{Dir: given})
	if err != nil {
		t.Fatal(err)
	}
	_ = d2.Close()
	if _, err := os.Stat(given); err != nil {
		t.Fatalf("a given folder was removed: %v", err)
	}
}

func TestBadInputs(t *testing.T) {
	for _, cfg := range []Config{{Rows: -1}, {ReadLatency: -1}, {PayloadBytes: -2}, {MaxConns: -1}, {Keyspace: strings.Repeat("k", 65)}} {
		if _, err := Open(cfg); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: %v, want ErrInvalidConfig", cfg, err)
		}
	}
	d := open(t, Config{})
	for _, key := range []string{"", strings.Repeat("k", MaxKeyBytes+1)} {
		if _, err := d.Load(context.Background(), key); !errors.Is(err, ErrBadKey) {
			t.Errorf("load %d-byte key: %v", len(key), err)
		}
		if _, err := d.Write(context.Background(), key, nil); !errors.Is(err, ErrBadKey) {
			t.Errorf("write %d-byte key: %v", len(key), err)
		}
	}
	for _, v := range []string{"", "x1|k|", "v|k|", "vx|k|", "v12"} {
		if _, ok := VersionOf([]byte(v)); ok {
			t.Errorf("VersionOf(%q) accepted", v)
		}
	}
}

func TestCommitStaleFor(t *testing.T) {
	d := open(t, Config{Keyspace: "user", Rows: 1})
	ctx := context.Background()
	if c := d.CommitOf("user:0"); c.Version != 1 || c.StaleFor(1, time.Now()) != 0 {
		t.Fatalf("seeded commit %+v", c)
	}
	for range 2 {
		if _, err := d.Write(ctx, "user:0", []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	c := d.CommitOf("user:0")
	if c.Version != 3 || c.At.Before(c.PrevAt) || c.PrevAt.IsZero() {
		t.Fatalf("commit %+v", c)
	}
	later := c.At.Add(time.Second)
	if got := c.StaleFor(3, later); got != 0 {
		t.Fatalf("latest version stale for %v", got)
	}
	if got := c.StaleFor(2, later); got != time.Second {
		t.Fatalf("version 2 stale for %v, want 1s (since version 3 was committed)", got)
	}
	if got := c.StaleFor(1, later); got != later.Sub(c.PrevAt) {
		t.Fatalf("version 1 stale for %v, want since version 2 was committed", got)
	}
}
