package l2

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/tidwall/redcon"
)

// fwdCommand marks a command forwarded by a peer: "tc.fwd <proto> <cmd>
// <args...>". The receiver runs the inner command itself, whoever its ring
// says owns the key, so a command is never forwarded twice even when two
// nodes' rings disagree.
const fwdCommand = "tc.fwd"

// call is one forwarded command awaiting its reply. A conn owns its calls
// and reuses them; a link signals done exactly once per send.
type call struct {
	done  chan struct{}
	reply []byte // the raw reply, copied out of the link's buffer
	err   error
	sent  time.Time
}

func newCall() *call { return &call{done: make(chan struct{}, 1)} }

// peer is another node of the region, reached over a few pipelined links.
// A client connection always uses the same link of a peer, so its commands
// to one owner arrive in the order it sent them.
type peer struct {
	id, addr string
	links    []*peerLink
}

func newPeer(n *Node, id, addr string) *peer {
	p := &peer{id: id, addr: addr, links: make([]*peerLink, n.cfg.PeerConns)}
	for i := range p.links {
		p.links[i] = &peerLink{node: n, peer: p}
	}
	return p
}

func (p *peer) close() {
	for _, l := range p.links {
		l.close()
	}
}

// peerLink is one connection to a peer, dialled on first use and again
// after it breaks. Senders append encoded commands to wbuf and queue their
// calls in the same order; the link's writer goroutine writes whatever has
// accumulated in one syscall, and its reader goroutine hands each reply to
// the oldest queued call.
type peerLink struct {
	node *Node
	peer *peer

	mu        sync.Mutex // protects everything below
	nc        net.Conn   // nil while down
	kick      chan struct{}
	stop      chan struct{} // closed when nc is torn down
	wbuf      []byte
	queue     []*call
	head      int
	armed     bool // a read deadline is set for the oldest queued call
	downUntil time.Time
	closed    bool
}

// send queues cl's command on the link, dialling first if needed.
func (l *peerLink) send(proto int, args [][]byte, cl *call) error {
	l.mu.Lock()
	if l.nc == nil {
		if err := l.dialLocked(); err != nil {
			l.mu.Unlock()
			return err
		}
	}
	l.wbuf = appendForwarded(l.wbuf, proto, args)
	cl.sent = time.Now()
	cl.err = nil
	l.queue = append(l.queue, cl)
	kick := l.kick
	l.mu.Unlock()
	select {
	case kick <- struct{}{}:
	default: // the writer is already due to run
	}
	return nil
}

// appendForwarded encodes args behind the forwarding marker.
func appendForwarded(b []byte, proto int, args [][]byte) []byte {
	b = redcon.AppendArray(b, len(args)+2)
	b = append(b, "$6\r\n"+fwdCommand+"\r\n$1\r\n"...)
	b = append(b, byte('0'+proto), '\r', '\n')
	for _, a := range args {
		b = redcon.AppendBulk(b, a)
	}
	return b
}

func (l *peerLink) dialLocked() error {
	cfg := &l.node.cfg
	if l.closed {
		return ErrClosed
	}
	if now := time.Now(); now.Before(l.downUntil) {
		return fmt.Errorf("%w: %s (%s) is backing off after a failed dial", ErrPeerUnavailable, l.peer.id, l.peer.addr)
	}
	nc, err := net.DialTimeout("tcp", l.peer.addr, cfg.DialTimeout)
	if err == nil && cfg.PeerPassword != "" {
		err = authenticate(nc, cfg.PeerPassword, cfg.DialTimeout)
		if err != nil {
			nc.Close()
		}
	}
	if err != nil {
		l.downUntil = time.Now().Add(cfg.PeerBackoff)
		cfg.Logger.Warn("l2: peer dial failed", "peer", l.peer.id, "addr", l.peer.addr, "err", err)
		return fmt.Errorf("%w: %s (%s): %w", ErrPeerUnavailable, l.peer.id, l.peer.addr, err)
	}
	kick, stop := make(chan struct{}, 1), make(chan struct{})
	if !l.node.spawn(func() { l.writeLoop(nc, kick, stop) }) {
		nc.Close()
		return ErrClosed
	}
	if !l.node.spawn(func() { l.readLoop(nc) }) {
		close(stop)
		nc.Close()
		return ErrClosed
	}
	l.nc, l.kick, l.stop = nc, kick, stop
	l.node.stats.peerDials.Add(1)
	return nil
}

// authenticate sends AUTH on a fresh connection and checks for +OK.
func authenticate(nc net.Conn, password string, timeout time.Duration) error {
	nc.SetDeadline(time.Now().Add(timeout))
	defer nc.SetDeadline(time.Time{})
	req := redcon.AppendArray(nil, 2)
	req = redcon.AppendBulkString(req, "AUTH")
	req = redcon.AppendBulkString(req, password)
	if _, err := nc.Write(req); err != nil {
		return err
	}
	rd := replyReader{src: nc, maxBulk: 1 << 10, maxCount: 1}
	reply, err := rd.next()
	if err != nil {
		return err
	}
	if string(reply) != "+OK\r\n" {
		return fmt.Errorf("auth refused: %q", trimReply(reply))
	}
	return nil
}

func trimReply(b []byte) string {
	if len(b) > 2 && b[len(b)-1] == '\n' {
		b = b[1 : len(b)-2]
	}
	return string(b)
}

func (l *peerLink) writeLoop(nc net.Conn, kick, stop chan struct{}) {
	var spare []byte
	for {
		select {
		case <-kick:
		case <-stop:
			return
		}
		l.mu.Lock()
		if l.nc != nc {
			l.mu.Unlock()
			return
		}
		if len(l.wbuf) == 0 {
			l.mu.Unlock()
			continue
		}
		// Swap buffers: senders append to spare while buf is written.
		buf := l.wbuf
		l.wbuf = spare[:0]
		l.mu.Unlock()
		nc.SetWriteDeadline(time.Now().Add(l.node.cfg.ForwardTimeout))
		if _, err := nc.Write(buf); err != nil {
			l.fail(nc, err)
			return
		}
		l.mu.Lock()
		if l.nc == nc && !l.armed && l.head < len(l.queue) {
			nc.SetReadDeadline(l.queue[l.head].sent.Add(l.node.cfg.ForwardTimeout))
			l.armed = true
		}
		l.mu.Unlock()
		spare = nil
		if cap(buf) <= idleReadBuf {
			spare = buf
		}
	}
}

func (l *peerLink) readLoop(nc net.Conn) {
	lim := l.node.cfg.Limits
	rd := replyReader{src: nc, maxBulk: lim.MaxValueBytes, maxCount: lim.MaxArgs}
	for {
		reply, err := rd.next()
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && l.stillWaiting(nc) {
				continue
			}
			l.fail(nc, err)
			return
		}
		l.mu.Lock()
		if l.nc != nc {
			l.mu.Unlock()
			return
		}
		if l.head == len(l.queue) {
			l.mu.Unlock()
			l.fail(nc, errors.New("reply with no request outstanding"))
			return
		}
		cl := l.queue[l.head]
		l.queue[l.head] = nil
		l.head++
		if l.head == len(l.queue) {
			l.queue, l.head = l.queue[:0], 0
			if l.armed {
				nc.SetReadDeadline(time.Time{})
				l.armed = false
			}
		}
		l.mu.Unlock()
		cl.reply = append(cl.reply[:0], reply...)
		cl.done <- struct{}{}
	}
}

// stillWaiting decides what a read deadline means: nothing outstanding (a
// stale deadline) or an oldest call still within its time both mean read
// on; otherwise the peer is too slow and the link is failed.
func (l *peerLink) stillWaiting(nc net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nc != nc {
		return false
	}
	if l.head == len(l.queue) {
		nc.SetReadDeadline(time.Time{})
		l.armed = false
		return true
	}
	deadline := l.queue[l.head].sent.Add(l.node.cfg.ForwardTimeout)
	if time.Now().Before(deadline) {
		nc.SetReadDeadline(deadline)
		l.armed = true
		return true
	}
	return false
}

// fail tears nc down and fails every queued call. Later sends dial again.
func (l *peerLink) fail(nc net.Conn, cause error) {
	l.mu.Lock()
	if l.nc != nc {
		l.mu.Unlock()
		return
	}
	l.teardownLocked(fmt.Errorf("%w: %s (%s): %w", ErrPeerUnavailable, l.peer.id, l.peer.addr, cause))
	l.mu.Unlock()
	if !errors.Is(cause, net.ErrClosed) {
		l.node.cfg.Logger.Warn("l2: peer link failed", "peer", l.peer.id, "addr", l.peer.addr, "err", cause)
	}
}

func (l *peerLink) teardownLocked(err error) {
	if l.nc == nil {
		return
	}
	l.nc.Close()
	close(l.stop)
	l.nc, l.kick, l.stop = nil, nil, nil
	l.wbuf = l.wbuf[:0]
	l.armed = false
	for i := l.head; i < len(l.queue); i++ {
		cl := l.queue[i]
		l.queue[i] = nil
		cl.err = err
		cl.done <- struct{}{}
	}
	l.queue, l.head = l.queue[:0], 0
}

func (l *peerLink) close() {
	l.mu.Lock()
	l.closed = true
	l.teardownLocked(ErrClosed)
	l.mu.Unlock()
}

// callError renders a failed forward as the client's error reply.
func callError(err error) string {
	return "TRYAGAIN " + sanitizeError(err.Error())
}

// protoDigit is the protocol argument of a forwarded command.
func protoDigit(b []byte) (int, bool) {
	if len(b) == 1 && (b[0] == '2' || b[0] == '3') {
		return int(b[0] - '0'), true
	}
	return 0, false
}
