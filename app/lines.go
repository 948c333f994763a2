package app

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/calllog"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

func itoa(n int) string { return strconv.Itoa(n) }

// callChanged applies a call's new state to its card, and notes in the
// history what the receptionist will want to look back on.
func (c *Console) callChanged(call telephony.Call) {
	now := c.now()
	l := c.lines[call.ID]
	if l == nil {
		if call.State == telephony.StateEnded {
			return // its card has left already (a parked call that left its orbit)
		}
		l = &line{call: call, firstSeen: c.firstSeen(call, now)}
		l.card = c.newCard(call)
		l.card.Waited, l.card.LongWait = l.firstSeen, longWait
		c.lines[call.ID] = l
		c.order = append(c.order, l)
		c.linesBox.Add(l.card)
		c.linesEmpty.Hide()
		c.linesCol.Refresh()
		l.since = sinceFor(call, now)
		if call.State == telephony.StateRinging {
			c.incoming(call)
		}
	} else if lineState(call) != lineState(l.call) {
		l.since = sinceFor(call, now)
	}
	prev := l.call
	l.call = call

	card := l.card
	card.Name = callName(call)
	card.Number = displayNumber(call.RemoteURI)
	card.Detail = keyedDetail(c.cardDetail(call), call, l.keyed)
	card.MaybeOrbits = nil
	if call.Uncertain() {
		card.MaybeOrbits = call.Candidates.List()
	}
	card.SetState(lineState(call), cardOrbit(call), l.since)
	card.Tick(now)

	c.noteCall(l, prev)
	switch {
	case call.Uncertain():
		// Parked, but which of its candidates is not known: it stays
		// on the lines, where the receptionist sees where it may be.
		l.leaveAt = time.Time{}
	case call.State == telephony.StateEnded, call.State == telephony.StateParkedAway:
		if l.leaveAt.IsZero() {
			l.leaveAt = now.Add(c.opts.Linger)
			if c.opts.Linger < 0 {
				c.removeLine(l)
			}
		}
	default:
		l.leaveAt = time.Time{}
	}
	c.queueChanged()
	c.updateRinging()
	c.noticeCallChanged(call)
}

// dtmfReceived notes a digit the far end keyed on a call and shows it
// on the call's card with the others (the last maxKeyed).
func (c *Console) dtmfReceived(id telephony.CallID, d rune) {
	l := c.lines[id]
	if l == nil {
		return
	}
	l.keyed = append(l.keyed, d)
	if n := len(l.keyed); n > maxKeyed {
		l.keyed = append(l.keyed[:0], l.keyed[n-maxKeyed:]...)
	}
	l.card.Detail = keyedDetail(c.cardDetail(l.call), l.call, l.keyed)
	l.card.Refresh()
}

// sinceFor is when a card's timer starts for the call's state: the ring
// or dial for a call not answered yet, the answer for a live call (the
// call's length), the change itself otherwise (time on hold...).
func sinceFor(call telephony.Call, now time.Time) time.Time {
	switch call.State {
	case telephony.StateRinging, telephony.StateDialing:
		if !call.Started.IsZero() {
			return call.Started
		}
	case telephony.StateActive:
		if !call.Answered.IsZero() {
			return call.Answered
		}
	}
	return now
}

// noteCall notes what the window needs of a call's change beyond its
// card (the history itself follows the calls' events: see seeCall).
func (c *Console) noteCall(l *line, prev telephony.Call) {
	call := l.call
	switch call.State {
	case telephony.StateActive:
		if l.answered {
			if call.RetrievedFrom != 0 && (call.RemoteName != prev.RemoteName || call.RemoteURI != prev.RemoteURI) {
				c.retrieveNamed(call)
			}
			return
		}
		l.answered = true
		if call.RetrievedFrom != 0 {
			delete(c.retrieving, call.RetrievedFrom)
		}
	case telephony.StateParkedAway:
		if l.parked || call.Orbit == 0 {
			return
		}
		l.parked = true
		c.notePark(l, call.Orbit)
	case telephony.StateHeld:
		if prev.State == telephony.StateParking {
			// Only a failed park takes a parking call back on hold.
			c.flash("Park failed: " + reasonText(call))
		}
	case telephony.StateEnded:
		if prev.State != telephony.StateEnded && call.RetrievedFrom != 0 && !l.answered {
			delete(c.retrieving, call.RetrievedFrom)
			c.flash(fmt.Sprintf("Retrieve %d: %s", call.RetrievedFrom, reasonText(call)))
		}
	}
}

// retrieveNamed puts the caller the PBX named after a retrieve was
// answered (Asterisk's re-INVITE with P-Asserted-Identity) in the
// retrieve's history entry: "Retrieved Eva Novak from 701 after 0:42".
func (c *Console) retrieveNamed(call telephony.Call) {
	t := c.book.calls[call.ID]
	if t == nil || !t.logged || t.e.Outcome != calllog.RetrievedHere {
		return
	}
	t.e.Name, t.e.URI = call.RemoteName, call.RemoteURI
	c.write(t)
}

// incoming tells the receptionist about a new call: a desktop
// notification, and the call-waiting beep when a call is live (the
// ringtone itself follows updateRinging).
func (c *Console) incoming(call telephony.Call) {
	title := "Incoming call"
	if call.BackFrom != 0 {
		title = fmt.Sprintf("Back from %d", call.BackFrom)
	}
	text := who(call.RemoteName, call.RemoteURI)
	if num := displayNumber(call.RemoteURI); num != "" && num != text {
		text += " " + num
	}
	c.notifyCall(call.ID, title, text)
	if c.live() != nil && c.opts.Sound != nil {
		c.spawn(func() { c.opts.Sound.Beep() })
	}
}

// updateRinging rings while a call waits and none is live.
func (c *Console) updateRinging() {
	if c.ring == nil {
		return
	}
	c.ring.set(c.waiting() != nil && c.live() == nil)
}

// live returns the live line, or nil.
func (c *Console) live() *line {
	for _, l := range c.order {
		if l.call.State == telephony.StateActive {
			return l
		}
	}
	return nil
}

// waiting returns the ringing call (a ring-back too) whose caller has
// waited longest in all, or nil.
func (c *Console) waiting() *line {
	return c.longest(telephony.StateRinging)
}

// held returns the held call whose caller has waited longest in all, or
// nil.
func (c *Console) held() *line {
	return c.longest(telephony.StateHeld)
}

// longest returns the line in state whose caller came in first, or nil.
func (c *Console) longest(state telephony.CallState) *line {
	var w *line
	for _, l := range c.order {
		if l.call.State == state && l.leaveAt.IsZero() && (w == nil || l.firstSeen.Before(w.firstSeen)) {
			w = l
		}
	}
	return w
}

func (c *Console) removeLine(l *line) {
	if c.lines[l.call.ID] != l {
		return
	}
	c.noticeGone(l.call.ID)
	delete(c.lines, l.call.ID)
	for i, o := range c.order {
		if o == l {
			c.order = append(c.order[:i], c.order[i+1:]...)
			break
		}
	}
	c.linesBox.Remove(l.card)
	if len(c.order) == 0 {
		c.linesEmpty.Show()
	}
	c.linesCol.Refresh()
	c.queueChanged()
	c.updateRinging()
}

// newCard makes the card of a call, wired to the phone and the grid.
func (c *Console) newCard(call telephony.Call) *widgets.LineCard {
	id := call.ID
	card := widgets.NewLineCard(string(id), callName(call), displayNumber(call.RemoteURI), lineState(call), call.Started)
	card.DropTargets = []widgets.DropTarget{c.grid}
	card.OnAnswer = func() { c.answer(id) }
	card.OnHold = func() { c.hold(id) }
	card.OnResume = func() { c.resume(id) }
	card.OnHangUp = func() { c.hangUp(id) }
	card.OnTransfer = func() { c.showTransfer(id) }
	return card
}

func (c *Console) answer(id telephony.CallID) {
	c.act("answer the call", func(ctx context.Context) error { return c.phone.Answer(ctx, id) })
}

func (c *Console) hold(id telephony.CallID) {
	c.act("put the call on hold", func(ctx context.Context) error { return c.phone.Hold(ctx, id) })
}

func (c *Console) resume(id telephony.CallID) {
	c.act("take the call off hold", func(ctx context.Context) error { return c.phone.Resume(ctx, id) })
}

// hangUp hangs up a call, or declines it while it rings.
func (c *Console) hangUp(id telephony.CallID) {
	if l := c.lines[id]; l != nil && l.call.State == telephony.StateRinging {
		c.act("decline the call", func(ctx context.Context) error { return c.phone.Reject(ctx, id) })
		return
	}
	c.act("hang up", func(ctx context.Context) error { return c.phone.Hangup(ctx, id) })
}

// park asks the phone to park a dropped card's call on orbit.
func (c *Console) park(cardID string, orbit int) {
	id := telephony.CallID(cardID)
	if orbit = c.parkTarget(id, orbit); orbit == 0 {
		c.act("park the call", func(ctx context.Context) error { return c.phone.Park(ctx, id, 0) })
		return
	}
	c.act("park the call on "+itoa(orbit), func(ctx context.Context) error { return c.phone.Park(ctx, id, orbit) })
}

// retrieve asks the phone to pick up the call on orbit.
func (c *Console) retrieve(orbit int) {
	if _, busy := c.retrieving[orbit]; busy {
		return // a tap again while the first is under way
	}
	// Remember since when the call was parked, for the history.
	parked := c.now()
	if v := c.orbits[orbit]; v != nil && v.o.Occupied {
		parked = v.since
	}
	c.retrieving[orbit] = parked
	c.act("retrieve the call on "+itoa(orbit), func(ctx context.Context) error {
		_, err := c.phone.Retrieve(ctx, orbit)
		if err != nil {
			c.do(func() { delete(c.retrieving, orbit) })
		}
		return err
	})
}

// callBack dials a caller from the history.
func (c *Console) callBack(uri string) {
	c.actOn(action{what: "call back " + displayNumber(uri), target: uri}, func(ctx context.Context) error {
		_, err := c.phone.Dial(ctx, uri)
		return err
	}, nil)
}

// transferLive asks where to transfer the live call (T).
func (c *Console) transferLive() {
	l := c.live()
	if l == nil {
		c.flash("No live call to transfer")
		return
	}
	c.showTransfer(l.call.ID)
}

// showTransfer asks where to transfer a call, then transfers it blind.
// Esc closes the dialog; a failure keeps it open with what was typed and
// says why.
func (c *Console) showTransfer(id telephony.CallID) {
	l := c.lines[id]
	if l == nil {
		return
	}
	var d *dialog.CustomDialog
	target := newEscEntry()
	target.SetPlaceHolder("number or sip:user@host")
	failed := failureLabel()
	transfer := func() {
		t := strings.TrimSpace(target.Text)
		if t == "" {
			return
		}
		failed.Hide()
		a := action{what: "transfer the call to " + t, target: t}
		c.actOn(a, func(ctx context.Context) error { return c.phone.BlindTransfer(ctx, id, t) }, func(msg string) {
			if msg == "" {
				d.Hide()
				return
			}
			failed.SetText(msg)
			failed.Show()
		})
	}
	target.OnSubmitted = func(string) { transfer() }
	cancel := widget.NewButton("Cancel", func() { d.Hide() })
	ok := widget.NewButtonWithIcon("Transfer", theme.MailForwardIcon(), transfer)
	ok.Importance = widget.HighImportance
	form := widget.NewForm(widget.NewFormItem("Transfer to", target))
	d = dialog.NewCustomWithoutButtons("Transfer "+who(l.call.RemoteName, l.call.RemoteURI),
		container.NewVBox(form, failed), c.win)
	d.SetButtons([]fyne.CanvasObject{cancel, ok})
	target.onEsc = d.Hide
	d.Resize(fyne.NewSize(420, d.MinSize().Height))
	c.showDialog(d, nil)
	c.win.Canvas().Focus(target)
}

// showDial asks for a number (on a dial pad) or a SIP address and calls
// it. Esc closes the dialog; a failure keeps it open with what was typed
// and says why.
func (c *Console) showDial() {
	var d *dialog.CustomDialog
	failed := failureLabel()
	dial := func(target string) {
		t := strings.TrimSpace(target)
		if t == "" {
			return
		}
		failed.Hide()
		a := action{what: "call " + t, target: t}
		c.actOn(a, func(ctx context.Context) error {
			_, err := c.phone.Dial(ctx, t)
			return err
		}, func(msg string) {
			if msg == "" {
				d.Hide()
				return
			}
			failed.SetText(msg)
			failed.Show()
		})
	}
	pad := widgets.NewDialPad(dial)
	pad.ActionText = "Call"
	pad.Placeholder = "Number"
	addr := newEscEntry()
	addr.SetPlaceHolder("or a SIP address: sip:user@host")
	addr.OnSubmitted = dial
	d = dialog.NewCustom("Dial", "Close", container.NewVBox(pad, addr, failed), c.win)
	pad.OnCancel = d.Hide
	addr.onEsc = d.Hide
	c.showDialog(d, nil)
	c.win.Canvas().Focus(pad)
}

// failureLabel is a dialog's line for why its action failed, hidden
// until then.
func failureLabel() *widget.Label {
	l := widget.NewLabel("")
	l.Wrapping = fyne.TextWrapWord
	l.Importance = widget.DangerImportance
	l.Hide()
	return l
}
