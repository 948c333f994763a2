package app_test

import (
	"context"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/app/apptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// namingPhone is the in-memory phone whose events the test can add to:
// a change the in-memory phone does not make itself (the PBX naming a
// retrieved caller after the answer, as Asterisk does in a re-INVITE).
type namingPhone struct {
	*apptest.Phone
	events chan telephony.Event
}

// Events delivers the in-memory phone's events and the test's.
func (p *namingPhone) Events() <-chan telephony.Event { return p.events }

// newNamingHarness opens a console on a namingPhone; the forwarding of
// the in-memory phone's events ends with the test.
func newNamingHarness(t *testing.T) (*harness, *namingPhone) {
	t.Helper()
	fake := apptest.NewPhone(701, 720)
	p := &namingPhone{Phone: fake, events: make(chan telephony.Event, 256)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case ev := <-fake.Events():
				select {
				case p.events <- ev:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	h := openConsole(t, newApp(t), p, "Switchboard")
	h.fake = fake
	fake.Clock = h.clock.Now
	return h, p
}

// TestRetrieveNamedAfterAnswer: a call retrieved from an anonymous
// lamp (Asterisk's) is unnamed when answered; when the PBX names the
// caller afterwards (its re-INVITE's P-Asserted-Identity), the card and
// the history say who it is: "Retrieved Eva Novak from 701 after 0:42",
// not an unknown caller.
func TestRetrieveNamedAfterAnswer(t *testing.T) {
	h, p := newNamingHarness(t)
	h.fake.SetOrbit(telephony.Orbit{Number: 701, Occupied: true, ParkedAt: t0.Add(-41 * time.Second)})
	h.waitSlot(701, widgets.SlotOccupied)
	h.tick(time.Second)
	test.Tap(h.c.Grid().Slot(701))
	if !h.fake.WaitAction("retrieve 701", waitFor) {
		t.Fatalf("the phone was not asked to retrieve 701: %q", h.fake.Actions())
	}
	var call telephony.Call
	h.eventually("the retrieved call live", func() bool {
		for _, c := range h.fake.Calls() {
			if c.RetrievedFrom == 701 && c.State == telephony.StateActive {
				call = c
				return true
			}
		}
		return false
	})
	h.waitLine(call.ID, widgets.LineActive)
	call.RemoteName, call.RemoteURI = "Eva Novak", "sip:+15550142@10.0.0.5"
	p.events <- telephony.CallChanged{Call: call}
	h.eventually("the card named", func() bool {
		s := h.c.Snapshot()
		return len(s.Lines) == 1 && s.Lines[0].Name == "Eva Novak"
	})
	if want := "Retrieved Eva Novak from 701 after 0:42"; !h.hasHistory(want) {
		t.Errorf("history %q, want %q", h.history(), want)
	}
}

// TestUncertainParkStaysOnLines: a park the PBX took without a lamp
// saying which orbit is its (the phone's Call.Uncertain: parked on 701
// or 702) stays on the lines, saying where it may be, long after a
// parked card would have left; once it leaves its orbit it goes.
func TestUncertainParkStaysOnLines(t *testing.T) {
	h, p := newNamingHarness(t)
	id := h.fake.Ring("Alice Martin", aliceURI)
	h.waitLine(id, widgets.LineRinging)
	call, _ := h.fake.Call(id)
	call.State = telephony.StateParkedAway
	call.Candidates, _ = telephony.NewOrbitSet(702, 701)
	call.Likely, call.Reason = 701, "parked, on 701 or 702"
	p.events <- telephony.CallChanged{Call: call}
	h.waitLine(id, widgets.LineParked)
	h.tick(10 * app.DefaultLinger)
	s := h.c.Snapshot()
	if len(s.Lines) != 1 || s.Lines[0].Detail != "parked, on 701 or 702" {
		t.Fatalf("lines after %s: %+v, want the uncertain park still there", 10*app.DefaultLinger, s.Lines)
	}
	if got := h.c.Card(id).StateLabel(); got != "Parked on 701 or 702" {
		t.Errorf("card says %q, want %q: an uncertain park names every orbit it may be on", got, "Parked on 701 or 702")
	}
	call.State, call.End, call.Reason = telephony.StateEnded, telephony.EndLeftOrbit, "left orbit 702"
	p.events <- telephony.CallChanged{Call: call}
	h.waitLine(id, widgets.LineEnded)
	h.tick(2 * app.DefaultLinger)
	h.eventually("the card gone", func() bool { return len(h.c.Snapshot().Lines) == 0 })
}
