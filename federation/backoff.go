package federation

import (
	"context"
	"time"
)

// backoff is the wait before retry number attempt (0 for the first retry):
// lo doubled per attempt and capped at hi, of which a random half is
// taken off ("equal jitter"), so links that failed together do not redial
// in lockstep yet never retry faster than lo/2. rnd returns a value in
// [0, 1).
func backoff(attempt int, lo, hi time.Duration, rnd func() float64) time.Duration {
	d := lo
	for i := 0; i < attempt && d < hi; i++ {
		d *= 2
	}
	d = min(d, hi)
	return d/2 + time.Duration(rnd()*float64(d/2))
}

// sleepCtx waits for d or until ctx is done, reporting whether the full
// wait elapsed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
