package federation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
)

// Call sends req to the peer's handler for kind and returns its reply.
// Every call has its own QUIC stream on the link's one connection, so calls
// never wait behind each other and no call pays for a handshake.
//
// The call ends at ctx's deadline, or after Config.CallTimeout if ctx has
// none; the remaining time travels with the request so the handler can
// stop too. If the link is down, Call waits for it within that deadline and
// then fails with ErrLinkDown.
//
// idempotent says the request may be executed twice without harm (a read).
// Only such requests are sent in 0-RTT data right after a reconnect (saving
// a round trip), and they are retried once if the peer rejects the early
// data. Others wait for a completed handshake.
func (l *Link) Call(ctx context.Context, kind uint8, req []byte, idempotent bool) ([]byte, error) {
	l.calls.Add(1)
	ctx, span, tf := l.startCallSpan(ctx, kind)
	resp, err := l.call(ctx, kind, req, idempotent, tf)
	if err != nil {
		l.callErrors.Add(1)
	}
	endSpan(span, err)
	return resp, err
}

func (l *Link) call(ctx context.Context, kind uint8, req []byte, idempotent bool, tf traceField) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, l.cfg.CallTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	frame, err := appendCall(nil, callHeader{kind: kind, idempotent: idempotent, timeout: max(time.Until(deadline), time.Millisecond), trace: tf}, req, l.cfg.MaxFrameBytes)
	if err != nil {
		return nil, fmt.Errorf("federation: call %d to %s: %w", kind, l.region, err)
	}
	for attempt := 0; ; attempt++ {
		s, err := l.session(ctx, !idempotent || attempt > 0)
		if err != nil {
			return nil, err
		}
		resp, err := l.callOn(ctx, s, frame)
		if errors.Is(err, quic.Err0RTTRejected) && attempt == 0 {
			continue // idempotent, so sending it again is safe
		}
		if err != nil {
			if ctx.Err() != nil {
				err = context.Cause(ctx)
			} else {
				err = classify(err)
			}
			return nil, fmt.Errorf("federation: call %d to %s: %w", kind, l.region, err)
		}
		return resp, nil
	}
}

func (l *Link) callOn(ctx context.Context, s *session, frame []byte) ([]byte, error) {
	str, err := s.conn.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() {
		str.CancelRead(codeCancelled)
		str.CancelWrite(codeCancelled)
	})
	defer stop()
	_, err = str.Write(frame)
	if err == nil {
		// A peer that answered before our FIN arrived has stopped our
		// sending (STOP_SENDING), which fails Close; its reply is intact.
		_ = str.Close()
	}
	if err != nil && !refusedTooLarge(err) {
		return nil, err
	}
	// A peer that refuses the request for its size stops our sending but
	// still writes its reply; read it for the explanation.
	typ, payload, rerr := readFrame(str, l.cfg.MaxFrameBytes)
	if rerr != nil {
		str.CancelRead(codeTooLarge)
		if err != nil {
			return nil, fmt.Errorf("%w: refused by peer", ErrFrameTooLarge)
		}
		return nil, rerr
	}
	switch typ {
	case frameReply:
	case frameError:
		return nil, remoteError(payload)
	default:
		return nil, fmt.Errorf("%w: frame type %d in reply", ErrProtocol, typ)
	}
	status, body, err := decodeReply(payload)
	if err != nil {
		return nil, err
	}
	switch status {
	case statusOK:
		return body, nil
	case statusError:
		return nil, fmt.Errorf("%w: %s", ErrRemote, body)
	case statusUnknownKind:
		return nil, fmt.Errorf("%w: %s", ErrUnknownKind, body)
	case statusTooLarge:
		return nil, fmt.Errorf("%w: refused by peer: %s", ErrFrameTooLarge, body)
	case statusClosing:
		return nil, fmt.Errorf("%w: peer closing", ErrLinkDown)
	}
	return nil, fmt.Errorf("%w: reply status %d", ErrMalformed, status)
}

func refusedTooLarge(err error) bool {
	var se *quic.StreamError
	return errors.As(err, &se) && se.Remote && se.ErrorCode == codeTooLarge
}
