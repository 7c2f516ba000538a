package federation

import (
	"bufio"
	"context"
	"fmt"

	"github.com/quic-go/quic-go"
)

// The change stream carries this region's writes to the peer, in outbox
// order, on one long-lived stream per connection: frames of consecutive
// changes, each frame tagged with the sequence number of its first change.
// The peer applies a frame, then acknowledges its last sequence number;
// the sender pipelines frames without waiting (QUIC flow control bounds
// what is in flight). A new stream starts after the last acknowledgement,
// so what was in flight when a connection died is sent again; the peer's
// last-writer-wins Apply makes that harmless.

// Enqueue puts c in the link's outbox and returns its sequence number; the
// change is acknowledged (see Endpoint.Publish). Delivered reports when the
// peer has applied it. A change too large for one frame is refused with
// ErrFrameTooLarge. Enqueue never blocks on the network.
func (l *Link) Enqueue(c Change) (uint64, error) {
	if l.ctx.Err() != nil {
		return 0, ErrClosed
	}
	return l.ob.enqueue(c)
}

// Delivered returns the highest sequence number s such that every change
// enqueued up to s has been applied by the peer (by the stream, or by a
// completed anti-entropy pass for changes an overflow dropped).
func (l *Link) Delivered() uint64 { return l.ob.delivered() }

// WaitDelivered waits until Delivered() ≥ seq or ctx is done.
func (l *Link) WaitDelivered(ctx context.Context, seq uint64) error {
	for {
		wait := l.ob.wait()
		if l.ob.delivered() >= seq {
			return nil
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return fmt.Errorf("federation: %s has not applied sequence %d: %w", l.region, seq, context.Cause(ctx))
		case <-l.ctx.Done():
			return ErrClosed
		}
	}
}

// RequestAntiEntropy makes the link run an anti-entropy pass as soon as it
// is connected, e.g. after the peer lost its store.
func (l *Link) RequestAntiEntropy() { l.ob.requestAntiEntropy() }

// runChangeStream keeps a change stream open for the life of the session,
// reopening it after a backoff if the peer ends it (an Apply error).
func (l *Link) runChangeStream(ctx context.Context, s *session) {
	failures := 0
	for {
		err := l.streamChanges(ctx, s)
		if ctx.Err() != nil {
			return
		}
		l.streamErrors.Add(1)
		l.log.Warn("federation: change stream failed", "err", err)
		if !sleepCtx(ctx, backoff(failures, l.cfg.BackoffMin, l.cfg.BackoffMax, l.rand)) {
			return
		}
		failures++
	}
}

func (l *Link) streamChanges(ctx context.Context, s *session) error {
	// The stream opens with its first batch: the peer allows a new stream
	// only IdleTimeout to say what it is for.
	cursor := l.ob.resumeSeq()
	batch, _, err := l.nextBatch(ctx, cursor, nil)
	if err != nil {
		return err
	}
	str, err := s.conn.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() {
		str.CancelRead(codeCancelled)
		str.CancelWrite(codeCancelled)
	})
	defer stop()

	acks := make(chan error, 1)
	go func() { acks <- l.readAcks(str) }()
	defer func() {
		cancel()
		<-acks // the reader ends once the stream is cancelled
	}()

	var buf []byte
	var changes []Change
	for {
		changes = changes[:0]
		for i := range batch {
			changes = append(changes, batch[i].change)
		}
		if buf, err = appendChanges(buf[:0], frameChanges, batch[0].seq, changes, l.cfg.MaxFrameBytes); err != nil {
			return err
		}
		clear(changes)
		if _, err := str.Write(buf); err != nil {
			return err
		}
		cursor = batch[len(batch)-1].seq + 1
		var ackFailed bool
		if batch, ackFailed, err = l.nextBatch(ctx, cursor, acks); err != nil {
			if ackFailed {
				acks <- err // the reader is done; satisfy the deferred receive
			}
			return err
		}
	}
}

// nextBatch waits for outbox entries from cursor on, for the ack reader to
// end (ackFailed), or for ctx.
func (l *Link) nextBatch(ctx context.Context, cursor uint64, acks chan error) (batch []outEntry, ackFailed bool, err error) {
	for {
		wait := l.ob.wait()
		if batch := l.ob.batch(cursor, l.cfg.BatchMaxChanges, l.ob.maxChange); len(batch) > 0 {
			return batch, false, nil
		}
		select {
		case <-wait:
		case err := <-acks:
			if err == nil {
				err = fmt.Errorf("%w: peer ended the change stream", ErrProtocol)
			}
			return nil, true, err
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// readAcks applies the peer's acknowledgements to the outbox until the
// stream ends.
func (l *Link) readAcks(str *quic.Stream) error {
	r := bufio.NewReader(str)
	for {
		typ, payload, err := readFrame(r, l.cfg.MaxFrameBytes)
		if err != nil {
			return err
		}
		switch typ {
		case frameAck:
			seq, appliedAt, err := decodeAck(payload)
			if err != nil {
				return err
			}
			l.ob.ack(seq, appliedAt)
		case frameError:
			return remoteError(payload)
		default:
			return fmt.Errorf("%w: frame type %d on the ack stream", ErrProtocol, typ)
		}
	}
}
