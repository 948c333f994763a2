package telephony_test

import (
	"testing"

	"github.com/switchboard/switchboard/telephony"
)

// TestEventQueueReportsLostEvents: a full queue drops and counts; once
// the reader makes room the count arrives as one EventsLost ahead of the
// next event, and the first drop of an overflow is the one to log.
func TestEventQueueReportsLostEvents(t *testing.T) {
	q := telephony.NewEventQueue(2)
	first := telephony.CallChanged{Call: telephony.Call{ID: "c1"}}
	if n := q.Emit(first); n != 0 {
		t.Fatalf("Emit into an empty queue = %d", n)
	}
	q.Emit(first)
	if n := q.Emit(first); n != 1 {
		t.Fatalf("first drop = %d, want 1", n)
	}
	if n := q.Emit(first); n != 2 {
		t.Fatalf("second drop = %d, want 2", n)
	}
	q.Drop(first)
	<-q.Events()
	<-q.Events()
	next := telephony.CallChanged{Call: telephony.Call{ID: "c2"}}
	if n := q.Emit(next); n != 0 {
		t.Fatalf("Emit after the reader made room = %d", n)
	}
	if ev := <-q.Events(); ev != (telephony.EventsLost{Count: 3}) {
		t.Fatalf("got %#v, want EventsLost{3}", ev)
	}
	if ev := <-q.Events(); ev != telephony.Event(next) {
		t.Fatalf("got %#v, want the next event", ev)
	}
	q.Drop(next)
	if !q.Flush() {
		t.Fatal("Flush with room reports a pending loss")
	}
	if ev := <-q.Events(); ev != (telephony.EventsLost{Count: 1}) {
		t.Fatalf("Flush delivered %#v", ev)
	}
	if q.Cap() != 2 {
		t.Fatalf("Cap = %d", q.Cap())
	}
}
