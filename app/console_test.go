package app_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

const aliceURI = "sip:+442079460018@127.0.0.1:5080"

// answered rings a call from Alice and answers it with the card's button.
func (h *harness) answered() telephony.CallID {
	h.t.Helper()
	id := h.fake.Ring("Alice Martin", aliceURI)
	h.waitLine(id, widgets.LineRinging)
	test.Tap(h.button("Answer"))
	h.waitLine(id, widgets.LineActive)
	return id
}

// parkedByColleague lights orbit n with a caller (name, uri) that
// reception2 parked for the given time by t0, and waits until the slot
// shows it occupied.
func (h *harness) parkedByColleague(n int, name, uri string, parkedFor time.Duration) {
	h.t.Helper()
	h.fake.SetOrbit(telephony.Orbit{Number: n, Occupied: true, CallerName: name, CallerURI: uri,
		Parker: "sip:reception2@10.0.0.9", ParkedAt: t0.Add(-parkedFor)})
	h.waitSlot(n, widgets.SlotOccupied)
}

func TestDragOntoFreeSlotParks(t *testing.T) {
	h := newHarness(t)
	id := h.answered()

	h.drag(id, 703)
	if !h.fake.WaitAction(fmt.Sprintf("park %s 703", id), waitFor) {
		t.Fatalf("the phone was not asked to park on 703: %q", h.fake.Actions())
	}
	h.waitSlot(703, widgets.SlotMine)
	if o := h.orbit(703); o.Caller != "Alice Martin" {
		t.Errorf("slot 703 shows caller %q", o.Caller)
	}
	h.waitLine(id, widgets.LineParked)
	if !h.hasHistory("Parked Alice Martin on 703") {
		t.Errorf("history %q", h.history())
	}
	test.AssertRendersToMarkup(t, "console/parked.xml", h.w.Canvas())

	// The card leaves after a moment; the slot stays lit.
	h.tick(3 * time.Second)
	if _, ok := h.line(id); ok {
		t.Error("the parked call's card is still on the lines")
	}
	if got := h.orbit(703).State; got != string(widgets.SlotMine) {
		t.Errorf("slot 703 %s after the card left", got)
	}
}

func TestDragOntoOccupiedSlotIsRefused(t *testing.T) {
	h := newHarness(t)
	h.parkedByColleague(704, "Bob Chen", "sip:+15550142@10.0.0.7", 70*time.Second)
	id := h.answered()

	h.drag(id, 704)
	h.settle()
	for _, a := range h.fake.Actions() {
		if a == fmt.Sprintf("park %s 704", id) {
			t.Fatal("the phone was asked to park on an occupied orbit")
		}
	}
	if got := h.orbit(704).Hint; got != "Occupied" {
		t.Errorf("slot 704 hint %q, want Occupied", got)
	}
	snap := h.c.Snapshot()
	if snap.Message != "Orbit 704: occupied" {
		t.Errorf("status message %q", snap.Message)
	}
	if o := h.orbit(704); o.Caller != "Bob Chen" || o.Parker != "reception2" {
		t.Errorf("slot 704: %+v", o)
	}
	if st := h.lineState(id); st != string(widgets.LineActive) {
		t.Errorf("the call is %s after a refused drop", st)
	}
	test.AssertRendersToMarkup(t, "console/refused.xml", h.w.Canvas())
}

func TestParkRefusedByTheServiceComesBack(t *testing.T) {
	h := newHarness(t)
	id := h.answered()
	// The lamp has not caught up yet: the slot looks free, the service
	// says busy.
	h.fake.SetOrbit(telephony.Orbit{Number: 705, Occupied: true, CallerName: "Dan Okafor", CallerURI: "sip:dan@10.0.0.3"})
	h.c.Apply(telephony.OrbitChanged{Orbit: telephony.Orbit{Number: 705}}) // the window's view only
	h.drag(id, 705)
	h.waitLine(id, widgets.LineHeld)
	if l, _ := h.line(id); l.Detail != "orbit 705 is busy" {
		t.Errorf("card detail %q", l.Detail)
	}
	if msg := h.c.Snapshot().Message; msg != "Park failed: orbit 705 is busy" {
		t.Errorf("message %q", msg)
	}
}

func TestParkErrorIsShown(t *testing.T) {
	h := newHarness(t)
	id := h.answered()
	h.fake.FailNext("park", fmt.Errorf("sip: park c1: %w", telephony.ErrParkUnavailable))
	h.drag(id, 706)
	h.eventually("the error in the status bar", func() bool {
		return h.c.Snapshot().Message == "Could not park the call on 706: the park service is not answering. Keep the call on hold and try again in a moment."
	})
	if st := h.lineState(id); st != string(widgets.LineActive) {
		t.Errorf("call %s", st)
	}
}

// TestErrorsWordedByKind: the status bar words an error by which of
// telephony's errors it wraps, whoever wrapped it and however (the
// console once stripped the "sip: " and "apptest: " prefixes), in plain
// words with what to do; an error of no known kind says something went
// wrong, its words go to the log only (issue 13).
func TestErrorsWordedByKind(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("sip: park c1 (held): %w", telephony.ErrWrongState), "the call cannot do that right now. Check its card and try again."},
		{fmt.Errorf("apptest: park c1 (held): %w", telephony.ErrWrongState), "the call cannot do that right now. Check its card and try again."},
		{fmt.Errorf("sip: park c1: the caller hung up: %w", telephony.ErrNoSuchCall), "the call has ended."},
		{fmt.Errorf("sip: park on 706: %w (701-720)", telephony.ErrBadOrbit), "that orbit is not in the park lot. Use one from 701 to 720."},
		{fmt.Errorf("sip: park: %w", telephony.ErrNoParkService), "no park service is set up. Keep calls on hold, or set one up in Settings."},
		{fmt.Errorf("sip: park c1: %w", context.DeadlineExceeded), "there was no answer in time. Try again."},
		{errors.New("the park URI template is broken"), "something went wrong. Try again; the log has the details."},
	} {
		t.Run(c.want, func(t *testing.T) {
			h := newHarness(t)
			id := h.answered()
			h.fake.FailNext("park", c.err)
			h.drag(id, 706)
			want := "Could not park the call on 706: " + c.want
			h.eventually("the error in the status bar", func() bool { return h.c.Snapshot().Message == want })
		})
	}
}

func TestTapLitSlotRetrieves(t *testing.T) {
	h := newHarness(t)
	h.parkedByColleague(712, "Carol Díaz", "sip:+15550173@10.0.0.7", 130*time.Second)
	h.tick(time.Second)
	test.AssertRendersToMarkup(t, "console/lit.xml", h.w.Canvas())

	test.Tap(h.c.Grid().Slot(712))
	if !h.fake.WaitAction("retrieve 712", waitFor) {
		t.Fatalf("the phone was not asked to retrieve 712: %q", h.fake.Actions())
	}
	h.waitSlot(712, widgets.SlotFree)
	h.eventually("the retrieved call live", func() bool {
		s := h.c.Snapshot()
		return len(s.Lines) == 1 && s.Lines[0].State == string(widgets.LineActive) && s.Lines[0].Name == "Carol Díaz"
	})
	if l := h.c.Snapshot().Lines[0]; l.Detail != "retrieved from orbit 712" || l.Number != "+15550173" {
		t.Errorf("card %+v", l)
	}
	if want := "Retrieved Carol Díaz from 712 after 2:11"; !h.hasHistory(want) {
		t.Errorf("history %q, want %q", h.history(), want)
	}

	// A free slot does nothing when tapped.
	test.Tap(h.c.Grid().Slot(713))
	h.settle()
	if n := len(slices.DeleteFunc(h.fake.Actions(), func(a string) bool { return a != "retrieve 713" })); n != 0 {
		t.Error("a free slot was retrieved")
	}
}

func TestKeyboardFlow(t *testing.T) {
	h := newHarness(t)
	alice := h.fake.Ring("Alice Martin", aliceURI)
	h.waitLine(alice, widgets.LineRinging)

	// Enter answers the ringing call.
	h.key(fyne.KeyReturn)
	h.waitLine(alice, widgets.LineActive)

	// A second caller: Enter answers it, Alice goes on hold by herself.
	bob := h.fake.Ring("Bob Chen", "sip:+15550142@127.0.0.1:5082")
	h.waitLine(bob, widgets.LineRinging)
	h.key(fyne.KeyEnter)
	h.waitLine(bob, widgets.LineActive)
	h.waitLine(alice, widgets.LineHeld)

	// H holds Bob; H again resumes the caller held longest (Alice, not
	// Bob held last). Alice hangs up; H resumes Bob.
	h.typeText("h")
	h.waitLine(bob, widgets.LineHeld)
	h.typeText("H")
	h.waitLine(alice, widgets.LineActive)
	h.fake.CallerHangsUp(alice)
	h.waitLine(alice, widgets.LineEnded)
	h.typeText("H")
	h.waitLine(bob, widgets.LineActive)

	// P parks the live call on the next free orbit: 701.
	h.typeText("p")
	if !h.fake.WaitAction(fmt.Sprintf("park %s 701", bob), waitFor) {
		t.Fatalf("P did not park on 701: %q", h.fake.Actions())
	}
	h.waitSlot(701, widgets.SlotMine)

	// Digits and Enter retrieve: a typo first, corrected with Backspace.
	h.typeText("7012")
	if got := h.c.Snapshot().Typed; got != "Orbit 7012▏ Enter retrieves" {
		t.Errorf("typed %q", got)
	}
	h.key(fyne.KeyBackspace)
	h.key(fyne.KeyReturn)
	if !h.fake.WaitAction("retrieve 701", waitFor) {
		t.Fatalf("701 Enter did not retrieve: %q", h.fake.Actions())
	}
	h.waitSlot(701, widgets.SlotFree)
	var back telephony.CallID
	h.eventually("Bob back on a line", func() bool {
		for _, l := range h.c.Snapshot().Lines {
			if l.Name == "Bob Chen" && l.State == string(widgets.LineActive) && l.ID != string(bob) {
				back = telephony.CallID(l.ID)
				return true
			}
		}
		return false
	})

	// An orbit that is empty or not in the lot is refused with a word.
	h.typeText("799")
	h.key(fyne.KeyReturn)
	if got := h.c.Snapshot().Message; got != "799 is not an orbit (701–720)" {
		t.Errorf("message %q", got)
	}
	h.typeText("702")
	h.key(fyne.KeyReturn)
	if got := h.c.Snapshot().Message; got != "Orbit 702 is empty" {
		t.Errorf("message %q", got)
	}

	// Esc asks before hanging up; Esc again keeps the call.
	h.key(fyne.KeyEscape)
	if got := h.c.Snapshot().Confirm; got != "Hang up on Bob Chen?" {
		t.Fatalf("confirmation %q", got)
	}
	test.AssertRendersToMarkup(t, "console/confirm_hangup.xml", h.w.Canvas())
	h.key(fyne.KeyEscape)
	h.settle()
	if got := h.c.Snapshot().Confirm; got != "" || h.lineState(back) != string(widgets.LineActive) {
		t.Fatalf("after Esc Esc: confirm %q, call %s", got, h.lineState(back))
	}
	// Esc then Enter does not hang up (a reflex after Esc); Y does.
	h.key(fyne.KeyEscape)
	h.key(fyne.KeyReturn)
	h.settle()
	if h.lineState(back) != string(widgets.LineActive) {
		t.Fatalf("Esc Enter hung up: %q", h.fake.Actions())
	}
	h.typeText("y")
	if !h.fake.WaitAction("hangup "+string(back), waitFor) {
		t.Fatalf("Esc Y did not hang up: %q", h.fake.Actions())
	}
	h.waitLine(back, widgets.LineEnded)
	// Esc with digits typed clears them rather than hanging up.
	h.typeText("70")
	h.key(fyne.KeyEscape)
	if s := h.c.Snapshot(); s.Typed != "" || s.Confirm != "" {
		t.Errorf("Esc with digits: typed %q confirm %q", s.Typed, s.Confirm)
	}
	// F1 retrieves the lot's first orbit.
	h.fake.SetOrbit(telephony.Orbit{Number: 701, Occupied: true, CallerName: "Eva Novak", CallerURI: "sip:eva@10.0.0.5"})
	h.waitSlot(701, widgets.SlotOccupied)
	h.key(fyne.KeyF1)
	h.eventually("F1 retrieving 701", func() bool {
		return len(slices.DeleteFunc(h.fake.Actions(), func(a string) bool { return a != "retrieve 701" })) == 2
	})
	// Y in a confirmation is yes too.
	h.waitSlot(701, widgets.SlotFree)
	h.settle()
	h.key(fyne.KeyEscape)
	h.typeText("y")
	h.eventually("Eva hung up", func() bool {
		for _, a := range h.fake.Actions() {
			if len(a) > 7 && a[:7] == "hangup " && a != "hangup "+string(back) {
				return true
			}
		}
		return false
	})
}

func TestKeyboardWithNothingToDo(t *testing.T) {
	h := newHarness(t)
	for _, k := range []struct {
		press func()
		want  string
	}{
		{func() { h.key(fyne.KeyReturn) }, "No call is ringing"},
		{func() { h.typeText("h") }, "No call to hold or resume"},
		{func() { h.typeText("p") }, "No live or held call to park"},
		{func() { h.key(fyne.KeyEscape) }, "No live call to hang up"},
	} {
		k.press()
		if got := h.c.Snapshot().Message; got != k.want {
			t.Errorf("message %q, want %q", got, k.want)
		}
	}
	if a := h.fake.Actions(); len(a) != 0 {
		t.Errorf("actions %q", a)
	}
}

func TestIncomingCallRingsAndNotifies(t *testing.T) {
	h := newHarness(t)
	want := fyne.NewNotification("Incoming call", "Alice Martin +442079460018")
	var id telephony.CallID
	test.AssertNotificationSent(t, want, func() {
		id = h.fake.Ring("Alice Martin", aliceURI)
		h.eventually("the notification", func() bool { return h.c.Snapshot().Notification != "" })
	})
	h.eventually("the ringtone", func() bool { on, _ := h.sound.Ringing(); return on })

	// Answered: the ringtone stops. A second call while one is live
	// beeps instead of ringing.
	test.Tap(h.button("Answer"))
	h.waitLine(id, widgets.LineActive)
	h.eventually("the ringtone off", func() bool { on, _ := h.sound.Ringing(); return !on })
	h.fake.Ring("Bob Chen", "sip:bob@127.0.0.1:5082")
	h.eventually("a beep", func() bool { return h.sound.Beeps() == 1 })
	h.settle()
	if on, n := h.sound.Ringing(); on || n != 1 {
		t.Errorf("ringing %v, started %d times", on, n)
	}
	// Alice hangs up: nothing is live, Bob still waits: it rings.
	h.fake.CallerHangsUp(id)
	h.eventually("the ringtone for Bob", func() bool { on, _ := h.sound.Ringing(); return on })
}

func TestRingBackShowsItsOrbit(t *testing.T) {
	h := newHarness(t)
	id := h.fake.RingBack("Alice Martin", aliceURI, 705)
	h.waitLine(id, widgets.LineBack)
	if l, _ := h.line(id); l.Orbit != 705 {
		t.Errorf("card orbit %d", l.Orbit)
	}
	if n := h.c.Snapshot().Notification; n != "Back from 705: Alice Martin +442079460018" {
		h.eventually("the notification", func() bool {
			return h.c.Snapshot().Notification == "Back from 705: Alice Martin +442079460018"
		})
	}
	h.key(fyne.KeyReturn)
	h.waitLine(id, widgets.LineActive)
	if !h.hasHistory("Answered Alice Martin, back from 705") {
		t.Errorf("history %q", h.history())
	}
}

// TestMissedCallIsTyped: a call is a missed call because it ended as
// telephony.EndMissed, whatever its words; a ringing call that ended
// otherwise is not, even where its words say "hung up" (the console
// once took any such call for a missed one).
func TestMissedCallIsTyped(t *testing.T) {
	h := newHarness(t)
	ring := func(id telephony.CallID, name string) telephony.Call {
		call := telephony.Call{ID: id, Direction: telephony.Inbound, RemoteName: name,
			RemoteURI: "sip:" + string(id) + "@127.0.0.1", State: telephony.StateRinging, Started: h.clock.Now()}
		h.c.Apply(telephony.CallChanged{Call: call})
		return call
	}
	missed := ring("x1", "Alice Martin")
	missed.State, missed.End, missed.Reason = telephony.StateEnded, telephony.EndMissed, ""
	h.c.Apply(telephony.CallChanged{Call: missed})
	if !h.hasHistory("Missed call from Alice Martin [call back]") {
		t.Errorf("a call that ended missed is not in the history as one: %q", h.history())
	}
	for i, end := range []telephony.EndReason{telephony.EndHungUpHere, telephony.EndClosed, telephony.EndRejected} {
		other := ring(telephony.CallID(fmt.Sprintf("y%d", i)), "Bob Stone")
		other.State, other.End, other.Reason = telephony.StateEnded, end, "hung up"
		h.c.Apply(telephony.CallChanged{Call: other})
		for _, e := range h.history() {
			if e == "Missed call from Bob Stone [call back]" {
				t.Fatalf("a ringing call that ended %v, worded %q, is in the history as missed", end, other.Reason)
			}
		}
	}
}

func TestMissedCallCallBack(t *testing.T) {
	h := newHarness(t)
	id := h.fake.Ring("Alice Martin", aliceURI)
	h.waitLine(id, widgets.LineRinging)
	h.fake.CallerHangsUp(id)
	h.eventually("the missed call in the history", func() bool {
		return h.hasHistory("Missed call from Alice Martin [call back]")
	})
	test.Tap(h.button("Call back"))
	if !h.fake.WaitAction("dial "+aliceURI, waitFor) {
		t.Fatalf("call back did not dial: %q", h.fake.Actions())
	}
	h.eventually("the call back on the lines", func() bool {
		s := h.c.Snapshot()
		return len(s.Lines) > 0 && s.Lines[len(s.Lines)-1].State == string(widgets.LineActive)
	})
}

func TestParkedCallerLeaves(t *testing.T) {
	for _, c := range []struct {
		left     telephony.ParkOutcome
		by, want string
	}{
		{telephony.LeftGaveUp, "", "Alice Martin gave up on 708 after 2:10 [call back]"},
		{telephony.LeftRetrieved, "sip:reception2@10.0.0.9:5060", "Alice Martin was retrieved from 708 by reception2 after 2:10"},
		{telephony.LeftRetrieved, "", "Alice Martin was retrieved from 708 by another console after 2:10"},
		{telephony.LeftLost, "", "Alice Martin was lost from 708 after 2:10: the phone stopped answering"},
		{telephony.LeftUnknown, "", "Alice Martin left 708 after 2:10"},
	} {
		t.Run(c.want, func(t *testing.T) {
			h := newHarness(t)
			id := h.answered()
			h.drag(id, 708)
			h.waitSlot(708, widgets.SlotMine)
			h.clock.Advance(130 * time.Second)
			h.fake.LeaveOrbit(708, c.left, c.by)
			h.waitSlot(708, widgets.SlotFree)
			h.eventually("the history", func() bool { return h.hasHistory(c.want) })
			if c.left != telephony.LeftGaveUp {
				return
			}
			test.AssertRendersToMarkup(t, "console/gave_up.xml", h.w.Canvas())
			test.Tap(h.button("Call back"))
			if !h.fake.WaitAction("dial "+aliceURI, waitFor) {
				t.Fatalf("call back did not dial: %q", h.fake.Actions())
			}
		})
	}
}

func TestParkServiceUnavailable(t *testing.T) {
	h := newHarness(t)
	h.fake.SetParkService(true, "")
	id := h.answered()
	h.fake.SetParkService(false, "park service does not answer")
	h.eventually("the grid greyed out", func() bool { return !h.c.Snapshot().ParkAvailable })
	if s := h.c.Snapshot(); s.Park != "Park service: park service does not answer" || h.orbit(701).State != string(widgets.SlotUnavailable) {
		t.Errorf("park %q, slot 701 %s", s.Park, h.orbit(701).State)
	}
	test.AssertRendersToMarkup(t, "console/park_unavailable.xml", h.w.Canvas())
	h.drag(id, 703)
	h.typeText("p")
	h.settle()
	for _, a := range h.fake.Actions() {
		if len(a) > 5 && a[:5] == "park " {
			t.Errorf("asked to park while the service is down: %q", a)
		}
	}
	if st := h.lineState(id); st != string(widgets.LineActive) {
		t.Errorf("call %s", st)
	}
	h.fake.SetParkService(true, "")
	h.eventually("the grid back", func() bool { return h.c.Snapshot().ParkAvailable })
}

func TestStatusBar(t *testing.T) {
	h := newHarness(t)
	s := h.c.Snapshot()
	if s.Registration != "No PBX account" || s.Audio != "Audio: USB Headset" || s.Park != "Park service: checking…" {
		t.Errorf("status %q / %q / %q", s.Registration, s.Park, s.Audio)
	}
	h.fake.SetRegistration(telephony.RegistrationRegistering, "")
	h.eventually("registering", func() bool { return h.c.Snapshot().Registration == "Registering…" })
	h.fake.SetRegistration(telephony.RegistrationFailed, "403 Forbidden")
	h.eventually("failed", func() bool { return h.c.Snapshot().Registration == "Registration failed: 403 Forbidden" })
	h.fake.SetRegistration(telephony.RegistrationRegistered, "")
	h.eventually("registered", func() bool { return h.c.Snapshot().Registration == "Registered" })
	h.c.SetAudioStatus(app.AudioStatus{Available: false, Text: "no sound device"})
	h.eventually("audio", func() bool { return h.c.Snapshot().Audio == "Audio unavailable: no sound device" })
	h.fake.SetParkService(true, "")
	h.eventually("park", func() bool { return h.c.Snapshot().Park == "Park service: available" })

	// Messages fade after a few seconds.
	h.key(fyne.KeyReturn)
	if h.c.Snapshot().Message == "" {
		t.Fatal("no message")
	}
	h.tick(9 * time.Second)
	if m := h.c.Snapshot().Message; m != "" {
		t.Errorf("message %q still shown", m)
	}
}

func TestEventsLostResynchronises(t *testing.T) {
	h := newHarness(t)
	id := h.answered()
	h.fake.Lose(func() {
		h.fake.SetOrbit(telephony.Orbit{Number: 710, Occupied: true, CallerName: "Bob Chen", CallerURI: "sip:bob@10.0.0.2"})
		h.fake.CallerHangsUp(id)
	})
	h.waitSlot(710, widgets.SlotOccupied)
	h.eventually("the ended call gone", func() bool { _, ok := h.line(id); return !ok })
}

func TestLinesPlaceholderAndManyLines(t *testing.T) {
	h := newHarness(t)
	test.AssertRendersToMarkup(t, "console/empty.xml", h.w.Canvas())
	var ids []telephony.CallID
	for i := 0; i < 20; i++ {
		ids = append(ids, h.fake.Ring(fmt.Sprintf("Caller %02d", i+1), fmt.Sprintf("sip:+1555010%02d@127.0.0.1", i)))
	}
	h.eventually("20 lines", func() bool { return len(h.c.Snapshot().Lines) == 20 })
	for _, id := range ids {
		h.fake.CallerHangsUp(id)
	}
	h.eventually("ended", func() bool { return h.lineState(ids[19]) == string(widgets.LineEnded) })
	h.tick(3 * time.Second)
	if n := len(h.c.Snapshot().Lines); n != 0 {
		t.Errorf("%d lines left", n)
	}
	if n := len(h.history()); n != 20 {
		t.Errorf("%d history entries, want 20 missed calls", n)
	}
}

func TestDialPadDials(t *testing.T) {
	h := newHarness(t)
	test.Tap(h.button("Dial…"))
	pads := find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool { _, ok := o.(*widgets.DialPad); return ok })
	if len(pads) != 1 {
		t.Fatalf("%d dial pads in the dialog", len(pads))
	}
	test.Type(pads[0].(*widgets.DialPad), "+15550142")
	test.Tap(h.button("Call"))
	if !h.fake.WaitAction("dial +15550142", waitFor) {
		t.Fatalf("not dialled: %q", h.fake.Actions())
	}
	h.eventually("the call on the lines", func() bool {
		s := h.c.Snapshot()
		return len(s.Lines) == 1 && s.Lines[0].State == string(widgets.LineActive) && s.Lines[0].Number == "+15550142"
	})
	if !h.hasHistory("Called +15550142") {
		t.Errorf("history %q", h.history())
	}
}

func TestTransfer(t *testing.T) {
	h := newHarness(t)
	id := h.answered()
	test.Tap(h.button("Transfer"))
	h.typeKeys("sip:sales@10.0.0.4") // the dialog gives its entry the keyboard
	test.Tap(h.button("Transfer"))
	if !h.fake.WaitAction("transfer "+string(id)+" sip:sales@10.0.0.4", waitFor) {
		t.Fatalf("not transferred: %q", h.fake.Actions())
	}
	h.waitLine(id, widgets.LineEnded)
}
