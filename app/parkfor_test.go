package app_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// shiftDrops makes the grid see Shift held at every drop.
func (h *harness) shiftDrops() {
	h.c.Grid().Modifiers = func() fyne.KeyModifier { return fyne.KeyModifierShift }
}

// prompt waits for the "Park for…" prompt and returns its search box,
// note box and the names it offers (Enter's first).
func (h *harness) prompt() (search, note fyne.Focusable, offered []string) {
	h.t.Helper()
	var ok bool
	h.eventually("the Park for… prompt", func() bool {
		search, note, offered, ok = h.c.ParkForPrompt()
		return ok
	})
	return search, note, offered
}

// noPrompt checks that nothing is asked: no prompt, no dialog.
func (h *harness) noPrompt(when string) {
	h.t.Helper()
	if _, _, _, ok := h.c.ParkForPrompt(); ok || h.w.Canvas().Overlays().Top() != nil {
		h.t.Fatalf("%s: a prompt or dialog is open", when)
	}
}

// TestParkForCommonCaseCostsNothing: a plain drop and p park at once,
// for nobody: no prompt, not one step more than before.
func TestParkForCommonCaseCostsNothing(t *testing.T) {
	h := newHarness(t)
	id := h.answered()
	h.drag(id, 703)
	h.noPrompt("plain drop")
	if !h.fake.WaitAction(fmt.Sprintf("park %s 703", id), waitFor) {
		t.Fatalf("actions %q", h.fake.Actions())
	}
	h.waitSlot(703, widgets.SlotMine)
	if s := h.c.Grid().Slot(703); s.For != "" {
		t.Errorf("slot 703 is for %q", s.For)
	}

	id2 := h.fake.Ring("Dan Okafor", "sip:dan@127.0.0.1")
	h.waitLine(id2, widgets.LineRinging)
	test.Tap(h.button("Answer"))
	h.waitLine(id2, widgets.LineActive)
	h.typeText("p")
	h.noPrompt("p")
	if !h.fake.WaitAction(fmt.Sprintf("park %s 701", id2), waitFor) {
		t.Fatalf("actions %q", h.fake.Actions())
	}
}

// TestShiftDropParksForSearchedPerson: a drop with Shift held asks for
// whom; typing searches the directory (diacritics aside), Enter parks for
// the first match with the note, and the slot says "for Bob Chen".
func TestShiftDropParksForSearchedPerson(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := h.answered()
	h.shiftDrops()
	h.drag(id, 704)
	search, note, _ := h.prompt()
	if h.focused() != search {
		t.Fatalf("the prompt's search box does not have the keyboard (%T does)", h.focused())
	}
	if got := h.orbit(704).Hint; got != "Park for…" {
		t.Errorf("slot 704 hint %q while asked", got)
	}
	test.Type(search, "bob")
	if _, _, offered, _ := h.c.ParkForPrompt(); len(offered) != 1 || offered[0] != "Bob Chen" {
		t.Fatalf("offered %q for bob", offered)
	}
	h.w.Canvas().Focus(note)
	test.Type(note, "re: contract")
	note.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	want := fmt.Sprintf("park %s 704 for 2105 note %q", id, "re: contract")
	if !h.fake.WaitAction(want, waitFor) {
		t.Fatalf("actions %q, want %q", h.fake.Actions(), want)
	}
	h.waitSlot(704, widgets.SlotMine)
	h.eventually("slot 704 for Bob Chen", func() bool {
		s := h.c.Grid().Slot(704)
		return s.For == "Bob Chen" && s.Note == "re: contract"
	})
	h.noPrompt("after Enter")
}

// TestShiftDropOffersSelectedContact: the contact selected in the People
// pane is offered first, so Shift+drop then Enter parks for them; Down
// and Up choose among the matches.
func TestShiftDropOffersSelectedContact(t *testing.T) {
	h, _ := newPeopleHarness(t)
	pane := h.c.People()
	for i, r := range pane.Rows {
		if r.Name == "Eva Novák" {
			pane.MoveSelection(i - pane.Selected)
		}
	}
	id := h.answered()
	h.shiftDrops()
	h.drag(id, 705)
	search, _, offered := h.prompt()
	if len(offered) != 1 || offered[0] != "Eva Novák" {
		t.Fatalf("offered %q, want the selected Eva Novák", offered)
	}
	test.Type(search, "e") // Eva Novák, Bob Chen, Jürgen Groß all have an e
	_, _, offered, _ = h.c.ParkForPrompt()
	if len(offered) < 2 {
		t.Fatalf("offered %q for e", offered)
	}
	search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDown})
	_, _, after, _ := h.c.ParkForPrompt()
	if after[0] != offered[1] {
		t.Fatalf("Down: Enter takes %q, want %q", after[0], offered[1])
	}
	search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyUp})
	search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	prefix := fmt.Sprintf("park %s 705 for ", id)
	h.eventually("a park for "+offered[0], func() bool {
		return slices.ContainsFunc(h.fake.Actions(), func(a string) bool { return strings.HasPrefix(a, prefix) })
	})
	h.eventually("slot 705 for "+offered[0], func() bool { return h.c.Grid().Slot(705).For == offered[0] })
}

// TestParkForNobodyAndCancel: the prompt's Nobody parks at once for
// nobody; P (Shift+p) asks too, and Esc parks nothing: the call stays
// live on the lines and the slot's words go.
func TestParkForNobodyAndCancel(t *testing.T) {
	h := newHarness(t)
	id := h.answered()
	h.shiftDrops()
	h.drag(id, 706)
	h.prompt()
	test.Tap(h.button("Nobody"))
	if !h.fake.WaitAction(fmt.Sprintf("park %s 706", id), waitFor) {
		t.Fatalf("actions %q", h.fake.Actions())
	}
	h.noPrompt("after Nobody")

	id2 := h.fake.Ring("Dan Okafor", "sip:dan@127.0.0.1")
	h.waitLine(id2, widgets.LineRinging)
	test.Tap(h.button("Answer"))
	h.waitLine(id2, widgets.LineActive)
	before := len(h.fake.Actions())
	h.typeText("P")
	search, _, _ := h.prompt()
	// Without a directory the box takes an extension.
	test.Type(search, "2105")
	if _, _, offered, _ := h.c.ParkForPrompt(); len(offered) != 1 || offered[0] != "2105" {
		t.Fatalf("offered %q for 2105", offered)
	}
	search.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	h.settle()
	h.noPrompt("after Esc")
	if got := h.fake.Actions()[before:]; len(got) != 0 {
		t.Fatalf("Esc asked the phone for %q", got)
	}
	if st := h.lineState(id2); st != string(widgets.LineActive) {
		t.Fatalf("call after Esc: %s", st)
	}
	if got := h.orbit(701).Hint; got != "" {
		t.Errorf("slot 701 still says %q", got)
	}
}

// TestSlotNamesWhomFor: another console's park for someone shows "for"
// and the directory's name on this console's slot; an address the
// directory lacks shows as a receptionist reads it.
func TestSlotNamesWhomFor(t *testing.T) {
	h, _ := newPeopleHarness(t)
	h.fake.SetOrbit(telephony.Orbit{Number: 708, Occupied: true, CallerName: "Eva Novak", CallerURI: "sip:+442079460777@pbx.example",
		Parker: "sip:reception2@10.0.0.9", ParkedAt: t0, For: "sip:jurgen@pbx.example", Note: "urgent"})
	h.waitSlot(708, widgets.SlotOccupied)
	h.eventually("slot 708 for Jürgen Groß", func() bool {
		s := h.c.Grid().Slot(708)
		return s.For == "Jürgen Groß" && s.Note == "urgent"
	})
	h.fake.SetOrbit(telephony.Orbit{Number: 709, Occupied: true, CallerName: "Dan", CallerURI: "sip:dan@pbx.example",
		Parker: "sip:reception2@10.0.0.9", ParkedAt: t0, For: "sip:4711@pbx.example"})
	h.eventually("slot 709 for 4711", func() bool { return h.c.Grid().Slot(709).For == "4711" })
	h.fake.ClearOrbit(708)
	h.eventually("slot 708 for nobody once free", func() bool { return h.c.Grid().Slot(708).For == "" })
}

// TestParkedForYouRetrieves: a colleague's park notice shows in the
// window with Retrieve, which retrieves with the notice (its token).
func TestParkedForYouRetrieves(t *testing.T) {
	h := newHarness(t)
	h.fake.SetOrbit(telephony.Orbit{Number: 705, Occupied: true, CallerName: "Eva Novak", CallerURI: "sip:+442079460777@pbx.example",
		Parker: "sip:reception2@10.0.0.9", ParkedAt: t0})
	h.fake.TellParkedFor(telephony.ParkedForYou{Orbit: 705, CallerName: "Eva Novak", CallerURI: "sip:+442079460777@pbx.example",
		From: "sip:reception2@10.0.0.9", FromName: "Reception 2", Token: "tok705",
		Text: "Call for you: Eva Novak (+442079460777) on 705 — dial 705", At: t0, Check: telephony.NoticeConfirmed})
	h.eventually("the notice", func() bool { return h.w.Canvas().Overlays().Top() != nil })
	test.Tap(h.button("Retrieve"))
	if !h.fake.WaitAction("retrieve-parked 705 tok705", waitFor) {
		t.Fatalf("actions %q", h.fake.Actions())
	}
	h.waitSlot(705, widgets.SlotFree)
}

// evaNotice is a park notice of Eva Novak on 705 with the check.
func evaNotice(check telephony.NoticeCheck, left telephony.ParkOutcome) telephony.ParkedForYou {
	return telephony.ParkedForYou{Orbit: 705, CallerName: "Eva Novak", CallerURI: "sip:+442079460777@pbx.example",
		From: "sip:reception2@10.0.0.9", FromName: "Reception 2", Token: "tok705",
		Text: "Call for you: Eva Novak (+442079460777) on 705 — dial 705", At: t0, Check: check, Left: left}
}

// hasDialogButton reports whether the open dialog has a button text.
func (h *harness) hasDialogButton(text string) bool {
	top := h.w.Canvas().Overlays().Top()
	return top != nil && len(find(top, func(o fyne.CanvasObject) bool {
		b, ok := o.(*widget.Button)
		return ok && b.Text == text
	})) > 0
}

// TestParkNoticeStaleSaysSo: a notice whose call was already picked up
// says so plainly and offers no Retrieve (issue 16: it offered one that
// failed); one the lamp does not confirm (forged, another caller there)
// is information with why, without Retrieve.
func TestParkNoticeStaleSaysSo(t *testing.T) {
	cases := []struct {
		check telephony.NoticeCheck
		left  telephony.ParkOutcome
		want  string
	}{
		{telephony.NoticeGone, telephony.LeftRetrieved, "Eva Novak was already picked up from 705"},
		{telephony.NoticeGone, telephony.LeftGaveUp, "Eva Novak hung up on 705 before anyone picked up"},
		{telephony.NoticeNotForYou, 0, "The park service does not say the call on 705 is for you"},
		{telephony.NoticeOtherCaller, 0, "Eva Novak is not on 705: another call is parked there"},
	}
	for _, tc := range cases {
		t.Run(tc.want, func(t *testing.T) {
			h := newHarness(t)
			h.fake.TellParkedFor(evaNotice(tc.check, tc.left))
			h.eventually("the notice says "+tc.want, func() bool { return slices.Contains(h.dialogLabels(), tc.want) })
			if h.hasDialogButton("Retrieve") {
				t.Fatalf("a %s notice offers Retrieve: %q", tc.check, h.dialogLabels())
			}
			if got := h.c.Snapshot().Notification; got != "Park notice: "+tc.want {
				t.Fatalf("notification %q", got)
			}
		})
	}
}

// TestParkNoticeConfirmedLater: a genuine notice may come before the
// orbit's lamp lights: shown first without Retrieve, it gains Retrieve
// when the phone reports it again confirmed, which retrieves with its
// token. A recheck of a notice already closed opens nothing.
func TestParkNoticeConfirmedLater(t *testing.T) {
	h := newHarness(t)
	h.fake.SetOrbit(telephony.Orbit{Number: 705, Occupied: true, CallerName: "Eva Novak", CallerURI: "sip:+442079460777@pbx.example",
		Parker: "sip:reception2@10.0.0.9", ParkedAt: t0})
	h.fake.TellParkedFor(evaNotice(telephony.NoticeUnconfirmed, 0))
	h.eventually("the unconfirmed notice", func() bool {
		return slices.Contains(h.dialogLabels(), "The park service does not show Eva Novak on 705: dial 705 to pick up")
	})
	if h.hasDialogButton("Retrieve") {
		t.Fatal("an unconfirmed notice offers Retrieve")
	}
	n := evaNotice(telephony.NoticeConfirmed, 0)
	n.Recheck = true
	h.fake.TellParkedFor(n)
	h.eventually("Retrieve once confirmed", func() bool { return h.hasDialogButton("Retrieve") })
	if got := len(h.w.Canvas().Overlays().List()); got != 1 {
		t.Fatalf("%d overlays, want the confirmed notice only", got)
	}
	test.Tap(h.button("Retrieve"))
	if !h.fake.WaitAction("retrieve-parked 705 tok705", waitFor) {
		t.Fatalf("actions %q", h.fake.Actions())
	}
	h.eventually("the notice closed", func() bool { return !h.dialogOpen() })
	gone := evaNotice(telephony.NoticeGone, telephony.LeftRetrieved)
	gone.Recheck = true
	h.fake.TellParkedFor(gone)
	h.settle()
	if h.dialogOpen() {
		t.Fatalf("a recheck of a notice dealt with opened %q", h.dialogLabels())
	}
}

// TestRingBackCardSaysWhomFor: a ring-back of a call parked for
// someone says whom for on its card, by the directory's name, and the
// note (issue 16: the ringing-back card said only "Back from 705").
func TestRingBackCardSaysWhomFor(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := h.fake.RingBackFor("Eva Novak", "sip:+442079460777@pbx.example", 705, "sip:jurgen@pbx.example", "urgent")
	h.waitLine(id, widgets.LineBack)
	h.waitDetail(id, "for Jürgen Groß: urgent")
	other := h.fake.RingBackFor("Dan", "sip:dan@pbx.example", 706, "sip:4711@pbx.example", "")
	h.waitDetail(other, "for 4711")
}

// TestParkNoticeRetrieveTooLate: Retrieve on a confirmed notice whose
// call left meanwhile (before the phone's recheck came) retrieves
// nothing and says so in plain words, not "something went wrong".
func TestParkNoticeRetrieveTooLate(t *testing.T) {
	h := newHarness(t)
	h.fake.SetOrbit(telephony.Orbit{Number: 705, Occupied: true, CallerName: "Eva Novak", CallerURI: "sip:+442079460777@pbx.example",
		Parker: "sip:reception2@10.0.0.9", ParkedAt: t0})
	h.fake.TellParkedFor(evaNotice(telephony.NoticeConfirmed, 0))
	h.eventually("Retrieve", func() bool { return h.hasDialogButton("Retrieve") })
	h.fake.LeaveOrbit(705, telephony.LeftRetrieved, "sip:ann@pbx.example")
	test.Tap(h.button("Retrieve"))
	const want = "Could not retrieve the call on 705: Eva Novak was already picked up from 705."
	h.eventually("the words", func() bool { return h.c.Snapshot().Message == want })
	if slices.Contains(h.fake.Actions(), "retrieve-parked 705 tok705") {
		t.Fatalf("a retrieve went out: %q", h.fake.Actions())
	}
}
