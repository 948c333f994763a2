package app

import (
	"time"

	"fyne.io/fyne/v2"
)

// logPlaced writes event to the state log, with fields and where objs
// are on the window ("buttons": label -> Rect), once they are laid out
// (a frame or so after they are shown): the real-window tests click
// there. Without a state log it does nothing.
func (c *Console) logPlaced(event string, fields map[string]any, objs map[string]fyne.CanvasObject) {
	if c.state == nil {
		return
	}
	if fields == nil {
		fields = map[string]any{}
	}
	c.spawn(func() {
		for range 250 {
			select {
			case <-c.ctx.Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
			placed := make(chan bool, 1)
			c.do(func() {
				rects, ok := map[string]Rect{}, true
				drv := fyne.CurrentApp().Driver()
				for label, o := range objs {
					p, s := drv.AbsolutePositionForObject(o), o.Size()
					ok = ok && (p.X > 0 || p.Y > 0) && s.Width > 0
					rects[label] = Rect{X: p.X, Y: p.Y, W: s.Width, H: s.Height}
				}
				if ok {
					fields["buttons"] = rects
					c.logEvent(event, fields)
				}
				placed <- ok
			})
			select {
			case <-c.ctx.Done():
				return
			case ok := <-placed:
				if ok {
					return
				}
			}
		}
	})
}
