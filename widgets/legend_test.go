package widgets

import (
	"image/color"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// TestLegend lists each of the console's colours once, with its swatch
// in the theme's colour, each word whole inside the legend.
func TestLegend(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(variantTheme{NewTheme(), theme.VariantDark})
	l := NewLegend()
	w := test.NewTempWindow(t, l)
	w.Resize(l.MinSize().AddWidthHeight(20, 20))
	r := test.WidgetRenderer(l).(*legendRenderer)

	want := []fyne.ThemeColorName{ColorNameFree, ColorNameYours, ColorNameOthers, ColorNameWaiting, ColorNameDanger}
	if len(r.rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(r.rows), len(want))
	}
	seen := map[color.NRGBA]string{}
	for i, row := range r.rows {
		if LegendEntries[i].Color != want[i] {
			t.Errorf("row %d is %s, want %s", i, LegendEntries[i].Color, want[i])
		}
		c := NewTheme().Color(want[i], theme.VariantDark)
		swatch := row.swatch.FillColor
		if want[i] == ColorNameFree {
			swatch = row.swatch.StrokeColor // a free slot is outlined
		}
		if swatch != c {
			t.Errorf("%s swatch %v, want %v", row.name.Text, swatch, c)
		}
		if other, dup := seen[rgbOf(c)]; dup {
			t.Errorf("%s and %s share a colour", row.name.Text, other)
		}
		seen[rgbOf(c)] = row.name.Text
		for _, tx := range []*canvas.Text{row.name, row.meaning} {
			if tx.Text == "" {
				t.Errorf("row %d: empty text", i)
			}
			if tx.Size().Width < tx.MinSize().Width-0.5 || tx.Position().X+tx.Size().Width > l.Size().Width+0.5 {
				t.Errorf("%q cut: %v wide at x %v in a legend %v wide, needs %v", tx.Text, tx.Size().Width, tx.Position().X, l.Size().Width, tx.MinSize().Width)
			}
			if c := Contrast(tx.Color, NewTheme().Color(theme.ColorNameOverlayBackground, theme.VariantDark)); c < aaContrast {
				t.Errorf("%q: %.2f:1 on a dialog", tx.Text, c)
			}
		}
	}
}

// TestLegend_Look is a picture of the legend, as the Keys help shows it.
func TestLegend_Look(t *testing.T) {
	for name, v := range variants {
		t.Run(name, func(t *testing.T) {
			newConsoleLookApp(t, v)
			l := NewLegend()
			w := test.NewTempWindow(t, l)
			w.Resize(l.MinSize().AddWidthHeight(16, 16))
			test.AssertRendersToImage(t, "legend/look_"+name+".png", w.Canvas())
		})
	}
}
