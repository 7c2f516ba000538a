package l2

import (
	"crypto/subtle"
	"strconv"
	"time"
)

// Connection commands: they change or report this connection's state and
// always run where they arrive.

// serverVersion is the Redis version whose protocol and replies the node
// follows; clients gate features on it.
const serverVersion = "7.0.15"

func init() {
	registerCommand(command{name: "ping", arity: -1, flags: flagFast, handler: cmdPing})
	registerCommand(command{name: "echo", arity: 2, flags: flagFast, handler: cmdEcho})
	registerCommand(command{name: "hello", arity: -1, flags: flagNoAuth | flagFast, handler: cmdHello})
	registerCommand(command{name: "auth", arity: -2, flags: flagNoAuth | flagFast, handler: cmdAuth})
	registerCommand(command{name: "select", arity: 2, flags: flagFast, handler: cmdSelect})
	registerCommand(command{name: "quit", arity: -1, flags: flagNoAuth | flagFast, handler: cmdQuit})
	registerCommand(command{name: "client", arity: -2, handler: cmdClient})
}

func cmdPing(c *conn, args [][]byte) {
	switch len(args) {
	case 1:
		c.out = append(c.out, "+PONG\r\n"...)
	case 2:
		c.writeBulk(args[1])
	default:
		c.writeError(arityError("ping"))
	}
}

func cmdEcho(c *conn, args [][]byte) { c.writeBulk(args[1]) }

func cmdQuit(c *conn, _ [][]byte) {
	c.writeOK()
	c.quit = true
}

func cmdSelect(c *conn, args [][]byte) {
	db, ok := parseInt64(args[1])
	switch {
	case !ok:
		c.writeError(errNotInteger)
	case db != 0:
		c.writeError(errDBIndex)
	default:
		c.writeOK()
	}
}

// checkPassword compares in constant time; only the "default" user exists.
func (c *conn) checkPassword(user, pass []byte) bool {
	want := c.node.cfg.RequirePass
	if user != nil && string(user) != "default" {
		return false
	}
	if want == "" {
		return true // the default user has no password: any is accepted
	}
	return subtle.ConstantTimeCompare(pass, []byte(want)) == 1
}

func cmdAuth(c *conn, args [][]byte) {
	var user, pass []byte
	switch len(args) {
	case 2:
		if c.node.cfg.RequirePass == "" {
			c.writeError(errNoPassConfig)
			return
		}
		pass = args[1]
	case 3:
		user, pass = args[1], args[2]
	default:
		c.writeError(errSyntax)
		return
	}
	if !c.checkPassword(user, pass) {
		c.writeError(errWrongPass)
		return
	}
	c.authed = true
	c.writeOK()
}

// cmdHello is HELLO [protover [AUTH user pass] [SETNAME name]].
func cmdHello(c *conn, args [][]byte) {
	proto := c.proto
	if len(args) > 1 {
		v, ok := parseInt64(args[1])
		if !ok {
			c.writeError(errProtoNotInt)
			return
		}
		if v != 2 && v != 3 {
			c.writeError(errNoProto)
			return
		}
		proto = int(v)
	}
	var user, pass, name []byte
	authGiven, nameGiven := false, false
	for i := 2; i < len(args); i++ {
		more := len(args) - i - 1
		switch {
		case eqFold(args[i], "auth") && more >= 2:
			user, pass, authGiven = args[i+1], args[i+2], true
			i += 2
		case eqFold(args[i], "setname") && more >= 1:
			name, nameGiven = args[i+1], true
			i++
		default:
			c.writeError("ERR Syntax error in HELLO option '" + truncate(args[i], 128) + "'")
			return
		}
	}
	if authGiven {
		if !c.checkPassword(user, pass) {
			c.writeError(errWrongPass)
			return
		}
		c.authed = true
	}
	if c.needAuth() {
		c.writeError(errHelloNoAuth)
		return
	}
	if nameGiven {
		if !validClientName(name) {
			c.writeError(errClientName)
			return
		}
		c.name = string(name)
	}
	c.proto = proto
	c.writeMap(7)
	c.writeBulkString("server")
	c.writeBulkString("tiercache")
	c.writeBulkString("version")
	c.writeBulkString(serverVersion)
	c.writeBulkString("proto")
	c.writeInt(int64(proto))
	c.writeBulkString("id")
	c.writeInt(int64(c.id))
	c.writeBulkString("mode")
	c.writeBulkString("standalone")
	c.writeBulkString("role")
	c.writeBulkString("master")
	c.writeBulkString("modules")
	c.writeArray(0)
}

const errClientName = "ERR Client names cannot contain spaces, newlines or special characters."

// validClientName allows printable ASCII without spaces, as Redis does.
func validClientName(name []byte) bool {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func cmdClient(c *conn, args [][]byte) {
	sub := args[1]
	arity := func(n int, name string) bool {
		if len(args) != n {
			c.writeError(arityError("client|" + name))
			return false
		}
		return true
	}
	switch {
	case eqFold(sub, "setname"):
		if !arity(3, "setname") {
			return
		}
		if !validClientName(args[2]) {
			c.writeError(errClientName)
			return
		}
		c.name = string(args[2])
		c.writeOK()
	case eqFold(sub, "getname"):
		if !arity(2, "getname") {
			return
		}
		if c.name == "" {
			c.writeNull()
			return
		}
		c.writeBulkString(c.name)
	case eqFold(sub, "id"):
		if arity(2, "id") {
			c.writeInt(int64(c.id))
		}
	case eqFold(sub, "info"):
		if arity(2, "info") {
			c.writeVerbatim(c.infoLine(nil, "client|info"))
		}
	case eqFold(sub, "setinfo"):
		if !arity(4, "setinfo") {
			return
		}
		if !eqFold(args[2], "lib-name") && !eqFold(args[2], "lib-ver") {
			c.writeError("ERR Unrecognized option '" + truncate(args[2], 128) + "'")
			return
		}
		c.writeOK()
	default:
		c.writeError(unknownSubcommandError(sub, "CLIENT"))
	}
}

// infoLine appends the CLIENT INFO line describing c.
func (c *conn) infoLine(b []byte, cmd string) []byte {
	now := c.node.cfg.Clock.Now()
	b = append(b, "id="...)
	b = strconv.AppendUint(b, c.id, 10)
	b = append(b, " addr="...)
	b = append(b, c.addr...)
	b = append(b, " laddr="...)
	b = append(b, c.laddr...)
	b = append(b, " fd=-1 name="...)
	b = append(b, c.name...)
	b = append(b, " age="...)
	b = strconv.AppendInt(b, int64(now.Sub(c.born)/time.Second), 10)
	b = append(b, " idle=0 flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 qbuf="...)
	b = strconv.AppendInt(b, int64(c.rd.buffered()), 10)
	b = append(b, " qbuf-free="...)
	b = strconv.AppendInt(b, int64(len(c.rd.buf)-c.rd.end), 10)
	b = append(b, " obl="...)
	b = strconv.AppendInt(b, int64(len(c.out)), 10)
	b = append(b, " oll=0 omem=0 events=r cmd="...)
	b = append(b, cmd...)
	b = append(b, " user=default redir=-1 resp="...)
	b = strconv.AppendInt(b, int64(c.proto), 10)
	return append(b, '\n')
}
