package demo

import (
	"cmp"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/tiercache/tiercache/federated"
)

// maxDemoEvents bounds the demo's own event log. It is kept apart from
// the deployment's (faults and node states), so a long run's trends never
// push a kill or a partition out of the snapshot.
const maxDemoEvents = 64

// eventLog holds what the demo itself did: keys it made trend and keys an
// operator expired.
type eventLog struct {
	mu     sync.Mutex // protects events
	events []federated.Event
}

func (l *eventLog) add(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == maxDemoEvents {
		l.events = slices.Delete(l.events, 0, 1)
	}
	l.events = append(l.events, federated.Event{Time: time.Now(), Text: fmt.Sprintf(format, args...)})
}

// events returns the demo's and the deployment's events in one list,
// oldest first.
func (d *Demo) events() []federated.Event {
	d.log.mu.Lock()
	all := append(d.dep.Events(), d.log.events...)
	d.log.mu.Unlock()
	slices.SortStableFunc(all, func(a, b federated.Event) int { return cmp.Compare(a.Time.UnixNano(), b.Time.UnixNano()) })
	return all
}
