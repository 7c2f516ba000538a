package l2

import (
	"sort"
	"strconv"
)

// The command table maps a lower-case name to its handler and the metadata
// the dispatcher needs: arity, flags and where the keys are (for routing
// and the key-length limit). Each cmd_*.go file registers its commands in
// init; the table is immutable once main starts, so it is shared by every
// Node of the process.

// cmdFlags describe a command to the dispatcher.
type cmdFlags uint16

const (
	// flagNoAuth commands run before AUTH (AUTH, HELLO, QUIT).
	flagNoAuth cmdFlags = 1 << iota
	// flagWrite commands modify the store.
	flagWrite
	// flagReadOnly commands only read the store.
	flagReadOnly
	// flagAdmin commands act on the whole node or region.
	flagAdmin
	// flagFast commands are O(1) (reported by COMMAND).
	flagFast
	// flagInternal commands are for peers; COMMAND does not list them.
	flagInternal
	// flagEpoch commands (the routed TC.* ones) carry the sender's
	// topology epoch right after their key; a sender whose epoch is older
	// than the node's, asking for a key the node does not own, is
	// redirected with TCMOVED instead of forwarded (cluster_moved.go).
	flagEpoch
)

// routeKind says where a command runs in a multi-node region.
type routeKind uint8

const (
	// routeLocal commands run where they arrive (connection and server
	// commands).
	routeLocal routeKind = iota
	// routeKey commands run on the owner of their (single) key.
	routeKey
	// routeSplit commands have several keys; they are split per owner and
	// the parts' replies merged in key order.
	routeSplit
	// routeAll commands run on every node and the replies are merged.
	routeAll
)

// mergeKind says how the replies of a split command are combined.
type mergeKind uint8

const (
	mergeNone  mergeKind = iota
	mergeArray           // one element per key, in key order (MGET)
	mergeSum             // integers added up (DEL, EXISTS, DBSIZE)
	mergeOK              // +OK unless a part failed (MSET, FLUSHALL)
)

// command is one entry of the table.
type command struct {
	name  string // lower case
	arity int    // Redis convention: n exactly n arguments (name included), -n at least n
	flags cmdFlags
	// firstKey, lastKey and keyStep locate the keys among the arguments as
	// COMMAND reports them: lastKey -1 means the last argument; firstKey 0
	// means the command has no keys.
	firstKey, lastKey, keyStep int
	route                      routeKind
	merge                      mergeKind
	handler                    func(c *conn, args [][]byte)
	// arityFn, when set, replaces the arity check (MSET's pairs).
	arityFn func(n int) bool
	id      int // index into per-command counters
}

var (
	commandTable = map[string]*command{}
	commandList  []*command // by id
)

// registerCommand adds cmd to the table. It panics on a duplicate or
// malformed entry: that is a programming error caught by any test run.
func registerCommand(cmd command) {
	if _, dup := commandTable[cmd.name]; dup || cmd.handler == nil || cmd.arity == 0 || cmd.name == "" || len(cmd.name) > maxCommandName {
		panic("l2: bad command registration: " + cmd.name)
	}
	for i := 0; i < len(cmd.name); i++ {
		if c := cmd.name[i]; c >= 'A' && c <= 'Z' {
			panic("l2: command names are lower case: " + cmd.name)
		}
	}
	if cmd.firstKey > 0 && cmd.keyStep == 0 {
		cmd.keyStep = 1
	}
	cmd.id = len(commandList)
	p := &cmd
	commandTable[cmd.name] = p
	commandList = append(commandList, p)
	if len(cmd.name) > 0 {
		bucket := &commandIndex[len(cmd.name)][letterIndex(cmd.name[0])]
		*bucket = append(*bucket, p)
	}
}

// maxCommandName bounds the length of a command name.
const maxCommandName = 32

// commandIndex finds commands by name length and first letter, so the
// per-command lookup compares a couple of short names instead of hashing.
var commandIndex [maxCommandName + 1][27][]*command

func letterIndex(c byte) int {
	c |= 0x20 // ASCII lower case; other bytes land in the last bucket
	if c >= 'a' && c <= 'z' {
		return int(c - 'a')
	}
	return 26
}

// lookupCommand finds name case-insensitively without allocating.
func lookupCommand(name []byte) *command {
	if len(name) == 0 || len(name) > maxCommandName {
		return nil
	}
	for _, cmd := range commandIndex[len(name)][letterIndex(name[0])] {
		if eqFold(name, cmd.name) {
			return cmd
		}
	}
	return nil
}

func (cmd *command) arityOK(n int) bool {
	if cmd.arityFn != nil {
		return cmd.arityFn(n)
	}
	if cmd.arity > 0 {
		return n == cmd.arity
	}
	return n >= -cmd.arity
}

// keyRange returns the argument indexes of cmd's keys in a command of n
// arguments: first, last (inclusive) and step; first is 0 for none.
func (cmd *command) keyRange(n int) (first, last, step int) {
	if cmd.firstKey == 0 || cmd.firstKey >= n {
		return 0, 0, 0
	}
	last = cmd.lastKey
	if last < 0 {
		last = n + last
	}
	return cmd.firstKey, min(last, n-1), cmd.keyStep
}

// sortedCommands returns the table in name order, for COMMAND.
func sortedCommands() []*command {
	cmds := append([]*command(nil), commandList...)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].name < cmds[j].name })
	return cmds
}

// Reply texts shared by several commands (Redis's exact wording).
const (
	errSyntax        = "ERR syntax error"
	errNotInteger    = "ERR value is not an integer or out of range"
	errOverflow      = "ERR increment or decrement would overflow"
	errNoAuth        = "NOAUTH Authentication required."
	errWrongPass     = "WRONGPASS invalid username-password pair or user is disabled."
	errDBIndex       = "ERR DB index is out of range"
	errNoPassConfig  = "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
	errHelloNoAuth   = "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"
	errNoProto       = "NOPROTO unsupported protocol version"
	errProtoNotInt   = "ERR Protocol version is not an integer or out of range"
	errMaxClients    = "ERR max number of clients reached"
	errBusy          = "BUSY node overloaded: too many commands in flight, try again later"
	errNestedForward = "ERR forwarded command cannot be forwarded again"
)

func arityError(name string) string {
	return "ERR wrong number of arguments for '" + name + "' command"
}

func invalidExpireError(name string) string {
	return "ERR invalid expire time in '" + name + "' command"
}

func keyTooLongError(n, limit int) string {
	return "ERR key of " + strconv.Itoa(n) + " bytes is over the limit of " + strconv.Itoa(limit) + " bytes"
}

func unknownSubcommandError(sub []byte, cmd string) string {
	return "ERR unknown subcommand '" + truncate(sub, 128) + "'. Try " + cmd + " HELP."
}

// unknownCommandError matches Redis: the name and the first arguments, each
// quoted, up to about 128 bytes.
func unknownCommandError(args [][]byte) string {
	b := make([]byte, 0, 96)
	b = append(b, "ERR unknown command '"...)
	b = append(b, truncate(args[0], 128)...)
	b = append(b, "', with args beginning with: "...)
	start := len(b)
	for _, a := range args[1:] {
		if len(b)-start >= 128 {
			break
		}
		b = append(b, '\'')
		b = append(b, truncate(a, 128-(len(b)-start))...)
		b = append(b, "' "...)
	}
	return string(b)
}

func truncate(b []byte, n int) string {
	if n < 0 {
		n = 0
	}
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}
