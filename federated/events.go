package federated

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// maxEvents bounds the deployment's event log.
const maxEvents = 64

// Event is a fault the deployment injected or a change it saw.
type Event struct {
	Time time.Time
	Text string
}

// eventLog keeps the latest events.
type eventLog struct {
	mu     sync.Mutex // protects events
	events []Event
}

func (l *eventLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == maxEvents {
		l.events = slices.Delete(l.events, 0, 1)
	}
	l.events = append(l.events, Event{Time: time.Now(), Text: fmt.Sprintf(format, args...)})
}

// Events returns the latest events, oldest first.
func (d *Deployment) Events() []Event {
	d.events.mu.Lock()
	defer d.events.mu.Unlock()
	return slices.Clone(d.events.events)
}
