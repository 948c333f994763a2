package widgets

import (
	"fmt"
	"image/color"
	"math"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/theme"
)

// Colour names the widgets ask the theme for. An app theme may define
// them, and the colour of text drawn on each as the name followed by
// "-on"; a theme that does not (the default one) gets the standard colour
// named in each comment, and the standard text colour on it.
const (
	// ColorNameLineRinging colours a ringing or ringing-back line (primary).
	ColorNameLineRinging fyne.ThemeColorName = "switchboard-line-ringing"
	// ColorNameLineActive colours the live line (success).
	ColorNameLineActive fyne.ThemeColorName = "switchboard-line-active"
	// ColorNameLineHeld colours a held line (warning).
	ColorNameLineHeld fyne.ThemeColorName = "switchboard-line-held"
	// ColorNameLineIdle colours a line that is parking, parked or over (disabled).
	ColorNameLineIdle fyne.ThemeColorName = "switchboard-line-idle"

	// ColorNameSlotOccupied fills a slot holding someone else's call (primary).
	ColorNameSlotOccupied fyne.ThemeColorName = "switchboard-slot-occupied"
	// ColorNameSlotMine fills a slot holding a call this console parked (success).
	ColorNameSlotMine fyne.ThemeColorName = "switchboard-slot-mine"
	// ColorNameSlotRingingBack fills a slot whose call rings back its parker (warning).
	ColorNameSlotRingingBack fyne.ThemeColorName = "switchboard-slot-ringing-back"
	// ColorNameSlotFree fills a free slot (input background).
	ColorNameSlotFree fyne.ThemeColorName = "switchboard-slot-free"
	// ColorNameSlotUnavailable fills a slot the park service cannot serve (disabled button).
	ColorNameSlotUnavailable fyne.ThemeColorName = "switchboard-slot-unavailable"
)

// fallbackColors maps each of the widgets' own colour names to the
// standard colour used when the theme does not know it.
var fallbackColors = map[fyne.ThemeColorName]fyne.ThemeColorName{
	ColorNameLineRinging:     theme.ColorNamePrimary,
	ColorNameLineActive:      theme.ColorNameSuccess,
	ColorNameLineHeld:        theme.ColorNameWarning,
	ColorNameLineIdle:        theme.ColorNameDisabled,
	ColorNameSlotOccupied:    theme.ColorNamePrimary,
	ColorNameSlotMine:        theme.ColorNameSuccess,
	ColorNameSlotRingingBack: theme.ColorNameWarning,
	ColorNameSlotFree:        theme.ColorNameInputBackground,
	ColorNameSlotUnavailable: theme.ColorNameDisabledButton,
	ColorNameFree:            theme.ColorNameSuccess,
	ColorNameYours:           theme.ColorNamePrimary,
	ColorNameOthers:          theme.ColorNamePrimary,
	ColorNameWaiting:         theme.ColorNameWarning,
	ColorNameDanger:          theme.ColorNameError,
}

// onColors is the text colour that reads on each filled colour.
var onColors = map[fyne.ThemeColorName]fyne.ThemeColorName{
	theme.ColorNamePrimary: theme.ColorNameForegroundOnPrimary,
	theme.ColorNameSuccess: theme.ColorNameForegroundOnSuccess,
	theme.ColorNameWarning: theme.ColorNameForegroundOnWarning,
	theme.ColorNameError:   theme.ColorNameForegroundOnError,
}

// colorOf resolves name through th, falling back to a standard colour
// when th does not define it (returns nil or fully transparent).
func colorOf(th fyne.Theme, name fyne.ThemeColorName) color.Color {
	v := fyne.CurrentApp().Settings().ThemeVariant()
	c := th.Color(name, v)
	if fb, ok := fallbackColors[name]; ok && isUnset(c) {
		c = th.Color(fb, v)
	}
	if c == nil {
		return color.Transparent
	}
	return c
}

// minContrast is the contrast ratio (WCAG 2, AA for body text) below
// which the theme's text colour for a fill is replaced by a more readable
// one of the theme's: Fyne's default theme puts white on bright green and
// orange.
const minContrast = 4.5

// onColorOf is the colour of text drawn on a fill of colour name.
func onColorOf(th fyne.Theme, name fyne.ThemeColorName) color.Color {
	c := th.Color(onColorName(th, name), fyne.CurrentApp().Settings().ThemeVariant())
	if c == nil {
		return color.Transparent
	}
	return c
}

// onColorName names the colour for text (and icons) drawn on a fill of
// colour name: the theme's, unless it is hard to read there, then the
// theme's foreground or background, whichever reads better.
func onColorName(th fyne.Theme, name fyne.ThemeColorName) fyne.ThemeColorName {
	v := fyne.CurrentApp().Settings().ThemeVariant()
	on := themeOnColorName(th, name)
	fill := colorOf(th, name)
	onColor := th.Color(on, v)
	if isUnset(fill) || isUnset(onColor) || Contrast(onColor, fill) >= minContrast {
		return on
	}
	best, bestC := on, Contrast(onColor, fill)
	for _, n := range []fyne.ThemeColorName{theme.ColorNameForeground, theme.ColorNameBackground} {
		if c := th.Color(n, v); !isUnset(c) {
			if cc := Contrast(c, fill); cc > bestC {
				best, bestC = n, cc
			}
		}
	}
	return best
}

// readableOn is the one of the theme's text colours (foreground,
// background, the text on danger) that reads best on fill, a colour
// mixed from the theme's.
func readableOn(th fyne.Theme, fill color.Color) color.Color {
	v := fyne.CurrentApp().Settings().ThemeVariant()
	var best color.Color = th.Color(theme.ColorNameForeground, v)
	for _, c := range []color.Color{th.Color(theme.ColorNameBackground, v), onColorOf(th, ColorNameDanger)} {
		if !isUnset(c) && Contrast(c, fill) > Contrast(best, fill) {
			best = c
		}
	}
	return best
}

// luminance is the relative luminance of c (WCAG 2), ignoring alpha.
func luminance(c color.Color) float64 {
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

// Contrast is the WCAG 2 contrast ratio of a and b, from 1 to 21: text
// needs 4.5 on its background. The console checks its theme with it;
// tests of views drawn elsewhere use it rather than a copy.
func Contrast(a, b color.Color) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

// themeOnColorName names the text colour the theme gives for a fill of
// name.
func themeOnColorName(th fyne.Theme, name fyne.ThemeColorName) fyne.ThemeColorName {
	v := fyne.CurrentApp().Settings().ThemeVariant()
	if fb, custom := fallbackColors[name]; custom {
		if c := th.Color(name, v); !isUnset(c) {
			// The theme defines the custom colour: it must define the
			// text colour on it too, as name + "-on".
			if on := th.Color(name+"-on", v); !isUnset(on) {
				return name + "-on"
			}
		}
		name = fb
	}
	if on, ok := onColors[name]; ok {
		return on
	}
	return theme.ColorNameForeground
}

func isUnset(c color.Color) bool {
	if c == nil {
		return true
	}
	_, _, _, a := c.RGBA()
	return a == 0
}

// fade returns c with its opacity scaled by f (0..1).
func fade(c color.Color, f float64) color.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	n.A = uint8(float64(n.A) * f)
	return n
}

// Clock formats an elapsed time the way a receptionist reads it, as
// the timers of the cards and slots show it: 0:07, 12:34, 1:02:03.
// Negative times show as 0:00.
func Clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int64(d / time.Second)
	h, m, sec := s/3600, s/60%60, s%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, sec)
	}
	return fmt.Sprintf("%d:%02d", m, sec)
}

// elapsed is the timer text for something that started at since, seen
// at now; empty when since is unknown.
func elapsed(since, now time.Time) string {
	if since.IsZero() {
		return ""
	}
	if now.IsZero() || now.Before(since) {
		return Clock(0)
	}
	return Clock(now.Sub(since))
}

// shrinkToFit is the largest text size from size down to min, in half
// steps, at which s fits width in style; min when none does.
func shrinkToFit(s string, size, min float32, style fyne.TextStyle, width float32) float32 {
	w := fyne.MeasureText(s, size, style).Width
	if s == "" || w <= width || size <= min {
		return size
	}
	// Text widens about in proportion to its size: start from there.
	fit := float32(math.Floor(float64(size*width/w)*2)) / 2
	for fit > min && fyne.MeasureText(s, fit, style).Width > width {
		fit -= 0.5
	}
	return fyne.Max(fit, min)
}

// fitText shortens s with an ellipsis until it fits width at the given
// text size and style.
func fitText(s string, size float32, style fyne.TextStyle, width float32) string {
	if s == "" || fyne.MeasureText(s, size, style).Width <= width {
		return s
	}
	r := []rune(s)
	lo, hi := 0, len(r)
	for lo < hi { // longest prefix that fits with the ellipsis
		mid := (lo + hi + 1) / 2
		if fyne.MeasureText(string(r[:mid])+"…", size, style).Width <= width {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	if lo == 0 {
		return ""
	}
	return string(r[:lo]) + "…"
}

// Icons drawn for the console (Fyne's theme has no telephone). They are
// themed: Fyne recolours them for the button or text they sit on.
var (
	phoneSVG     = []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path fill="#000000" d="M6.6 2.6L9.9 5.9C10.5 6.5 10.5 7.5 9.9 8.1L8.3 9.7C9.5 12.1 11.9 14.5 14.3 15.7L15.9 14.1C16.5 13.5 17.5 13.5 18.1 14.1L21.4 17.4C22 18 22 19 21.4 19.6L19.6 21.4C18.8 22.2 17.6 22.4 16.6 21.9C10.3 19 5 13.7 2.1 7.4C1.6 6.4 1.8 5.2 2.6 4.4L4.4 2.6C5 2 6 2 6.6 2.6Z"/></svg>`)
	hangUpSVG    = []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path fill="#000000" transform="rotate(135 12 12)" d="M6.6 2.6L9.9 5.9C10.5 6.5 10.5 7.5 9.9 8.1L8.3 9.7C9.5 12.1 11.9 14.5 14.3 15.7L15.9 14.1C16.5 13.5 17.5 13.5 18.1 14.1L21.4 17.4C22 18 22 19 21.4 19.6L19.6 21.4C18.8 22.2 17.6 22.4 16.6 21.9C10.3 19 5 13.7 2.1 7.4C1.6 6.4 1.8 5.2 2.6 4.4L4.4 2.6C5 2 6 2 6.6 2.6Z"/></svg>`)
	backspaceSVG = []byte(`<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24"><path fill="#000000" fill-rule="evenodd" d="M8.5 5H20A2 2 0 0 1 22 7V17A2 2 0 0 1 20 19H8.5L2 12ZM12.63 15.22L11.28 13.87L13.16 12L11.28 10.13L12.63 8.78L14.5 10.66L16.37 8.78L17.72 10.13L15.84 12L17.72 13.87L16.37 15.22L14.5 13.34Z"/></svg>`)
)

var (
	phoneRes      = fyne.NewStaticResource("switchboard-phone.svg", phoneSVG)
	phoneIcon     = theme.NewThemedResource(phoneRes)
	hangUpIcon    = theme.NewThemedResource(fyne.NewStaticResource("switchboard-hang-up.svg", hangUpSVG))
	backspaceIcon = theme.NewThemedResource(fyne.NewStaticResource("switchboard-backspace.svg", backspaceSVG))
)

// PhoneIcon is a telephone handset, for answering and calling.
func PhoneIcon() fyne.Resource { return phoneIcon }

// HangUpIcon is a handset laid down, for hanging up or declining.
func HangUpIcon() fyne.Resource { return hangUpIcon }

// BackspaceIcon erases the last digit of a number.
func BackspaceIcon() fyne.Resource { return backspaceIcon }

// mix blends over onto base with weight f (0: base, 1: over), opaque.
func mix(base, over color.Color, f float64) color.Color {
	b := color.NRGBAModel.Convert(base).(color.NRGBA)
	o := color.NRGBAModel.Convert(over).(color.NRGBA)
	ch := func(x, y uint8) uint8 { return uint8(float64(x)*(1-f) + float64(y)*f + 0.5) }
	return color.NRGBA{R: ch(b.R, o.R), G: ch(b.G, o.G), B: ch(b.B, o.B), A: ch(b.A, o.A)}
}
