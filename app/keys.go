package app

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
)

// Keyboard operation (DESIGN.md, "A receptionist's day"):
//
//	Enter        answer the call that has waited longest
//	digits Enter retrieve that orbit (Backspace corrects, Esc clears)
//	F1–F12       retrieve the lot's first twelve orbits
//	H            hold the live call, or resume the one held last
//	P            park the live call on the next free orbit
//	Esc          hang up the live call, after a confirmation (Enter or
//	             Y confirms, Esc or N keeps the call)
//
// The keys reach the console when no text field has the keyboard.
const keysHelp = `Enter — answer the call that has waited longest
Digits then Enter — retrieve that orbit (Backspace corrects, Esc clears)
F1–F12 — retrieve the first twelve orbits of the lot
H — hold the live call, or resume the one held last
P — park the live call on the next free orbit
Esc — hang up the live call (asks first: Enter or Y hangs up, Esc or N keeps it)
Drag a call onto a free orbit to park it; tap a lit orbit to retrieve it.`

// maxDigits is the longest orbit number one can type.
const maxDigits = 6

func (c *Console) showKeys() {
	dialog.ShowCustom("Keyboard", "OK", keysHelpContent(), c.win)
}

// TypedRune handles a character typed on the window (digits, H, P, and
// Y or N in a confirmation).
func (c *Console) typedRune(r rune) {
	defer c.changed()
	if c.confirm != nil {
		switch r {
		case 'y', 'Y':
			c.answerConfirm(true)
		case 'n', 'N':
			c.answerConfirm(false)
		}
		return
	}
	switch {
	case r >= '0' && r <= '9':
		if len(c.digits) < maxDigits {
			c.digits += string(r)
		}
		c.showTyped()
	case r == 'h' || r == 'H':
		c.holdOrResume()
	case r == 'p' || r == 'P':
		c.parkNextFree()
	}
}

// typedKey handles Enter, Esc, Backspace and the F-keys.
func (c *Console) typedKey(ev *fyne.KeyEvent) {
	defer c.changed()
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		switch {
		case c.confirm != nil:
			c.answerConfirm(true)
		case c.digits != "":
			c.retrieveTyped()
		default:
			c.answerWaiting()
		}
	case fyne.KeyEscape:
		switch {
		case c.confirm != nil:
			c.answerConfirm(false)
		case c.digits != "":
			c.digits = ""
			c.showTyped()
		default:
			c.confirmHangUp()
		}
	case fyne.KeyBackspace:
		if c.digits != "" {
			c.digits = c.digits[:len(c.digits)-1]
			c.showTyped()
		}
	default:
		if i, ok := fKeys[ev.Name]; ok && c.lotSize() > i {
			c.retrieveKey(c.first + i)
		}
	}
}

var fKeys = map[fyne.KeyName]int{
	fyne.KeyF1: 0, fyne.KeyF2: 1, fyne.KeyF3: 2, fyne.KeyF4: 3, fyne.KeyF5: 4, fyne.KeyF6: 5,
	fyne.KeyF7: 6, fyne.KeyF8: 7, fyne.KeyF9: 8, fyne.KeyF10: 9, fyne.KeyF11: 10, fyne.KeyF12: 11,
}

func (c *Console) showTyped() {
	switch {
	case c.confirm != nil:
		c.status.setTyped(c.confirm.question + " (Enter: yes, Esc: no)")
	case c.digits != "":
		c.status.setTyped("Orbit " + c.digits + "▏ Enter retrieves")
	default:
		c.status.setTyped("")
	}
}

// answerWaiting answers the call that has waited longest.
func (c *Console) answerWaiting() {
	l := c.waiting()
	if l == nil {
		c.flash("No call is ringing")
		return
	}
	c.answer(l.call.ID)
}

// holdOrResume holds the live call, or takes back the one held last.
func (c *Console) holdOrResume() {
	if l := c.live(); l != nil {
		c.hold(l.call.ID)
		return
	}
	if l := c.held(); l != nil {
		c.resume(l.call.ID)
		return
	}
	c.flash("No call to hold or resume")
}

// parkNextFree parks the live call on the next free orbit.
func (c *Console) parkNextFree() {
	l := c.live()
	if l == nil {
		c.flash("No live call to park")
		return
	}
	n, ok := c.grid.NextFree()
	if !ok {
		switch {
		case c.lotSize() == 0:
			c.flash("No park service is configured")
		case !c.parkUp:
			c.flash("The park service is unavailable")
		default:
			c.flash("Every orbit is taken")
		}
		return
	}
	c.park(string(l.call.ID), n)
}

// retrieveTyped retrieves the orbit whose number was typed.
func (c *Console) retrieveTyped() {
	digits := c.digits
	c.digits = ""
	c.showTyped()
	n, ok := orbitNumber(digits, c.first, c.last)
	if !ok {
		if c.lotSize() == 0 {
			c.flash("No park service is configured")
		} else {
			c.flash(fmt.Sprintf("%s is not an orbit (%d–%d)", digits, c.first, c.last))
		}
		return
	}
	c.retrieveKey(n)
}

// retrieveKey retrieves orbit n from the keyboard: only a lit orbit.
func (c *Console) retrieveKey(n int) {
	slot := c.grid.Slot(n)
	switch {
	case slot == nil:
	case !c.parkUp:
		c.flash("The park service is unavailable")
	case !slot.Held():
		c.flash(fmt.Sprintf("Orbit %d is empty", n))
	default:
		c.retrieve(n)
	}
}

// confirmHangUp asks before hanging up the live call.
func (c *Console) confirmHangUp() {
	l := c.live()
	if l == nil {
		c.flash("No live call to hang up")
		return
	}
	id := l.call.ID
	q := "Hang up on " + who(l.call.RemoteName, l.call.RemoteURI) + "?"
	c.ask(q, func() {
		c.act("Hang up", func(ctx context.Context) error { return c.phone.Hangup(ctx, id) })
	})
}

// ask shows a yes/no question; yes runs on a yes.
func (c *Console) ask(question string, yes func()) {
	conf := &confirmation{question: question, yes: yes}
	conf.dlg = dialog.NewConfirm("Hang up", question, func(ok bool) {
		if c.confirm != conf {
			return
		}
		c.confirm = nil
		c.showTyped()
		if ok {
			yes()
		}
		c.changed()
	}, c.win)
	conf.dlg.SetConfirmText("Hang up")
	conf.dlg.SetDismissText("Keep the call")
	c.confirm = conf
	c.showTyped()
	conf.dlg.Show()
}

// answerConfirm answers the question on screen from the keyboard.
func (c *Console) answerConfirm(yes bool) {
	conf := c.confirm
	if conf == nil {
		return
	}
	c.confirm = nil
	conf.dlg.Hide()
	c.showTyped()
	if yes {
		conf.yes()
	}
}
