package app

import (
	"context"
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/telephony"
)

// Keyboard operation (DESIGN.md, "A receptionist's day"):
//
//	Enter        answer the caller who has waited longest
//	digits Enter retrieve that orbit (Backspace corrects, Esc clears)
//	F1–F12       retrieve the lot's first twelve orbits
//	H            hold the live call, or resume the caller held longest
//	P            park the live call (or, none live, the caller held
//	             longest) on the next free orbit
//	D            dial
//	T            transfer the live call
//	X            decline the caller who has waited longest, after a
//	             confirmation
//	Esc          hang up the live call, after a confirmation (Y confirms,
//	             Esc or N keeps the call; Enter does nothing there)
//
// The keys reach the console when no text field has the keyboard and no
// dialog is open: then Esc closes the dialog and the other keys are off.
const keysHelp = `Enter — answer the caller who has waited longest
Digits then Enter — retrieve that orbit (Backspace corrects, Esc clears)
F1–F12 — retrieve the first twelve orbits of the lot
H — hold the live call, or resume the caller held longest
P — park the live call, or the caller held longest, on the next free orbit
Shift+P — the same, for someone: whom, a note (Enter parks, Esc does not)
D — dial a number; T — transfer the live call
X — decline the caller who has waited longest (asks first)
Esc — hang up the live call (asks first: Y hangs up, N or Esc keeps it)
Esc in a dialog closes it; the keys above wait until it is closed.
Drag a call onto a free orbit to park it (Shift: for someone); tap a lit one to retrieve it.`

// maxDigits is the longest orbit number one can type.
const maxDigits = 6

func (c *Console) showKeys() {
	c.showDialog(dialog.NewCustom("Keyboard", "OK", keysHelpContent(c.people != nil), c.win), nil)
}

// typedRune handles a character typed on the window: digits and the
// letter keys, and Y or N in a confirmation. Behind a dialog it does
// nothing.
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
	if c.modal() {
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
		if shiftPark(r) {
			c.parkNextFreeFor()
		} else {
			c.parkNextFree()
		}
	case r == 'd' || r == 'D':
		c.showDial()
	case r == 't' || r == 'T':
		c.transferLive()
	case r == 'x' || r == 'X':
		c.confirmDecline()
	case r == '/':
		c.focusPeople()
	}
}

// typedKey handles Enter, Esc, Backspace and the F-keys. Behind a dialog
// Esc closes the dialog and the others do nothing; in a confirmation
// Enter does nothing (Esc then Enter, a reflex, must not hang up).
func (c *Console) typedKey(ev *fyne.KeyEvent) {
	defer c.changed()
	if c.confirm != nil {
		if ev.Name == fyne.KeyEscape {
			c.answerConfirm(false)
		}
		return
	}
	if c.modal() {
		if ev.Name == fyne.KeyEscape {
			c.escapeDialog()
		}
		return
	}
	switch ev.Name {
	case fyne.KeyReturn, fyne.KeyEnter:
		if c.digits != "" {
			c.retrieveTyped()
		} else {
			c.answerWaiting()
		}
	case fyne.KeyEscape:
		if c.digits != "" {
			c.digits = ""
			c.showTyped()
		} else {
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
		c.status.setTyped(c.confirm.question + " (Y: yes, N or Esc: no)")
	case c.digits != "":
		c.status.setTyped("Orbit " + c.digits + "▏ Enter retrieves")
	default:
		c.status.setTyped("")
	}
}

// answerWaiting answers the caller who has waited longest.
func (c *Console) answerWaiting() {
	l := c.waiting()
	if l == nil {
		c.flash("No call is ringing")
		return
	}
	c.answer(l.call.ID)
}

// holdOrResume holds the live call, or takes back the caller held
// longest.
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

// parkNextFree parks the live call on the next free orbit, or with none
// live the caller held longest, as a drag of its card would.
func (c *Console) parkNextFree() {
	l := c.live()
	if l == nil {
		l = c.held()
	}
	if l == nil {
		c.flash("No live or held call to park")
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

// parkTarget is the orbit a park of call id that asked for orbit asked
// (a slot dropped on, P's next free one) goes to: asked, or 0 (park-any:
// the PBX picks) on a PBX lot that takes no directed parks or whose
// directed parks are not trusted (Settings.ParkDirected off: Asterisk
// parks a directed park onto a busy slot on another one, silently). A
// park-any is remembered, so that the orbit the call got is told when
// its lamp confirms it (anyParkLanded).
func (c *Console) parkTarget(id telephony.CallID, asked int) int {
	inForce := c.opts.Settings
	if inForce.ParkMode != ParkTemplates || inForce.ParkOrbit != "" && c.settings.ParkDirected {
		return asked
	}
	if c.anyParks == nil {
		c.anyParks = make(map[telephony.CallID]int)
	}
	c.anyParks[id] = asked
	return 0
}

// anyParkLanded tells the receptionist where a park-any of theirs went,
// once the lamp of orbit o confirms it: the caller on o is the one of a
// call parked via park-any (the console names the callers it parks).
// When a slot was dropped on and the PBX chose another, it says so.
func (c *Console) anyParkLanded(o telephony.Orbit) {
	for id, asked := range c.anyParks {
		l := c.lines[id]
		if l == nil {
			delete(c.anyParks, id)
			continue
		}
		if !telephony.SameParty(l.call.RemoteURI, o.CallerURI) {
			continue
		}
		delete(c.anyParks, id)
		msg := fmt.Sprintf("Parked %s on %d", who(l.call.RemoteName, l.call.RemoteURI), o.Number)
		if asked != 0 && asked != o.Number {
			msg += fmt.Sprintf(": the PBX chose it, not %d", asked)
		}
		c.flash(msg)
		return
	}
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
	c.ask("Hang up", q, "Hang up", "Keep the call", func() {
		c.act("hang up", func(ctx context.Context) error { return c.phone.Hangup(ctx, id) })
	})
}

// confirmDecline asks before declining the caller who has waited
// longest.
func (c *Console) confirmDecline() {
	l := c.waiting()
	if l == nil {
		c.flash("No call is ringing")
		return
	}
	id := l.call.ID
	q := "Decline " + who(l.call.RemoteName, l.call.RemoteURI) + "?"
	c.ask("Decline", q, "Decline", "Keep it ringing", func() {
		c.act("decline the call", func(ctx context.Context) error { return c.phone.Reject(ctx, id) })
	})
}

// ask shows a yes/no question about a destructive action; yes runs on a
// yes (Y or the button: never Enter, and the button is not the default).
func (c *Console) ask(title, question, yesText, noText string, yes func()) {
	conf := &confirmation{question: question, yes: yes}
	conf.dlg = dialog.NewConfirm(title, question, func(ok bool) {
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
	conf.dlg.SetConfirmText(yesText)
	conf.dlg.SetDismissText(noText)
	conf.dlg.SetConfirmImportance(widget.DangerImportance)
	c.confirm = conf
	c.showTyped()
	c.showDialog(conf.dlg, func() { c.answerConfirm(false) })
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
