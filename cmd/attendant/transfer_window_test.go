package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/siptest"
)

// The real-window transfers (issue 16): a caller (a diago user agent
// sending 600 Hz and following REFERs, Replaces and all) is answered in
// the real window, and her card is dragged with the mouse (xdotool
// mousedown, mousemove in steps, mouseup) onto a colleague in the People
// pane: Debian's baresip, sending 440 Hz, listed in a contacts file by
// its address, its busy lamp from an RFC 4235 presence server. Where to
// press and drop comes from the state log (the cards' and the people's
// places), never from pixels written here.

// transferWindow is a console in a real window with the colleague in its
// People pane, and alice on a line, answered.
type transferWindow struct {
	x     *x11
	c     *console
	win   string
	b     *baresip.Baresip
	alice app.LineSnapshot
	// referred gives the calls alice makes following a REFER.
	referred chan *siptest.Call
	ctx      context.Context
}

// startTransferWindow starts baresip, the presence server and the console
// (with two other people around the colleague), has alice call the
// console and answers her with Enter.
func startTransferWindow(t *testing.T, prefix string) *transferWindow {
	t.Helper()
	x := startX(t, prefix)
	b := siptest.StartBaresip(t, baresip.Options{Display: "Bare Colleague"})
	src := siptest.StartDialogSource(t)
	contacts := filepath.Join(t.TempDir(), "people.csv")
	csv := "Name,Extension,SIP URI,Department\nAnna Archer,2201,,Accounts\nBare Colleague,2200," + b.AOR + ",Sales\nZoë Zeller,2202,,Board\n"
	if err := os.WriteFile(contacts, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	c := startConsole(t, x, "-listen", "127.0.0.1:0", "-park-listen", "127.0.0.1:0", "-audio", "none",
		"-contacts", contacts, "-presence-server", fmt.Sprintf("127.0.0.1:%d", src.Port))
	c.waitEvent(t, "first-frame", 60*time.Second)
	w := &transferWindow{x: x, c: c, win: c.window(t, x), b: b, referred: make(chan *siptest.Call, 2)}
	// A safety net for the SIP waits; each ends on its event.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	w.ctx = ctx

	title := x.xdo(t, "getwindowname", w.win)
	_, aor, ok := strings.Cut(title, "— ")
	if !ok {
		t.Fatalf("window title %q names no address", title)
	}
	var to sip.Uri
	if err := sip.ParseUri(aor, &to); err != nil {
		t.Fatalf("the console's address %q: %v", aor, err)
	}
	alice := siptest.NewAgent(t, "alice", siptest.AgentOptions{})
	d, err := alice.DG.NewDialog(to, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	answered := siptest.Dial(t, d, diago.InviteClientOptions{Headers: []sip.Header{alice.From()},
		OnRefer: siptest.FollowRefers(alice.From(), w.referred)})
	c.wait(t, "alice ringing", 30*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "ringing"); return ok })
	x.xdo(t, "key", "--window", w.win, "Return")
	s := c.wait(t, "alice answered", 30*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "active"); return ok })
	w.alice, _ = lineNamed(s, "active")
	siptest.StartMedia(t, siptest.Recv(t, "alice's call answered", answered), 600)
	c.wait(t, "the colleague listed, free", 30*time.Second, func(s *app.Snapshot) bool {
		p, ok := personNamed(s, "Bare Colleague")
		return ok && p.Presence == "free"
	})
	x.shot(t, "answered")
	return w
}

// personNamed is the person called name in the People pane's snapshot.
func personNamed(s *app.Snapshot, name string) (app.PersonSnapshot, bool) {
	if s.People == nil {
		return app.PersonSnapshot{}, false
	}
	for _, p := range s.People.Rows {
		if p.Name == name {
			return p, true
		}
	}
	return app.PersonSnapshot{}, false
}

// dragAliceOntoColleague drags alice's card (by its name, clear of its
// buttons) onto the colleague's row in steps, with the button held; at
// the middle step it calls midway (nil: nothing). It returns with the
// button still down once the colleague's row is highlighted (selected:
// the one a drop there transfers to); the caller lets go.
func (w *transferWindow) dragAliceOntoColleague(t *testing.T, midway func()) {
	t.Helper()
	s := w.c.state()
	card, ok := lineNamed(s, "active")
	if !ok || card.ID != w.alice.ID {
		t.Fatalf("alice's card is not live: %+v", s.Lines)
	}
	// Another person is selected first, so the highlight must move.
	if p, _ := personNamed(s, "Bare Colleague"); p.Selected {
		t.Fatalf("the colleague is selected before the drag: %+v", s.People.Rows)
	}
	row, _ := personNamed(s, "Bare Colleague")
	fromX, fromY := card.Rect.X+card.Rect.W/2, card.Rect.Y+18
	toX, toY := row.Rect.Centre()
	w.x.drag(t, w.win, fromX, fromY, toX, toY, midway)
	w.c.wait(t, "the colleague highlighted under the card", 30*time.Second, func(s *app.Snapshot) bool {
		p, ok := personNamed(s, "Bare Colleague")
		return ok && p.Selected
	})
}

// drag presses the first button at (fromX, fromY) in win and moves the
// pointer to (toX, toY) in 12 steps, calling midway (when set) half-way;
// the button stays down.
func (x *x11) drag(t *testing.T, win string, fromX, fromY, toX, toY float32, midway func()) {
	t.Helper()
	x.xdo(t, "mousemove", "--window", win, px(fromX), px(fromY))
	x.xdo(t, "mousedown", "1")
	const steps = 12
	for i := 1; i <= steps; i++ {
		f := float32(i) / steps
		x.xdo(t, "mousemove", "--window", win, px(fromX+(toX-fromX)*f), px(fromY+(toY-fromY)*f))
		if i == steps/2 && midway != nil {
			midway()
		}
		// Pacing, not a wait: GLFW sees each step as a motion of its own.
		time.Sleep(30 * time.Millisecond)
	}
}

// TestRealWindowTransferByMouse: alice's card, dragged in the real window
// onto the colleague in the People pane and let go, is transferred blind
// (REFER): baresip rings, answers, and alice hears its 440 Hz; her line
// leaves the console and the history says she was transferred.
func TestRealWindowTransferByMouse(t *testing.T) {
	w := startTransferWindow(t, "transfer-blind")
	w.dragAliceOntoColleague(t, nil)
	w.x.shot(t, "dragging")
	w.x.xdo(t, "mouseup", "1")

	if _, err := w.b.WaitType(w.ctx, "CALL_INCOMING", "alice"); err != nil {
		t.Fatalf("baresip never rang with alice: %v", err)
	}
	if _, err := w.b.Command(w.ctx, "accept", ""); err != nil {
		t.Fatal(err)
	}
	nd := siptest.Recv(t, "alice's call to the colleague", w.referred)
	siptest.StartMedia(t, nd, 600).WaitTone(t, "alice hears the colleague", 440)
	w.waitReceived(t, "alice")
	w.c.wait(t, "alice transferred, off the lines", 30*time.Second, func(s *app.Snapshot) bool {
		_, live := lineNamed(s, "active")
		return !live && contains(s.History, "Transferred "+w.alice.Name)
	})
	if n := countIncoming(w.b); n != 1 {
		t.Errorf("baresip rang %d times, want once (alice's)", n)
	}
	w.x.shot(t, "transferred")
	stopDumping(t, w.c)
}

// TestRealWindowAttendedTransferByMouse: with Shift held during the drag
// (xdotool keydown shift half-way, keyup after the drop) the drop is an
// attended transfer: alice is held and the console calls the colleague;
// baresip answers; a click on Complete in the People pane has alice call
// baresip with Replaces (RFC 3891), which baresip answers, and alice
// hears its 440 Hz; both of the console's calls end.
func TestRealWindowAttendedTransferByMouse(t *testing.T) {
	w := startTransferWindow(t, "transfer-attended")
	w.dragAliceOntoColleague(t, func() { w.x.xdo(t, "keydown", "--window", w.win, "shift") })
	w.x.shot(t, "dragging-shift")
	w.x.xdo(t, "mouseup", "1")
	w.x.xdo(t, "keyup", "--window", w.win, "shift")

	// The console calls the colleague, not alice.
	if _, err := w.b.WaitType(w.ctx, "CALL_INCOMING", ""); err != nil {
		t.Fatalf("baresip never rang: %v", err)
	}
	if evs := w.b.Events(); hasIncoming(evs, "alice") {
		t.Fatalf("the drop transferred alice blind: %v", evs)
	}
	if _, err := w.b.Command(w.ctx, "accept", ""); err != nil {
		t.Fatal(err)
	}
	s := w.c.wait(t, "alice held, the colleague on the line, Complete offered", 30*time.Second, func(s *app.Snapshot) bool {
		held, ok := lineNamed(s, "held")
		_, live := lineNamed(s, "active")
		if !ok || held.ID != w.alice.ID || !live || s.People == nil {
			return false
		}
		complete := s.People.Buttons["Complete"]
		// Placed, not only sized: a button the window has not laid
		// out yet is logged at 0,0, and the click went there (beside
		// two busy loops: "alice never called the colleague").
		placed := complete.W > 0 && (complete.X > 0 || complete.Y > 0)
		return placed && strings.Contains(s.People.Consult, "Bare Colleague")
	})
	complete := s.People.Buttons["Complete"]
	t.Logf("Complete at %+v", complete)
	w.x.shot(t, "consulting")
	w.x.click(t, w.win, complete)

	if _, err := w.b.WaitType(w.ctx, "CALL_INCOMING", "alice"); err != nil {
		t.Fatalf("alice never called the colleague: %v", err)
	}
	if _, err := w.b.Command(w.ctx, "accept", ""); err != nil {
		t.Fatal(err)
	}
	nd := siptest.Recv(t, "alice's replacing call", w.referred)
	if nd.DialogSIP().InviteRequest.GetHeader("Replaces") == nil {
		t.Fatal("alice's INVITE to the colleague has no Replaces")
	}
	siptest.StartMedia(t, nd, 600).WaitTone(t, "alice hears the colleague", 440)
	w.waitReceived(t, "alice")
	w.c.wait(t, "both of the console's calls over, the bar gone", 30*time.Second, func(s *app.Snapshot) bool {
		for _, l := range s.Lines {
			if l.State == "active" || l.State == "held" {
				return false
			}
		}
		return s.People != nil && s.People.Consult == "" && contains(s.History, "Transferred "+w.alice.Name)
	})
	// The console's call to the colleague is over on baresip's side too.
	if _, err := w.b.WaitType(w.ctx, "CALL_CLOSED", "console"); err != nil {
		s, _ := json.Marshal(w.c.state())
		t.Fatalf("the consultation call never ended at baresip: %v\nlast state: %s", err, s)
	}
	w.x.shot(t, "transferred")
	stopDumping(t, w.c)
}

// stopDumping ends the console with SIGTERM, as stopConsole does; a
// console still running after 30 s is sent SIGQUIT, so that its
// goroutines' stacks land on its stderr (logged as the test fails).
func stopDumping(t *testing.T, c *console) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.exited:
		return
	case <-time.After(30 * time.Second):
	}
	_ = c.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-c.exited:
	case <-time.After(10 * time.Second):
	}
	t.Error("the console did not exit within 30 s of SIGTERM")
}

// waitReceived waits until baresip's RTCP summary of its call with peer
// (a CALL_RTCP event, every few seconds) counts packets received: the
// other way than the tone checked, the colleague gets the caller's audio
// (baresip plays it nowhere a test could listen).
func (w *transferWindow) waitReceived(t *testing.T, peer string) {
	t.Helper()
	_, err := w.b.WaitEvent(w.ctx, func(e baresip.Event) bool {
		if e.Type != "CALL_RTCP" || !strings.Contains(e.PeerURI, peer) {
			return false
		}
		var stats struct {
			RTCP struct {
				RX struct {
					Sent int `json:"sent"`
				} `json:"rx"`
			} `json:"rtcp_stats"`
		}
		return json.Unmarshal([]byte(e.Raw), &stats) == nil && stats.RTCP.RX.Sent > 0
	})
	if err != nil {
		t.Fatalf("baresip never reported packets from %s: %v", peer, err)
	}
}

// countIncoming counts baresip's incoming calls so far.
func countIncoming(b *baresip.Baresip) int {
	n := 0
	for _, e := range b.Events() {
		if e.Type == "CALL_INCOMING" {
			n++
		}
	}
	return n
}

// hasIncoming reports whether evs hold an incoming call from peer.
func hasIncoming(evs []baresip.Event, peer string) bool {
	for _, e := range evs {
		if e.Type == "CALL_INCOMING" && strings.Contains(e.PeerURI, peer) {
			return true
		}
	}
	return false
}
