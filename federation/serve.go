package federation

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"

	"github.com/quic-go/quic-go"
)

// serveConn accepts the streams a peer opens and serves each on its own
// goroutine until the connection ends. It returns after they all finish.
func (e *Endpoint) serveConn(conn *quic.Conn) {
	log := e.cfg.Logger.With("addr", conn.RemoteAddr().String())
	log.Debug("federation: peer connecting")
	ctx, cancel := context.WithCancel(e.ctx)
	defer cancel()
	stop := context.AfterFunc(conn.Context(), cancel)
	defer stop()
	// A WaitGroup, not a count of sends on an unbuffered channel: each
	// finished stream's goroutine would block on its send until the
	// connection ended, one parked goroutine per call on a long-lived link.
	var streams sync.WaitGroup
	for {
		s, err := conn.AcceptStream(ctx)
		if err != nil {
			break
		}
		streams.Add(1)
		go func() {
			defer streams.Done()
			peer, err := peerName(ctx, conn)
			if err != nil {
				s.CancelRead(codeCancelled)
				s.CancelWrite(codeCancelled)
				return
			}
			e.serveStream(context.WithValue(ctx, peerKey{}, peer), conn, peer, s)
		}()
	}
	cancel()
	streams.Wait()
	log.Debug("federation: peer gone", "cause", context.Cause(conn.Context()))
}

// peerName is the region the peer's verified certificate names. An early
// listener hands out connections before the client's certificate has
// arrived, so a full handshake is waited for; a resumed (0-RTT) connection
// has the certificate from its session ticket, which was only issued after
// a full verification.
func peerName(ctx context.Context, conn *quic.Conn) (string, error) {
	if certs := conn.ConnectionState().TLS.PeerCertificates; len(certs) > 0 {
		return certs[0].Subject.CommonName, nil
	}
	select {
	case <-conn.HandshakeComplete():
	case <-ctx.Done():
		return "", context.Cause(ctx)
	}
	if certs := conn.ConnectionState().TLS.PeerCertificates; len(certs) > 0 {
		return certs[0].Subject.CommonName, nil
	}
	return "", fmt.Errorf("%w: no peer certificate", ErrPeerRefused)
}

// serveStream reads a stream's first frame and dispatches on its type.
func (e *Endpoint) serveStream(ctx context.Context, conn *quic.Conn, peer string, s *quic.Stream) {
	defer s.CancelRead(codeCancelled) // no-op once the stream was read to its end
	stop := context.AfterFunc(ctx, func() {
		s.CancelRead(codeCancelled)
		s.CancelWrite(codeCancelled)
	})
	defer stop()
	// A peer that opens a stream and says nothing is not allowed to hold
	// it (and a goroutine) past the idle timeout.
	_ = s.SetReadDeadline(time.Now().Add(e.cfg.IdleTimeout))
	typ, payload, err := readFrame(s, e.cfg.MaxFrameBytes)
	_ = s.SetReadDeadline(time.Time{})
	if err != nil {
		if errors.Is(err, ErrFrameTooLarge) {
			e.refuseTooLarge(s, typ, err)
		}
		s.CancelWrite(codeCancelled)
		return
	}
	if typ != frameCall {
		// Only idempotent calls may act on 0-RTT data (see serveCall); the
		// client never sends anything else early, so a replay of it waits
		// here for a handshake that never completes.
		select {
		case <-conn.HandshakeComplete():
		case <-ctx.Done():
			return
		}
	}
	switch typ {
	case frameHello:
		e.serveHello(conn, peer, s, payload)
	case frameCall:
		e.serveCall(ctx, conn, s, payload)
	case frameChanges:
		e.receiveChanges(peer, s, payload)
	case frameDigestReq:
		e.serveAntiEntropy(peer, s, payload)
	default:
		writeError(s, fmt.Errorf("%w: stream opened with frame type %d", ErrProtocol, typ))
	}
}

// refuseTooLarge answers an oversized first frame: a call gets a reply the
// caller maps to ErrFrameTooLarge, anything else an error frame. The
// payload itself is never read.
func (e *Endpoint) refuseTooLarge(s *quic.Stream, typ byte, err error) {
	s.CancelRead(codeTooLarge)
	if typ == frameCall {
		if b, rerr := appendReply(nil, statusTooLarge, []byte(err.Error()), e.cfg.MaxFrameBytes); rerr == nil {
			_, _ = s.Write(b)
		}
		_ = s.Close()
		return
	}
	writeError(s, err)
}

func (e *Endpoint) serveHello(conn *quic.Conn, peer string, s *quic.Stream, payload []byte) {
	region, err := decodeHello(payload)
	if err == nil && region != peer {
		err = fmt.Errorf("%w: hello from %q with a certificate for %q", ErrPeerRefused, region, peer)
	}
	if err != nil {
		e.cfg.Logger.Warn("federation: refusing peer", "err", err)
		writeError(s, err)
		_ = conn.CloseWithError(codeRefused, err.Error())
		return
	}
	b, _ := appendReply(nil, statusOK, []byte(e.cfg.Region), e.cfg.MaxFrameBytes)
	_, _ = s.Write(b)
	_ = s.Close()
}

func (e *Endpoint) serveCall(ctx context.Context, conn *quic.Conn, s *quic.Stream, payload []byte) {
	h, body, err := decodeCall(payload)
	if err != nil {
		writeError(s, err)
		return
	}
	if !h.idempotent {
		// Only early (0-RTT) data can be a replay, and early data precedes
		// handshake completion; a replayed request waits here forever
		// because the replaying attacker cannot finish the handshake.
		select {
		case <-conn.HandshakeComplete():
		case <-ctx.Done():
			return
		}
	}
	handler := e.handler(h.kind)
	if handler == nil {
		e.reply(s, statusUnknownKind, []byte(fmt.Sprintf("kind %d", h.kind)))
		return
	}
	if h.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.timeout)
		defer cancel()
	}
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	// The caller cancelling (STOP_SENDING) or the stream dying ends the call.
	stop := context.AfterFunc(s.Context(), cancel)
	defer stop()
	peer, _ := Peer(ctx)
	callCtx, span := e.startServeSpan(callCtx, h, peer)
	resp, err := safeServe(callCtx, handler, body)
	endSpan(span, err)
	if err != nil {
		e.reply(s, statusError, []byte(err.Error()))
		return
	}
	e.reply(s, statusOK, resp)
}

// safeServe runs a handler, turning a panic into an error so one bad
// request cannot take the region's federation endpoint down.
func safeServe(ctx context.Context, h Handler, req []byte) (resp []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("handler panic: %v\n%s", p, debug.Stack())
		}
	}()
	return h.ServeFederation(ctx, req)
}

func (e *Endpoint) reply(s *quic.Stream, status byte, body []byte) {
	b, err := appendReply(nil, status, body, e.cfg.MaxFrameBytes)
	if err != nil {
		b, _ = appendReply(nil, statusTooLarge, []byte(err.Error()), e.cfg.MaxFrameBytes)
	}
	_, _ = s.Write(b)
	_ = s.Close()
}

// writeError sends an error frame and ends the stream.
func writeError(s *quic.Stream, err error) {
	msg := err.Error()
	if len(msg) > 1024 {
		msg = msg[:1024]
	}
	_, _ = s.Write(appendFrame(nil, frameError, []byte(msg)))
	_ = s.Close()
}

// receiveChanges is the receiving end of a peer's change stream: apply
// each batch, then acknowledge its last sequence number.
func (e *Endpoint) receiveChanges(peer string, s *quic.Stream, payload []byte) {
	if e.cfg.Replica == nil {
		writeError(s, ErrNoReplica)
		return
	}
	r := bufio.NewReaderSize(s, 64<<10)
	lock := e.applyLock(peer)
	var last uint64
	var ack []byte
	for {
		first, changes, err := decodeChanges(payload)
		if err == nil && (len(changes) == 0 || first <= last) {
			err = fmt.Errorf("%w: batch at sequence %d after %d", ErrProtocol, first, last)
		}
		if err != nil {
			writeError(s, err)
			return
		}
		lock.Lock()
		err = e.cfg.Replica.Apply(peer, changes)
		lock.Unlock()
		if err != nil {
			writeError(s, fmt.Errorf("apply: %w", err))
			return
		}
		last = first + uint64(len(changes)) - 1
		ack = appendAck(ack[:0], last, e.cfg.Clock.Now().UnixNano())
		if _, err := s.Write(ack); err != nil {
			return
		}
		var typ byte
		typ, payload, err = readFrame(r, e.cfg.MaxFrameBytes)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				s.CancelWrite(codeProtocol)
			}
			return
		}
		if typ != frameChanges {
			writeError(s, fmt.Errorf("%w: frame type %d on the change stream", ErrProtocol, typ))
			return
		}
	}
}
