package app_test

import (
	"context"
	"image/color"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/app/apptest"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// t0 is the wall clock the tests start from.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// waitFor only stops a hung test: the waits end when what they wait for
// happens, and a loaded machine may be slow.
const waitFor = siptest.WaitFor

// quietTheme is Fyne's test theme, answering nothing for the widgets'
// own colour names, so that they fall back to the standard ones (as the
// widgets' own goldens do).
type quietTheme struct{ fyne.Theme }

func (q quietTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if strings.HasPrefix(string(n), "switchboard-") {
		return nil
	}
	return q.Theme.Color(n, v)
}

// variantTheme is Fyne's default theme in one variant, for images.
type variantTheme struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

// clock is a settable wall clock shared by the console and the phone.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// loop stands in for Fyne's event loop: the console's goroutines queue
// their UI work (Options.Do) and the test's goroutine runs it, so that
// every widget is touched from one goroutine, as in a real window.
type loop struct {
	mu    sync.Mutex
	queue []func()
}

func (l *loop) Do(f func()) {
	l.mu.Lock()
	l.queue = append(l.queue, f)
	l.mu.Unlock()
}

// pump runs what is queued.
func (l *loop) pump() {
	for {
		l.mu.Lock()
		q := l.queue
		l.queue = nil
		l.mu.Unlock()
		if len(q) == 0 {
			return
		}
		for _, f := range q {
			f()
		}
	}
}

// harness is one console window under Fyne's test driver.
type harness struct {
	t     *testing.T
	a     fyne.App
	w     fyne.Window
	c     *app.Console
	phone telephony.Phone
	fake  *apptest.Phone // when the phone is the in-memory one
	sound *apptest.Sound
	clock *clock
	loop  *loop
}

type harnessOpt func(*app.Options)

// newApp starts a test app with the test theme (for markup goldens).
func newApp(t *testing.T) fyne.App {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(quietTheme{test.Theme()})
	return a
}

// newHarness opens a console on the in-memory phone with the lot
// 701-720 and a silent sound device.
func newHarness(t *testing.T, mods ...harnessOpt) *harness {
	t.Helper()
	a := newApp(t)
	fake := apptest.NewPhone(701, 720)
	h := openConsole(t, a, fake, "Switchboard", mods...)
	h.fake = fake
	fake.Clock = h.clock.Now
	return h
}

// openConsole opens a console window on phone in a.
func openConsole(t *testing.T, a fyne.App, phone telephony.Phone, title string, mods ...harnessOpt) *harness {
	t.Helper()
	h := &harness{t: t, a: a, phone: phone, clock: &clock{now: t0}, loop: &loop{},
		sound: &apptest.Sound{
			Playback: []app.AudioDevice{{ID: "usb-headset", Name: "USB Headset", Default: false}, {ID: "builtin", Name: "Built-in Audio", Default: true}},
			Capture:  []app.AudioDevice{{ID: "usb-headset-mic", Name: "USB Headset"}, {ID: "builtin-mic", Name: "Built-in Audio", Default: true}},
		}}
	opts := app.Options{
		Phone:    phone,
		Sound:    h.sound,
		Audio:    app.AudioStatus{Available: true, Text: "USB Headset"},
		Identity: "sip:console@127.0.0.1:5060",
		Clock:    h.clock.Now,
		Do:       h.loop.Do,
		Tick:     -1,
	}
	for _, m := range mods {
		m(&opts)
	}
	// The window's renderers are born with the render cache's clock as
	// it is: advance it first (see frame).
	frame(nil)
	h.w = a.NewWindow(title)
	h.w.Resize(fyne.NewSize(1280, 800))
	h.c = app.New(a, h.w, opts)
	h.w.Show()
	ctx, cancel := context.WithCancel(context.Background())
	h.c.Start(ctx)
	t.Cleanup(func() {
		cancel()
		h.c.Close()
		h.loop.pump()
		h.w.Close()
	})
	return h
}

// frame does for Fyne's render cache what each frame of a real driver
// does: it advances the cache's clock and marks the renderers of what
// the canvas c shows (nil: nothing) alive by it.
//
// The cache drops a widget's renderer when it has not been marked alive
// for a minute by that clock (cache.ValidDuration, FYNE_CACHE), and the
// painter makes a new one that nobody lays out: a half-drawn picture
// (buttons without their backgrounds and icons, an empty history, the
// split's handle gone). A real driver advances the clock and paints
// every frame; the test driver does both only in Canvas.Capture. So a
// window built more than a minute after the process's last capture (a
// full run of this package under -race reaches TestLook later than
// that) had renderers already expired by the clock they were marked
// with, and its first capture dropped them all. A capture of an empty
// canvas runs the cache's clean (which advances the clock); the marks
// before it keep what the last frame showed through that clean, the
// marks after it date them from now.
func frame(c fyne.Canvas) {
	mark := func() {
		if c == nil {
			return
		}
		find(c.Content(), func(fyne.CanvasObject) bool { return false })
		for _, o := range c.Overlays().List() {
			find(o, func(fyne.CanvasObject) bool { return false })
		}
	}
	mark()
	test.NewCanvas().Capture()
	mark()
}

// frameEvery is how often a wait runs a frame: often enough that
// nothing the window shows goes unmarked for the cache's minute (or for
// the few seconds of TestLookWithStaleRenderCache's FYNE_CACHE).
const frameEvery = 250 * time.Millisecond

// eventually pumps the event loop until cond holds.
func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(waitFor)
	framed := time.Now()
	for {
		h.loop.pump()
		if time.Since(framed) > frameEvery {
			frame(h.w.Canvas())
			framed = time.Now()
		}
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("never: %s\nwindow state: %+v", what, h.c.Snapshot())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// settle pumps until the window stops changing for a moment.
func (h *harness) settle() {
	h.t.Helper()
	quiet := 0
	for quiet < 20 {
		h.loop.mu.Lock()
		n := len(h.loop.queue)
		h.loop.mu.Unlock()
		if n == 0 {
			quiet++
		} else {
			quiet = 0
			h.loop.pump()
		}
		time.Sleep(time.Millisecond)
	}
	frame(h.w.Canvas())
}

// tick advances the clock by d and ticks the console.
func (h *harness) tick(d time.Duration) {
	h.c.Tick(h.clock.Advance(d))
}

// line returns the snapshot of the card of call id.
func (h *harness) line(id telephony.CallID) (app.LineSnapshot, bool) {
	for _, l := range h.c.Snapshot().Lines {
		if l.ID == string(id) {
			return l, true
		}
	}
	return app.LineSnapshot{}, false
}

func (h *harness) lineState(id telephony.CallID) string {
	l, _ := h.line(id)
	return l.State
}

// orbit returns the snapshot of slot n.
func (h *harness) orbit(n int) app.OrbitSnapshot {
	for _, o := range h.c.Snapshot().Orbits {
		if o.Number == n {
			return o
		}
	}
	h.t.Fatalf("no slot %d", n)
	return app.OrbitSnapshot{}
}

// waitLine waits until the card of id shows state.
func (h *harness) waitLine(id telephony.CallID, state widgets.LineState) {
	h.t.Helper()
	h.eventually("call "+string(id)+" "+string(state), func() bool { return h.lineState(id) == string(state) })
}

// waitSlot waits until slot n shows state.
func (h *harness) waitSlot(n int, state widgets.SlotState) {
	h.t.Helper()
	h.eventually("orbit "+itoa(n)+" "+string(state), func() bool { return h.orbit(n).State == string(state) })
}

// drag drags the card of id from its middle onto the middle of slot n.
func (h *harness) drag(id telephony.CallID, n int) {
	h.t.Helper()
	card := h.c.Card(id)
	if card == nil {
		h.t.Fatalf("no card for %s", id)
	}
	from, to := centre(card), centre(h.c.Grid().Slot(n))
	test.Drag(h.w.Canvas(), from, to.X-from.X, to.Y-from.Y)
}

// key presses a named key on the window.
func (h *harness) key(name fyne.KeyName) {
	h.w.Canvas().OnTypedKey()(&fyne.KeyEvent{Name: name})
}

// typeText types characters on the window.
func (h *harness) typeText(s string) {
	test.TypeOnCanvas(h.w.Canvas(), s)
}

// history returns the history panel's entries, newest first.
func (h *harness) history() []string { return h.c.Snapshot().History }

func (h *harness) hasHistory(want string) bool {
	for _, e := range h.history() {
		if e == want {
			return true
		}
	}
	return false
}

func centre(o fyne.CanvasObject) fyne.Position {
	p := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
	return p.Add(fyne.NewPos(o.Size().Width/2, o.Size().Height/2))
}

func itoa(n int) string { return strconv.Itoa(n) }

// find returns the objects under root (through widget renderers and
// containers) for which match is true, in drawing order.
func find(root fyne.CanvasObject, match func(fyne.CanvasObject) bool) []fyne.CanvasObject {
	var out []fyne.CanvasObject
	var walk func(o fyne.CanvasObject)
	walk = func(o fyne.CanvasObject) {
		if o == nil || !o.Visible() {
			return
		}
		if match(o) {
			out = append(out, o)
		}
		switch v := o.(type) {
		case *fyne.Container:
			for _, c := range v.Objects {
				walk(c)
			}
		case fyne.Widget:
			for _, c := range test.WidgetRenderer(v).Objects() {
				walk(c)
			}
		}
	}
	walk(root)
	return out
}

// button finds the visible button labelled text on the window or its
// top overlay (a dialog).
func (h *harness) button(text string) *widget.Button {
	h.t.Helper()
	roots := []fyne.CanvasObject{h.w.Canvas().Content()}
	if top := h.w.Canvas().Overlays().Top(); top != nil {
		roots = []fyne.CanvasObject{top}
	}
	for _, r := range roots {
		for _, o := range find(r, func(o fyne.CanvasObject) bool {
			b, ok := o.(*widget.Button)
			return ok && b.Text == text
		}) {
			return o.(*widget.Button)
		}
	}
	h.t.Fatalf("no button %q", text)
	return nil
}

// lookApp starts a test app with Fyne's real theme in variant (images).
func lookApp(t *testing.T, v fyne.ThemeVariant) fyne.App {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(variantTheme{theme.DefaultTheme(), v})
	return a
}
