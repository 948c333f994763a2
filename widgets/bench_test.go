package widgets

import (
	"strconv"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/test"
)

// BenchmarkGridTick100 measures what the console pays each second for a
// full lot: 100 occupied orbits whose timers all change.
//
//   - tick: the grid's Tick alone (state, text, refresh requests), the
//     work done on Fyne's goroutine before the frame is drawn;
//   - tick+software-frame: Tick and then drawing the whole 1000×640 grid with
//     Fyne's software painter (the test driver's; a GL window draws
//     faster), an upper bound for the frame.
//
// ns/timer is the cost per ticking slot.
func BenchmarkGridTick100(b *testing.B) {
	for _, bb := range []struct {
		name  string
		frame bool
	}{{"tick", false}, {"tick+software-frame", true}} {
		b.Run(bb.name, func(b *testing.B) {
			newLookApp(b, variants["light"])
			g := NewOrbitGrid(701, 100)
			for i, s := range g.Slots {
				state := SlotOccupied
				if i%3 == 0 {
					state = SlotMine
				}
				s.Set(state, "Caller "+strconv.Itoa(s.Orbit), "Reception 2", t0.Add(-time.Duration(i)*7*time.Second))
			}
			w := test.NewTempWindow(b, g)
			w.Resize(fyne.NewSize(1000, 640))
			c := w.Canvas()
			c.Capture()

			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				g.Tick(t0.Add(time.Duration(i+1) * time.Second))
				if bb.frame {
					c.Capture()
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(g.Slots)), "ns/timer")
		})
	}
}

// BenchmarkLineTick20 measures the second's tick of 20 line cards (the
// console's budget: 20 lines), without drawing.
func BenchmarkLineTick20(b *testing.B) {
	newLookApp(b, variants["light"])
	var cards []fyne.CanvasObject
	for i := 0; i < 20; i++ {
		cards = append(cards, NewLineCard(strconv.Itoa(i), "Caller "+strconv.Itoa(i), "+44 20 7946 00"+strconv.Itoa(10+i),
			[]LineState{LineActive, LineHeld, LineRinging}[i%3], t0.Add(-time.Duration(i)*13*time.Second)))
	}
	w := test.NewTempWindow(b, container.NewVBox(cards...))
	w.Resize(fyne.NewSize(420, 20*150))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		now := t0.Add(time.Duration(i+1) * time.Second)
		for _, c := range cards {
			c.(*LineCard).Tick(now)
		}
	}
}
