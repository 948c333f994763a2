package widgets

import (
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
)

// pad records what a dial pad reports.
type padLog struct {
	keys    string
	changed []string
	dialled []string
}

func newPad(log *padLog) *DialPad {
	d := NewDialPad(func(n string) { log.dialled = append(log.dialled, n) })
	d.OnKey = func(r rune) { log.keys += string(r) }
	d.OnChanged = func(n string) { log.changed = append(log.changed, n) }
	return d
}

func padRenderer(d *DialPad) *dialPadRenderer {
	return test.WidgetRenderer(d).(*dialPadRenderer)
}

func TestDialPad_Typing(t *testing.T) {
	newApp(t)
	var log padLog
	d := newPad(&log)
	test.NewTempWindow(t, d)

	test.Type(d, "+44 (20) 7946-0018x#*+")
	if d.Number != "+442079460018#*" {
		t.Errorf("typed number %q", d.Number)
	}
	if log.keys != "+442079460018#*" || len(log.changed) != len(log.keys) {
		t.Errorf("keys %q, %d changes", log.keys, len(log.changed))
	}
	d.TypedKey(&fyne.KeyEvent{Name: fyne.KeyBackspace})
	d.TypedKey(&fyne.KeyEvent{Name: fyne.KeyBackspace})
	if d.Number != "+442079460018" || log.changed[len(log.changed)-1] != d.Number {
		t.Errorf("after two backspaces %q (last change %q)", d.Number, log.changed[len(log.changed)-1])
	}
	d.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	d.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEnter})
	if len(log.dialled) != 2 || log.dialled[0] != "+442079460018" {
		t.Errorf("dialled %q", log.dialled)
	}
	d.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if d.Number != "" || log.changed[len(log.changed)-1] != "" {
		t.Errorf("escape left %q", d.Number)
	}
	d.TypedKey(&fyne.KeyEvent{Name: fyne.KeyReturn})
	d.TypedKey(&fyne.KeyEvent{Name: fyne.KeyBackspace})
	if len(log.dialled) != 2 {
		t.Errorf("empty number dialled: %q", log.dialled)
	}
}

func TestDialPad_Keys(t *testing.T) {
	newApp(t)
	var log padLog
	d := newPad(&log)
	w := test.NewTempWindow(t, d)
	w.Resize(fyne.NewSize(300, 420))
	r := padRenderer(d)
	for _, i := range []int{6, 9, 10, 4} { // 7, *, 0, 5
		test.TapCanvas(w.Canvas(), centre(r.keys[i]))
	}
	if d.Number != "7*05" || log.keys != "7*05" {
		t.Errorf("tapped %q (keys %q), want 7*05", d.Number, log.keys)
	}
	if w.Canvas().Focused() != d {
		t.Error("tapping a key does not give the pad the keyboard")
	}
	test.TapCanvas(w.Canvas(), centre(r.erase))
	test.TapCanvas(w.Canvas(), centre(r.submit))
	if len(log.dialled) != 1 || log.dialled[0] != "7*0" {
		t.Errorf("dialled %q, want 7*0", log.dialled)
	}
}

func TestDialPad_Paste(t *testing.T) {
	a := newApp(t)
	var log padLog
	d := newPad(&log)
	test.NewTempWindow(t, d)
	cb := a.Clipboard()
	cb.SetContent("Call +44 (0)20 7946-0018 please")
	d.TypedShortcut(&fyne.ShortcutPaste{Clipboard: cb})
	if d.Number != "+4402079460018" {
		t.Errorf("pasted %q, want +4402079460018", d.Number)
	}
	if len(log.changed) != 1 || log.keys != "" {
		t.Errorf("paste: %d changes, keys %q (a paste is no key presses)", len(log.changed), log.keys)
	}
	d.TypedShortcut(&fyne.ShortcutCopy{Clipboard: cb}) // ignored
	if len(log.changed) != 1 {
		t.Errorf("copy changed the number to %q", d.Number)
	}
}

func TestDialPad_TapFocuses(t *testing.T) {
	newApp(t)
	d := NewDialPad(nil)
	other := NewDialPad(nil)
	w := test.NewTempWindow(t, container.NewVBox(d, other))
	w.Canvas().Focus(other)
	test.Tap(d)
	if w.Canvas().Focused() != d {
		t.Error("tapping the pad does not focus it")
	}
	for _, r := range "705" { // what the window does with keys typed
		w.Canvas().Focused().TypedRune(r)
	}
	if d.Number != "705" || other.Number != "" {
		t.Errorf("typed into the window: pad %q, other %q", d.Number, other.Number)
	}
	d.Submit() // no OnSubmit: nothing happens
}

func TestDialPad_States(t *testing.T) {
	newApp(t)
	for _, tt := range []struct {
		name    string
		number  string
		focus   bool
		compact bool
		size    fyne.Size
	}{
		{"empty", "", false, false, fyne.NewSize(280, 400)},
		{"number_focused", "02079460018", true, false, fyne.NewSize(280, 400)},
		{"long_number", "+4402079460018123456789", false, false, fyne.NewSize(280, 400)},
		{"compact", "705", true, true, fyne.NewSize(320, 50)},
		{"compact_empty", "", false, true, fyne.NewSize(320, 50)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d := NewDialPad(nil)
			d.Compact = tt.compact
			if tt.compact {
				d.ActionText = "Retrieve"
				d.Placeholder = "Orbit"
			}
			d.SetNumber(tt.number)
			w := test.NewTempWindow(t, d)
			w.Resize(tt.size.Max(d.MinSize().AddWidthHeight(8, 8)))
			if tt.focus {
				w.Canvas().Focus(d)
			}
			test.AssertRendersToMarkup(t, "dialpad/"+tt.name+".xml", w.Canvas())
		})
	}
}

func TestDialPad_Look(t *testing.T) {
	for variant, v := range variants {
		t.Run(variant, func(t *testing.T) {
			newLookApp(t, v)
			full := NewDialPad(nil)
			full.SetNumber("0207946001")
			compact := NewDialPad(nil)
			compact.Compact, compact.ActionText, compact.Placeholder = true, "Retrieve", "Orbit"
			w := test.NewTempWindow(t, container.NewVBox(full, compact))
			w.Resize(fyne.NewSize(300, 480))
			w.Canvas().Focus(full)
			test.AssertRendersToImage(t, "dialpad/look_"+variant+".png", w.Canvas())
		})
	}
}

// TestDialPad_EscapeCancels: with OnCancel set, Escape calls it (the
// dialog around the pad closes) and keeps the number; Delete clears.
func TestDialPad_EscapeCancels(t *testing.T) {
	newApp(t)
	var log padLog
	d := newPad(&log)
	cancelled := 0
	d.OnCancel = func() { cancelled++ }
	test.NewTempWindow(t, d)
	test.Type(d, "2041")
	d.TypedKey(&fyne.KeyEvent{Name: fyne.KeyEscape})
	if cancelled != 1 || d.Number != "2041" {
		t.Errorf("Escape: cancelled %d times, number %q", cancelled, d.Number)
	}
	d.TypedKey(&fyne.KeyEvent{Name: fyne.KeyDelete})
	if d.Number != "" || cancelled != 1 {
		t.Errorf("Delete: number %q, cancelled %d times", d.Number, cancelled)
	}
}
