package widgets

import (
	"image/color"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// The console's colours each mean one thing, everywhere they appear (the
// slots of the lot, the line cards, the buttons, the legend), after the
// busy-lamp convention of operator panels:
//
//   - green, "free": an orbit nobody holds, where a call can be parked;
//     the same "go" colour is on Answer.
//   - blue, "yours": a call in your hands: live, or parked by you; Resume
//     takes a call back into your hands.
//   - violet, "others'": a call parked by another console.
//   - amber, "waiting": a caller waits for you: ringing, on hold, ringing
//     back from an orbit; also the warning that the park service is down.
//   - red, "danger": what cannot be undone or was refused: Hang up,
//     Decline, a refused drop, an error.
//   - grey: idle or unavailable.
//
// Text on each colour, and every text of the theme on its background,
// reads at a WCAG 2 contrast of at least 4.5:1 (AA for body text) in
// both variants.
const (
	// ColorNameFree is the colour of a free orbit (green).
	ColorNameFree fyne.ThemeColorName = "switchboard-free"
	// ColorNameYours is the colour of a call in the receptionist's hands (blue).
	ColorNameYours fyne.ThemeColorName = "switchboard-yours"
	// ColorNameOthers is the colour of a call parked by another console (violet).
	ColorNameOthers fyne.ThemeColorName = "switchboard-others"
	// ColorNameWaiting is the colour of a caller who waits for the receptionist (amber).
	ColorNameWaiting fyne.ThemeColorName = "switchboard-waiting"
	// ColorNameDanger is the colour of what cannot be undone or was refused (red).
	ColorNameDanger fyne.ThemeColorName = "switchboard-danger"
)

// onSuffix names the colour of text drawn on a colour of the widgets'
// own: ColorNameFree + onSuffix is the text on a free slot.
const onSuffix = "-on"

// meaningOf is the semantic colour each of the widgets' part colours is
// drawn in, under Theme.
var meaningOf = map[fyne.ThemeColorName]fyne.ThemeColorName{
	ColorNameLineRinging:     ColorNameWaiting,
	ColorNameLineActive:      ColorNameYours,
	ColorNameLineHeld:        ColorNameWaiting,
	ColorNameSlotOccupied:    ColorNameOthers,
	ColorNameSlotMine:        ColorNameYours,
	ColorNameSlotRingingBack: ColorNameWaiting,
	theme.ColorNamePrimary:   ColorNameYours,
	theme.ColorNameSuccess:   ColorNameFree,
	theme.ColorNameWarning:   ColorNameWaiting,
	theme.ColorNameError:     ColorNameDanger,
}

// palette is one variant's colours.
type palette struct {
	meanings  map[fyne.ThemeColorName]color.Color // the semantic colours
	on        color.Color                         // text on every semantic colour
	text      color.Color                         // the foreground
	disabled  color.Color                         // secondary text: low-importance labels, disabled buttons
	holder    color.Color                         // placeholders and muted details
	hyperlink color.Color
	focus     color.Color
}

func rgb(v uint32) color.NRGBA {
	return color.NRGBA{R: uint8(v >> 16), G: uint8(v >> 8), B: uint8(v), A: 0xff}
}

// The dark variant's semantic colours are light, with near-black text on
// them; the light variant's are deep, with white text: so each reads as
// text on the background too (a danger label) and under text.
var (
	darkPalette = palette{
		meanings: map[fyne.ThemeColorName]color.Color{
			ColorNameFree:    rgb(0x5ccf7b),
			ColorNameYours:   rgb(0x6fa8ff),
			ColorNameOthers:  rgb(0xb8a4ff),
			ColorNameWaiting: rgb(0xffb74d),
			ColorNameDanger:  rgb(0xff7a70),
		},
		on:        rgb(0x111113),
		text:      rgb(0xf3f3f3),
		disabled:  rgb(0x9c9ca3),
		holder:    rgb(0xb2b2b2),
		hyperlink: rgb(0x8ab8ff),
		focus:     color.NRGBA{R: 0x6f, G: 0xa8, B: 0xff, A: 0x2a},
	}
	lightPalette = palette{
		meanings: map[fyne.ThemeColorName]color.Color{
			ColorNameFree:    rgb(0x1b7a34),
			ColorNameYours:   rgb(0x1c5fd0),
			ColorNameOthers:  rgb(0x6b45c6),
			ColorNameWaiting: rgb(0xa65300),
			ColorNameDanger:  rgb(0xc2261f),
		},
		on: rgb(0xffffff),
		// Darker than Fyne's #565656, so that secondary text still reads
		// on a ringing call's amber-tinted card.
		text:      rgb(0x1f1f21),
		disabled:  rgb(0x5c5c5c),
		holder:    rgb(0x5c5c5c),
		hyperlink: rgb(0x1c5fd0),
		focus:     color.NRGBA{R: 0x1c, G: 0x5f, B: 0xd0, A: 0x2a},
	}
)

// Theme is the console's theme: Fyne's default one, with every text
// readable (4.5:1) and the colours of the palette above. Fonts, icons and
// sizes are the default theme's.
type Theme struct {
	base fyne.Theme
}

// NewTheme returns the console's theme.
func NewTheme() *Theme {
	return &Theme{base: theme.DefaultTheme()}
}

func paletteOf(v fyne.ThemeVariant) *palette {
	if v == theme.VariantLight {
		return &lightPalette
	}
	return &darkPalette
}

// Color returns the colour named n in variant v.
func (t *Theme) Color(n fyne.ThemeColorName, v fyne.ThemeVariant) color.Color {
	p := paletteOf(v)
	if base, ok := strings.CutSuffix(string(n), onSuffix); ok {
		if _, known := p.meanings[meaningName(fyne.ThemeColorName(base))]; known {
			return p.on
		}
	}
	if c, ok := p.meanings[meaningName(n)]; ok {
		return c
	}
	switch n {
	case theme.ColorNameForegroundOnPrimary, theme.ColorNameForegroundOnSuccess,
		theme.ColorNameForegroundOnWarning, theme.ColorNameForegroundOnError:
		return p.on
	case theme.ColorNameForeground:
		return p.text
	case theme.ColorNameDisabled:
		return p.disabled
	case theme.ColorNamePlaceHolder:
		return p.holder
	case theme.ColorNameHyperlink:
		return p.hyperlink
	case theme.ColorNameFocus:
		return p.focus
	}
	return t.base.Color(n, v)
}

// meaningName is the semantic colour n is drawn in: n itself, or the
// one meaningOf gives for it.
func meaningName(n fyne.ThemeColorName) fyne.ThemeColorName {
	if m, ok := meaningOf[n]; ok {
		return m
	}
	return n
}

// Font returns the default theme's font for style.
func (t *Theme) Font(style fyne.TextStyle) fyne.Resource { return t.base.Font(style) }

// Icon returns the default theme's icon named n.
func (t *Theme) Icon(n fyne.ThemeIconName) fyne.Resource { return t.base.Icon(n) }

// Size returns the default theme's size named n.
func (t *Theme) Size(n fyne.ThemeSizeName) float32 { return t.base.Size(n) }
