package app

import "fmt"

// RingingBackToClose says, after "Ring back now" in the close question,
// that the parked calls ring back to this console now and that the
// window closes once none is left parked here. Call it on Fyne's
// goroutine.
func (c *Console) RingingBackToClose(parked int) {
	msg := "Ringing back the parked call: Switchboard closes once it is done"
	if parked != 1 {
		msg = fmt.Sprintf("Ringing back %d parked calls: Switchboard closes once they are done", parked)
	}
	c.flash(msg)
	c.logEvent("ringing-back-to-close", map[string]any{"parked": parked})
	c.changed()
}

// WhenOpen runs f on Fyne's goroutine unless the console is closed (f
// is then dropped). It may be called from any goroutine.
func (c *Console) WhenOpen(f func()) { c.do(f) }
