package federation

import (
	"bufio"
	"context"
	"fmt"
	"time"

	"github.com/quic-go/quic-go"
)

// Anti-entropy repairs a peer after this side's outbox overflowed and
// dropped changes. One pass, on its own stream:
//
//  1. the sender asks for the peer's digests of n hash buckets;
//  2. the peer answers with Replica.Digests;
//  3. the sender compares them with Source.Digests and, for each bucket
//     that differs, sends every entry Source.Range yields for it;
//  4. the peer applies them (last writer wins) and acknowledges the end.
//
// Time bound: a pass costs two round trips, one Digests call on each side
// (a scan of the store unless it keeps a DigestTable), one Range per
// differing bucket, and the transfer of those buckets' entries at the
// link's throughput; it is abandoned after Config.AntiEntropyTimeout and
// retried. A pass that completes covers every change dropped before it
// started: the dropped changes were in the Source before they were enqueued,
// so the Source's entries (or newer ones) are read after the drop. Drops
// during a pass leave the link owing another pass.
//
// What the repair cannot bring back is an entry the Source no longer holds
// (evicted, or a tombstone already purged): the peer then keeps its older
// value until that expires.

// runAntiEntropy runs passes whenever the outbox owes one, for the life of
// the session.
func (l *Link) runAntiEntropy(ctx context.Context, s *session) {
	failures := 0
	for {
		wait := l.ob.wait()
		gen, due := l.ob.antiEntropyDue()
		if !due || l.cfg.Source == nil {
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return
			}
		}
		err := l.antiEntropyPass(ctx, s)
		if err == nil {
			l.ob.antiEntropyDone(gen)
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		l.streamErrors.Add(1)
		l.log.Warn("federation: anti-entropy pass failed", "err", err)
		if !sleepCtx(ctx, backoff(failures, l.cfg.BackoffMin, l.cfg.BackoffMax, l.rand)) {
			return
		}
		failures++
	}
}

func (l *Link) antiEntropyPass(ctx context.Context, s *session) error {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, l.cfg.AntiEntropyTimeout)
	defer cancel()
	str, err := s.conn.OpenStreamSync(ctx)
	if err != nil {
		return err
	}
	defer str.CancelRead(codeCancelled)
	stop := context.AfterFunc(ctx, func() {
		str.CancelRead(codeCancelled)
		str.CancelWrite(codeCancelled)
	})
	defer stop()

	n := l.cfg.AntiEntropyBuckets
	if _, err := str.Write(appendDigestReq(nil, n)); err != nil {
		return err
	}
	r := bufio.NewReader(str)
	theirs, err := readDigests(r, l.cfg.MaxFrameBytes, n)
	if err != nil {
		return err
	}
	ours := make([]uint64, n)
	l.cfg.Source.Digests(ours)

	var buf []byte
	var batch []Change
	batchBytes, buckets, keys := 0, 0, 0
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var err error
		if buf, err = appendChanges(buf[:0], frameRepair, 0, batch, l.cfg.MaxFrameBytes); err != nil {
			return err
		}
		clear(batch)
		batch, batchBytes = batch[:0], 0
		_, err = str.Write(buf)
		return err
	}
	for i := range ours {
		if ours[i] == theirs[i] {
			continue
		}
		buckets++
		lo, hi := BucketRange(i, n)
		var entries []Change
		l.cfg.Source.Range(lo, hi, func(c Change) bool {
			entries = append(entries, copyChange(c))
			return true
		})
		for _, c := range entries {
			if c.size() > l.ob.maxChange {
				continue // cannot travel in a frame; Enqueue refuses such changes too
			}
			if len(batch) == l.cfg.BatchMaxChanges || batchBytes+c.size() > l.ob.maxChange {
				if err := flush(); err != nil {
					return err
				}
			}
			batch = append(batch, c)
			batchBytes += c.size()
			keys++
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if _, err := str.Write(appendFrame(nil, frameRepairEnd, nil)); err != nil {
		return err
	}
	if err := readAck(r, l.cfg.MaxFrameBytes); err != nil {
		return err
	}
	_ = str.Close()
	l.noteRepair(buckets, keys, time.Since(start))
	return nil
}

func copyChange(c Change) Change {
	kv := make([]byte, len(c.Key)+len(c.Value))
	copy(kv, c.Key)
	copy(kv[len(c.Key):], c.Value)
	c.Key, c.Value = kv[:len(c.Key):len(c.Key)], kv[len(c.Key):]
	return c
}

func readDigests(r *bufio.Reader, limit, n int) ([]uint64, error) {
	typ, payload, err := readFrame(r, limit)
	if err != nil {
		return nil, err
	}
	if typ == frameError {
		return nil, remoteError(payload)
	}
	if typ != frameDigests {
		return nil, fmt.Errorf("%w: frame type %d instead of digests", ErrProtocol, typ)
	}
	d, err := decodeDigests(payload)
	if err != nil {
		return nil, err
	}
	if len(d) != n {
		return nil, fmt.Errorf("%w: %d digests for %d buckets", ErrProtocol, len(d), n)
	}
	return d, nil
}

func readAck(r *bufio.Reader, limit int) error {
	typ, payload, err := readFrame(r, limit)
	if err != nil {
		return err
	}
	switch typ {
	case frameAck:
		_, _, err := decodeAck(payload)
		return err
	case frameError:
		return remoteError(payload)
	}
	return fmt.Errorf("%w: frame type %d instead of ack", ErrProtocol, typ)
}

// remoteError turns a peer's error frame into an error callers can test.
func remoteError(payload []byte) error {
	msg := string(payload)
	if msg == ErrNoReplica.Error() {
		return ErrNoReplica
	}
	return fmt.Errorf("%w: %s", ErrRemote, msg)
}

// serveAntiEntropy is the peer's side of a pass: send digests, apply the
// repair, acknowledge its end.
func (e *Endpoint) serveAntiEntropy(peer string, s *quic.Stream, payload []byte) {
	if e.cfg.Replica == nil {
		writeError(s, ErrNoReplica)
		return
	}
	n, err := decodeDigestReq(payload)
	if err == nil && 8*n+16 > e.cfg.MaxFrameBytes {
		err = fmt.Errorf("%w: %d digests exceed the frame limit", ErrFrameTooLarge, n)
	}
	if err != nil {
		writeError(s, err)
		return
	}
	d := make([]uint64, n)
	e.cfg.Replica.Digests(d)
	if _, err := s.Write(appendDigests(nil, d)); err != nil {
		return
	}
	r := bufio.NewReaderSize(s, 64<<10)
	lock := e.applyLock(peer)
	for {
		typ, payload, err := readFrame(r, e.cfg.MaxFrameBytes)
		if err != nil {
			return
		}
		switch typ {
		case frameRepair:
			_, changes, err := decodeChanges(payload)
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
		case frameRepairEnd:
			_, _ = s.Write(appendAck(nil, 0, e.cfg.Clock.Now().UnixNano()))
			_ = s.Close()
			return
		default:
			writeError(s, fmt.Errorf("%w: frame type %d in a repair", ErrProtocol, typ))
			return
		}
	}
}
