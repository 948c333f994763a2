package app

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// offerRestart offers to restart now, after settings that apply at the
// next start were saved. Esc and Later leave them for the next start;
// Enter does nothing (the dialog is modal).
func (c *Console) offerRestart() {
	var d *dialog.CustomDialog
	msg := widget.NewLabel("Account, address and park changes apply when Switchboard starts again. " +
		"Restart now? Calls on your lines are asked about first.")
	msg.Wrapping = fyne.TextWrapWord
	later := widget.NewButton("Later", func() { d.Hide() })
	now := widget.NewButtonWithIcon("Restart now", theme.ViewRefreshIcon(), func() {
		d.Hide()
		c.restart()
	})
	now.Importance = widget.HighImportance
	d = dialog.NewCustomWithoutButtons("Restart Switchboard?", container.NewVBox(msg), c.win)
	d.SetButtons([]fyne.CanvasObject{later, now})
	d.Resize(fyne.NewSize(480, d.MinSize().Height))
	c.showDialog(d, nil)
	c.logPlaced("restart-offered", nil, map[string]fyne.CanvasObject{"Later": later, "Restart now": now})
}

// restart asks what to do with the calls, as closing the window does,
// and after a decision to close hands the restart to the owner.
func (c *Console) restart() {
	var q CloseQuestion
	if c.opts.CloseQuestion != nil {
		q = c.opts.CloseQuestion()
	}
	if !q.NeedsAsking() {
		c.logEvent("restart", nil)
		c.opts.OnRestart()
		return
	}
	c.AskClose(q, func(ch CloseChoice) {
		switch {
		case ch == CloseCancel:
			c.flash("Not restarted: account, address and park changes apply when Switchboard starts again")
			c.changed()
			return
		case ch == CloseRingBack && c.opts.RingBackNow != nil:
			// As from a plain close: the window stays open while the
			// parked calls ring back here; the restart comes once they
			// are done, asked again if calls are up then.
			c.ringingBackToRestart(q.Parked)
			c.opts.RingBackNow(func() { c.do(c.restart) })
			return
		}
		c.logEvent("restart", map[string]any{"choice": ch.String()})
		c.opts.OnRestart()
	})
}

// ringingBackToRestart says, after "Ring back now" in the question
// before a restart, that the parked calls ring back to this console now
// and that Switchboard restarts once none is left parked here.
func (c *Console) ringingBackToRestart(parked int) {
	c.ringingBack(parked, "restarts", "ringing-back-to-restart")
}
