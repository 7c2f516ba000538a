package l2

import (
	"path"
	"strconv"
	"strings"

	"github.com/tiercache/tiercache/l2/store"
)

// Server commands: introspection (COMMAND, CONFIG GET) and region-wide
// DBSIZE and FLUSHALL. INFO is in info.go.

func init() {
	registerCommand(command{name: "command", arity: -1, handler: cmdCommand})
	registerCommand(command{name: "config", arity: -2, flags: flagAdmin, handler: cmdConfig})
	registerCommand(command{name: "dbsize", arity: 1, flags: flagReadOnly | flagFast,
		route: routeAll, merge: mergeSum, handler: cmdDBSize})
	registerCommand(command{name: "flushall", arity: -1, flags: flagWrite,
		route: routeAll, merge: mergeOK, handler: cmdFlushAll})
}

func cmdDBSize(c *conn, _ [][]byte) { c.writeInt(int64(c.node.store.Len())) }

func cmdFlushAll(c *conn, args [][]byte) {
	if len(args) > 2 || (len(args) == 2 && !eqFold(args[1], "sync") && !eqFold(args[1], "async")) {
		c.writeError(errSyntax)
		return
	}
	c.node.store.Flush()
	c.writeOK()
}

// cmdCommand answers COMMAND, COUNT, INFO, LIST and DOCS: enough for
// redis-cli's hints and clients that inspect key positions.
func cmdCommand(c *conn, args [][]byte) {
	if len(args) == 1 {
		cmds := visibleCommands()
		c.writeArray(len(cmds))
		for _, cmd := range cmds {
			c.writeCommandInfo(cmd)
		}
		return
	}
	sub := args[1]
	switch {
	case eqFold(sub, "count"):
		if len(args) != 2 {
			c.writeError(arityError("command|count"))
			return
		}
		c.writeInt(int64(len(visibleCommands())))
	case eqFold(sub, "list"):
		cmds := visibleCommands()
		c.writeArray(len(cmds))
		for _, cmd := range cmds {
			c.writeBulkString(cmd.name)
		}
	case eqFold(sub, "info"):
		c.writeArray(len(args) - 2)
		for _, name := range args[2:] {
			if cmd := lookupCommand(name); cmd != nil && cmd.flags&flagInternal == 0 {
				c.writeCommandInfo(cmd)
			} else {
				c.writeNullArray()
			}
		}
	case eqFold(sub, "docs"):
		c.writeMap(0) // no docs: redis-cli then simply shows no hints
	default:
		c.writeError(unknownSubcommandError(sub, "COMMAND"))
	}
}

// visibleCommands is the table without internal commands, by name.
func visibleCommands() []*command {
	all := sortedCommands()
	out := all[:0]
	for _, cmd := range all {
		if cmd.flags&flagInternal == 0 {
			out = append(out, cmd)
		}
	}
	return out
}

// writeNullArray writes a missing array: *-1 in RESP2, _ in RESP3.
func (c *conn) writeNullArray() {
	if c.proto == 3 {
		c.out = append(c.out, "_\r\n"...)
		return
	}
	c.out = append(c.out, "*-1\r\n"...)
}

// writeCommandInfo writes Redis 7's ten-element command description.
func (c *conn) writeCommandInfo(cmd *command) {
	c.writeArray(10)
	c.writeBulkString(cmd.name)
	c.writeInt(int64(cmd.arity))
	var flags []string
	for _, f := range []struct {
		bit  cmdFlags
		name string
	}{{flagWrite, "write"}, {flagReadOnly, "readonly"}, {flagAdmin, "admin"}, {flagNoAuth, "no-auth"}, {flagFast, "fast"}} {
		if cmd.flags&f.bit != 0 {
			flags = append(flags, f.name)
		}
	}
	c.writeArray(len(flags))
	for _, f := range flags {
		c.writeSimple(f)
	}
	c.writeInt(int64(cmd.firstKey))
	c.writeInt(int64(cmd.lastKey))
	c.writeInt(int64(cmd.keyStep))
	c.writeArray(0) // ACL categories
	c.writeArray(0) // tips
	c.writeArray(0) // key specs
	c.writeArray(0) // subcommands
}

// configParams are the settings CONFIG GET reports, in a fixed order.
func (n *Node) configParams() [][2]string {
	l := n.cfg.Limits
	policy := string(n.cfg.Eviction)
	if policy == "" {
		policy = "s3fifo"
	}
	itoa := strconv.Itoa
	return [][2]string{
		{"maxmemory", strconv.FormatInt(n.maxMemory(), 10)},
		{"maxmemory-policy", policy},
		{"maxclients", itoa(l.MaxClients)},
		{"proto-max-bulk-len", itoa(l.MaxValueBytes)},
		{"client-query-buffer-limit", itoa(l.MaxQueryBufferBytes)},
		{"max-key-bytes", itoa(l.MaxKeyBytes)},
		{"max-value-bytes", itoa(l.MaxValueBytes)},
		{"max-args", itoa(l.MaxArgs)},
		{"max-inline-bytes", itoa(l.MaxInlineBytes)},
		{"max-in-flight", itoa(n.cfg.MaxInFlight)},
		{"databases", "1"},
		{"save", ""},
		{"appendonly", "no"},
	}
}

func (n *Node) maxMemory() int64 {
	var st store.Stats
	n.store.UpdateStats(&st)
	return st.MaxBytes
}

func cmdConfig(c *conn, args [][]byte) {
	sub := args[1]
	if !eqFold(sub, "get") {
		if eqFold(sub, "set") || eqFold(sub, "resetstat") || eqFold(sub, "rewrite") {
			c.writeError("ERR CONFIG " + strings.ToUpper(string(sub)) + " is not supported: the node is configured at start")
			return
		}
		c.writeError(unknownSubcommandError(sub, "CONFIG"))
		return
	}
	if len(args) < 3 {
		c.writeError(arityError("config|get"))
		return
	}
	params := c.node.configParams()
	var hits [][2]string
	for _, p := range params {
		for _, pat := range args[2:] {
			if ok, err := path.Match(strings.ToLower(string(pat)), p[0]); ok && err == nil {
				hits = append(hits, p)
				break
			}
		}
	}
	c.writeMap(len(hits))
	for _, p := range hits {
		c.writeBulkString(p[0])
		c.writeBulkString(p[1])
	}
}
