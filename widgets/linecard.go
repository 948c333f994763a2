package widgets

import (
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// LineState is what a line is doing, as its card shows it.
type LineState string

// The states a line card shows.
const (
	LineRinging LineState = "ringing" // an incoming call, not answered yet
	LineDialing LineState = "dialing" // an outgoing call, not answered yet
	LineActive  LineState = "active"  // the live line: the headset is on it
	LineHeld    LineState = "held"    // on hold
	LineParking LineState = "parking" // park on Orbit requested, not confirmed yet
	LineParked  LineState = "parked"  // parked on Orbit; the card is about to leave
	LineBack    LineState = "back"    // nobody picked it up: rings back from Orbit
	LineEnded   LineState = "ended"   // over
)

// LineCard shows one call on one of the receptionist's lines: who is
// calling, what the line is doing and for how long, and the buttons that
// fit. A card in a parkable state (active or held) can be dragged onto
// its DropTargets, typically an OrbitGrid, to park the call.
//
// Change the exported fields and call Refresh, or use the setters; only
// on Fyne's goroutine.
type LineCard struct {
	widget.BaseWidget

	// ID names the call for the app; an OrbitGrid passes it to OnPark.
	ID string
	// Name is the caller's display name; Number their number or address.
	Name, Number string
	// State is what the line is doing.
	State LineState
	// Orbit is the orbit a parking, parked or ringing-back call belongs to.
	Orbit int
	// MaybeOrbits are the orbits a parked call may be on when the PBX did
	// not say which (an uncertain park: "Parked on 701 or 702"); nil
	// when Orbit is known.
	MaybeOrbits []int
	// Detail is a short note under the number ("held by caller", "orbit
	// 705 is busy"); empty for none.
	Detail string
	// Since is when the timer started (the call rang, was answered, was
	// put on hold...); the zero time shows no timer.
	Since time.Time
	// Waited is when the caller first came in, whatever happened since
	// (rang, held, parked, rang back): a waiting card (ringing, back or
	// held) shows the total ("waited 3:10") when it differs from the
	// timer. The zero time shows none.
	Waited time.Time
	// LongWait is the total wait from which a waiting card is marked a
	// long wait, in words ("long wait 3:10") and in the attention colour;
	// zero marks none.
	LongWait time.Duration
	// Compact lays the card out in two lines with icon-only buttons, for
	// a queue of many calls.
	Compact bool
	// DropTargets are told where the card is dragged and where it is
	// dropped.
	DropTargets []DropTarget

	// OnAnswer is called when the receptionist answers a ringing line.
	OnAnswer func() `json:"-"`
	// OnHold puts the live line on hold; OnResume takes a held line back.
	OnHold   func() `json:"-"`
	OnResume func() `json:"-"`
	// OnHangUp hangs up, or declines a ringing line.
	OnHangUp func() `json:"-"`
	// OnTransfer asks to transfer the call (the app asks where to).
	OnTransfer func() `json:"-"`

	now    time.Time
	drag   cardDrag
	timer  *canvas.Text // the renderer's timer, to redraw it alone
	waited *canvas.Text // the renderer's total wait
}

// NewLineCard returns a card for the call id from name at number, in
// state since the given time.
func NewLineCard(id, name, number string, state LineState, since time.Time) *LineCard {
	c := &LineCard{ID: id, Name: name, Number: number, State: state, Since: since}
	c.ExtendBaseWidget(c)
	return c
}

// SetState changes the line's state, its orbit (for parking, parked and
// back) and when its timer started, and redraws the card.
func (c *LineCard) SetState(state LineState, orbit int, since time.Time) {
	c.State, c.Orbit, c.Since = state, orbit, since
	c.Refresh()
}

// Tick moves the card's timer to now. The app calls it once a second;
// only the timer is redrawn, and only when the time shown changes.
func (c *LineCard) Tick(now time.Time) {
	c.now = now
	if c.timer == nil {
		return // not drawn yet: the renderer reads the time when it is
	}
	if c.waited != nil {
		shown, after := c.waited.Text, c.WaitedText()
		switch {
		case after == shown:
		case shown != "" && c.IsLongWait() == strings.HasPrefix(shown, "long") &&
			fyne.MeasureText(after, c.waited.TextSize, c.waited.TextStyle).Width <= c.waited.Size().Width:
			c.waited.Text = after // the same words, a second on
			c.waited.Refresh()
		default:
			c.Refresh() // a total appears, goes, widens or turns into a long wait
			return
		}
	}
	shown, after := c.timer.Text, c.Timer()
	switch {
	case after == shown:
	case len(after) == len(shown):
		c.timer.Text = after // same width in the monospace font
		c.timer.Refresh()
	default:
		c.Refresh() // the name makes room for a wider timer
	}
}

// Waiting reports whether the caller waits for the receptionist: the
// call rings, rings back or is held.
func (c *LineCard) Waiting() bool {
	return c.State == LineRinging || c.State == LineBack || c.State == LineHeld
}

// IsLongWait reports whether the card is marked a long wait: its caller
// waits and has been in for LongWait or more.
func (c *LineCard) IsLongWait() bool {
	return c.Waiting() && c.LongWait > 0 && !c.Waited.IsZero() && !c.now.Before(c.Waited.Add(c.LongWait))
}

// WaitedText is the total wait the card shows: "long wait 3:10" for a
// long wait, "waited 0:40" when the total differs from the timer, else
// empty.
func (c *LineCard) WaitedText() string {
	switch {
	case !c.Waiting() || c.Waited.IsZero():
		return ""
	case c.IsLongWait():
		return "long wait " + elapsed(c.Waited, c.now)
	case c.Since.IsZero() || c.Waited.Before(c.Since):
		return "waited " + elapsed(c.Waited, c.now)
	}
	return ""
}

// Timer is the time the card shows ("0:42"), empty when Since is zero.
func (c *LineCard) Timer() string { return elapsed(c.Since, c.now) }

// Parkable reports whether the call can be parked now: it is active or
// held. Drop targets refuse other cards.
func (c *LineCard) Parkable() bool { return c.State == LineActive || c.State == LineHeld }

// StateLabel is the words the card shows for its state ("Parked on 705").
func (c *LineCard) StateLabel() string {
	orbit := ""
	if c.Orbit > 0 {
		orbit = strconv.Itoa(c.Orbit)
	}
	switch c.State {
	case LineRinging:
		return "Ringing"
	case LineDialing:
		return "Calling…"
	case LineActive:
		return "Active"
	case LineHeld:
		return "On hold"
	case LineParking:
		if orbit == "" {
			return "Parking…"
		}
		return "Parking on " + orbit + "…"
	case LineParked:
		if len(c.MaybeOrbits) > 1 {
			return "Parked on " + orbitsOr(c.MaybeOrbits)
		}
		return "Parked on " + orbit
	case LineBack:
		return "Back from " + orbit
	case LineEnded:
		return "Ended"
	}
	return string(c.State)
}

// Cursor shows a hand over a card that can be dragged to a slot.
func (c *LineCard) Cursor() desktop.Cursor {
	if c.Parkable() {
		return desktop.PointerCursor
	}
	return desktop.DefaultCursor
}

// MinSize returns the smallest size the card can be shown at.
func (c *LineCard) MinSize() fyne.Size {
	c.ExtendBaseWidget(c)
	return c.BaseWidget.MinSize()
}

// CreateRenderer is a private method to Fyne which links this widget to
// its renderer.
func (c *LineCard) CreateRenderer() fyne.WidgetRenderer {
	c.ExtendBaseWidget(c)
	r := &lineCardRenderer{card: c}
	r.name.TextStyle = fyne.TextStyle{Bold: true}
	r.timer.TextStyle = fyne.TextStyle{Monospace: true}
	r.timer.Alignment = fyne.TextAlignTrailing
	r.detail.TextStyle = fyne.TextStyle{Italic: true}
	r.waited.TextStyle = fyne.TextStyle{Bold: true}
	r.waited.Alignment = fyne.TextAlignTrailing
	r.stateText.TextStyle = fyne.TextStyle{Bold: true}
	r.stateText.Alignment = fyne.TextAlignCenter
	call := func(f *func()) func() {
		return func() {
			if *f != nil {
				(*f)()
			}
		}
	}
	r.answer = widget.NewButtonWithIcon("Answer", PhoneIcon(), call(&c.OnAnswer))
	r.answer.Importance = widget.SuccessImportance
	r.hold = widget.NewButtonWithIcon("Hold", theme.MediaPauseIcon(), call(&c.OnHold))
	r.resume = widget.NewButtonWithIcon("Resume", theme.MediaPlayIcon(), call(&c.OnResume))
	r.resume.Importance = widget.HighImportance
	r.transfer = widget.NewButtonWithIcon("Transfer", theme.MailForwardIcon(), call(&c.OnTransfer))
	r.hangUp = widget.NewButtonWithIcon("Hang up", HangUpIcon(), call(&c.OnHangUp))
	r.hangUp.Importance = widget.DangerImportance
	r.buttons = container.NewHBox(r.answer, r.hold, r.resume, r.transfer, r.hangUp)
	c.timer = &r.timer
	c.waited = &r.waited
	r.objects = []fyne.CanvasObject{&r.bg, &r.accent, &r.name, &r.timer, &r.number,
		&r.pill, &r.stateText, &r.detail, &r.waited, r.buttons}
	r.Refresh()
	return r
}

// lineCardRenderer draws a LineCard:
//
//	▌ Name                      0:42
//	▌ Number                 [Active]
//	▌ detail             waited 3:10
//	▌ [Hold] [Transfer] [Hang up]
//
// or, compact, with icon-only buttons:
//
//	▌ Name             0:42  [⏸][→][✕]
//	▌ Number       [Active]
//
// where a compact card's total ("long wait 3:10") takes the timer's
// place and its detail is left out.
type lineCardRenderer struct {
	card *LineCard

	bg, accent, pill               canvas.Rectangle
	name, timer, number, stateText canvas.Text
	detail, waited                 canvas.Text

	answer, hold, resume, transfer, hangUp *widget.Button
	buttons                                *fyne.Container

	objects []fyne.CanvasObject
}

func (r *lineCardRenderer) Destroy() {
	if r.card.timer == &r.timer {
		r.card.timer = nil
	}
	if r.card.waited == &r.waited {
		r.card.waited = nil
	}
}

func (r *lineCardRenderer) Objects() []fyne.CanvasObject { return r.objects }

// metrics are the theme sizes the card is laid out with.
type cardMetrics struct {
	pad, inner, accentW, nameH, textH, detailH, pillW, pillH, timerW, waitedW float32
}

func (r *lineCardRenderer) metrics() cardMetrics {
	th := r.card.Theme()
	m := cardMetrics{
		pad:   th.Size(theme.SizeNamePadding),
		inner: th.Size(theme.SizeNameInnerPadding),
	}
	m.accentW = m.pad * 1.5
	m.nameH = fyne.MeasureText("Mg", r.name.TextSize, r.name.TextStyle).Height
	m.textH = fyne.MeasureText("Mg", r.number.TextSize, r.number.TextStyle).Height
	if !r.card.Compact && (r.card.Detail != "" || r.waited.Text != "") {
		// A compact card has no detail row; its total takes the timer's place.
		m.detailH = fyne.MeasureText("Mg", r.detail.TextSize, r.detail.TextStyle).Height
	}
	if r.waited.Text != "" {
		m.waitedW = fyne.MeasureText(r.waited.Text, r.waited.TextSize, r.waited.TextStyle).Width
	}
	st := fyne.MeasureText(r.stateText.Text, r.stateText.TextSize, r.stateText.TextStyle)
	m.pillW, m.pillH = st.Width+2*m.inner, st.Height+m.pad
	m.timerW = fyne.MeasureText(r.timer.Text, r.timer.TextSize, r.timer.TextStyle).Width
	return m
}

func (r *lineCardRenderer) Layout(size fyne.Size) {
	m := r.metrics()
	r.bg.Resize(size)
	r.bg.Move(fyne.NewPos(0, 0))
	r.accent.Move(fyne.NewPos(m.inner, m.inner))
	r.accent.Resize(fyne.NewSize(m.accentW, size.Height-2*m.inner))

	x := m.inner + m.accentW + m.inner
	w := size.Width - x - m.inner
	y := m.inner
	bs := r.buttons.MinSize()
	if r.card.Compact {
		// The buttons stand at the right, the text rows to their left.
		r.buttons.Move(fyne.NewPos(size.Width-m.inner-bs.Width, (size.Height-bs.Height)/2))
		r.buttons.Resize(bs)
		w -= bs.Width + m.inner
	}

	timerW := m.timerW
	if r.card.Compact && m.waitedW > 0 {
		timerW = m.waitedW
		r.waited.Move(fyne.NewPos(x+w-timerW, y))
		r.waited.Resize(fyne.NewSize(timerW, m.nameH))
	}
	r.timer.Move(fyne.NewPos(x+w-m.timerW, y))
	r.timer.Resize(fyne.NewSize(m.timerW, m.nameH))
	nameW := w - timerW - m.inner
	r.name.Text = fitText(r.card.Name, r.name.TextSize, r.name.TextStyle, nameW)
	if r.name.Text == "" && r.card.Name == "" {
		r.name.Text = fitText(r.card.Number, r.name.TextSize, r.name.TextStyle, nameW)
	}
	r.name.Move(fyne.NewPos(x, y))
	r.name.Resize(fyne.NewSize(nameW, m.nameH))
	y += m.nameH + m.pad/2

	row := fyne.Max(m.textH, m.pillH)
	r.pill.Move(fyne.NewPos(x+w-m.pillW, y+(row-m.pillH)/2))
	r.pill.Resize(fyne.NewSize(m.pillW, m.pillH))
	r.stateText.Move(r.pill.Position())
	r.stateText.Resize(r.pill.Size())
	numW := w - m.pillW - m.inner
	number := r.card.Number
	if r.card.Name == "" {
		number = "" // the number is the headline already
	}
	r.number.Text = fitText(number, r.number.TextSize, r.number.TextStyle, numW)
	r.number.Move(fyne.NewPos(x, y+(row-m.textH)/2))
	r.number.Resize(fyne.NewSize(numW, m.textH))
	y += row

	detailW := w
	if m.waitedW > 0 && !r.card.Compact {
		detailW = w - m.waitedW - m.inner
		r.waited.Move(fyne.NewPos(x+w-m.waitedW, y+m.pad/2))
		r.waited.Resize(fyne.NewSize(m.waitedW, m.detailH))
	}
	r.detail.Text = fitText(r.card.Detail, r.detail.TextSize, r.detail.TextStyle, detailW)
	r.detail.Move(fyne.NewPos(x, y+m.pad/2))
	r.detail.Resize(fyne.NewSize(detailW, m.detailH))
	if m.detailH > 0 {
		y += m.detailH + m.pad/2
	}

	if !r.card.Compact {
		r.buttons.Move(fyne.NewPos(x, y+m.pad*2))
		r.buttons.Resize(fyne.NewSize(w, bs.Height))
	}
}

func (r *lineCardRenderer) MinSize() fyne.Size {
	m := r.metrics()
	// As wide as the widest row of buttons any state shows, so that cards
	// in a list keep their width as their calls change.
	widest := float32(0)
	for _, set := range [][]*widget.Button{
		{r.answer, r.hangUp}, {r.hold, r.transfer, r.hangUp}, {r.resume, r.transfer, r.hangUp},
	} {
		w := float32(0)
		for i, b := range set {
			if i > 0 {
				w += m.pad
			}
			w += b.MinSize().Width
		}
		widest = fyne.Max(widest, w)
	}
	text := m.nameH + m.pad/2 + fyne.Max(m.textH, m.pillH)
	if m.detailH > 0 {
		text += m.detailH + m.pad/2
	}
	if r.card.Compact {
		// The text beside the buttons needs room for a short name and
		// the state.
		textW := m.pillW + m.inner + fyne.MeasureText("Maximilian", r.number.TextSize, r.number.TextStyle).Width
		w := m.inner + m.accentW + m.inner + textW + m.inner + widest + m.inner
		return fyne.NewSize(w, m.inner+fyne.Max(text, r.answer.MinSize().Height)+m.inner)
	}
	w := m.inner + m.accentW + m.inner + widest + m.inner
	h := m.inner + text + m.pad*2 + r.answer.MinSize().Height + m.inner
	return fyne.NewSize(w, h)
}

// stateColor is the colour name for the card's state lamp: a ring-back
// and a long wait in the attention colour of the slots ringing back.
func (r *lineCardRenderer) stateColor() fyne.ThemeColorName {
	switch r.card.State {
	case LineBack:
		return ColorNameSlotRingingBack
	case LineRinging, LineDialing:
		return ColorNameLineRinging
	case LineActive:
		return ColorNameLineActive
	case LineHeld:
		return ColorNameLineHeld
	}
	return ColorNameLineIdle
}

func (r *lineCardRenderer) Refresh() {
	c := r.card
	th := c.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()

	r.name.TextSize = th.Size(theme.SizeNameSubHeadingText)
	r.timer.TextSize = th.Size(theme.SizeNameSubHeadingText)
	if c.Compact {
		r.name.TextSize = th.Size(theme.SizeNameText)
		r.timer.TextSize = th.Size(theme.SizeNameText)
	}
	r.number.TextSize = th.Size(theme.SizeNameText)
	r.stateText.TextSize = th.Size(theme.SizeNameText)
	r.detail.TextSize = th.Size(theme.SizeNameCaptionText)
	r.waited.TextSize = th.Size(theme.SizeNameCaptionText)
	if c.Compact {
		r.waited.TextSize = th.Size(theme.SizeNameText)
	}

	lamp := r.stateColor()
	lampColor := colorOf(th, lamp)
	attention := colorOf(th, ColorNameSlotRingingBack)
	long := c.IsLongWait()
	base := th.Color(theme.ColorNameInputBackground, v)
	r.bg.CornerRadius = th.Size(theme.SizeNameInputRadius)
	r.bg.StrokeWidth, r.bg.StrokeColor = 0, nil
	switch {
	case c.drag.active:
		// The card is being dragged: leave a faint outline where it was.
		r.bg.FillColor = fade(base, 0.4)
		r.bg.StrokeColor = th.Color(theme.ColorNamePrimary, v)
		r.bg.StrokeWidth = th.Size(theme.SizeNameInputBorder)
	case c.State == LineRinging || c.State == LineBack:
		// Calls waiting for the receptionist stand out.
		r.bg.FillColor = mix(base, lampColor, 0.18)
		r.bg.StrokeColor = lampColor
		if long {
			r.bg.StrokeColor = attention
		}
		r.bg.StrokeWidth = th.Size(theme.SizeNameInputBorder)
	case long:
		r.bg.FillColor = base
		r.bg.StrokeColor = attention
		r.bg.StrokeWidth = th.Size(theme.SizeNameInputBorder)
	default:
		r.bg.FillColor = base
	}
	r.accent.FillColor = lampColor
	if long {
		r.accent.FillColor = attention
	}
	r.accent.CornerRadius = r.bg.CornerRadius / 2
	r.pill.FillColor = lampColor
	r.pill.CornerRadius = r.bg.CornerRadius
	r.stateText.Color = onColorOf(th, lamp)
	r.stateText.Text = c.StateLabel()

	fg := th.Color(theme.ColorNameForeground, v)
	muted := th.Color(theme.ColorNamePlaceHolder, v)
	r.name.Color = fg
	r.timer.Color = fg
	r.timer.Text = c.Timer()
	r.number.Color = muted
	r.detail.Color = muted
	r.waited.Text = c.WaitedText()
	r.waited.Color = fg
	r.waited.Hidden = r.waited.Text == ""
	r.timer.Hidden = c.Compact && !r.waited.Hidden
	r.detail.Hidden = c.Compact

	show := func(b *widget.Button, on bool) {
		if on {
			b.Show()
		} else {
			b.Hide()
		}
	}
	ringing := c.State == LineRinging || c.State == LineBack
	talking := c.State == LineActive || c.State == LineHeld
	show(r.answer, ringing)
	show(r.hold, c.State == LineActive)
	show(r.resume, c.State == LineHeld)
	show(r.transfer, talking)
	show(r.hangUp, ringing || talking || c.State == LineDialing)
	hangUp := "Hang up"
	if ringing {
		hangUp = "Decline"
	}
	for _, b := range []struct {
		b    *widget.Button
		text string
	}{{r.answer, "Answer"}, {r.hold, "Hold"}, {r.resume, "Resume"}, {r.transfer, "Transfer"}, {r.hangUp, hangUp}} {
		text := b.text
		if c.Compact {
			text = ""
		}
		if b.b.Text != text {
			b.b.SetText(text)
		}
	}
	r.buttons.Refresh()

	r.Layout(c.Size())
	for _, o := range r.objects[:len(r.objects)-1] {
		o.Refresh()
	}
}

// orbitsOr words orbits as "701 or 702" or "701, 702 or 705".
func orbitsOr(orbits []int) string {
	words := make([]string, len(orbits))
	for i, n := range orbits {
		words[i] = strconv.Itoa(n)
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}
