package widgets

import (
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/theme"
)

// TestOrbitSlot_TextGrowsAndFits: a slot's details are never the 9 to
// 11 px italic they were: the caption is upright and at least 12, the
// name at least body size; both grow with the slot; and at the sizes a
// 20-orbit lot gets in a console window they are whole, a long caption
// drawn smaller rather than cut.
func TestOrbitSlot_TextGrowsAndFits(t *testing.T) {
	a := test.NewTempApp(t)
	a.Settings().SetTheme(variantTheme{NewTheme(), theme.VariantDark})
	s := NewOrbitSlot(702)
	s.Set(SlotRingingBack, "Carol Díaz", "reception1", t0)
	w := test.NewTempWindow(t, s)
	w.SetPadded(false)
	r := test.WidgetRenderer(s).(*slotRenderer)
	var lastName, lastCaption float32
	for _, size := range []fyne.Size{{Width: 160, Height: 96}, {Width: 205, Height: 130}, {Width: 280, Height: 170}, {Width: 400, Height: 240}} {
		w.Resize(size)
		for _, tx := range []*canvas.Text{&r.caller, &r.caption} {
			if !tx.Visible() || strings.HasSuffix(tx.Text, "…") || tx.MinSize().Width > tx.Size().Width+0.5 {
				t.Errorf("%v: %q cut or hidden (visible %v, %v of %v wide)", size, tx.Text, tx.Visible(), tx.Size().Width, tx.MinSize().Width)
			}
		}
		if r.caption.Text != "ringing back reception1" || r.caption.TextStyle.Italic || r.caption.TextSize < 12 {
			t.Errorf("%v: caption %q at %v (italic %v)", size, r.caption.Text, r.caption.TextSize, r.caption.TextStyle.Italic)
		}
		if r.caller.TextSize < 14 {
			t.Errorf("%v: name at %v", size, r.caller.TextSize)
		}
		if r.caller.TextSize < lastName || r.caption.TextSize < lastCaption {
			t.Errorf("%v: text shrank as the slot grew (name %v after %v, caption %v after %v)", size, r.caller.TextSize, lastName, r.caption.TextSize, lastCaption)
		}
		lastName, lastCaption = r.caller.TextSize, r.caption.TextSize
	}
	if lastName <= 14 || lastCaption <= 12 {
		t.Errorf("in a big slot the name is %v and the caption %v: they do not grow", lastName, lastCaption)
	}
}
