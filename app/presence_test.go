package app_test

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/directory"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// rowPresence is the lamp of the People pane's row named name.
func rowPresence(h *harness, name string) (widgets.Presence, bool) {
	for _, r := range h.c.People().Rows {
		if r.Name == name {
			return r.Presence, true
		}
	}
	return widgets.PresenceUnknown, false
}

// hasAction reports whether the phone was asked to do want.
func hasAction(h *harness, want string) bool {
	return slices.Contains(h.fake.Actions(), want)
}

// TestPeopleLampsFollowPresence: the contacts shown are watched (by
// extension, or SIP address), and their lamps follow the phone's
// PresenceChanged: busy, then free; the favourites say it too.
func TestPeopleLampsFollowPresence(t *testing.T) {
	h, _ := newPeopleHarness(t)
	h.eventually("the shown contacts watched", func() bool {
		w := h.fake.Watched()
		return slices.Contains(w, "2104") && slices.Contains(w, "2105") && slices.Contains(w, "sip:jurgen@pbx.example")
	})
	h.fake.SetPresence("2105", telephony.PresenceBusy)
	h.eventually("Bob's lamp busy", func() bool { p, _ := rowPresence(h, "Bob Chen"); return p == widgets.PresenceBusy })
	h.fake.SetPresence("2105", telephony.PresenceRinging)
	h.eventually("Bob's lamp ringing", func() bool { p, _ := rowPresence(h, "Bob Chen"); return p == widgets.PresenceRinging })
	h.fake.SetPresence("2105", telephony.PresenceIdle)
	h.eventually("Bob's lamp free", func() bool { p, _ := rowPresence(h, "Bob Chen"); return p == widgets.PresenceIdle })
	if p, _ := rowPresence(h, "Eva Novák"); p != widgets.PresenceUnknown {
		t.Fatalf("Eva's lamp %v with no presence known", p)
	}
	// A favourite says its state in words.
	h.typeText("/")
	h.typeSearch("bob")
	h.button("Favourite").OnTapped()
	h.settle()
	h.eventually("the favourite says free", func() bool { return visibleButton(h, "Bob Chen (free)") })
}

// TestPeopleWatchesOnlyShown: a directory of 5,000 people costs the
// phone a bounded set of watched colleagues: those on screen, and they
// change with the search.
func TestPeopleWatchesOnlyShown(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "people.csv")
	var b strings.Builder
	b.WriteString("Name,Extension,SIP URI,Department\n")
	for i := range 5000 {
		fmt.Fprintf(&b, "Person %04d,%d,,Dept %d\n", i, 20000+i, i%40)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(o *app.Options) {
		o.Directory = &directory.Options{Files: []string{path}, CachePath: filepath.Join(dir, "cache.json")}
	})
	h.eventually("the directory read", func() bool { return len(h.c.People().Rows) > 0 })
	h.eventually("some watched", func() bool { return len(h.fake.Watched()) > 0 })
	if n := len(h.fake.Watched()); n > 40 {
		t.Fatalf("%d colleagues watched for a pane showing %d rows", n, len(h.c.People().Rows))
	}
	h.typeText("/")
	h.typeSearch("Person 4321")
	h.eventually("the one found watched alone", func() bool {
		return slices.Equal(h.fake.Watched(), []string{"24321"})
	})
}

// campOnBob drops the live call on Bob, whose lamp is busy: the console
// offers "transfer when free", and the test takes it.
func campOnBob(h *harness) telephony.CallID {
	h.t.Helper()
	id := h.liveCall()
	h.fake.SetPresence("2105", telephony.PresenceBusy)
	h.eventually("Bob's lamp busy", func() bool { p, _ := rowPresence(h, "Bob Chen"); return p == widgets.PresenceBusy })
	h.typeText("/")
	h.typeSearch("bob")
	h.searchKey(fyne.KeyReturn)
	h.eventually("transfer when free offered", func() bool { return visibleButton(h, "Transfer when free") })
	if want := "Bob Chen is on a call. Transfer Alice Martin when Bob Chen is free?"; !strings.Contains(fmt.Sprint(labels(h)), want) {
		h.t.Fatalf("offer says %v, want %q", labels(h), want)
	}
	if strings.Contains(strings.Join(h.fake.Actions(), "|"), "transfer ") {
		h.t.Fatalf("a busy colleague was transferred to at once: %v", h.fake.Actions())
	}
	h.button("Transfer when free").OnTapped()
	h.waitAction("hold " + string(id))
	h.waitLine(id, widgets.LineHeld)
	return id
}

// TestPeopleCampOnTransfersWhenFree: the call waits on hold while Bob is
// busy and is transferred the moment his lamp goes idle.
func TestPeopleCampOnTransfersWhenFree(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := campOnBob(h)
	h.eventually("the wait shown", func() bool { return visibleButton(h, "Stop waiting") })
	h.tick(30 * time.Second)
	h.settle()
	if hasAction(h, "transfer "+string(id)+" 2105") {
		t.Fatal("transferred while Bob was busy")
	}
	h.fake.SetPresence("2105", telephony.PresenceIdle)
	h.waitAction("transfer " + string(id) + " 2105")
	h.waitLine(id, widgets.LineEnded)
	h.eventually("the wait gone", func() bool { return !visibleButton(h, "Stop waiting") })
}

// TestPeopleCampOnTimesOut: Bob stays busy past the wait (60 s by
// default): the caller comes back to the receptionist with why, and
// Bob's lamp going idle after transfers nothing.
func TestPeopleCampOnTimesOut(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := campOnBob(h)
	h.tick(59 * time.Second)
	h.settle()
	if hasAction(h, "resume "+string(id)) {
		t.Fatal("the caller came back before the wait ran out")
	}
	h.tick(2 * time.Second)
	h.waitAction("resume " + string(id))
	h.waitLine(id, widgets.LineActive)
	h.eventually("why said", func() bool { return h.c.Snapshot().Message == "Bob Chen is still busy: Alice Martin is back with you" })
	h.fake.SetPresence("2105", telephony.PresenceIdle)
	h.settle()
	if hasAction(h, "transfer "+string(id)+" 2105") {
		t.Fatal("a camp-on that ran out still transferred")
	}
}

// TestPeopleTransferNowToBusy: "Transfer now" transfers to the busy
// colleague at once; Cancel does nothing.
func TestPeopleTransferNowToBusy(t *testing.T) {
	h, _ := newPeopleHarness(t)
	id := h.liveCall()
	h.fake.SetPresence("2105", telephony.PresenceBusy)
	h.eventually("Bob's lamp busy", func() bool { p, _ := rowPresence(h, "Bob Chen"); return p == widgets.PresenceBusy })
	h.typeText("/")
	h.typeSearch("bob")
	h.searchKey(fyne.KeyReturn)
	h.eventually("offered", func() bool { return visibleButton(h, "Cancel") })
	h.button("Cancel").OnTapped()
	h.settle()
	if visibleButton(h, "Transfer when free") || hasAction(h, "hold "+string(id)) {
		t.Fatalf("Cancel left the offer or held the call: %v", h.fake.Actions())
	}
	h.typeText("/")
	h.searchKey(fyne.KeyReturn)
	h.eventually("offered again", func() bool { return visibleButton(h, "Transfer now") })
	h.button("Transfer now").OnTapped()
	h.waitAction("transfer " + string(id) + " 2105")
}

// TestPeopleTransferFailedBringsCallerBack: a transfer the far end
// reports failed (TransferFailed, busy 486) brings the caller back to
// the receptionist, saying why in plain words.
func TestPeopleTransferFailedBringsCallerBack(t *testing.T) {
	h, _ := newPeopleHarness(t)
	h.fake.DeferTransfers(true)
	id := h.liveCall()
	h.typeText("/")
	h.typeSearch("bob")
	h.searchKey(fyne.KeyReturn)
	h.waitAction("transfer " + string(id) + " 2105")
	h.waitLine(id, widgets.LineHeld)
	h.fake.FailTransfer(id, "2105", telephony.TransferBusy, 486)
	want := "Transfer to Bob Chen failed: Bob Chen is busy. Alice Martin is back with you"
	h.eventually("why said", func() bool { return h.c.Snapshot().Message == want })
	h.waitAction("resume " + string(id))
	h.waitLine(id, widgets.LineActive)
}

// labels returns the texts of the window's labels.
func labels(h *harness) []string {
	var out []string
	for _, o := range find(h.w.Canvas().Content(), func(o fyne.CanvasObject) bool {
		_, ok := o.(*widget.Label)
		return ok && o.Visible()
	}) {
		out = append(out, o.(*widget.Label).Text)
	}
	return out
}
