package widgets

import (
	"strconv"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
)

// BenchmarkDirectoryPaneKeystroke measures the window's part of a search
// keystroke: a rune typed into the search box, OnSearch handing back 200
// rows (the search itself is directory's BenchmarkSearchKeystroke), and
// then, in tick+software-frame, drawing the 360×800 pane with Fyne's
// software painter (the test driver's; a GL window draws faster).
func BenchmarkDirectoryPaneKeystroke(b *testing.B) {
	for _, bb := range []struct {
		name  string
		frame bool
	}{{"keystroke", false}, {"keystroke+software-frame", true}} {
		b.Run(bb.name, func(b *testing.B) {
			newLookApp(b, variants["light"])
			results := make([][]DirectoryRow, 2)
			for k := range results {
				for i := 0; i < 200; i++ {
					n := strconv.Itoa(2000 + i + k)
					results[k] = append(results[k], DirectoryRow{ID: n, Name: "Person " + n, Extension: n, Department: "Sales", Presence: Presence(i % 4)})
				}
			}
			var d *DirectoryPane
			n := 0
			d = NewDirectoryPane(func(string) { n++; d.SetRows(results[n%2]) })
			w := test.NewTempWindow(b, d)
			w.Resize(fyne.NewSize(360, 800))
			d.FocusSearch()
			c := w.Canvas()
			c.Capture()
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if i%8 == 7 {
					d.SetQuery("")
				}
				d.entry.TypedRune('a')
				if bb.frame {
					c.Capture()
				}
			}
		})
	}
}
