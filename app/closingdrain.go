package app

import "fmt"

// RingingBackToClose says, after "Ring back now" in the close question,
// that the parked calls ring back to this console now and that the
// window closes once none is left parked here. Call it on Fyne's
// goroutine.
func (c *Console) RingingBackToClose(parked int) {
	c.ringingBack(parked, "closes", "ringing-back-to-close")
}

// ringingBack says that the parked calls ring back to this console now
// and that Switchboard then does what (closes, restarts), and logs
// event with their number.
func (c *Console) ringingBack(parked int, then, event string) {
	msg := "Ringing back the parked call: Switchboard " + then + " once it is done"
	if parked != 1 {
		msg = fmt.Sprintf("Ringing back %d parked calls: Switchboard %s once they are done", parked, then)
	}
	c.flash(msg)
	c.logEvent(event, map[string]any{"parked": parked})
	c.changed()
}

// WhenOpen runs f on Fyne's goroutine unless the console is closed (f
// is then dropped). It may be called from any goroutine.
func (c *Console) WhenOpen(f func()) { c.do(f) }
