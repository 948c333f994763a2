package widgets

import (
	"image/color"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// t0 is the wall clock the tests start from.
var t0 = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// quietTheme is Fyne's test theme, answering nothing (silently) for the
// widgets' own colour names, so that they fall back to the standard ones.
type quietTheme struct{ fyne.Theme }

func (q quietTheme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	if strings.HasPrefix(string(n), "switchboard-") {
		return nil
	}
	return q.Theme.Color(n, v)
}

// variantTheme is Fyne's default theme in one variant, for images that
// show what a receptionist sees.
type variantTheme struct {
	fyne.Theme
	v fyne.ThemeVariant
}

func (t variantTheme) Color(n fyne.ThemeColorName, _ fyne.ThemeVariant) color.Color {
	return t.Theme.Color(n, t.v)
}

// newApp starts a test app with the test theme (for markup goldens).
func newApp(t testing.TB) fyne.App {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(quietTheme{test.Theme()})
	return a
}

// newLookApp starts a test app with Fyne's real theme in variant (for
// image goldens).
func newLookApp(t testing.TB, v fyne.ThemeVariant) fyne.App {
	freshRenderCache()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(variantTheme{theme.DefaultTheme(), v})
	return a
}

// variants names the theme variants images are made in.
var variants = map[string]fyne.ThemeVariant{"light": theme.VariantLight, "dark": theme.VariantDark}

// centre is the absolute canvas position of o's middle.
func centre(o fyne.CanvasObject) fyne.Position {
	p := fyne.CurrentApp().Driver().AbsolutePositionForObject(o)
	return p.Add(fyne.NewPos(o.Size().Width/2, o.Size().Height/2))
}
