package dashboard

import (
	"errors"
	"fmt"
	"time"
)

// Defaults for a zero Options.
const (
	DefaultInterval      = time.Second
	DefaultHistory       = 10 * time.Minute
	DefaultActionTimeout = 30 * time.Second

	// MinInterval bounds how often the sampler asks the source: a
	// snapshot walks every node, so the dashboard must not spin on it.
	MinInterval = 50 * time.Millisecond
	// maxHistorySamples bounds the history ring whatever the options say.
	maxHistorySamples = 100_000
)

// Errors returned by New and Start.
var (
	ErrNilSource      = errors.New("dashboard: nil Source")
	ErrBadOptions     = errors.New("dashboard: bad options")
	ErrAlreadyStarted = errors.New("dashboard: server already started")
	ErrClosed         = errors.New("dashboard: server closed")
)

// Options configure a Server. The zero value means every default.
type Options struct {
	// Interval is how often the sampler takes a snapshot, and the
	// resolution of the rates and charts. Zero means DefaultInterval; a
	// value under MinInterval is refused. The page refreshes at this
	// interval too.
	Interval time.Duration
	// History is how far back the charts can look. Zero means
	// DefaultHistory.
	History time.Duration
	// ActionTimeout bounds one operator action (Source.Act). Zero means
	// DefaultActionTimeout.
	ActionTimeout time.Duration
}

// Validate reports whether the options are usable: nothing negative, an
// interval no shorter than MinInterval, and a history at least one
// interval long.
func (o Options) Validate() error {
	switch {
	case o.Interval < 0, o.History < 0, o.ActionTimeout < 0:
		return fmt.Errorf("%w: negative duration (interval %v, history %v, action timeout %v)",
			ErrBadOptions, o.Interval, o.History, o.ActionTimeout)
	case o.Interval != 0 && o.Interval < MinInterval:
		return fmt.Errorf("%w: interval %v is under the minimum %v", ErrBadOptions, o.Interval, MinInterval)
	}
	d := o.withDefaults()
	if d.History < d.Interval {
		return fmt.Errorf("%w: history %v is shorter than one interval (%v)", ErrBadOptions, d.History, d.Interval)
	}
	return nil
}

// withDefaults fills every zero field with its default.
func (o Options) withDefaults() Options {
	if o.Interval == 0 {
		o.Interval = DefaultInterval
	}
	if o.History == 0 {
		o.History = DefaultHistory
	}
	if o.ActionTimeout == 0 {
		o.ActionTimeout = DefaultActionTimeout
	}
	return o
}

// historySamples is how many samples cover the history.
func (o Options) historySamples() int {
	n := int(o.History/o.Interval) + 1
	return min(n, maxHistorySamples)
}
