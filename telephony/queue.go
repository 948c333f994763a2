package telephony

import "sync"

// EventQueue is the Events channel of a Phone. Emit never blocks the
// goroutine that reports a change: when the channel is full the event is
// counted, and the count is delivered as one EventsLost, ahead of the next
// event, once the reader has made room. It is safe for concurrent use.
type EventQueue struct {
	ch   chan Event
	mu   sync.Mutex
	lost int
}

// NewEventQueue returns a queue whose channel holds capacity events.
func NewEventQueue(capacity int) *EventQueue {
	return &EventQueue{ch: make(chan Event, capacity)}
}

// Events is the channel the reader takes events from, in order.
func (q *EventQueue) Events() <-chan Event { return q.ch }

// Cap is the channel's capacity.
func (q *EventQueue) Cap() int { return cap(q.ch) }

// Emit queues ev without blocking. It returns how many events wait to be
// reported as lost: 0 when ev was queued, 1 when ev is the first one
// dropped since the reader last kept up (the moment to log it).
func (q *EventQueue) Emit(ev Event) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.flushLocked() {
		q.lost++
		return q.lost
	}
	select {
	case q.ch <- ev:
		return 0
	default:
		q.lost++
		return q.lost
	}
}

// Drop counts ev as lost without queueing it, as if the channel were
// full; stand-ins of a Phone use it to play an overflow.
func (q *EventQueue) Drop(Event) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.lost++
}

// Flush delivers the pending EventsLost, if any, when the channel has
// room, and reports whether nothing is pending any more.
func (q *EventQueue) Flush() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.flushLocked()
}

func (q *EventQueue) flushLocked() bool {
	if q.lost == 0 {
		return true
	}
	select {
	case q.ch <- EventsLost{Count: q.lost}:
		q.lost = 0
		return true
	default:
		return false
	}
}
