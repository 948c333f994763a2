package widgets

import (
	"strconv"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// SlotState is what an orbit of the park service holds, as its slot
// shows it.
type SlotState string

// The states an orbit slot shows.
const (
	SlotFree        SlotState = "free"         // nobody parked here
	SlotOccupied    SlotState = "occupied"     // a call parked by another console
	SlotMine        SlotState = "mine"         // a call this console parked
	SlotRingingBack SlotState = "ringing-back" // nobody retrieved it: ringing back its parker
	SlotUnavailable SlotState = "unavailable"  // the park service cannot use this orbit
)

// dropHint is what a slot shows about a line card dragged over it.
type dropHint uint8

const (
	hintNone    dropHint = iota
	hintAccept           // a card hovers and may be parked here
	hintRefuse           // a card hovers and may not be parked here
	hintRefused          // a card was dropped here and refused
	hintPending          // a card was dropped here; waiting for the lamp
)

// How many ticks (seconds) a refusal or a pending park stays shown.
const (
	refusedTicks = 2
	pendingTicks = 5
)

// OrbitSlot shows one orbit of the park lot: its number, a lamp colour
// for its state, who is parked there and for how long. Tapping a slot
// that holds a call retrieves it. Slots are usually made and laid out by
// an OrbitGrid, which also routes dragged line cards to them.
type OrbitSlot struct {
	widget.BaseWidget

	// Orbit is the slot's number (705).
	Orbit int
	// State is what the orbit holds.
	State SlotState
	// Caller is the parked caller's name or number.
	Caller string
	// Parker is who parked the call, when someone else did ("Reception 2");
	// for SlotRingingBack, whom the call rings back ("you", "reception1").
	Parker string
	// Since is when the call was parked; the zero time shows no timer.
	Since time.Time
	// For is whom the call was parked for ("Bob Chen"), Note the
	// parker's note; the caption says "for Bob Chen" (SetFor).
	For, Note string
	// OnRetrieve is called with Orbit when a slot holding a call is
	// tapped. Without it, the slot's grid's OnRetrieve is called.
	OnRetrieve func(orbit int) `json:"-"`

	now      time.Time
	hint     dropHint
	hintText string       // on the caller's line: "Park here", "Occupied"
	hintSub  string       // on the caption line: the dragged caller's name
	hintLeft int          // ticks left for hintRefused and hintPending
	invite   bool         // a parkable card is being dragged: a free slot invites the drop
	down     bool         // the whole park service is unavailable
	grid     *OrbitGrid   // the grid the slot is in, if any
	timer    *canvas.Text // the renderer's timer, to redraw it alone
}

// NewOrbitSlot returns a free slot for orbit.
func NewOrbitSlot(orbit int) *OrbitSlot {
	s := &OrbitSlot{Orbit: orbit, State: SlotFree}
	s.ExtendBaseWidget(s)
	return s
}

// Set changes what the slot shows and redraws it: its state, the parked
// caller, who parked it (or whom it rings back) and since when.
func (s *OrbitSlot) Set(state SlotState, caller, parker string, since time.Time) {
	changed := state != s.State
	s.State, s.Caller, s.Parker, s.Since = state, caller, parker, since
	if changed && s.hint == hintPending {
		s.hint, s.hintText, s.hintSub, s.hintLeft = hintNone, "", "", 0
	}
	s.Refresh()
}

// SetFor changes whom the slot's call is for and its note, and redraws
// the slot when they changed.
func (s *OrbitSlot) SetFor(who, note string) {
	if who == s.For && note == s.Note {
		return
	}
	s.For, s.Note = who, note
	s.Refresh()
}

// Held reports whether the orbit holds a call (occupied, mine or ringing
// back), one that a tap retrieves.
func (s *OrbitSlot) Held() bool {
	return s.State == SlotOccupied || s.State == SlotMine || s.State == SlotRingingBack
}

// Shown is the state the slot shows: its State, or unavailable while the
// park service is.
func (s *OrbitSlot) Shown() SlotState {
	if s.down {
		return SlotUnavailable
	}
	return s.State
}

// Timer is the parked-for time the slot shows ("2:10"), empty when the
// orbit holds no call or Since is zero.
func (s *OrbitSlot) Timer() string {
	if !s.Held() || s.down {
		return ""
	}
	return elapsed(s.Since, s.now)
}

// Tick moves the slot's timer to now. A grid ticks all its slots; the
// app calls it once a second. Only what changed is redrawn: usually the
// timer's text alone.
func (s *OrbitSlot) Tick(now time.Time) {
	s.now = now
	if s.hintLeft > 0 {
		s.hintLeft--
		if s.hintLeft == 0 && s.hint != hintNone {
			s.setHint(hintNone, "", "")
			return // redrawn whole
		}
	}
	if s.timer == nil {
		return // not drawn yet: the renderer reads the time when it is
	}
	shown := s.timer.Text
	after := s.Timer()
	if after == shown {
		return
	}
	if len(after) == len(shown) && !s.timer.Hidden {
		// Same width in the monospace font, same form: the text alone.
		s.timer.Text = after
		s.timer.Refresh()
		return
	}
	s.Refresh()
}

// Tapped retrieves the call parked on the slot, if it holds one.
func (s *OrbitSlot) Tapped(*fyne.PointEvent) {
	if !s.Held() || s.down {
		return
	}
	switch {
	case s.OnRetrieve != nil:
		s.OnRetrieve(s.Orbit)
	case s.grid != nil && s.grid.OnRetrieve != nil:
		s.grid.OnRetrieve(s.Orbit)
	}
}

// Cursor shows a hand over a slot that a tap retrieves.
func (s *OrbitSlot) Cursor() desktop.Cursor {
	if s.Held() && !s.down {
		return desktop.PointerCursor
	}
	return desktop.DefaultCursor
}

// Hint is the drop feedback the slot shows ("Park here", "Occupied"),
// empty when none.
func (s *OrbitSlot) Hint() string {
	if s.hint == hintNone {
		return ""
	}
	return s.hintText
}

// setHint shows drop feedback: text in place of the caller, sub (if not
// empty) in place of the caption.
func (s *OrbitSlot) setHint(h dropHint, text, sub string) {
	if s.hint == h && s.hintText == text && s.hintSub == sub {
		return
	}
	s.hint, s.hintText, s.hintSub = h, text, sub
	switch h {
	case hintRefused:
		s.hintLeft = refusedTicks
	case hintPending:
		s.hintLeft = pendingTicks
	default:
		s.hintLeft = 0
	}
	s.Refresh()
}

// Inviting reports whether the slot shows the faint "Drop to park"
// invitation a free slot shows while a call that can be parked is being
// dragged.
func (s *OrbitSlot) Inviting() bool {
	return s.invite && s.State == SlotFree && !s.down && s.hint == hintNone
}

// setInvite shows or takes away the drop invitation (see Inviting).
func (s *OrbitSlot) setInvite(on bool) {
	if s.invite == on {
		return
	}
	s.invite = on
	if s.State == SlotFree {
		s.Refresh()
	}
}

// inviteText is what a free slot says while a call may be dropped on it.
const inviteText = "Drop to park"

// MinSize returns the smallest size the slot can be shown at.
func (s *OrbitSlot) MinSize() fyne.Size {
	s.ExtendBaseWidget(s)
	return s.BaseWidget.MinSize()
}

// CreateRenderer is a private method to Fyne which links this widget to
// its renderer.
func (s *OrbitSlot) CreateRenderer() fyne.WidgetRenderer {
	s.ExtendBaseWidget(s)
	r := &slotRenderer{slot: s}
	r.number.TextStyle = fyne.TextStyle{Bold: true}
	r.timer.TextStyle = fyne.TextStyle{Monospace: true}
	r.timer.Alignment = fyne.TextAlignTrailing
	r.objects = []fyne.CanvasObject{&r.bg, &r.number, &r.timer, &r.caller, &r.caption}
	s.timer = &r.timer
	r.Refresh()
	return r
}

// slotRenderer draws an OrbitSlot:
//
//	705          2:10
//	Alice Martin
//	parked by you
type slotRenderer struct {
	slot *OrbitSlot

	bg                             canvas.Rectangle
	number, timer, caller, caption canvas.Text
	objects                        []fyne.CanvasObject
}

func (r *slotRenderer) Destroy() {
	if r.slot.timer == &r.timer {
		r.slot.timer = nil
	}
}

func (r *slotRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *slotRenderer) inset() float32 {
	return r.slot.Theme().Size(theme.SizeNamePadding) * 1.5
}

// MinSize is room for the number and one line under it, at the theme's
// text sizes: a lot of 100 still fits a laptop screen.
func (r *slotRenderer) MinSize() fyne.Size {
	th := r.slot.Theme()
	in := r.inset()
	text := th.Size(theme.SizeNameText)
	num := fyne.MeasureText("0000", text, r.number.TextStyle)
	timerW := fyne.MeasureText("0:00", text, r.timer.TextStyle).Width
	return fyne.NewSize(2*in+fyne.Max(num.Width, timerW), 2*in+num.Height+r.lineHeight(text))
}

// minDetail is the smallest size of the slot's caption ("parked by
// you") as a share of the theme's text size: 12 at Fyne's 14, never the
// 9 to 11 of a caption.
const minDetail = 0.86

// sizes scales the slot's text with its height, from the theme's text
// size up, so that a small lot in a big window reads from across the
// desk. The caller's name is never smaller than body text, the caption
// never smaller than minDetail of it.
func (r *slotRenderer) sizes(h float32) (number, name, caption float32) {
	th := r.slot.Theme()
	clamp := func(v, lo, hi float32) float32 { return fyne.Min(fyne.Max(v, lo), hi) }
	text, sub := th.Size(theme.SizeNameText), th.Size(theme.SizeNameSubHeadingText)
	number = clamp(h*0.3, text, th.Size(theme.SizeNameHeadingText)*1.25)
	name = clamp(h*0.18, text, sub*1.34)
	caption = clamp(h*0.14, text*minDetail, sub)
	room := h - 2*r.inset()
	numH := func() float32 { return fyne.MeasureText("0", number, r.number.TextStyle).Height }
	capH := fyne.MeasureText("Mg", caption, r.caption.TextStyle).Height
	// The number gives way, down to body size, where that gives the
	// caption ("parked by you") its line.
	if fyne.MeasureText("0", text, r.number.TextStyle).Height+r.lineHeight(name)+capH <= room+0.5 {
		for number > text && numH()+r.lineHeight(name)+capH > room+0.5 {
			number = fyne.Max(text, number-1)
		}
	}
	if numH()+r.lineHeight(name) > room+0.5 {
		// A slot near its minimum: the number and the caller's line at
		// body size, so that both still fit.
		number, name = text, text
	}
	return number, name, caption
}

// lineHeight is the height of the caller's line at size, which may hold
// the timer (in the monospace font) too.
func (r *slotRenderer) lineHeight(size float32) float32 {
	return fyne.Max(fyne.MeasureText("Mg", size, r.caller.TextStyle).Height,
		fyne.MeasureText("0:00", size, r.timer.TextStyle).Height)
}

func (r *slotRenderer) Layout(size fyne.Size) {
	s := r.slot
	in := r.inset()
	r.bg.Resize(size)
	numSize, nameSize, capSize := r.sizes(size.Height)
	r.number.TextSize, r.caller.TextSize, r.caption.TextSize = numSize, nameSize, capSize
	r.timer.TextSize = nameSize

	numH := fyne.MeasureText("0", numSize, r.number.TextStyle).Height
	nameH := r.lineHeight(nameSize)
	capH := fyne.MeasureText("Mg", capSize, r.caption.TextStyle).Height
	w := size.Width - 2*in

	r.number.Text = strconv.Itoa(s.Orbit)
	numW := fyne.MeasureText(r.number.Text, numSize, r.number.TextStyle).Width
	r.number.Move(fyne.NewPos(in, in))
	r.number.Resize(fyne.NewSize(numW, numH))

	// The timer goes right of the number when both fit, else on the
	// caller's line.
	timer := s.Timer()
	timerW := fyne.MeasureText(timer, nameSize, r.timer.TextStyle).Width
	if timerW > w && !s.Since.IsZero() {
		// A long park in a small slot: whole minutes ("75m").
		timer = strconv.Itoa(int(s.now.Sub(s.Since)/time.Minute)) + "m"
		timerW = fyne.MeasureText(timer, nameSize, r.timer.TextStyle).Width
	}
	r.timer.Text = timer
	y := in + numH
	avail := size.Height - in
	callerLine := y+nameH <= avail+0.5 // rounding
	besideNumber := numW+in+timerW <= w
	if besideNumber {
		r.timer.Move(fyne.NewPos(in+w-timerW, in+(numH-nameH)/2))
	} else {
		r.timer.Move(fyne.NewPos(in+w-timerW, y))
	}
	r.timer.Resize(fyne.NewSize(timerW, nameH))
	r.timer.Hidden = timer == "" || !besideNumber && !callerLine

	line := s.Caller
	if s.down {
		line = "" // not known while the service is down
	}
	if h := s.Hint(); h != "" {
		line = h
	} else if s.Inviting() {
		line = inviteText
	}
	lineW := w
	if !besideNumber && !r.timer.Hidden {
		lineW = fyne.Max(0, lineW-timerW-in)
	}
	// A long name first gets smaller, down to body text, then shortened.
	r.caller.TextSize = shrinkToFit(line, nameSize, r.slot.Theme().Size(theme.SizeNameText), r.caller.TextStyle, lineW)
	r.caller.Text = fitText(line, r.caller.TextSize, r.caller.TextStyle, lineW)
	r.caller.Move(fyne.NewPos(in, y))
	r.caller.Resize(fyne.NewSize(lineW, nameH))
	r.caller.Hidden = !callerLine
	y += nameH

	caption := r.captionText()
	r.caption.TextSize = shrinkToFit(caption, capSize, r.slot.Theme().Size(theme.SizeNameText)*minDetail, r.caption.TextStyle, w)
	r.caption.Text = fitText(caption, r.caption.TextSize, r.caption.TextStyle, w)
	r.caption.Move(fyne.NewPos(in, y))
	r.caption.Resize(fyne.NewSize(w, capH))
	r.caption.Hidden = y+capH > avail+0.5
}

// captionText is the small line under the caller.
func (r *slotRenderer) captionText() string {
	s := r.slot
	if s.down {
		return ""
	}
	if s.hint != hintNone {
		if s.hintSub != "" {
			return s.hintSub
		}
		if s.Caller != "" {
			return s.Caller // the hint took the caller's line
		}
	}
	if (s.State == SlotMine || s.State == SlotOccupied) && (s.For != "" || s.Note != "") {
		// Whom the call waits for matters more than who parked it.
		switch {
		case s.For != "" && s.Note != "":
			return "for " + s.For + ": " + s.Note
		case s.For != "":
			return "for " + s.For
		}
		return s.Note
	}
	switch s.State {
	case SlotMine:
		return "parked by you"
	case SlotOccupied:
		if s.Parker != "" {
			return "by " + s.Parker
		}
	case SlotRingingBack:
		if s.Parker != "" {
			return "ringing back " + s.Parker
		}
		return "ringing back"
	case SlotUnavailable:
		return "unavailable"
	}
	return ""
}

// lamp is the colour name that fills the slot.
func (r *slotRenderer) lamp() fyne.ThemeColorName {
	switch r.slot.Shown() {
	case SlotOccupied:
		return ColorNameSlotOccupied
	case SlotMine:
		return ColorNameSlotMine
	case SlotRingingBack:
		return ColorNameSlotRingingBack
	case SlotUnavailable:
		return ColorNameSlotUnavailable
	}
	return ColorNameSlotFree
}

func (r *slotRenderer) Refresh() {
	s := r.slot
	th := s.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()

	lamp := r.lamp()
	fill := colorOf(th, lamp)
	text := onColorOf(th, lamp)
	muted := text
	switch s.Shown() {
	case SlotFree:
		text = th.Color(theme.ColorNameForeground, v)
		muted = th.Color(theme.ColorNamePlaceHolder, v)
	case SlotUnavailable:
		text = th.Color(theme.ColorNamePlaceHolder, v)
		muted = text
	}
	r.bg.FillColor = fill
	r.bg.CornerRadius = th.Size(theme.SizeNameInputRadius)
	r.bg.StrokeWidth, r.bg.StrokeColor = 0, nil
	free := colorOf(th, ColorNameFree)
	border := th.Size(theme.SizeNameInputBorder)
	if s.Shown() == SlotFree {
		// A free orbit's lamp is green (the busy-lamp convention), as a
		// thin outline: a lot of free orbits stays calm.
		r.bg.StrokeColor = fade(free, 0.6)
		r.bg.StrokeWidth = border / 2
		if s.Inviting() {
			// A call is being dragged: free orbits invite the drop, faintly.
			r.bg.FillColor = mix(fill, free, 0.08)
			r.bg.StrokeColor = free
			r.bg.StrokeWidth = border
		}
	}
	switch s.hint {
	case hintAccept, hintPending:
		r.bg.FillColor = mix(fill, free, 0.2)
		r.bg.StrokeColor = free
		r.bg.StrokeWidth = border * 2
		text = th.Color(theme.ColorNameForeground, v)
		muted = text
	case hintRefuse:
		// Would refuse: the lamp stays, under a red veil and border.
		errc := colorOf(th, ColorNameDanger)
		r.bg.FillColor = mix(fill, errc, 0.45)
		r.bg.StrokeColor = errc
		r.bg.StrokeWidth = border * 2
		text = readableOn(th, r.bg.FillColor)
		muted = text
	case hintRefused:
		// Refused a drop: red for a moment.
		r.bg.FillColor = colorOf(th, ColorNameDanger)
		text = onColorOf(th, ColorNameDanger)
		muted = text
	}
	r.number.Color = text
	r.timer.Color = text
	r.caller.Color = text
	if s.Inviting() {
		r.caller.Color = muted
	}
	r.caption.Color = muted

	r.Layout(s.Size())
	for _, o := range r.objects {
		o.Refresh()
	}
}
