package store

// nilIndex ends a queue and marks an entry that is in no queue.
const nilIndex int32 = -1

// queue is a doubly linked list of arena entries threaded through their
// prev and next fields, so moving an entry allocates nothing. The front is
// the newest end, the back the oldest. An entry is in at most one queue,
// named by its q field.
type queue struct {
	front, back int32
	len         int
	bytes       int64 // sum of the members' charged sizes
}

func newQueue() queue { return queue{front: nilIndex, back: nilIndex} }

// pushFront links entry i (not in any queue) at the newest end.
func (l *queue) pushFront(ents []entry, i int32) {
	e := &ents[i]
	e.prev = nilIndex
	e.next = l.front
	if l.front != nilIndex {
		ents[l.front].prev = i
	} else {
		l.back = i
	}
	l.front = i
	l.len++
	l.bytes += e.size()
}

// remove unlinks entry i, which must be in l.
func (l *queue) remove(ents []entry, i int32) {
	e := &ents[i]
	if e.prev != nilIndex {
		ents[e.prev].next = e.next
	} else {
		l.front = e.next
	}
	if e.next != nilIndex {
		ents[e.next].prev = e.prev
	} else {
		l.back = e.prev
	}
	e.prev, e.next = nilIndex, nilIndex
	l.len--
	l.bytes -= e.size()
}

// moveToFront makes entry i, which must be in l, the newest.
func (l *queue) moveToFront(ents []entry, i int32) {
	if l.front == i {
		return
	}
	l.remove(ents, i)
	l.pushFront(ents, i)
}
