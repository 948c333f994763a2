package widgets

import (
	"fmt"
	"image/color"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// aaContrast is WCAG 2's minimum contrast for body text (AA). Every text
// of the console is held to it, large or not: no 3:1 exception is used.
const aaContrast = 4.5

// over composites c (which may be translucent) over the opaque base.
func over(base, c color.Color) color.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	return mix(base, color.NRGBA{R: n.R, G: n.G, B: n.B, A: 0xff}, float64(n.A)/255)
}

// textPair is a text colour drawn on a background colour, by name.
type textPair struct {
	text, on fyne.ThemeColorName
	blend    fyne.ThemeColorName // a translucent colour over on (hover, focus), or ""
}

// themePairs are the pairs of colours Fyne's widgets and the console's
// draw text in: every text colour on every surface text sits on, and the
// text on each filled colour (buttons of each importance, the slots'
// lamps, the legend's swatches).
func themePairs() []textPair {
	texts := []fyne.ThemeColorName{
		theme.ColorNameForeground,
		theme.ColorNameDisabled,    // low-importance labels: history times, empty states, notes
		theme.ColorNamePlaceHolder, // placeholders, the cards' and slots' details
		theme.ColorNameHyperlink,
		theme.ColorNamePrimary, theme.ColorNameSuccess, theme.ColorNameWarning, theme.ColorNameError, // labels of each importance
	}
	surfaces := []fyne.ThemeColorName{
		theme.ColorNameBackground, theme.ColorNameOverlayBackground, theme.ColorNameMenuBackground,
		theme.ColorNameInputBackground, theme.ColorNameHeaderBackground, theme.ColorNameButton,
		theme.ColorNameDisabledButton,
	}
	var pairs []textPair
	for _, t := range texts {
		for _, s := range surfaces {
			pairs = append(pairs, textPair{text: t, on: s})
		}
	}
	for _, b := range []fyne.ThemeColorName{theme.ColorNameHover, theme.ColorNameFocus} {
		pairs = append(pairs, textPair{text: theme.ColorNameForeground, on: theme.ColorNameButton, blend: b})
	}
	for fill, text := range onColors { // buttons of each importance
		pairs = append(pairs, textPair{text: text, on: fill})
		for _, b := range []fyne.ThemeColorName{theme.ColorNameHover, theme.ColorNameFocus} {
			pairs = append(pairs, textPair{text: text, on: fill, blend: b})
		}
	}
	for _, m := range []fyne.ThemeColorName{ColorNameFree, ColorNameYours, ColorNameOthers, ColorNameWaiting, ColorNameDanger,
		ColorNameSlotOccupied, ColorNameSlotMine, ColorNameSlotRingingBack,
		ColorNameLineRinging, ColorNameLineActive, ColorNameLineHeld} {
		pairs = append(pairs, textPair{text: m + onSuffix, on: m})
	}
	return pairs
}

// lowContrast lists the pairs of th, in variant v, whose contrast is
// under aaContrast.
func lowContrast(th fyne.Theme, v fyne.ThemeVariant) []string {
	var low []string
	for _, p := range themePairs() {
		text, bg := th.Color(p.text, v), th.Color(p.on, v)
		if isUnset(text) || isUnset(bg) {
			continue // a colour this theme does not have
		}
		if p.blend != "" {
			bg = over(bg, th.Color(p.blend, v))
		}
		if c := Contrast(text, bg); c < aaContrast {
			on := string(p.on)
			if p.blend != "" {
				on += "+" + string(p.blend)
			}
			low = append(low, fmt.Sprintf("%s on %s: %.2f:1", p.text, on, c))
		}
	}
	return low
}

// TestTheme_Contrast: every text the theme draws reads at 4.5:1 or more
// against what it is drawn on, in both variants.
func TestTheme_Contrast(t *testing.T) {
	test.NewTempApp(t)
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			for _, l := range lowContrast(NewTheme(), v) {
				t.Error(l)
			}
		})
	}
}

// TestTheme_ContrastCheckFindsFyneDefaults: the check above finds what is
// wrong with Fyne's default theme, which the console used before: its
// secondary text (disabled) is #39393A on #171718, 1.55:1.
func TestTheme_ContrastCheckFindsFyneDefaults(t *testing.T) {
	test.NewTempApp(t)
	low := lowContrast(theme.DefaultTheme(), theme.VariantDark)
	want := "disabled on background: 1.55:1"
	found := false
	for _, l := range low {
		found = found || l == want
	}
	if !found {
		t.Errorf("the check did not find %q in Fyne's dark theme; it found %q", want, low)
	}
}

// TestTheme_OneMeaningPerColour: the semantic colours differ from each
// other in both variants; each part of a widget is drawn in the colour of
// its meaning; and a destructive action is never in the colour of Resume
// (primary) or of a waiting call.
func TestTheme_OneMeaningPerColour(t *testing.T) {
	test.NewTempApp(t)
	th := NewTheme()
	meanings := []fyne.ThemeColorName{ColorNameFree, ColorNameYours, ColorNameOthers, ColorNameWaiting, ColorNameDanger}
	parts := map[fyne.ThemeColorName]fyne.ThemeColorName{
		ColorNameSlotMine:        ColorNameYours,
		ColorNameSlotOccupied:    ColorNameOthers,
		ColorNameSlotRingingBack: ColorNameWaiting,
		ColorNameLineRinging:     ColorNameWaiting,
		ColorNameLineHeld:        ColorNameWaiting,
		ColorNameLineActive:      ColorNameYours,
		theme.ColorNamePrimary:   ColorNameYours,   // Resume, High importance
		theme.ColorNameSuccess:   ColorNameFree,    // Answer
		theme.ColorNameWarning:   ColorNameWaiting, // the park service's outage banner
		theme.ColorNameError:     ColorNameDanger,  // Hang up, Decline
	}
	for name, v := range variants {
		seen := map[color.NRGBA]fyne.ThemeColorName{}
		for _, m := range meanings {
			c := color.NRGBAModel.Convert(th.Color(m, v)).(color.NRGBA)
			if other, dup := seen[c]; dup {
				t.Errorf("%s: %s and %s are both %v", name, m, other, c)
			}
			seen[c] = m
		}
		for part, m := range parts {
			if got, want := th.Color(part, v), th.Color(m, v); got != want {
				t.Errorf("%s: %s is %v, want %s's %v", name, part, got, m, want)
			}
		}
		if th.Color(theme.ColorNameError, v) == th.Color(theme.ColorNamePrimary, v) ||
			th.Color(theme.ColorNameError, v) == th.Color(ColorNameWaiting, v) {
			t.Errorf("%s: danger shares a colour with Resume or a waiting call", name)
		}
	}
}

// slotTexts renders s and returns each visible text of it with the fill
// of the slot behind it.
func slotTexts(t *testing.T, s *OrbitSlot) (fill color.Color, texts []*canvas.Text) {
	t.Helper()
	r := test.WidgetRenderer(s).(*slotRenderer)
	for _, o := range r.Objects() {
		if tx, ok := o.(*canvas.Text); ok && tx.Visible() && tx.Text != "" {
			texts = append(texts, tx)
		}
	}
	return r.bg.FillColor, texts
}

// TestOrbitSlot_TextContrast: the text of a slot in every state and drop
// hint reads at 4.5:1 or more on the slot's fill, in both variants of the
// console's theme.
func TestOrbitSlot_TextContrast(t *testing.T) {
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			a := test.NewTempApp(t)
			a.Settings().SetTheme(variantTheme{NewTheme(), v})
			cases := append([]struct {
				name string
				slot func() *OrbitSlot
			}{}, slotStates...)
			cases = append(cases, struct {
				name string
				slot func() *OrbitSlot
			}{"drop_invite", func() *OrbitSlot {
				s := NewOrbitSlot(713)
				s.setInvite(true)
				return s
			}})
			for _, tt := range cases {
				s := tt.slot()
				s.Tick(t0.Add(130 * time.Second))
				w := test.NewTempWindow(t, s)
				w.Resize(fyne.NewSize(180, 90))
				fill, texts := slotTexts(t, s)
				if len(texts) == 0 {
					t.Errorf("%s: no text drawn", tt.name)
				}
				for _, tx := range texts {
					if c := Contrast(tx.Color, fill); c < aaContrast {
						t.Errorf("%s: %q is %.2f:1 on its fill", tt.name, tx.Text, c)
					}
				}
			}
		})
	}
}

func rgbOf(c color.Color) color.NRGBA { return color.NRGBAModel.Convert(c).(color.NRGBA) }

// TestOrbitSlot_FreeIsGreen: a free slot is outlined in the free colour
// (green), so that a lit slot in another colour is never read as free.
func TestOrbitSlot_FreeIsGreen(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(variantTheme{NewTheme(), theme.VariantDark})
	s := NewOrbitSlot(701)
	test.NewTempWindow(t, s)
	r := test.WidgetRenderer(s).(*slotRenderer)
	green, got := rgbOf(NewTheme().Color(ColorNameFree, theme.VariantDark)), rgbOf(r.bg.StrokeColor)
	if got.R != green.R || got.G != green.G || got.B != green.B || r.bg.StrokeWidth <= 0 {
		t.Errorf("free slot outline %v (%v wide), want %v", got, r.bg.StrokeWidth, green)
	}
}

// newConsoleLookApp starts a test app with the console's theme in
// variant, for images of what a receptionist sees.
func newConsoleLookApp(t testing.TB, v fyne.ThemeVariant) fyne.App {
	freshRenderCache()
	a := test.NewTempApp(t)
	a.Settings().SetTheme(variantTheme{NewTheme(), v})
	return a
}

// TestLineCard_TextContrast: every text of a line card in every state
// reads at 4.5:1 or more on what it is drawn on (the card, tinted for a
// waiting call, or the state's pill), in both variants of the console's
// theme.
func TestLineCard_TextContrast(t *testing.T) {
	states := []LineState{LineRinging, LineBack, LineDialing, LineActive, LineHeld, LineParking, LineParked, LineEnded}
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			newConsoleLookApp(t, v)
			window := NewTheme().Color(theme.ColorNameBackground, v)
			for _, st := range states {
				c := NewLineCard("c1", "Eva Novak", "eva.novak@partner.example", st, t0)
				c.Orbit = 705
				c.Tick(t0.Add(42 * time.Second))
				test.NewTempWindow(t, c).Resize(fyne.NewSize(420, 140))
				r := test.WidgetRenderer(c).(*lineCardRenderer)
				card := over(window, r.bg.FillColor)
				check := func(tx *canvas.Text, on color.Color) {
					if tx.Visible() && tx.Text != "" {
						if cr := Contrast(tx.Color, on); cr < aaContrast {
							t.Errorf("%s: %q is %.2f:1", st, tx.Text, cr)
						}
					}
				}
				for _, tx := range []*canvas.Text{&r.name, &r.timer, &r.number, &r.detail, &r.waited} {
					check(tx, card)
				}
				check(&r.stateText, over(card, r.pill.FillColor))
			}
		})
	}
}
