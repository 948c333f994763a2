package app

import (
	"context"
	"image"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/calllog"
	"github.com/switchboard/switchboard/directory"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// Defaults of Options.
const (
	DefaultTick   = time.Second
	DefaultLinger = 2 * time.Second
	// actionTimeout bounds one action of the receptionist on the phone.
	actionTimeout = 30 * time.Second
	// flashFor is how long a message stays in the status bar.
	flashFor = 8 * time.Second
)

// Options configure a Console.
type Options struct {
	// Phone is the receptionist's telephone. Required.
	Phone telephony.Phone
	// Sound is the sound device for the ringtone and the device
	// choice; nil when there is none.
	Sound Sound
	// Audio is what the status bar says about the sound device at
	// first (the zero value: unavailable); SetAudioStatus changes it.
	Audio AudioStatus
	// Identity is the console's own address, shown in the window
	// ("sip:console@127.0.0.1:5060").
	Identity string
	// Prefs hold the settings (the app's preferences when nil).
	Prefs fyne.Preferences
	// Settings are the settings in force, shown by the settings dialog
	// (LoadSettings(Prefs) when zero).
	Settings Settings
	// OnSettingsSaved, when set, is called on Fyne's goroutine after the
	// receptionist saved new settings.
	OnSettingsSaved func(Settings)
	// OnRestart, when set, restarts the console: after saving settings
	// that apply only at the next start the console offers "Restart
	// now", asks the close question (CloseQuestion) when calls are up,
	// and after a decision to close calls OnRestart on Fyne's goroutine.
	// Its owner closes the window and starts again; the console never
	// restarts itself.
	OnRestart func()
	// CloseQuestion, when set, tells what closing would do to the calls
	// now, for the question before a restart.
	CloseQuestion func() CloseQuestion
	// RingBackNow, when set, is "Ring back now" in the question before a
	// restart: it rings every call parked on the built-in park service
	// back to this console and calls done (from any goroutine) once none
	// is parked on or bridged through it. The console restarts only
	// then, asking again if calls are up. When nil, "Ring back now"
	// restarts as Close does.
	RingBackNow func(done func())
	// Logger receives diagnostics (slog.Default() when nil).
	Logger *slog.Logger
	// StateLog, when set, receives one JSON line per change of what the
	// window shows (see Snapshot), for tests and tools that drive the
	// window from outside.
	StateLog io.Writer
	// Clock is the time (time.Now when nil).
	Clock func() time.Time
	// Do runs a function on Fyne's goroutine (fyne.Do when nil). Fyne's
	// test driver runs fyne.Do at once on the calling goroutine; tests
	// that let the console's goroutines run pass a queue they drain on
	// the test's goroutine instead.
	Do func(func())
	// Tick is how often timers move (DefaultTick); negative: never (the
	// owner calls Tick).
	Tick time.Duration
	// Linger is how long the card of a call that ended or was parked
	// stays on the lines (DefaultLinger); negative: it leaves at once.
	Linger time.Duration
	// OnFirstFrame, when set, is called once, on Fyne's goroutine, when
	// the window's first frame is being painted.
	OnFirstFrame func()
	// CallLog, when set, keeps the history across restarts; its owner
	// closes it after Close. Without one the history lives in memory.
	CallLog *calllog.Log
	// Directory, when set, is read for the People pane (app/directory.go);
	// without it the window has no People pane.
	Directory *directory.Options
	// Notifier, when set, shows the desktop notifications with actions
	// (Answer, Call back) and withdraws a call's when it stops ringing;
	// without it they go through Fyne, without actions.
	Notifier Notifier
}

// Console is the main window's controller. Create it with New, start
// its goroutines with Start and end them with Close. Its other methods
// are for Fyne's goroutine, except SetAudioStatus.
type Console struct {
	opts  Options
	app   fyne.App
	win   fyne.Window
	phone telephony.Phone
	log   *slog.Logger
	prefs fyne.Preferences

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	goMu   sync.Mutex // orders spawn and Close
	// doMu orders do's hand-overs to Fyne's goroutine before Detach:
	// after Detach (detached) none is made.
	doMu     sync.RWMutex
	detached bool
	closed   bool
	started  bool
	ring     *ringer

	// Everything below belongs to Fyne's goroutine.
	settings   Settings
	first      int // the lot
	last       int
	lines      map[telephony.CallID]*line
	order      []*line
	linesBox   *fyne.Container
	linesCol   *fyne.Container // the placeholder and linesBox
	linesEmpty *widget.Label
	grid       *widgets.OrbitGrid
	orbits     map[int]*orbitView
	retrieving map[int]time.Time // orbits being retrieved: since when their call was parked
	history    *history
	book       *callBook // every call's entry in the call log
	status     *statusBar
	digits     string // orbit number being typed
	confirm    *confirmation
	dialogs    []*openDialog // the dialogs open, the top last: keys are off
	queue      queue         // the Lines pane: count, order, history split
	parkUp     bool
	parkWhy    string
	anyParks   map[telephony.CallID]int // park-any parks under way: the orbit each asked for (0: any), by call (keys.go)
	lastNote   string
	notices    map[telephony.CallID]*notice // a ringing call's notification
	state      *stateLog
	people     *people // the People pane; nil without a directory
	forWhom    *forWhom
}

// line is one call on the lines.
type line struct {
	call     telephony.Call
	card     *widgets.LineCard
	since    time.Time
	leaveAt  time.Time // zero while it stays
	answered bool      // went live once (a retrieve ending before is a failed one)
	parked   bool
	// firstSeen is when the caller first came in: rang, or was parked
	// before this ring-back or retrieve. It orders the queue.
	firstSeen time.Time
	keyed     []rune // the last digits the far end keyed (maxKeyed)
}

// orbitView is what the grid knows of one orbit.
type orbitView struct {
	o     telephony.Orbit
	since time.Time
}

// confirmation is a question waiting for the receptionist.
type confirmation struct {
	question string
	dlg      *dialog.ConfirmDialog
	yes      func()
}

// useTheme gives a the console's palette (widgets.Theme: readable
// text, one meaning per colour) unless its owner chose a theme (tests
// choose theirs).
func useTheme(a fyne.App) {
	if a.Settings().Theme() == theme.DefaultTheme() {
		a.Settings().SetTheme(widgets.NewTheme())
	}
}

// New builds the console in w, a window of a. It reads the phone's
// current calls and lot but starts nothing: Start does.
func New(a fyne.App, w fyne.Window, opts Options) *Console {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Do == nil {
		opts.Do = fyne.Do
	}
	if opts.Tick == 0 {
		opts.Tick = DefaultTick
	}
	if opts.Linger == 0 {
		opts.Linger = DefaultLinger
	}
	if opts.Prefs == nil {
		opts.Prefs = a.Preferences()
	}
	if opts.Settings == (Settings{}) {
		opts.Settings = LoadSettings(opts.Prefs)
	}
	useTheme(a)
	c := &Console{
		opts:       opts,
		app:        a,
		win:        w,
		phone:      opts.Phone,
		log:        opts.Logger,
		prefs:      opts.Prefs,
		settings:   opts.Settings,
		lines:      make(map[telephony.CallID]*line),
		orbits:     make(map[int]*orbitView),
		retrieving: make(map[int]time.Time),
		book:       newCallBook(),
		parkUp:     true,
	}
	c.phone = notingPhone{Phone: opts.Phone, c: c}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if opts.StateLog != nil {
		c.state = &stateLog{w: opts.StateLog}
	}
	orbits := c.phone.Orbits()
	if len(orbits) > 0 {
		c.first, c.last = orbits[0].Number, orbits[len(orbits)-1].Number
	}
	c.build()
	for _, o := range orbits {
		c.orbitChanged(o)
	}
	for _, call := range c.phone.Calls() {
		c.callChanged(c.seeCall(call))
	}
	c.SetAudioStatusNow(opts.Audio)
	c.changed()
	return c
}

// Window returns the console's window.
func (c *Console) Window() fyne.Window { return c.win }

func (c *Console) now() time.Time { return c.opts.Clock() }

// build makes the window's content.
func (c *Console) build() {
	c.grid = widgets.NewOrbitGrid(c.first, c.lotSize())
	c.grid.OnPark = c.park
	c.grid.OnParkFor = c.askParkFor
	c.grid.OnRetrieve = c.retrieve
	c.grid.OnRefused = func(id string, orbit int, why string) {
		c.flash("Orbit " + itoa(orbit) + ": " + strings.ToLower(why))
		c.changed()
	}
	if c.lotSize() == 0 {
		c.grid.SetUnavailable(true, "No park service is configured (Settings…)")
	}

	title := widget.NewLabelWithStyle("Switchboard", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	ident := widget.NewLabel(c.opts.Identity)
	ident.Importance = widget.LowImportance
	dial := widget.NewButtonWithIcon("Dial…", widgets.PhoneIcon(), c.showDial)
	settings := widget.NewButtonWithIcon("Settings…", theme.SettingsIcon(), c.ShowSettings)
	keys := widget.NewButtonWithIcon("Keys", theme.HelpIcon(), c.showKeys)
	top := container.NewHBox(title, ident, layout.NewSpacer(), dial, settings, keys)
	c.logPlaced("top-buttons", nil, map[string]fyne.CanvasObject{"Dial…": dial, "Settings…": settings, "Keys": keys})

	c.linesBox = container.NewVBox()
	empty := "No calls."
	if c.opts.Identity != "" {
		empty = "No calls. Calls to " + c.opts.Identity + " ring here."
	}
	c.linesEmpty = widget.NewLabel(empty)
	c.linesEmpty.Wrapping = fyne.TextWrapWord
	c.linesEmpty.Importance = widget.LowImportance
	c.linesCol = container.NewVBox(c.linesEmpty, c.linesBox)
	lines := container.NewVScroll(c.linesCol)

	c.history = c.newHistory()
	hist := c.history.view()

	left := c.linesPane(lines, hist)
	lot := "Orbits"
	if c.lotSize() > 0 {
		lot = "Orbits " + itoa(c.first) + "–" + itoa(c.last)
	}
	right := container.NewBorder(heading(lot), nil, nil, nil, c.grid)
	split := container.NewHSplit(left, c.withPeople(right))
	split.Offset = 0.34

	c.status = newStatusBar(c.firstFrame())
	c.win.SetContent(container.NewBorder(top, c.status.view(), nil, nil, split))
	c.win.Canvas().SetOnTypedKey(c.typedKey)
	c.win.Canvas().SetOnTypedRune(c.typedRune)
	c.status.setRegistration(telephony.RegistrationNone, "")
	if c.lotSize() == 0 {
		c.status.setPark(false, "off")
	} else {
		c.status.setPark(true, "checking…")
	}
}

// firstFrame is a 1×1 raster whose image is made when the window is
// first painted: the moment OnFirstFrame reports.
func (c *Console) firstFrame() fyne.CanvasObject {
	var once sync.Once
	r := canvas.NewRaster(func(w, h int) image.Image {
		once.Do(func() {
			if c.state != nil {
				c.state.event("first-frame", nil)
			}
			if c.opts.OnFirstFrame != nil {
				c.opts.OnFirstFrame()
			}
		})
		return image.NewNRGBA(image.Rect(0, 0, w, h))
	})
	r.SetMinSize(fyne.NewSquareSize(1))
	return r
}

func heading(s string) fyne.CanvasObject {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

func (c *Console) lotSize() int {
	if c.last < c.first || c.first == 0 {
		return 0
	}
	return c.last - c.first + 1
}

// Start runs the console's goroutines until ctx ends or Close: the
// event loop, the timers and the ringtone.
func (c *Console) Start(ctx context.Context) {
	if c.started {
		return
	}
	c.started = true
	stop := context.AfterFunc(ctx, c.cancel)
	c.spawn(func() {
		<-c.ctx.Done()
		stop()
	})
	c.spawn(c.events)
	c.startPeople()
	if c.opts.Tick > 0 {
		c.spawn(c.ticker)
	}
	if c.opts.Sound != nil {
		c.ring = newRinger(c.opts.Sound, func(err error) {
			c.log.Warn("ringtone", "error", err)
			c.do(func() { c.flash(ringtoneFailed) })
		})
		c.spawn(func() { c.ring.run(c.ctx) })
	}
	if c.state != nil {
		c.state.event("started", nil)
	}
}

// Close stops the console's goroutines and waits for them; actions still
// talking to the phone are cancelled.
func (c *Console) Close() {
	c.goMu.Lock()
	c.closed = true
	c.goMu.Unlock()
	c.cancel()
	c.wg.Wait()
}

// spawn runs f on a goroutine the console owns (Close waits for it),
// unless the console is closed.
func (c *Console) spawn(f func()) {
	c.goMu.Lock()
	defer c.goMu.Unlock()
	if c.closed {
		return
	}
	c.wg.Go(f)
}

// do runs f on Fyne's goroutine unless the console is closed.
func (c *Console) do(f func()) {
	c.doMu.RLock()
	defer c.doMu.RUnlock()
	if c.detached || c.ctx.Err() != nil {
		return
	}
	c.opts.Do(func() {
		if c.ctx.Err() == nil {
			f()
		}
	})
}

// Detach stops the console's goroutines from handing anything more to
// Fyne's goroutine (Options.Do): once it returns, none does, and those
// handed over before are already queued. Call it before the app stops:
// Fyne closes its queue as it stops, and a fyne.Do meanwhile is a send
// on a closing channel, or runs its function on the caller's goroutine
// beside others (a data race inside Fyne). The window's OnClosed and a
// SIGINT or SIGTERM handler are the places. It may be called from any
// goroutine, more than once; the window no longer follows the calls.
func (c *Console) Detach() {
	c.doMu.Lock()
	c.detached = true
	c.doMu.Unlock()
}

// events drains the phone's events and applies them on Fyne's goroutine.
func (c *Console) events() {
	for {
		select {
		case <-c.ctx.Done():
			return
		case ev, ok := <-c.phone.Events():
			if !ok {
				return
			}
			if lost, ok := ev.(telephony.EventsLost); ok {
				c.log.Warn("events lost: resynchronising the window", "count", lost.Count)
				calls, orbits := c.phone.Calls(), c.phone.Orbits()
				c.do(func() { c.resync(calls, orbits) })
				continue
			}
			c.do(func() {
				c.Apply(ev)
			})
		}
	}
}

// ticker moves the timers once per Tick.
func (c *Console) ticker() {
	t := time.NewTicker(c.opts.Tick)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			c.do(func() { c.Tick(c.now()) })
		}
	}
}

// act runs an action of the receptionist on the phone away from Fyne's
// goroutine; a failure is shown in the status bar in plain words (see
// actOn). what names the action as "Could not " + what says it.
func (c *Console) act(what string, f func(ctx context.Context) error) {
	c.actOn(action{what: what}, f, nil)
}

// Apply applies one telephony event to the view. The console's event
// loop calls it on Fyne's goroutine; tests may call it directly.
func (c *Console) Apply(ev telephony.Event) {
	switch e := ev.(type) {
	case telephony.CallChanged:
		c.callChanged(c.seeCall(e.Call))
	case telephony.OrbitChanged:
		c.orbitChanged(e.Orbit)
	case telephony.ParkServiceChanged:
		c.parkServiceChanged(e.Available, e.Reason)
	case telephony.RegistrationChanged:
		c.status.setRegistration(e.State, e.Reason)
	case telephony.DTMFReceived:
		c.dtmfReceived(e.CallID, e.Digit)
	case telephony.ParkedForYou:
		c.parkedForYou(e)
	case telephony.EventsLost:
		c.resync(c.phone.Calls(), c.phone.Orbits())
		c.resyncPresence()
	case telephony.PresenceChanged:
		c.presenceChanged(e)
	case telephony.TransferFailed:
		c.transferFailed(e)
	}
	c.changed()
}

// resync replaces the view with the phone's current state.
func (c *Console) resync(calls []telephony.Call, orbits []telephony.Orbit) {
	keep := make(map[telephony.CallID]bool, len(calls))
	for _, call := range calls {
		keep[call.ID] = true
		c.callChanged(c.seeCall(call))
	}
	for _, l := range append([]*line(nil), c.order...) {
		if !keep[l.call.ID] {
			c.removeLine(l)
		}
	}
	for _, o := range orbits {
		c.orbitChanged(o)
	}
	c.updateRinging()
	c.changed()
}

// Tick moves every timer to now, lets parked and ended cards leave and
// fades old messages. The console's ticker calls it once a second.
func (c *Console) Tick(now time.Time) {
	for _, l := range append([]*line(nil), c.order...) {
		if !l.leaveAt.IsZero() && !now.Before(l.leaveAt) {
			c.removeLine(l)
			continue
		}
		l.card.Tick(now)
	}
	c.rememberLayout()
	c.grid.Tick(now)
	c.status.tick(now)
	c.changed()
}

// flash shows a message in the status bar for a few seconds.
func (c *Console) flash(msg string) {
	c.status.flash(msg, c.now().Add(flashFor))
}

// SetAudioStatus changes what the status bar says about the sound
// device. It may be called from any goroutine.
func (c *Console) SetAudioStatus(s AudioStatus) {
	c.do(func() {
		c.SetAudioStatusNow(s)
		c.changed()
	})
}

// SetAudioStatusNow is SetAudioStatus on Fyne's goroutine.
func (c *Console) SetAudioStatusNow(s AudioStatus) {
	text := s.Text
	if text == "" && s.Available {
		text = "sound device"
	}
	c.status.setAudio(s.Available, text)
}

// parkServiceChanged greys the grid out while the service is down.
func (c *Console) parkServiceChanged(up bool, why string) {
	if c.lotSize() == 0 {
		return
	}
	c.parkUp, c.parkWhy = up, why
	if up {
		c.grid.SetUnavailable(false, "")
		c.status.setPark(true, "available")
		return
	}
	banner := widgets.DefaultBanner
	if why != "" {
		banner = "Park service unavailable (" + why + "): calls stay on your lines"
	}
	c.grid.SetUnavailable(true, banner)
	c.status.setPark(false, nonEmpty(why, "unavailable"))
}

func nonEmpty(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}

// changed records the view's state in the state log, when there is one.
func (c *Console) changed() {
	c.peopleChanged()
	if c.state != nil {
		c.state.snapshot(c.Snapshot())
	}
}

// notify sends a desktop notification away from Fyne's goroutine (the
// desktop's notification service may be slow or absent).
func (c *Console) notify(title, text string) {
	c.act("Notification", func(context.Context) error {
		c.app.SendNotification(fyne.NewNotification(title, text))
		c.do(func() {
			c.lastNote = title + ": " + text
			c.changed()
		})
		return nil
	})
}
