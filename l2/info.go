package l2

import (
	"os"
	"runtime"
	"strconv"

	"github.com/tiercache/tiercache/l2/store"
)

// INFO reports this node (not the region) in Redis's "# Section" /
// "field:value" text, with the field names tools look for.

func init() {
	registerCommand(command{name: "info", arity: -1, handler: cmdInfo})
}

var infoSections = []struct {
	name  string
	write func(n *Node, b []byte, st *store.Stats) []byte
}{
	{"server", infoServer},
	{"clients", infoClients},
	{"memory", infoMemory},
	{"stats", infoStats},
	{"keyspace", infoKeyspace},
}

func cmdInfo(c *conn, args [][]byte) {
	all := len(args) == 1
	for _, a := range args[1:] {
		if eqFold(a, "all") || eqFold(a, "everything") || eqFold(a, "default") {
			all = true
		}
	}
	var st store.Stats
	c.node.store.UpdateStats(&st)
	var b []byte
	for _, s := range infoSections {
		want := all
		for _, a := range args[1:] {
			want = want || eqFold(a, s.name)
		}
		if !want {
			continue
		}
		if len(b) > 0 {
			b = append(b, "\r\n"...)
		}
		b = s.write(c.node, b, &st)
	}
	c.writeVerbatim(b)
}

func field(b []byte, name string, v int64) []byte {
	b = append(b, name...)
	b = append(b, ':')
	b = strconv.AppendInt(b, v, 10)
	return append(b, "\r\n"...)
}

func fieldString(b []byte, name, v string) []byte {
	b = append(b, name...)
	b = append(b, ':')
	b = append(b, v...)
	return append(b, "\r\n"...)
}

func infoServer(n *Node, b []byte, _ *store.Stats) []byte {
	b = append(b, "# Server\r\n"...)
	b = fieldString(b, "redis_version", serverVersion)
	b = fieldString(b, "redis_mode", "standalone")
	b = fieldString(b, "tiercache_node_id", n.cfg.ID)
	b = field(b, "tiercache_region_id", int64(n.cfg.RegionID))
	b = field(b, "tiercache_region_nodes", int64(len(n.routing.Load().peers)+1))
	b = fieldString(b, "os", runtime.GOOS+" "+runtime.GOARCH)
	b = fieldString(b, "go_version", runtime.Version())
	b = field(b, "process_id", int64(os.Getpid()))
	b = fieldString(b, "tcp_addr", n.Addr())
	up := n.cfg.Clock.Now().Sub(n.started)
	b = field(b, "uptime_in_seconds", int64(up.Seconds()))
	b = field(b, "uptime_in_days", int64(up.Hours()/24))
	return b
}

func infoClients(n *Node, b []byte, _ *store.Stats) []byte {
	b = append(b, "# Clients\r\n"...)
	b = field(b, "connected_clients", n.clients.Load())
	b = field(b, "maxclients", int64(n.cfg.Limits.MaxClients))
	b = field(b, "blocked_clients", 0)
	b = field(b, "in_flight_commands", n.inflight.Load())
	b = field(b, "max_in_flight", int64(n.cfg.MaxInFlight))
	return b
}

func infoMemory(n *Node, b []byte, st *store.Stats) []byte {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b = append(b, "# Memory\r\n"...)
	b = field(b, "used_memory", st.Bytes)
	b = fieldString(b, "used_memory_human", humanBytes(st.Bytes))
	b = field(b, "maxmemory", st.MaxBytes)
	b = fieldString(b, "maxmemory_human", humanBytes(st.MaxBytes))
	policy := string(n.cfg.Eviction)
	if policy == "" {
		policy = "s3fifo"
	}
	b = fieldString(b, "maxmemory_policy", policy)
	b = field(b, "go_heap_alloc", int64(ms.HeapAlloc))
	b = field(b, "go_sys", int64(ms.Sys))
	return b
}

func infoStats(n *Node, b []byte, st *store.Stats) []byte {
	s := &n.stats
	act := n.activity()
	b = append(b, "# Stats\r\n"...)
	b = field(b, "total_connections_received", int64(s.accepted.Load()))
	b = field(b, "total_commands_processed", int64(act.commands.Load()))
	b = field(b, "rejected_connections", int64(s.rejected.Load()))
	b = field(b, "expired_keys", st.Expired)
	b = field(b, "evicted_keys", st.Evictions)
	b = field(b, "keyspace_hits", st.Hits)
	b = field(b, "keyspace_misses", st.Misses)
	b = field(b, "forwarded_commands", int64(act.forwarded.Load()))
	b = field(b, "forwarded_in_commands", int64(act.forwardedIn.Load()))
	b = field(b, "forward_errors", int64(s.forwardErrors.Load()))
	b = field(b, "busy_rejections", int64(s.busy.Load()))
	b = field(b, "protocol_errors", int64(s.protocolErrors.Load()))
	b = field(b, "tombstones", st.Tombstones)
	return b
}

func infoKeyspace(_ *Node, b []byte, st *store.Stats) []byte {
	b = append(b, "# Keyspace\r\n"...)
	if st.Keys == 0 {
		return b
	}
	b = append(b, "db0:keys="...)
	b = strconv.AppendInt(b, st.Keys, 10)
	return append(b, ",expires=0,avg_ttl=0\r\n"...)
}

// humanBytes formats like Redis's *_human fields (1.50M).
func humanBytes(n int64) string {
	const units = "BKMGTP"
	v := float64(n)
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	if i == 0 {
		return strconv.FormatInt(n, 10) + "B"
	}
	return strconv.FormatFloat(v, 'f', 2, 64) + units[i:i+1]
}
