package widgets

import (
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// DialPad is a number entry with a telephone keypad under it: the
// receptionist types or taps a number (or an orbit) and calls it with
// Enter or the call button. Keys tapped or typed are also reported one by
// one (OnKey), for DTMF on the live call. With Compact set it is a
// one-line number entry with the button beside it.
//
// It accepts the digits, * and #, and + at the start; pasted numbers
// keep only those.
type DialPad struct {
	widget.BaseWidget

	// Number is what has been entered.
	Number string
	// Placeholder is shown while Number is empty.
	Placeholder string
	// ActionText labels the button that submits ("Call" when empty).
	ActionText string
	// Compact shows no keypad: a one-line entry and the button.
	Compact bool

	// OnChanged is called with the new Number after every change.
	OnChanged func(number string) `json:"-"`
	// OnKey is called with each key entered ('0'–'9', '*', '#', '+').
	OnKey func(key rune) `json:"-"`
	// OnSubmit is called with Number on Enter or the button; Number is
	// kept (the app clears it when the call is placed).
	OnSubmit func(number string) `json:"-"`
	// OnCancel, when set, is called on Escape (a dialog closes) in place
	// of clearing the number; Delete still clears it.
	OnCancel func() `json:"-"`

	focused bool
}

// NewDialPad returns an empty dial pad that calls submit with the number
// entered.
func NewDialPad(submit func(number string)) *DialPad {
	d := &DialPad{OnSubmit: submit, Placeholder: "Number or orbit"}
	d.ExtendBaseWidget(d)
	return d
}

// SetNumber replaces the number and redraws; OnChanged is not called.
func (d *DialPad) SetNumber(number string) {
	d.Number = number
	d.Refresh()
}

// dialable reports whether r may be appended to number.
func dialable(number string, r rune) bool {
	switch {
	case r >= '0' && r <= '9', r == '*', r == '#':
		return true
	case r == '+':
		return number == ""
	}
	return false
}

// Press enters key as if it were tapped; other runes are ignored.
func (d *DialPad) Press(key rune) {
	if !dialable(d.Number, key) {
		return
	}
	d.Number += string(key)
	d.Refresh()
	if d.OnKey != nil {
		d.OnKey(key)
	}
	d.changed()
}

// Backspace removes the last character entered.
func (d *DialPad) Backspace() {
	if d.Number == "" {
		return
	}
	r := []rune(d.Number)
	d.Number = string(r[:len(r)-1])
	d.Refresh()
	d.changed()
}

// Clear empties the number.
func (d *DialPad) Clear() {
	if d.Number == "" {
		return
	}
	d.Number = ""
	d.Refresh()
	d.changed()
}

// Submit calls OnSubmit with the number, if there is one.
func (d *DialPad) Submit() {
	if d.Number != "" && d.OnSubmit != nil {
		d.OnSubmit(d.Number)
	}
}

func (d *DialPad) changed() {
	if d.OnChanged != nil {
		d.OnChanged(d.Number)
	}
}

// FocusGained is called by Fyne when the pad gets the keyboard.
func (d *DialPad) FocusGained() {
	d.focused = true
	d.Refresh()
}

// FocusLost is called by Fyne when the pad loses the keyboard.
func (d *DialPad) FocusLost() {
	d.focused = false
	d.Refresh()
}

// TypedRune enters a typed key.
func (d *DialPad) TypedRune(r rune) { d.Press(r) }

// TypedKey handles Backspace, Delete (clears), Escape (OnCancel, or
// clears without one) and Enter (submits).
func (d *DialPad) TypedKey(ev *fyne.KeyEvent) {
	switch ev.Name {
	case fyne.KeyBackspace:
		d.Backspace()
	case fyne.KeyEscape:
		if d.OnCancel != nil {
			d.OnCancel()
			return
		}
		d.Clear()
	case fyne.KeyDelete:
		d.Clear()
	case fyne.KeyReturn, fyne.KeyEnter:
		d.Submit()
	}
}

// TypedShortcut pastes a number from the clipboard, keeping only what
// can be dialled ("+44 (20) 7946-0018" gives +442079460018).
func (d *DialPad) TypedShortcut(s fyne.Shortcut) {
	p, ok := s.(*fyne.ShortcutPaste)
	if !ok || p.Clipboard == nil {
		return
	}
	var b strings.Builder
	b.WriteString(d.Number)
	for _, r := range p.Clipboard.Content() {
		if dialable(b.String(), r) {
			b.WriteRune(r)
		}
	}
	if b.String() != d.Number {
		d.Number = b.String()
		d.Refresh()
		d.changed()
	}
}

// Tapped gives the pad the keyboard.
func (d *DialPad) Tapped(*fyne.PointEvent) { d.focus() }

func (d *DialPad) focus() {
	if c := fyne.CurrentApp().Driver().CanvasForObject(d); c != nil && !d.focused {
		c.Focus(d)
	}
}

// MinSize returns the smallest size the pad can be shown at.
func (d *DialPad) MinSize() fyne.Size {
	d.ExtendBaseWidget(d)
	return d.BaseWidget.MinSize()
}

// CreateRenderer is a private method to Fyne which links this widget to
// its renderer.
func (d *DialPad) CreateRenderer() fyne.WidgetRenderer {
	d.ExtendBaseWidget(d)
	r := &dialPadRenderer{pad: d}
	r.erase = widget.NewButtonWithIcon("", BackspaceIcon(), d.Backspace)
	r.erase.Importance = widget.LowImportance
	r.submit = widget.NewButtonWithIcon("", PhoneIcon(), d.Submit)
	r.submit.Importance = widget.SuccessImportance
	r.objects = []fyne.CanvasObject{&r.display, &r.number, r.erase}
	for _, k := range []struct {
		key     rune
		letters string
	}{
		{'1', ""}, {'2', "ABC"}, {'3', "DEF"},
		{'4', "GHI"}, {'5', "JKL"}, {'6', "MNO"},
		{'7', "PQRS"}, {'8', "TUV"}, {'9', "WXYZ"},
		{'*', ""}, {'0', "+"}, {'#', ""},
	} {
		key := newPadKey(d, k.key, k.letters)
		r.keys = append(r.keys, key)
		r.objects = append(r.objects, key)
	}
	r.objects = append(r.objects, r.submit)
	r.Refresh()
	return r
}

// dialPadRenderer draws a DialPad:
//
//	[ 02079460018      ⌫ ]
//	[1] [2 ABC] [3 DEF]
//	[4 GHI] [5 JKL] [6 MNO]
//	[7 PQRS] [8 TUV] [9 WXYZ]
//	[*] [0 +] [#]
//	[      Call      ]
type dialPadRenderer struct {
	pad *DialPad

	display       canvas.Rectangle
	number        canvas.Text
	erase, submit *widget.Button
	keys          []*padKey
	objects       []fyne.CanvasObject
}

func (r *dialPadRenderer) Destroy() {}

func (r *dialPadRenderer) Objects() []fyne.CanvasObject { return r.objects }

func (r *dialPadRenderer) displayHeight() float32 {
	in := r.pad.Theme().Size(theme.SizeNameInnerPadding)
	th := fyne.MeasureText("0", r.number.TextSize, r.number.TextStyle).Height
	return fyne.Max(th+in, r.erase.MinSize().Height)
}

func (r *dialPadRenderer) Layout(size fyne.Size) {
	d := r.pad
	th := d.Theme()
	gap := th.Size(theme.SizeNamePadding) * 2
	in := th.Size(theme.SizeNameInnerPadding)
	dh := r.displayHeight()
	bh := r.submit.MinSize().Height

	dw := size.Width
	if d.Compact {
		bw := r.submit.MinSize().Width
		dw = size.Width - bw - gap
		r.submit.Move(fyne.NewPos(dw+gap, (dh-bh)/2))
		r.submit.Resize(fyne.NewSize(bw, bh))
	}
	r.display.Move(fyne.NewPos(0, 0))
	r.display.Resize(fyne.NewSize(dw, dh))
	es := r.erase.MinSize()
	r.erase.Move(fyne.NewPos(dw-es.Width-(dh-es.Height)/2, (dh-es.Height)/2))
	r.erase.Resize(es)
	nw := dw - es.Width - 2*in
	r.number.Text = r.shown(nw)
	nh := fyne.MeasureText("0", r.number.TextSize, r.number.TextStyle).Height
	r.number.Move(fyne.NewPos(in, (dh-nh)/2))
	r.number.Resize(fyne.NewSize(nw, nh))
	if d.Compact {
		return
	}

	y := dh + gap
	bottom := size.Height - bh - gap
	kw := (size.Width - 2*gap) / 3
	kh := (bottom - y - 3*gap) / 4
	for i, k := range r.keys {
		k.Move(fyne.NewPos(float32(i%3)*(kw+gap), y+float32(i/3)*(kh+gap)))
		k.Resize(fyne.NewSize(kw, kh))
	}
	r.submit.Move(fyne.NewPos(0, size.Height-bh))
	r.submit.Resize(fyne.NewSize(size.Width, bh))
}

// shown is the number, or its end when too long for width (the digits
// just typed matter most), or the placeholder.
func (r *dialPadRenderer) shown(width float32) string {
	n := r.pad.Number
	if n == "" {
		return fitText(r.pad.Placeholder, r.number.TextSize, fyne.TextStyle{}, width)
	}
	if fyne.MeasureText(n, r.number.TextSize, r.number.TextStyle).Width <= width {
		return n
	}
	rs := []rune(n)
	for i := 1; i < len(rs); i++ {
		s := "…" + string(rs[i:])
		if fyne.MeasureText(s, r.number.TextSize, r.number.TextStyle).Width <= width {
			return s
		}
	}
	return ""
}

func (r *dialPadRenderer) MinSize() fyne.Size {
	th := r.pad.Theme()
	gap := th.Size(theme.SizeNamePadding) * 2
	in := th.Size(theme.SizeNameInnerPadding)
	dh := r.displayHeight()
	numW := fyne.MeasureText("+00000000000", r.number.TextSize, r.number.TextStyle).Width
	displayW := numW + 2*in + r.erase.MinSize().Width
	sub := r.submit.MinSize()
	if r.pad.Compact {
		return fyne.NewSize(displayW+gap+sub.Width, fyne.Max(dh, sub.Height))
	}
	key := fyne.NewSize(0, 0)
	for _, k := range r.keys {
		key = key.Max(k.MinSize())
	}
	w := fyne.Max(displayW, 3*key.Width+2*gap)
	h := dh + gap + 4*key.Height + 3*gap + gap + sub.Height
	return fyne.NewSize(w, h)
}

func (r *dialPadRenderer) Refresh() {
	d := r.pad
	th := d.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()

	r.display.FillColor = th.Color(theme.ColorNameInputBackground, v)
	r.display.CornerRadius = th.Size(theme.SizeNameInputRadius)
	r.display.StrokeWidth = th.Size(theme.SizeNameInputBorder)
	r.display.StrokeColor = th.Color(theme.ColorNameInputBorder, v)
	if d.focused {
		r.display.StrokeColor = th.Color(theme.ColorNamePrimary, v)
	}
	r.number.TextSize = th.Size(theme.SizeNameSubHeadingText)
	r.number.TextStyle = fyne.TextStyle{Bold: d.Number != ""}
	r.number.Color = th.Color(theme.ColorNameForeground, v)
	if d.Number == "" {
		r.number.Color = th.Color(theme.ColorNamePlaceHolder, v)
	}
	action := d.ActionText
	if action == "" {
		action = "Call"
	}
	r.submit.SetText(action)
	if d.Number == "" {
		r.submit.Disable()
		r.erase.Hide()
	} else {
		r.submit.Enable()
		r.erase.Show()
	}
	for _, k := range r.keys {
		k.Hidden = d.Compact
	}

	r.Layout(d.Size())
	r.display.Refresh()
	r.number.Refresh()
	for _, k := range r.keys {
		k.Refresh()
	}
}

// padKey is one key of the keypad: a digit with its letters under it.
type padKey struct {
	widget.BaseWidget
	pad     *DialPad
	key     rune
	letters string
	hovered bool
}

func newPadKey(pad *DialPad, key rune, letters string) *padKey {
	k := &padKey{pad: pad, key: key, letters: letters}
	k.ExtendBaseWidget(k)
	return k
}

// Tapped enters the key and keeps the keyboard on the pad.
func (k *padKey) Tapped(*fyne.PointEvent) {
	k.pad.focus()
	k.pad.Press(k.key)
}

// MouseIn lightens the key under the pointer.
func (k *padKey) MouseIn(*desktop.MouseEvent) {
	k.hovered = true
	k.Refresh()
}

// MouseMoved is part of desktop.Hoverable.
func (k *padKey) MouseMoved(*desktop.MouseEvent) {}

// MouseOut puts the key back.
func (k *padKey) MouseOut() {
	k.hovered = false
	k.Refresh()
}

// Cursor shows a hand over the key.
func (k *padKey) Cursor() desktop.Cursor { return desktop.PointerCursor }

// CreateRenderer is a private method to Fyne which links this widget to
// its renderer.
func (k *padKey) CreateRenderer() fyne.WidgetRenderer {
	r := &padKeyRenderer{key: k}
	r.digit.TextStyle = fyne.TextStyle{Bold: true}
	r.digit.Text = string(k.key)
	r.digit.Alignment = fyne.TextAlignCenter
	r.letters.Text = k.letters
	r.letters.Alignment = fyne.TextAlignCenter
	r.Refresh()
	return r
}

type padKeyRenderer struct {
	key            *padKey
	bg             canvas.Rectangle
	digit, letters canvas.Text
}

func (r *padKeyRenderer) Destroy() {}

func (r *padKeyRenderer) Objects() []fyne.CanvasObject {
	return []fyne.CanvasObject{&r.bg, &r.digit, &r.letters}
}

func (r *padKeyRenderer) heights() (digit, letters float32) {
	digit = fyne.MeasureText("0", r.digit.TextSize, r.digit.TextStyle).Height
	letters = fyne.MeasureText("W", r.letters.TextSize, r.letters.TextStyle).Height
	return
}

func (r *padKeyRenderer) Layout(size fyne.Size) {
	r.bg.Resize(size)
	dh, lh := r.heights()
	y := (size.Height - dh - lh) / 2
	r.digit.Move(fyne.NewPos(0, y))
	r.digit.Resize(fyne.NewSize(size.Width, dh))
	r.letters.Move(fyne.NewPos(0, y+dh))
	r.letters.Resize(fyne.NewSize(size.Width, lh))
}

func (r *padKeyRenderer) MinSize() fyne.Size {
	pad := r.key.Theme().Size(theme.SizeNameInnerPadding)
	dh, lh := r.heights()
	w := fyne.Max(fyne.MeasureText("WXYZ", r.letters.TextSize, r.letters.TextStyle).Width, dh)
	return fyne.NewSize(w+2*pad, dh+lh+pad)
}

func (r *padKeyRenderer) Refresh() {
	th := r.key.Theme()
	v := fyne.CurrentApp().Settings().ThemeVariant()
	r.bg.FillColor = th.Color(theme.ColorNameButton, v)
	if r.key.hovered {
		r.bg.FillColor = mix(r.bg.FillColor, th.Color(theme.ColorNameHover, v), 0.5)
	}
	r.bg.CornerRadius = th.Size(theme.SizeNameButtonRadius)
	r.digit.TextSize = th.Size(theme.SizeNameHeadingText)
	r.digit.Color = th.Color(theme.ColorNameForeground, v)
	r.letters.TextSize = th.Size(theme.SizeNameCaptionText)
	r.letters.Color = th.Color(theme.ColorNamePlaceHolder, v)
	r.Layout(r.key.Size())
	r.bg.Refresh()
	r.digit.Refresh()
	r.letters.Refresh()
}
