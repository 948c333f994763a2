package widgets

import (
	"go/parser"
	"go/token"
	"image/color"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/driver/desktop"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// TestImports keeps the widgets free of SIP: no telephony, and no Fyne
// app (which would link GLFW into this test binary).
func TestImports(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatal(files, err)
	}
	for _, f := range files {
		ast, err := parser.ParseFile(token.NewFileSet(), f, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range ast.Imports {
			path := strings.Trim(imp.Path.Value, `"`)
			if strings.Contains(path, "/telephony") || path == "fyne.io/fyne/v2/app" {
				t.Errorf("%s imports %s", f, path)
			}
		}
	}
}

// ownTheme is an app theme that defines the widgets' colour names.
type ownTheme struct{ fyne.Theme }

var (
	teal   = color.NRGBA{R: 0, G: 0x80, B: 0x80, A: 0xff}
	ivory  = color.NRGBA{R: 0xff, G: 0xff, B: 0xf0, A: 0xff}
	purple = color.NRGBA{R: 0x80, G: 0, B: 0x80, A: 0xff}
)

func (o ownTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	switch n {
	case ColorNameSlotMine:
		return teal
	case ColorNameSlotMine + "-on":
		return ivory
	case ColorNameLineActive:
		return purple // no "-on": the standard text colour for success
	}
	return o.Theme.Color(n, v)
}

func TestTheme_OwnColours(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(ownTheme{theme.DefaultTheme()})
	s := NewOrbitSlot(705)
	s.Set(SlotMine, "Alice", "", t0)
	test.NewTempWindow(t, s)
	r := test.WidgetRenderer(s).(*slotRenderer)
	if r.bg.FillColor != teal || r.number.Color != ivory {
		t.Errorf("slot mine: fill %v text %v, want the theme's teal and ivory", r.bg.FillColor, r.number.Color)
	}
	c := NewLineCard("c1", "Alice", "201", LineActive, t0)
	test.NewTempWindow(t, c)
	cr := test.WidgetRenderer(c).(*lineCardRenderer)
	if cr.accent.FillColor != purple {
		t.Errorf("active line lamp %v, want the theme's purple", cr.accent.FillColor)
	}
	// Unknown to this theme: the standard colour.
	c.SetState(LineHeld, 0, t0)
	if want := theme.DefaultTheme().Color(theme.ColorNameWarning, a.Settings().ThemeVariant()); cr.accent.FillColor != want {
		t.Errorf("held line lamp %v, want warning %v", cr.accent.FillColor, want)
	}
}

func TestContrast(t *testing.T) {
	if c := Contrast(color.White, color.Black); c < 20.9 || c > 21.1 {
		t.Errorf("white on black %v, want 21", c)
	}
	if c := Contrast(color.White, color.White); c != 1 {
		t.Errorf("white on white %v, want 1", c)
	}
	// Fyne's light theme: white on its bright green reads poorly, so
	// the slot uses the theme's foreground.
	newLookApp(t, theme.VariantLight)
	th := fyne.CurrentApp().Settings().Theme()
	if n := onColorName(th, ColorNameSlotMine); n != theme.ColorNameForeground {
		t.Errorf("text on light green: %s", n)
	}
	if n := onColorName(th, ColorNameSlotOccupied); n != theme.ColorNameForegroundOnPrimary {
		t.Errorf("text on blue: %s", n)
	}
}

func TestFitText(t *testing.T) {
	newApp(t)
	size := float32(14)
	long := "Dr. Maximiliane Featherstonehaugh-Worthington"
	for _, w := range []float32{0, 10, 60, 200, 1000} {
		got := fitText(long, size, fyne.TextStyle{}, w)
		if got != long && !strings.HasSuffix(got, "…") && got != "" {
			t.Errorf("width %v: %q", w, got)
		}
		if got != "" && fyne.MeasureText(got, size, fyne.TextStyle{}).Width > w {
			t.Errorf("width %v: %q is wider", w, got)
		}
	}
	if fitText(long, size, fyne.TextStyle{}, 1000) != long {
		t.Error("text that fits was shortened")
	}
}

func TestLineCard_DragWithoutTargets(t *testing.T) {
	newApp(t)
	c := NewLineCard("c1", "Alice", "201", LineActive, t0)
	w := test.NewTempWindow(t, c)
	w.Resize(fyne.NewSize(400, 160))
	test.Drag(w.Canvas(), centre(c), 50, 50)
	if _, dragging := c.Dragging(); dragging || len(w.Canvas().Overlays().List()) != 0 {
		t.Error("drag not finished")
	}
	c.DragEnd() // a stray end: nothing happens
	if c.Cursor() != desktop.PointerCursor {
		t.Error("a parkable card does not show it can be grabbed")
	}
	c.SetState(LineRinging, 0, t0)
	if c.Cursor() != desktop.DefaultCursor {
		t.Error("a ringing card shows it can be grabbed")
	}
}

// TestLineCard_GhostStaysInWindow drags a card to the window's far
// corner: the ghost flips to stay visible.
func TestLineCard_GhostStaysInWindow(t *testing.T) {
	newApp(t)
	c := NewLineCard("c1", "Alice Martin", "201", LineActive, t0)
	w := test.NewTempWindow(t, c)
	w.Resize(fyne.NewSize(400, 200))
	from := centre(c)
	realDrag(c, from, fyne.NewPos(395, 195), 2)
	g := c.drag.ghost
	if g == nil {
		t.Fatal("no ghost while dragging")
	}
	if p, s := g.Position(), g.Size(); p.X < 0 || p.Y < 0 || p.X+s.Width > 400 || p.Y+s.Height > 200 {
		t.Errorf("ghost at %v size %v leaves the 400x200 window", p, s)
	}
	c.DragEnd()
}

func TestClock(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0:00", 59 * time.Second: "0:59", time.Minute: "1:00", 3599 * time.Second: "59:59",
		time.Hour: "1:00:00", 25*time.Hour + 61*time.Second: "25:01:01", -time.Minute: "0:00",
		1500 * time.Millisecond: "0:01",
	} {
		if got := Clock(d); got != want {
			t.Errorf("Clock(%v) = %q, want %q", d, got, want)
		}
	}
}

func TestAccessibilityLabels(t *testing.T) {
	newApp(t)
	c := NewLineCard("c1", "Alice Martin", "201", LineHeld, t0)
	c.Detail = "held by caller"
	test.NewTempWindow(t, c)
	c.Tick(t0.Add(42 * time.Second))
	if got := c.AccessibilityLabel(); got != "Alice Martin, 201, On hold, 0:42, held by caller" {
		t.Errorf("card reads %q", got)
	}
	g := NewOrbitGrid(701, 3)
	test.NewTempWindow(t, g)
	g.SetSlot(702, SlotOccupied, "Bob Chen", "Reception 2", t0)
	g.SetSlot(703, SlotMine, "Dan Okafor", "", t0)
	g.Tick(t0.Add(130 * time.Second))
	slotsRead(t, g, map[int]string{
		701: "Orbit 701, free",
		702: "Orbit 702, Bob Chen, parked by Reception 2, 2:10",
		703: "Orbit 703, Dan Okafor, parked by you, 2:10",
	})
	g.SetSlot(703, SlotRingingBack, "Dan Okafor", "reception1", t0.Add(120*time.Second))
	g.Tick(t0.Add(132 * time.Second))
	if got, want := g.Slot(703).AccessibilityLabel(), "Orbit 703, Dan Okafor, ringing back reception1, 0:12"; got != want {
		t.Errorf("ringing-back slot reads %q, want %q", got, want)
	}
	g.SetUnavailable(true, "")
	if got := g.Slot(702).AccessibilityLabel(); got != "Orbit 702, unavailable" {
		t.Errorf("slot with the service down reads %q", got)
	}
	if got := g.AccessibilityLabel(); got != "Park orbits, "+DefaultBanner {
		t.Errorf("grid reads %q", got)
	}
	d := NewDialPad(nil)
	if d.AccessibilityLabel() != "Number or orbit" {
		t.Errorf("empty pad reads %q", d.AccessibilityLabel())
	}
}
