package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// cardTexts returns the texts the card of call id draws.
func (h *harness) cardTexts(id telephony.CallID) []string {
	h.t.Helper()
	card := h.c.Card(id)
	if card == nil {
		h.t.Fatalf("no card for %s", id)
	}
	var out []string
	for _, o := range find(card, func(o fyne.CanvasObject) bool { _, ok := o.(*canvas.Text); return ok }) {
		if s := o.(*canvas.Text).Text; s != "" {
			out = append(out, s)
		}
	}
	return out
}

// linesHeading returns the Lines pane's heading as the window shows it.
func (h *harness) linesHeading() string {
	for _, o := range find(h.w.Canvas().Content(), func(o fyne.CanvasObject) bool {
		l, ok := o.(*widget.Label)
		return ok && strings.HasPrefix(l.Text, "Lines")
	}) {
		return o.(*widget.Label).Text
	}
	return ""
}

// splits returns the window's splits: the columns, then lines/history.
func (h *harness) linesSplit() *container.Split {
	h.t.Helper()
	for _, o := range find(h.w.Canvas().Content(), func(o fyne.CanvasObject) bool {
		s, ok := o.(*container.Split)
		return ok && !s.Horizontal
	}) {
		return o.(*container.Split)
	}
	h.t.Fatal("no lines/history split")
	return nil
}

// orbitOf returns orbit n as the phone has it.
func (h *harness) orbitOf(n int) telephony.Orbit {
	h.t.Helper()
	for _, o := range h.fake.Orbits() {
		if o.Number == n {
			return o
		}
	}
	h.t.Fatalf("no orbit %d", n)
	return telephony.Orbit{}
}

func (h *harness) names() []string {
	var out []string
	for _, l := range h.c.Snapshot().Lines {
		out = append(out, l.Name)
	}
	return out
}

// TestQueueTotalTime: the Lines heading counts the callers who wait
// (ringing or held); a held call's card shows its total time in the
// system, not only its time on hold; H resumes the caller who has waited
// longest and P parks a held call when none is live (issue 13, items 2
// and 12).
func TestQueueTotalTime(t *testing.T) {
	h := newHarness(t)
	alice := h.fake.Ring("Alice Martin", aliceURI)
	h.waitLine(alice, widgets.LineRinging)
	if got := h.linesHeading(); got != "Lines · 1 waiting" {
		t.Errorf("heading %q", got)
	}
	h.press(fyne.KeyReturn)
	h.waitLine(alice, widgets.LineActive)
	if got := h.linesHeading(); got != "Lines" {
		t.Errorf("heading with only a live call %q", got)
	}

	h.clock.Advance(20 * time.Second)
	bob := h.fake.Ring("Bob Chen", "sip:+15550142@127.0.0.1:5082")
	h.waitLine(bob, widgets.LineRinging)
	h.press(fyne.KeyReturn)
	h.waitLine(bob, widgets.LineActive)
	h.waitLine(alice, widgets.LineHeld)
	h.clock.Advance(20 * time.Second)
	carol := h.fake.Ring("Carol Díaz", "sip:+15550173@127.0.0.1:5083")
	h.waitLine(carol, widgets.LineRinging)
	h.tick(0)
	if got := h.linesHeading(); got != "Lines · 2 waiting" {
		t.Errorf("heading %q, want 2 waiting (Alice held, Carol ringing)", got)
	}
	// Alice: 0:20 on hold, 0:40 in all.
	if texts := h.cardTexts(alice); !slices.Contains(texts, "0:20") || !slices.Contains(texts, "waited 0:40") {
		t.Errorf("Alice's card draws %q, want her hold time and her total", texts)
	}

	// Bob goes on hold too: H takes back Alice, who has waited longest,
	// not Bob, held last.
	h.typeText("h")
	h.waitLine(bob, widgets.LineHeld)
	h.typeText("h")
	h.waitLine(alice, widgets.LineActive)
	if st := h.lineState(bob); st != string(widgets.LineHeld) {
		t.Fatalf("Bob is %s", st)
	}

	// With nothing live, P parks the held caller who waited longest, as
	// a drag would.
	h.typeText("h")
	h.waitLine(alice, widgets.LineHeld)
	h.typeText("p")
	if !h.fake.WaitAction(fmt.Sprintf("park %s 701", alice), waitFor) {
		t.Fatalf("P did not park held Alice: %q", h.fake.Actions())
	}
	h.waitSlot(701, widgets.SlotMine)
}

// TestRingBackWaitedLongestFirst: a ring-back keeps its caller's time in
// the system from the first ring: it is listed and answered (Enter)
// before a caller who rang later, and marked as a ring-back and a long
// wait in words (issue 13, item 2).
func TestRingBackWaitedLongestFirst(t *testing.T) {
	h := newHarness(t)
	alice := h.fake.Ring("Alice Martin", aliceURI)
	h.waitLine(alice, widgets.LineRinging)
	h.clock.Advance(30 * time.Second)
	test.Tap(h.button("Answer"))
	h.waitLine(alice, widgets.LineActive)
	h.drag(alice, 705)
	h.waitSlot(705, widgets.SlotMine)
	h.tick(3 * time.Second) // the parked card leaves

	h.clock.Advance(2 * time.Minute)
	bob := h.fake.Ring("Bob Chen", "sip:+15550142@127.0.0.1:5082")
	h.waitLine(bob, widgets.LineRinging)
	// Nobody picked 705 up: the park service rings this console back.
	ring := h.clock.Advance(10 * time.Second)
	o := h.orbitOf(705)
	o.RingingBack, o.RingingBackSince = o.Parker, ring
	h.fake.SetOrbit(o)
	h.waitSlot(705, widgets.SlotRingingBack)
	back := h.fake.RingBack("Alice Martin", aliceURI, 705)
	h.waitLine(back, widgets.LineBack)
	h.tick(0)

	if got := h.names(); !slices.Equal(got, []string{"Alice Martin", "Bob Chen"}) {
		t.Errorf("lines %q, want Alice (rang first, 2:43 ago) before Bob", got)
	}
	texts := h.cardTexts(back)
	if !slices.Contains(texts, "Back from 705") || !slices.Contains(texts, "long wait 2:43") {
		t.Errorf("the ring-back draws %q, want it marked back and a long wait", texts)
	}
	if texts := h.cardTexts(bob); slices.ContainsFunc(texts, func(s string) bool { return strings.HasPrefix(s, "long wait") }) {
		t.Errorf("Bob, 0:10 in, is marked a long wait: %q", texts)
	}
	h.press(fyne.KeyReturn)
	if !h.fake.WaitAction("answer "+string(back), waitFor) {
		t.Fatalf("Enter did not answer the caller who waited longest: %q", h.fake.Actions())
	}
}

// TestSixRingingCallsAllVisible: six callers ringing at once in a
// 1024×700 window are all on screen, without scrolling, and counted
// (issue 13, item 2: three and a half cards were visible).
func TestSixRingingCallsAllVisible(t *testing.T) {
	h := newHarness(t)
	h.w.Resize(fyne.NewSize(1024, 700))
	for i := range 6 {
		h.fake.Ring(fmt.Sprintf("Caller %d", i+1), fmt.Sprintf("sip:+155501%02d@127.0.0.1", i))
		h.clock.Advance(20 * time.Second)
	}
	h.eventually("6 lines", func() bool { return len(h.c.Snapshot().Lines) == 6 })
	h.tick(0) // the first callers are long waits now, marked in words
	h.settle()
	if got := h.linesHeading(); got != "Lines · 6 waiting" {
		t.Errorf("heading %q", got)
	}
	var scroll *container.Scroll
	for _, o := range find(h.linesSplit().Leading, func(o fyne.CanvasObject) bool { _, ok := o.(*container.Scroll); return ok }) {
		scroll = o.(*container.Scroll)
		break
	}
	if scroll == nil {
		t.Fatal("the lines do not scroll")
	}
	top := fyne.CurrentApp().Driver().AbsolutePositionForObject(scroll).Y
	bottom := top + scroll.Size().Height
	for _, l := range h.c.Snapshot().Lines {
		if l.Rect.H <= 0 || l.Rect.Y < top || l.Rect.Y+l.Rect.H > bottom+0.5 {
			t.Errorf("%s at y %.0f–%.0f, the lines show %.0f–%.0f", l.Name, l.Rect.Y, l.Rect.Y+l.Rect.H, top, bottom)
		}
	}
}

// TestHistoryCollapsibleAndRemembered: the history gives its room to the
// lines on request, and the lines/history split is where the
// receptionist left it the next time the window opens (issue 13,
// item 2).
func TestHistoryCollapsibleAndRemembered(t *testing.T) {
	h := newHarness(t)
	split := h.linesSplit()
	split.SetOffset(0.5)
	h.tick(time.Second)
	test.Tap(h.button("Hide history"))
	if split.Trailing.Visible() {
		t.Fatal("the history is still shown")
	}

	h2 := openConsole(t, h.a, h.fake, "Switchboard 2")
	split2 := h2.linesSplit()
	if split2.Offset != 0.5 {
		t.Errorf("offset %v in a new window, want 0.5 as left", split2.Offset)
	}
	if split2.Trailing.Visible() {
		t.Error("the history is shown in a new window, hidden in the last")
	}
	test.Tap(h2.button("Show history"))
	if !split2.Trailing.Visible() {
		t.Error("Show history did not show it")
	}
}

// TestShortcutsDialTransferDecline: D opens the Dial dialog, T the
// Transfer dialog of the live call, X declines the longest-waiting
// ringing call after a question (issue 13, item 12).
func TestShortcutsDialTransferDecline(t *testing.T) {
	h := newHarness(t)
	h.typeText("d")
	if !h.dialogOpen() || len(find(h.w.Canvas().Overlays().Top(), func(o fyne.CanvasObject) bool { _, ok := o.(*widgets.DialPad); return ok })) != 1 {
		t.Fatal("D did not open the Dial dialog")
	}
	h.press(fyne.KeyEscape)

	alice := h.answered()
	h.typeText("t")
	if !h.dialogOpen() {
		t.Fatal("T did not open the Transfer dialog")
	}
	h.typeKeys("2041")
	h.press(fyne.KeyReturn)
	if !h.fake.WaitAction("transfer "+string(alice)+" 2041", waitFor) {
		t.Fatalf("T, 2041, Enter did not transfer: %q", h.fake.Actions())
	}

	bob := h.fake.Ring("Bob Chen", "sip:+15550142@127.0.0.1:5082")
	h.waitLine(bob, widgets.LineRinging)
	h.typeText("x")
	if got := h.c.Snapshot().Confirm; got != "Decline Bob Chen?" {
		t.Fatalf("X asked %q", got)
	}
	h.typeText("y")
	if !h.fake.WaitAction("reject "+string(bob), waitFor) {
		t.Fatalf("X, Y did not decline: %q", h.fake.Actions())
	}
}
