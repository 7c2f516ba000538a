package l2

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestStringCommands drives every string and key command through go-redis
// in both protocol versions, checking values and Redis's error texts.
func TestStringCommands(t *testing.T) {
	for _, proto := range []int{2, 3} {
		t.Run("resp"+itoa(proto), func(t *testing.T) {
			n, _ := fakeNode(t, nil)
			rc := newClient(t, n.Addr(), func(o *redis.Options) { o.Protocol = proto })
			ctx := ctxT(t)
			wantErr := func(err error, text string) {
				t.Helper()
				if err == nil || err.Error() != text {
					t.Fatalf("error %v, want %q", err, text)
				}
			}
			must := func(err error) {
				t.Helper()
				if err != nil {
					t.Fatal(err)
				}
			}

			if v, err := rc.Ping(ctx).Result(); err != nil || v != "PONG" {
				t.Fatalf("PING: %q %v", v, err)
			}
			if v, err := rc.Echo(ctx, "hi").Result(); err != nil || v != "hi" {
				t.Fatalf("ECHO: %q %v", v, err)
			}
			if _, err := rc.Get(ctx, "missing").Result(); !errors.Is(err, redis.Nil) {
				t.Fatalf("GET missing: %v", err)
			}
			must(rc.Set(ctx, "k", "v1", 0).Err())
			if v, _ := rc.Get(ctx, "k").Result(); v != "v1" {
				t.Fatalf("GET: %q", v)
			}
			// NX on an existing key does nothing; XX on a missing one neither.
			if ok, _ := rc.SetNX(ctx, "k", "v2", 0).Result(); ok {
				t.Fatal("SETNX overwrote")
			}
			if ok, _ := rc.SetXX(ctx, "nokey", "v", 0).Result(); ok {
				t.Fatal("SET XX created")
			}
			if v, err := rc.SetArgs(ctx, "k", "v3", redis.SetArgs{Get: true}).Result(); err != nil || v != "v1" {
				t.Fatalf("SET GET: %q %v", v, err)
			}
			if v, err := rc.Do(ctx, "set", "k", "v4", "nx", "get").Text(); err != nil || v != "v3" {
				t.Fatalf("SET NX GET: %q %v", v, err)
			}
			wantErr(rc.Do(ctx, "set", "k", "v", "nx", "xx").Err(), "ERR syntax error")
			wantErr(rc.Do(ctx, "set", "k", "v", "ex").Err(), "ERR syntax error")
			wantErr(rc.Do(ctx, "set", "k", "v", "ex", "10", "px", "10").Err(), "ERR syntax error")
			wantErr(rc.Do(ctx, "set", "k", "v", "keepttl", "ex", "10").Err(), "ERR syntax error")
			wantErr(rc.Do(ctx, "set", "k", "v", "ex", "0").Err(), "ERR invalid expire time in 'set' command")
			wantErr(rc.Do(ctx, "set", "k", "v", "ex", "9999999999999999").Err(), "ERR invalid expire time in 'set' command")
			wantErr(rc.Do(ctx, "set", "k", "v", "ex", "abc").Err(), "ERR value is not an integer or out of range")
			wantErr(rc.Do(ctx, "get").Err(), "ERR wrong number of arguments for 'get' command")
			wantErr(rc.Do(ctx, "mset", "a", "1", "b").Err(), "ERR wrong number of arguments for 'mset' command")

			if ok, _ := rc.SetNX(ctx, "fresh", "x", 0).Result(); !ok {
				t.Fatal("SETNX on a missing key failed")
			}
			if v, _ := rc.GetDel(ctx, "fresh").Result(); v != "x" {
				t.Fatalf("GETDEL: %q", v)
			}
			if n, _ := rc.Exists(ctx, "fresh").Result(); n != 0 {
				t.Fatal("GETDEL left the key")
			}

			must(rc.MSet(ctx, "a", "1", "b", "2").Err())
			vals, err := rc.MGet(ctx, "a", "nokey", "b").Result()
			if err != nil || len(vals) != 3 || vals[0] != "1" || vals[1] != nil || vals[2] != "2" {
				t.Fatalf("MGET: %v %v", vals, err)
			}
			if n, _ := rc.Exists(ctx, "a", "b", "a", "nokey").Result(); n != 3 {
				t.Fatalf("EXISTS counted %d", n)
			}
			if n, _ := rc.Del(ctx, "a", "nokey").Result(); n != 1 {
				t.Fatalf("DEL removed %d", n)
			}
			if n, _ := rc.Unlink(ctx, "b").Result(); n != 1 {
				t.Fatalf("UNLINK removed %d", n)
			}
			if v, _ := rc.Type(ctx, "k").Result(); v != "string" {
				t.Fatalf("TYPE: %q", v)
			}

			if v, _ := rc.Incr(ctx, "ctr").Result(); v != 1 {
				t.Fatalf("INCR: %d", v)
			}
			if v, _ := rc.IncrBy(ctx, "ctr", 41).Result(); v != 42 {
				t.Fatalf("INCRBY: %d", v)
			}
			if v, _ := rc.Decr(ctx, "ctr").Result(); v != 41 {
				t.Fatalf("DECR: %d", v)
			}
			if v, _ := rc.DecrBy(ctx, "ctr", 50).Result(); v != -9 {
				t.Fatalf("DECRBY: %d", v)
			}
			wantErr(rc.Incr(ctx, "k").Err(), "ERR value is not an integer or out of range")
			wantErr(rc.Do(ctx, "incrby", "ctr", "1.5").Err(), "ERR value is not an integer or out of range")
			must(rc.Set(ctx, "big", "9223372036854775807", 0).Err())
			wantErr(rc.Incr(ctx, "big").Err(), "ERR increment or decrement would overflow")
			wantErr(rc.Do(ctx, "decrby", "big", "-9223372036854775808").Err(), "ERR decrement would overflow")
			must(rc.Set(ctx, "lead0", "007", 0).Err())
			wantErr(rc.Incr(ctx, "lead0").Err(), "ERR value is not an integer or out of range")

			if v, _ := rc.DBSize(ctx).Result(); v < 4 {
				t.Fatalf("DBSIZE %d", v)
			}
			must(rc.FlushAll(ctx).Err())
			if v, _ := rc.DBSize(ctx).Result(); v != 0 {
				t.Fatalf("DBSIZE after FLUSHALL: %d", v)
			}
			wantErr(rc.Do(ctx, "flushall", "now").Err(), "ERR syntax error")
		})
	}
}

// TestTTLCommands moves a fake clock instead of sleeping.
func TestTTLCommands(t *testing.T) {
	n, fake := fakeNode(t, nil)
	rc := newClient(t, n.Addr(), nil)
	ctx := ctxT(t)
	nowSec := testEpoch.Unix()

	rc.Set(ctx, "k", "v", 10*time.Second)
	if d, _ := rc.TTL(ctx, "k").Result(); d != 10*time.Second {
		t.Fatalf("TTL %v", d)
	}
	fake.Advance(2500 * time.Millisecond)
	if d, _ := rc.PTTL(ctx, "k").Result(); d != 7500*time.Millisecond {
		t.Fatalf("PTTL %v", d)
	}
	if d, _ := rc.TTL(ctx, "k").Result(); d != 8*time.Second { // 7.5 s rounds to 8, as in Redis
		t.Fatalf("TTL rounding: %v", d)
	}
	if v, _ := rc.Do(ctx, "expiretime", "k").Int64(); v != nowSec+10 {
		t.Fatalf("EXPIRETIME %d, want %d", v, nowSec+10)
	}
	fake.Advance(7500 * time.Millisecond)
	if _, err := rc.Get(ctx, "k").Result(); err != redis.Nil {
		t.Fatalf("GET after expiry: %v", err)
	}
	if d, _ := rc.Do(ctx, "ttl", "k").Int64(); d != -2 {
		t.Fatalf("TTL of expired key %d", d)
	}

	rc.Set(ctx, "p", "v", 0)
	if d, _ := rc.Do(ctx, "ttl", "p").Int64(); d != -1 {
		t.Fatalf("TTL without expiry %d", d)
	}
	if v, _ := rc.Do(ctx, "expiretime", "p").Int64(); v != -1 {
		t.Fatalf("EXPIRETIME without expiry %d", v)
	}
	// EXPIRE's conditions: XX needs an expiry, NX needs none, GT and LT compare.
	steps := []struct {
		args []any
		want int64
	}{
		{[]any{"expire", "p", 100, "xx"}, 0},
		{[]any{"expire", "p", 100, "gt"}, 0},
		{[]any{"expire", "p", 100, "nx"}, 1},
		{[]any{"expire", "p", 200, "nx"}, 0},
		{[]any{"expire", "p", 50, "gt"}, 0},
		{[]any{"expire", "p", 200, "gt"}, 1},
		{[]any{"pexpire", "p", 150000, "lt"}, 1},
		{[]any{"expire", "nokey", 10}, 0},
		{[]any{"persist", "p"}, 1},
		{[]any{"persist", "p"}, 0},
		{[]any{"pexpireat", "p", fake.Now().UnixMilli() + 3000}, 1},
	}
	for _, s := range steps {
		got, err := rc.Do(ctx, s.args...).Int64()
		if err != nil || got != s.want {
			t.Fatalf("%v = %d %v, want %d", s.args, got, err, s.want)
		}
	}
	if d, _ := rc.PTTL(ctx, "p").Result(); d != 3*time.Second {
		t.Fatalf("PTTL after PEXPIREAT %v", d)
	}
	if err := rc.Do(ctx, "expire", "p", 1, "nx", "xx").Err(); err == nil || err.Error() != "ERR NX and XX, GT or LT options at the same time are not compatible" {
		t.Fatalf("NX XX: %v", err)
	}
	if err := rc.Do(ctx, "expire", "p", 1, "gt", "lt").Err(); err == nil || err.Error() != "ERR GT and LT options at the same time are not compatible" {
		t.Fatalf("GT LT: %v", err)
	}
	// An expiry in the past deletes at once and counts as a change.
	if v, _ := rc.Do(ctx, "expireat", "p", fake.Now().Unix()-1).Int64(); v != 1 {
		t.Fatal("EXPIREAT in the past did not report a change")
	}
	if n, _ := rc.Exists(ctx, "p").Result(); n != 0 {
		t.Fatal("EXPIREAT in the past kept the key")
	}

	// SETEX, PSETEX, KEEPTTL, GETEX.
	rc.Do(ctx, "setex", "s", 5, "v")
	rc.Do(ctx, "psetex", "ps", 1500, "v")
	if d, _ := rc.PTTL(ctx, "ps").Result(); d != 1500*time.Millisecond {
		t.Fatalf("PSETEX ttl %v", d)
	}
	if err := rc.Do(ctx, "setex", "s", 0, "v").Err(); err == nil || err.Error() != "ERR invalid expire time in 'setex' command" {
		t.Fatalf("SETEX 0: %v", err)
	}
	rc.Do(ctx, "set", "s", "v2", "keepttl")
	if d, _ := rc.TTL(ctx, "s").Result(); d != 5*time.Second {
		t.Fatalf("KEEPTTL lost the ttl: %v", d)
	}
	rc.Do(ctx, "set", "s", "v3")
	if d, _ := rc.Do(ctx, "ttl", "s").Int64(); d != -1 {
		t.Fatalf("plain SET kept the ttl: %d", d)
	}
	if v, _ := rc.GetEx(ctx, "s", 30*time.Second).Result(); v != "v3" {
		t.Fatalf("GETEX %q", v)
	}
	if d, _ := rc.TTL(ctx, "s").Result(); d != 30*time.Second {
		t.Fatalf("GETEX EX ttl %v", d)
	}
	if v, _ := rc.Do(ctx, "getex", "s", "persist").Text(); v != "v3" {
		t.Fatalf("GETEX PERSIST %q", v)
	}
	if d, _ := rc.Do(ctx, "ttl", "s").Int64(); d != -1 {
		t.Fatalf("GETEX PERSIST ttl %d", d)
	}
	if err := rc.Do(ctx, "getex", "s", "persist", "ex", "1").Err(); err == nil || err.Error() != "ERR syntax error" {
		t.Fatalf("GETEX two options: %v", err)
	}
	if err := rc.Do(ctx, "getex", "s", "ex", "0").Err(); err == nil || err.Error() != "ERR invalid expire time in 'getex' command" {
		t.Fatalf("GETEX EX 0: %v", err)
	}
	// INCR keeps the ttl, as Redis does.
	rc.Set(ctx, "c", "1", time.Minute)
	rc.Incr(ctx, "c")
	if d, _ := rc.TTL(ctx, "c").Result(); d != time.Minute {
		t.Fatalf("INCR lost the ttl: %v", d)
	}
}

// TestVersionsStampEveryWrite checks that writes carry increasing versions
// from the node's hybrid logical clock, which the tier client relies on.
func TestVersionsStampEveryWrite(t *testing.T) {
	n, fake := fakeNode(t, func(c *Config) { c.RegionID = 5 })
	rc := newClient(t, n.Addr(), nil)
	ctx := ctxT(t)
	var last uint64
	for i, cmd := range [][]any{
		{"set", "k", "a"}, {"set", "k", "b"}, {"incr", "n"}, {"incr", "n"}, {"expire", "k", 100},
		{"set", "k", "c", "xx"}, {"mset", "k", "d"}, {"setex", "k", 5, "e"}, {"persist", "k"},
	} {
		if err := rc.Do(ctx, cmd...).Err(); err != nil {
			t.Fatalf("%v: %v", cmd, err)
		}
		key := []byte(cmd[1].(string))
		it, ok := n.store.Peek(key)
		if !ok {
			t.Fatalf("%v: key missing", cmd)
		}
		if it.Version <= last || it.Version&0xf != 5 {
			t.Fatalf("step %d %v: version %x not after %x or wrong region", i, cmd, it.Version, last)
		}
		last = it.Version
		if i == 3 {
			fake.Advance(time.Millisecond)
		}
	}
}

func TestConnectionCommands(t *testing.T) {
	n, _ := fakeNode(t, nil)
	ctx := ctxT(t)
	rc := newClient(t, n.Addr(), func(o *redis.Options) { o.PoolSize = 1 })
	if err := rc.Do(ctx, "select", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rc.Do(ctx, "select", "1").Err(); err == nil || err.Error() != "ERR DB index is out of range" {
		t.Fatalf("SELECT 1: %v", err)
	}
	if err := rc.Do(ctx, "client", "setname", "worker-1").Err(); err != nil {
		t.Fatal(err)
	}
	if v, _ := rc.Do(ctx, "client", "getname").Text(); v != "worker-1" {
		t.Fatalf("GETNAME %q", v)
	}
	if err := rc.Do(ctx, "client", "setname", "a b").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR Client names cannot contain spaces") {
		t.Fatalf("bad name: %v", err)
	}
	id, err := rc.Do(ctx, "client", "id").Int64()
	if err != nil || id <= 0 {
		t.Fatalf("CLIENT ID %d %v", id, err)
	}
	info, err := rc.Do(ctx, "client", "info").Text()
	if err != nil || !strings.Contains(info, "id="+itoa(int(id))+" ") || !strings.Contains(info, "name=worker-1") || !strings.Contains(info, "resp=3") {
		t.Fatalf("CLIENT INFO %q %v", info, err)
	}
	if err := rc.Do(ctx, "client", "nope").Err(); err == nil || err.Error() != "ERR unknown subcommand 'nope'. Try CLIENT HELP." {
		t.Fatalf("CLIENT nope: %v", err)
	}
	if err := rc.Do(ctx, "client", "getname", "x").Err(); err == nil || err.Error() != "ERR wrong number of arguments for 'client|getname' command" {
		t.Fatalf("CLIENT GETNAME x: %v", err)
	}
	hello, err := rc.Do(ctx, "hello", "3").Result()
	m, ok := hello.(map[any]any)
	if err != nil || !ok || m["proto"] != int64(3) || m["version"] != serverVersion || m["id"] != id {
		t.Fatalf("HELLO 3: %#v %v", hello, err)
	}
	if err := rc.Do(ctx, "hello", "4").Err(); err == nil || err.Error() != "NOPROTO unsupported protocol version" {
		t.Fatalf("HELLO 4: %v", err)
	}
	if err := rc.Do(ctx, "hello", "x").Err(); err == nil || err.Error() != "ERR Protocol version is not an integer or out of range" {
		t.Fatalf("HELLO x: %v", err)
	}
	if err := rc.Do(ctx, "auth", "pw").Err(); err == nil || !strings.HasPrefix(err.Error(), "ERR AUTH <password> called without any password configured") {
		t.Fatalf("AUTH without a password set: %v", err)
	}
	if err := rc.Do(ctx, "foo", "bar", "baz").Err(); err == nil || err.Error() != "ERR unknown command 'foo', with args beginning with: 'bar' 'baz' " {
		t.Fatalf("unknown command: %v", err)
	}
}

func TestServerCommands(t *testing.T) {
	n, _ := fakeNode(t, func(c *Config) { c.MaxMemory = 64 << 20 })
	rc := newClient(t, n.Addr(), nil)
	ctx := ctxT(t)
	rc.Set(ctx, "a", "1", 0)
	info, err := rc.Info(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"# Server", "redis_version:" + serverVersion, "# Clients", "connected_clients:1",
		"# Memory", "maxmemory:67108864", "# Stats", "total_commands_processed:", "# Keyspace", "db0:keys=1,"} {
		if !strings.Contains(info, want) {
			t.Errorf("INFO lacks %q:\n%s", want, info)
		}
	}
	if ks, _ := rc.Info(ctx, "keyspace").Result(); strings.Contains(ks, "# Server") || !strings.Contains(ks, "db0:keys=1") {
		t.Errorf("INFO keyspace: %q", ks)
	}
	cfg, err := rc.ConfigGet(ctx, "max*").Result()
	if err != nil || cfg["maxmemory"] != "67108864" || cfg["maxclients"] != "10000" || cfg["max-key-bytes"] != "1024" {
		t.Fatalf("CONFIG GET max*: %v %v", cfg, err)
	}
	if cfg, _ := rc.ConfigGet(ctx, "save").Result(); len(cfg) != 1 || cfg["save"] != "" {
		t.Fatalf("CONFIG GET save: %v", cfg)
	}
	count, err := rc.Do(ctx, "command", "count").Int64()
	if err != nil || count < 30 {
		t.Fatalf("COMMAND COUNT %d %v", count, err)
	}
	all, err := rc.Do(ctx, "command").Slice()
	if err != nil || int64(len(all)) != count {
		t.Fatalf("COMMAND returned %d entries, COUNT %d: %v", len(all), count, err)
	}
	infos, err := rc.Do(ctx, "command", "info", "get", "nosuch").Slice()
	if err != nil || len(infos) != 2 || infos[1] != nil {
		t.Fatalf("COMMAND INFO: %#v %v", infos, err)
	}
	get := infos[0].([]any)
	if get[0] != "get" || get[1] != int64(2) || get[3] != int64(1) {
		t.Fatalf("COMMAND INFO get: %#v", get)
	}
	stats := n.Stats()
	if stats.PerCommand["set"] != 1 || stats.PerCommand["info"] != 2 || stats.Commands < 5 {
		t.Fatalf("stats: %+v", stats)
	}
}

// TestEntryTooLargeForMemory: a value the store can never hold is refused
// with an OOM error, and the connection goes on.
func TestEntryTooLargeForMemory(t *testing.T) {
	n, _ := fakeNode(t, func(c *Config) { c.MaxMemory = 1 << 20 })
	r := dialRaw(t, n.Addr())
	r.send(resp("set", "k", strings.Repeat("v", 1<<20)) + resp("set", "k", "small") + resp("get", "k"))
	for _, want := range []string{"-" + errOOM + "\r\n", "+OK\r\n", "$5\r\nsmall\r\n"} {
		if got := r.reply(); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
