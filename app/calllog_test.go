package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/calllog"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// openLog opens a call log in the test's directory; it closes after the
// consoles that use it (cleanups run last first).
func openLog(t *testing.T, path string) *calllog.Log {
	t.Helper()
	l, err := calllog.Open(path, calllog.Options{Clock: func() time.Time { return t0 }})
	if err != nil {
		t.Fatalf("call log: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

func withLog(l *calllog.Log) harnessOpt { return func(o *app.Options) { o.CallLog = l } }

// historyHas waits until the history shows want.
func (h *harness) historyHas(want string) {
	h.t.Helper()
	h.eventually("the history has "+want, func() bool { return h.hasHistory(want) })
}

// TestHistorySurvivesRestart: what the history showed is there after the
// console and its log closed and opened again, call-back marks included;
// calling back marks the caller's missed and gave-up entries handled, in
// the window and in the file.
func TestHistorySurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "calls.db")
	log := openLog(t, path)
	h := newHarness(t, withLog(log))
	id := h.answered()
	h.drag(id, 708)
	h.waitSlot(708, widgets.SlotMine)
	h.clock.Advance(130 * time.Second)
	h.fake.LeaveOrbit(708, telephony.LeftGaveUp, "")
	h.historyHas("Alice Martin gave up on 708 after 2:10 [call back]")
	bob := h.fake.Ring("Bob Chen", "sip:bob@10.0.0.2")
	h.waitLine(bob, widgets.LineRinging)
	h.fake.CallerHangsUp(bob)
	h.historyHas("Missed call from Bob Chen [call back]")
	before := h.history()
	h.c.Close()
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}

	log = openLog(t, path)
	h = newHarness(t, withLog(log))
	if got := h.history(); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Fatalf("history after a restart:\n%q\nbefore:\n%q", got, before)
	}
	// Call back Bob: his entry is handled, Alice's is not.
	test.Tap(h.callBackOf("Missed call from Bob Chen"))
	if !h.fake.WaitAction("dial sip:bob@10.0.0.2", waitFor) {
		t.Fatalf("call back did not dial: %q", h.fake.Actions())
	}
	h.historyHas("Missed call from Bob Chen [called back]")
	h.historyHas("Alice Martin gave up on 708 after 2:10 [call back]")
	h.c.Close()
	if err := log.Close(); err != nil {
		t.Fatal(err)
	}
	log = openLog(t, path)
	h = newHarness(t, withLog(log))
	if !h.hasHistory("Missed call from Bob Chen [called back]") || !h.hasHistory("Alice Martin gave up on 708 after 2:10 [call back]") {
		t.Errorf("the call-back marks after a restart: %q", h.history())
	}
}

// callBackOf finds the "Call back" button of the history row that says
// text.
func (h *harness) callBackOf(text string) *widget.Button {
	h.t.Helper()
	for _, row := range find(h.w.Canvas().Content(), func(o fyne.CanvasObject) bool {
		return len(find(o, func(l fyne.CanvasObject) bool { x, ok := l.(*widget.Label); return ok && x.Text == text })) > 0 &&
			len(find(o, func(b fyne.CanvasObject) bool { x, ok := b.(*widget.Button); return ok && x.Text == "Call back" })) == 1
	}) {
		b := find(row, func(b fyne.CanvasObject) bool { x, ok := b.(*widget.Button); return ok && x.Text == "Call back" })
		return b[0].(*widget.Button)
	}
	h.t.Fatalf("no call-back button on %q in %q", text, h.history())
	return nil
}

// TestHistorySearch: the search box finds calls in the whole log by a
// part of the name (without its accents) or number; emptied, it shows
// the newest again.
func TestHistorySearch(t *testing.T) {
	log := openLog(t, filepath.Join(t.TempDir(), "calls.db"))
	h := newHarness(t, withLog(log))
	for _, c := range []struct{ name, uri string }{
		{"Carol Díaz", "sip:+15550173@10.0.0.7"}, {"Bob Chen", "sip:bob@10.0.0.2"}, {"Dana Núñez", "sip:+15550188@10.0.0.7"},
	} {
		id := h.fake.Ring(c.name, c.uri)
		h.waitLine(id, widgets.LineRinging)
		h.fake.CallerHangsUp(id)
		h.historyHas("Missed call from " + c.name + " [call back]")
	}
	var search *widget.Entry
	for _, o := range find(h.w.Canvas().Content(), func(o fyne.CanvasObject) bool {
		e, ok := o.(*widget.Entry)
		return ok && e.PlaceHolder == "Search name or number"
	}) {
		search = o.(*widget.Entry)
	}
	if search == nil {
		t.Fatal("no search box")
	}
	for _, c := range []struct {
		q    string
		want []string
	}{
		{"diaz", []string{"Missed call from Carol Díaz [call back]"}},
		{"555 01", []string{"Missed call from Dana Núñez [call back]", "Missed call from Carol Díaz [call back]"}},
		{"nobody", []string{}},
		{"", []string{"Missed call from Dana Núñez [call back]", "Missed call from Bob Chen [call back]", "Missed call from Carol Díaz [call back]"}},
	} {
		search.SetText(c.q)
		h.eventually("the history for "+c.q, func() bool { return strings.Join(h.history(), "\n") == strings.Join(c.want, "\n") })
	}
	// A new call that does not match the search in force stays out of
	// the list, and is there when the search is cleared.
	search.SetText("bob")
	h.eventually("Bob only", func() bool { return len(h.history()) == 1 })
	id := h.fake.Ring("Eve Stone", "sip:eve@10.0.0.3")
	h.waitLine(id, widgets.LineRinging)
	h.fake.CallerHangsUp(id)
	h.settle()
	if got := h.history(); len(got) != 1 {
		t.Errorf("searching bob, the history shows %q", got)
	}
	search.SetText("")
	h.historyHas("Missed call from Eve Stone [call back]")
}

// TestNewCallFromParkedNumberIsNotAReturn: a call from the number of a
// caller still parked on 702 (a company's shared caller ID), which a
// phone took for the park's return, rings as a new call: no "back from
// 702" card or notification; the parked caller stays parked in the
// history until its orbit says otherwise.
func TestNewCallFromParkedNumberIsNotAReturn(t *testing.T) {
	h := newHarness(t)
	h.parkedHere(702)
	id := h.fake.RingBack("Alice Martin", aliceURI, 702)
	h.eventually("the new call", func() bool { _, ok := h.line(id); return ok })
	h.settle()
	if l, _ := h.line(id); l.State != string(widgets.LineRinging) || l.Orbit != 0 {
		t.Errorf("a new call from a parked caller's number shows as %q from orbit %d, want a new ringing call", l.State, l.Orbit)
	}
	h.eventually("the notification", func() bool { return h.c.Snapshot().Notification != "" })
	if n := h.c.Snapshot().Notification; !strings.HasPrefix(n, "Incoming call: ") {
		t.Errorf("notification %q", n)
	}
	test.Tap(h.button("Answer"))
	h.waitLine(id, widgets.LineActive)
	h.historyHas("Answered Alice Martin")
	h.historyHas("Parked Alice Martin on 702")
	if o := h.orbit(702); o.State != string(widgets.SlotMine) {
		t.Errorf("orbit 702 %q", o.State)
	}
	// The parked caller is retrieved by a colleague: that is what the
	// history says of it.
	h.clock.Advance(time.Minute)
	h.fake.LeaveOrbit(702, telephony.LeftRetrieved, "sip:reception2@10.0.0.9")
	h.historyHas("Alice Martin was retrieved from 702 by reception2 after 1:00")
	for _, e := range h.history() {
		if strings.Contains(e, "gave up") || strings.Contains(e, "back from") {
			t.Errorf("history %q", h.history())
		}
	}
}

// TestUnmarkedReturnWhenOrbitDarkens: a PBX that does not mark returns
// (its lamps name no ring-back) rings the parker back as the orbit goes
// dark; however its signals cross, the call is the return once the orbit
// is dark.
func TestUnmarkedReturnWhenOrbitDarkens(t *testing.T) {
	h := newHarness(t)
	h.parkedHere(702)
	id := h.fake.RingBack("Alice Martin", aliceURI, 702)
	h.waitLine(id, widgets.LineRinging)
	h.fake.ClearOrbit(702)
	h.waitLine(id, widgets.LineBack)
	if l, _ := h.line(id); l.Orbit != 702 {
		t.Errorf("card orbit %d", l.Orbit)
	}
	test.Tap(h.button("Answer"))
	h.historyHas("Answered Alice Martin, back from 702")
}

// TestMarkedReturnWhileRingingBack: the park service says it rings the
// call back (its lamp, and X-Park-Orbit on the call): a return, though
// the orbit is lit.
func TestMarkedReturnWhileRingingBack(t *testing.T) {
	h := newHarness(t)
	o := h.parkedHere(701)
	o.RingingBack, o.RingingBackSince = o.Parker, h.clock.Advance(2*time.Minute)
	h.fake.SetOrbit(o)
	h.waitSlot(701, widgets.SlotRingingBack)
	id := h.fake.RingBack("Alice Martin", aliceURI, 701)
	h.waitLine(id, widgets.LineBack)
}

// TestUnansweredRingBackIsNotMissed: nobody answers the park service's
// ring-back of Grace on 701; she goes back to the orbit. The history
// says she rang back, with no missed call and no call-back button.
func TestUnansweredRingBackIsNotMissed(t *testing.T) {
	h := newHarness(t)
	o := h.parkedHere(701)
	o.RingingBack, o.RingingBackSince = o.Parker, h.clock.Advance(2*time.Minute)
	h.fake.SetOrbit(o)
	h.waitSlot(701, widgets.SlotRingingBack)
	id := h.fake.RingBack("Grace Kim", aliceURI, 701)
	h.waitLine(id, widgets.LineBack)
	h.fake.CallerHangsUp(id) // the service gives up ringing
	o.RingingBack, o.RingingBackSince, o.ReturnedAt = "", time.Time{}, h.clock.Advance(30*time.Second)
	h.fake.SetOrbit(o)
	h.historyHas("Grace Kim rang back from 701, returned to the orbit")
	for _, e := range h.history() {
		if strings.Contains(e, "Missed") || strings.Contains(e, "[call back]") {
			t.Errorf("history %q", h.history())
		}
	}
}

// TestHistoryStaysUnderPointer: while the pointer is over the history,
// new calls do not move its rows: they wait behind an "N new" button;
// the row under the pointer stays the one that was there, and a tap
// there calls back that caller. The pointer gone, the new rows show.
func TestHistoryStaysUnderPointer(t *testing.T) {
	h := newHarness(t)
	miss := func(name, uri string) {
		id := h.fake.Ring(name, uri)
		h.waitLine(id, widgets.LineRinging)
		h.fake.CallerHangsUp(id)
		h.historyHas("Missed call from " + name + " [call back]")
	}
	miss("Bob Chen", "sip:bob@10.0.0.2")
	miss("Carol Díaz", "sip:carol@10.0.0.3")
	h.tick(3 * time.Second) // the ended cards leave
	button := h.callBackOf("Missed call from Bob Chen")
	at := centre(button)
	test.MoveMouse(h.w.Canvas(), at)

	miss2 := func(name, uri string) {
		id := h.fake.Ring(name, uri)
		h.waitLine(id, widgets.LineRinging)
		h.fake.CallerHangsUp(id)
		h.eventually("the new entry waiting", func() bool {
			return len(find(h.w.Canvas().Content(), func(o fyne.CanvasObject) bool {
				b, ok := o.(*widget.Button)
				return ok && strings.HasSuffix(b.Text, " new")
			})) == 1
		})
	}
	miss2("Eve Stone", "sip:eve@10.0.0.4")
	miss2("Dan Ford", "sip:dan@10.0.0.5")
	h.settle()
	if got := centre(h.callBackOf("Missed call from Bob Chen")); got != at {
		t.Errorf("Bob's call-back button moved from %v to %v under the pointer", at, got)
	}
	if h.button("2 new") == nil || h.hasHistory("Missed call from Eve Stone [call back]") {
		t.Errorf("history %q, want the new calls waiting", h.history())
	}
	test.TapCanvas(h.w.Canvas(), at)
	if !h.fake.WaitAction("dial sip:bob@10.0.0.2", waitFor) {
		t.Fatalf("the tap under the pointer did not call Bob back: %q", h.fake.Actions())
	}
	// The pointer leaves: the new calls show on top, the call back too.
	test.MoveMouse(h.w.Canvas(), fyne.NewPos(1, 1))
	want := []string{"Called bob@10.0.0.2", "Missed call from Dan Ford [call back]", "Missed call from Eve Stone [call back]",
		"Missed call from Carol Díaz [call back]", "Missed call from Bob Chen [called back]"}
	h.eventually("the new calls on top", func() bool { return strings.Join(h.history(), "\n") == strings.Join(want, "\n") })
}

// TestCallLogSettings: the call log's place and retention persist apart
// from the settings dialog's, default to the user's data directory and
// 90 days, and open the log where they say.
func TestCallLogSettings(t *testing.T) {
	a := newApp(t)
	p := a.Preferences()
	if s := app.LoadCallLogSettings(p); s != (app.CallLogSettings{Days: 90}) {
		t.Errorf("defaults %+v", s)
	}
	path := filepath.Join(t.TempDir(), "elsewhere", "calls.db")
	app.CallLogSettings{Path: path, Days: 30}.Save(p)
	app.DefaultSettings().Save(p) // the settings dialog's save
	s := app.LoadCallLogSettings(p)
	if s != (app.CallLogSettings{Path: path, Days: 30}) {
		t.Fatalf("loaded %+v", s)
	}
	l, err := s.OpenCallLog(nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the log is not where the settings say: %v", err)
	}
	// A place that cannot hold it is an error to show, not a crash.
	if l, err := (app.CallLogSettings{Path: t.TempDir()}).OpenCallLog(nil); err == nil {
		_ = l.Close()
		t.Error("opened a directory as the call log")
	}
}

// TestTransferredTo: the history says where a call was transferred.
func TestTransferredTo(t *testing.T) {
	h := newHarness(t)
	h.answered()
	test.Tap(h.button("Transfer"))
	entry := h.w.Canvas().Focused()
	if entry == nil {
		t.Fatal("the transfer dialog's entry has not the keyboard")
	}
	for _, r := range "sip:sales@10.0.0.4" {
		entry.TypedRune(r)
	}
	test.Tap(h.button("Transfer"))
	h.historyHas("Transferred Alice Martin to sales")
}

// TestLateDarkIsNoReturn: a call from a parked caller's number that has
// rung a while is not taken for the return when the orbit darkens later:
// a colleague took the parked caller, the PBX saying nothing.
func TestLateDarkIsNoReturn(t *testing.T) {
	h := newHarness(t)
	h.parkedHere(702)
	id := h.fake.RingBack("Alice Martin", aliceURI, 702)
	h.waitLine(id, widgets.LineRinging)
	h.clock.Advance(20 * time.Second)
	h.fake.ClearOrbit(702)
	h.waitSlot(702, widgets.SlotFree)
	h.settle()
	if l, _ := h.line(id); l.State != string(widgets.LineRinging) || l.Orbit != 0 {
		t.Errorf("the call shows as %q from %d after the orbit darkened 20 s later", l.State, l.Orbit)
	}
}

// TestColleaguesRingBackIsNoReturnHere: while the park service rings a
// colleague back for the caller on 702, a call here from that number is
// a new call.
func TestColleaguesRingBackIsNoReturnHere(t *testing.T) {
	h := newHarness(t)
	h.fake.SetOrbit(telephony.Orbit{Number: 702, Occupied: true, CallerName: "Alice Martin", CallerURI: aliceURI,
		Parker: reception1, ParkedAt: t0.Add(-3 * time.Minute), RingingBack: reception1, RingingBackSince: t0})
	h.waitSlot(702, widgets.SlotRingingBack)
	id := h.fake.RingBack("Alice Martin", aliceURI, 702)
	h.waitLine(id, widgets.LineRinging)
	h.settle()
	if l, _ := h.line(id); l.State != string(widgets.LineRinging) || l.Orbit != 0 {
		t.Errorf("the call shows as %q from %d while 702 rings reception1", l.State, l.Orbit)
	}
}
