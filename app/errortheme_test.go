package app_test

import (
	"errors"
	"image/color"
	"math"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/widgets"
)

// TestStartupErrorUsesConsoleTheme: the start-error window, shown before
// the console exists, has the console's palette, so its hint is readable
// (Fyne's default theme draws it at 1.55:1; issue 13, item 7).
func TestStartupErrorUsesConsoleTheme(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(theme.DefaultTheme()) // what a real app starts with
	w := a.NewWindow("Switchboard")
	app.StartupError(a, w, errors.New("the saved park service address is not valid"), nil)
	v := a.Settings().ThemeVariant()
	bg := a.Settings().Theme().Color(theme.ColorNameBackground, v)
	// The labels' texts, on the window's background (a button's text is
	// on the button's colour).
	var texts []fyne.CanvasObject
	for _, l := range find(w.Canvas().Content(), func(o fyne.CanvasObject) bool { _, ok := o.(*widget.Label); return ok }) {
		texts = append(texts, find(l, func(o fyne.CanvasObject) bool {
			tx, ok := o.(*canvas.Text)
			return ok && tx.Text != ""
		})...)
	}
	if len(texts) < 3 {
		t.Fatalf("%d texts on the window", len(texts))
	}
	for _, o := range texts {
		tx := o.(*canvas.Text)
		if r := contrastOf(tx.Color, bg); r < 4.5 {
			t.Errorf("%q: contrast %.2f:1 on the background", tx.Text, r)
		}
	}
	if _, ok := a.Settings().Theme().(*widgets.Theme); !ok {
		t.Errorf("the window's theme is %T, not the console's", a.Settings().Theme())
	}
}

// contrastOf is the WCAG 2 contrast ratio of a and b.
func contrastOf(a, b color.Color) float64 {
	lum := func(c color.Color) float64 {
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		lin := func(v uint8) float64 {
			x := float64(v) / 255
			if x <= 0.03928 {
				return x / 12.92
			}
			return math.Pow((x+0.055)/1.055, 2.4)
		}
		return 0.2126*lin(n.R) + 0.7152*lin(n.G) + 0.0722*lin(n.B)
	}
	la, lb := lum(a), lum(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}
