package app_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// noticeBoard is the desktop's notification service as the console sees it
// through app.Notifier (internal/notify's own tests drive the real one,
// dunst on a real bus): it keeps what is shown, lets the test click an
// action, and can hold Notify back to let the call move on first.
type noticeBoard struct {
	mu      sync.Mutex
	next    uint32
	shown   map[uint32]app.Notice
	clicks  map[uint32]func(app.NoticeAction)
	gone    []uint32
	hold    chan struct{} // when set, Notify waits for it to close
	changed chan struct{}
}

func newNoticeBoard() *noticeBoard {
	return &noticeBoard{shown: map[uint32]app.Notice{}, clicks: map[uint32]func(app.NoticeAction){}, changed: make(chan struct{})}
}

func (d *noticeBoard) Notify(ctx context.Context, n app.Notice, onAction func(app.NoticeAction)) (uint32, error) {
	d.mu.Lock()
	hold := d.hold
	d.mu.Unlock()
	if hold != nil {
		select {
		case <-hold:
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.next++
	d.shown[d.next] = n
	d.clicks[d.next] = onAction
	d.wake()
	return d.next, nil
}

func (d *noticeBoard) Withdraw(_ context.Context, id uint32) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.shown, id)
	d.gone = append(d.gone, id)
	d.wake()
	return nil
}

func (d *noticeBoard) wake() {
	close(d.changed)
	d.changed = make(chan struct{})
}

// showing returns the notifications shown now, "Title: Body [actions]".
func (d *noticeBoard) showing() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var s []string
	for _, n := range d.shown {
		s = append(s, fmt.Sprintf("%s: %s %v", n.Title, n.Body, n.Actions))
	}
	slices.Sort(s)
	return s
}

// find returns the id of the notification titled title.
func (d *noticeBoard) find(title string) (uint32, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for id, n := range d.shown {
		if n.Title == title {
			return id, true
		}
	}
	return 0, false
}

// click chooses action a of notification id, as the desktop does: on
// its own goroutine.
func (d *noticeBoard) click(id uint32, a app.NoticeAction) {
	d.mu.Lock()
	f := d.clicks[id]
	d.mu.Unlock()
	go f(a)
}

func withNotifier(n app.Notifier) harnessOpt {
	return func(o *app.Options) { o.Notifier = n }
}

// waitShowing pumps until the desktop shows exactly want.
func (h *harness) waitShowing(d *noticeBoard, want ...string) {
	h.t.Helper()
	h.eventually(fmt.Sprintf("the desktop shows %q", want), func() bool {
		return slices.Equal(d.showing(), want)
	})
}

func TestNotificationAnswers(t *testing.T) {
	d := newNoticeBoard()
	h := newHarness(t, withNotifier(d))
	id := h.fake.Ring("Alice Martin", aliceURI)
	h.waitLine(id, widgets.LineRinging)
	h.waitShowing(d, "Incoming call: Alice Martin +442079460018 [answer]")
	nid, _ := d.find("Incoming call")
	d.click(nid, app.NoticeAnswer)
	h.waitAction("answer " + string(id))
	h.waitLine(id, widgets.LineActive)
	// Answered: the notification is withdrawn.
	h.waitShowing(d)
}

func TestNotificationWithdrawnWhenCallerGivesUp(t *testing.T) {
	d := newNoticeBoard()
	h := newHarness(t, withNotifier(d))
	id := h.fake.Ring("Alice Martin", aliceURI)
	h.waitShowing(d, "Incoming call: Alice Martin +442079460018 [answer]")
	nid, _ := d.find("Incoming call")
	h.fake.CallerHangsUp(id)
	h.waitShowing(d)
	// A click on a notification the desktop still showed does nothing.
	d.click(nid, app.NoticeAnswer)
	h.settle()
	for _, a := range h.fake.Actions() {
		if a == "answer "+string(id) {
			t.Fatalf("answered an abandoned call: %q", h.fake.Actions())
		}
	}
}

// TestNotificationWithdrawnWhenShownLate: the call is answered on the
// card before the desktop gave the notification its id; the notification
// is withdrawn as soon as it has one.
func TestNotificationWithdrawnWhenShownLate(t *testing.T) {
	d := newNoticeBoard()
	d.hold = make(chan struct{})
	h := newHarness(t, withNotifier(d))
	id := h.fake.Ring("Alice Martin", aliceURI)
	h.waitLine(id, widgets.LineRinging)
	test.Tap(h.button("Answer"))
	h.waitLine(id, widgets.LineActive)
	d.mu.Lock()
	close(d.hold)
	d.hold = nil
	d.mu.Unlock()
	h.eventually("shown and withdrawn", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return d.next == 1 && len(d.shown) == 0 && slices.Equal(d.gone, []uint32{1})
	})
}

func TestGaveUpNotifiesTheParker(t *testing.T) {
	d := newNoticeBoard()
	h := newHarness(t, withNotifier(d))
	id := h.answered()
	h.waitShowing(d)
	h.drag(id, 708)
	h.waitSlot(708, widgets.SlotMine)
	h.clock.Advance(130 * time.Second)
	h.fake.LeaveOrbit(708, telephony.LeftGaveUp, "")
	h.waitShowing(d, "Caller gave up: Alice Martin gave up on 708 after 2:10 [call-back]")
	nid, _ := d.find("Caller gave up")
	d.click(nid, app.NoticeCallBack)
	h.waitAction("dial " + aliceURI)
	h.eventually("the entry handled", func() bool {
		return h.hasHistory("Alice Martin gave up on 708 after 2:10 [called back]")
	})
}

// TestColleaguesCallerGivingUpIsNotNotified: only the parker is told.
func TestColleaguesCallerGivingUpIsNotNotified(t *testing.T) {
	d := newNoticeBoard()
	h := newHarness(t, withNotifier(d))
	h.parkedByColleague(709, "Bob Stone", "sip:+15551234@pbx.example.com", time.Minute)
	h.fake.LeaveOrbit(709, telephony.LeftGaveUp, "")
	h.waitSlot(709, widgets.SlotFree)
	h.settle()
	if s := d.showing(); len(s) != 0 {
		t.Fatalf("notified of a colleague's caller: %q", s)
	}
}

// TestNotificationWithdrawnAfterLostEvents: the phone's events about
// the call were lost (the window resynchronises from the phone's state):
// a call answered elsewhere meanwhile, and one whose caller hung up and
// is gone from the phone, have their notifications withdrawn all the
// same.
func TestNotificationWithdrawnAfterLostEvents(t *testing.T) {
	d := newNoticeBoard()
	h := newHarness(t, withNotifier(d))
	alice := h.fake.Ring("Alice Martin", aliceURI)
	bob := h.fake.Ring("Bob Chen", "sip:+15550142@127.0.0.1:5080")
	h.waitShowing(d, "Incoming call: Alice Martin +442079460018 [answer]", "Incoming call: Bob Chen +15550142 [answer]")
	h.fake.Lose(func() {
		if err := h.fake.Answer(context.Background(), alice); err != nil {
			t.Error(err)
		}
		h.fake.CallerHangsUp(bob)
	})
	h.waitLine(alice, widgets.LineActive)
	h.waitShowing(d)
}
