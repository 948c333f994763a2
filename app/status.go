package app

import (
	"image/color"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/telephony"
)

// lamp colours of the status bar's items.
const (
	lampOK   = theme.ColorNameSuccess
	lampWait = theme.ColorNameWarning
	lampBad  = theme.ColorNameError
	lampOff  = theme.ColorNameDisabled
)

// statusItem is a small lamp and a line of text.
type statusItem struct {
	lamp  *canvas.Circle
	name  fyne.ThemeColorName
	label *widget.Label
	box   *fyne.Container
	bar   *statusBar
}

func newStatusItem() *statusItem {
	s := &statusItem{lamp: canvas.NewCircle(color.Transparent), label: widget.NewLabel("")}
	return s
}

func (s *statusItem) set(lamp fyne.ThemeColorName, text string) {
	s.name = lamp
	s.lamp.FillColor = theme.Color(lamp)
	s.lamp.Refresh()
	s.label.SetText(text)
	if s.box != nil {
		s.box.Refresh()
	}
	if s.bar != nil {
		s.bar.relayout()
	}
}

func (s *statusItem) view() fyne.CanvasObject {
	size := theme.CaptionTextSize()
	dot := container.NewCenter(container.NewGridWrap(fyne.NewSquareSize(size), s.lamp))
	s.box = container.NewHBox(dot, s.label)
	return s.box
}

// statusBar is the bottom line: registration, park service, sound
// device, then a message or what is being typed.
type statusBar struct {
	reg, park, audio *statusItem
	dir              *statusItem // the directory: only while stale or failed
	msg              *widget.Label
	typed            *widget.Label
	msgUntil         time.Time
	probe            fyne.CanvasObject
	left, right, box *fyne.Container
	// parkUp and parkText are the park service's state as last set;
	// lampFaults the orbits whose lamp failed. A failed lamp is told in
	// place of "available".
	parkUp     bool
	parkText   string
	lampFaults map[int]telephony.LampFault
}

func newStatusBar(probe fyne.CanvasObject) *statusBar {
	b := &statusBar{reg: newStatusItem(), park: newStatusItem(), audio: newStatusItem(),
		msg: widget.NewLabel(""), typed: widget.NewLabel(""), probe: probe}
	b.reg.bar, b.park.bar, b.audio.bar = b, b, b
	b.msg.Truncation = fyne.TextTruncateEllipsis
	b.typed.TextStyle = fyne.TextStyle{Bold: true}
	return b
}

func (b *statusBar) view() fyne.CanvasObject {
	b.left = container.NewHBox(b.reg.view(), b.park.view(), b.audio.view())
	b.right = container.NewHBox(b.typed, b.probe)
	b.box = container.NewBorder(widget.NewSeparator(), nil, b.left, b.right, b.msg)
	return b.box
}

func (b *statusBar) setRegistration(st telephony.RegistrationState, why string) {
	switch st {
	case telephony.RegistrationNone:
		b.reg.set(lampOff, "No PBX account")
	case telephony.RegistrationRegistering:
		b.reg.set(lampWait, withReason("Registering…", why))
	case telephony.RegistrationRegistered:
		b.reg.set(lampOK, "Registered")
	default:
		b.reg.set(lampBad, withReason("Registration failed", why))
	}
}

func (b *statusBar) setPark(up bool, text string) {
	b.parkUp, b.parkText = up, text
	b.showPark()
}

// setLamp notes whether orbit n's lamp failed (LampKnown: it stands).
func (b *statusBar) setLamp(n int, fault telephony.LampFault) {
	if fault == telephony.LampKnown {
		if _, ok := b.lampFaults[n]; !ok {
			return
		}
		delete(b.lampFaults, n)
	} else {
		if b.lampFaults == nil {
			b.lampFaults = make(map[int]telephony.LampFault)
		}
		if b.lampFaults[n] == fault {
			return
		}
		b.lampFaults[n] = fault
	}
	b.showPark()
}

// lampFaultText says, in the receptionist's words, why orbit lamps are
// unknown.
func lampFaultText(f telephony.LampFault) string {
	switch f {
	case telephony.LampRefused:
		return "Orbit lamps refused by the park service (wrong password?)"
	case telephony.LampNotFound:
		return "Orbit lamps: the park service does not know these orbits"
	case telephony.LampNotOffered:
		return "Orbit lamps: the park service offers none"
	case telephony.LampNoAnswer:
		return "Orbit lamps: the park service does not answer"
	}
	return "Orbit lamps failing at the park service"
}

func (b *statusBar) showPark() {
	up, text := b.parkUp, b.parkText
	worst := telephony.LampKnown
	for _, f := range b.lampFaults {
		worst = max(worst, f)
	}
	switch {
	case text == "off":
		b.park.set(lampOff, "Park: off")
	case text == "checking…" && worst == telephony.LampKnown:
		b.park.set(lampWait, "Park service: checking…")
	case worst != telephony.LampKnown && (up || text == "checking…"):
		b.park.set(lampBad, lampFaultText(worst))
	case up:
		b.park.set(lampOK, "Park service: "+text)
	default:
		b.park.set(lampBad, "Park service: "+text)
	}
}

func (b *statusBar) setAudio(ok bool, text string) {
	if ok {
		b.audio.set(lampOK, "Audio: "+text)
	} else {
		b.audio.set(lampBad, withReason("Audio unavailable", text))
	}
}

// setDirectory says what is wrong with the directory (failed: nothing to
// show; else stale); "" (fresh) shows nothing. Its item joins the bar the
// first time there is something to say.
func (b *statusBar) setDirectory(failed bool, text string) {
	if text == "" {
		if b.dir != nil {
			b.dir.box.Hide()
			b.relayout()
		}
		return
	}
	if b.dir == nil {
		b.dir = newStatusItem()
		b.dir.bar = b
		b.dir.view()
		if b.left != nil {
			b.left.Add(b.dir.box)
		}
	}
	b.dir.box.Show()
	lamp := lampWait
	if failed {
		lamp = lampBad
	}
	b.dir.set(lamp, text)
}

// directoryText is what the bar says of the directory ("" when nothing).
func (b *statusBar) directoryText() string {
	if b.dir == nil || !b.dir.box.Visible() {
		return ""
	}
	return b.dir.label.Text
}

func withReason(s, why string) string {
	if why == "" {
		return s
	}
	return s + ": " + why
}

// flash shows msg until the given time.
func (b *statusBar) flash(msg string, until time.Time) {
	b.msg.SetText(msg)
	b.msgUntil = until
}

// setTyped shows what the receptionist is typing or being asked.
func (b *statusBar) setTyped(s string) {
	b.typed.SetText(s)
	b.relayout()
}

// relayout lays the bar out again after a text changed its width.
func (b *statusBar) relayout() {
	if b.box != nil {
		b.left.Refresh()
		b.right.Refresh()
		b.box.Refresh()
	}
}

func (b *statusBar) tick(now time.Time) {
	if b.msg.Text != "" && !now.Before(b.msgUntil) {
		b.msg.SetText("")
	}
}
