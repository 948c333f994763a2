package app

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard/switchboard/telephony"
)

// Words for receptionists: the window says what happened and what to do
// in plain words, chosen by the kind of the error (errors.Is on
// telephony's errors, which every telephony.Phone wraps); the phone's
// own words, technical, go to the log only.

// action is something the receptionist asked of the phone, as a failure
// names it ("Could not " + what).
type action struct {
	what   string // "park the call on 706", "call 1234"
	target string // the number or address typed, for a dial or transfer
}

// failure words err, the failure of a, for the window: "Could not park
// the call on 706: the park service is not answering. Keep the call on
// hold and try again in a moment."
func (c *Console) failure(a action, err error) string {
	happened, todo := c.explain(a, err)
	msg := "Could not " + a.what + ": " + happened + "."
	if todo != "" {
		msg += " " + todo + "."
	}
	return msg
}

// explain says what happened and what to do, by the kind of err.
func (c *Console) explain(a action, err error) (happened, todo string) {
	switch {
	case errors.Is(err, telephony.ErrBadTarget):
		if a.target != "" && isNumber(a.target) && c.settings.AccountAOR == "" {
			return "a number needs a PBX account to be called",
				"Set one up in Settings, or type a full SIP address such as sip:" + a.target + "@host"
		}
		return "that is not a phone number or SIP address", "Check it and try again (a SIP address looks like sip:name@host)"
	case errors.Is(err, telephony.ErrNoSuchCall):
		return "the call has ended", ""
	case errors.Is(err, telephony.ErrWrongState):
		return "the call cannot do that right now", "Check its card and try again"
	case errors.Is(err, telephony.ErrBadOrbit):
		if c.lotSize() > 0 {
			return "that orbit is not in the park lot", fmt.Sprintf("Use one from %d to %d", c.first, c.last)
		}
		return "that orbit is not in the park lot", ""
	case errors.Is(err, telephony.ErrParkUnavailable):
		return "the park service is not answering", "Keep the call on hold and try again in a moment"
	case errors.Is(err, telephony.ErrNoParkService):
		return "no park service is set up", "Keep calls on hold, or set one up in Settings"
	case errors.Is(err, context.DeadlineExceeded):
		return "there was no answer in time", "Try again"
	}
	var ne *telephony.NoticeError
	if errors.As(err, &ne) {
		// A park notice the lamp no longer confirms: why, in its words.
		why := ne.Notice.Why()
		if strings.HasPrefix(why, "The ") {
			why = "the " + why[len("The "):]
		}
		return why, ""
	}
	return "something went wrong", "Try again; the log has the details"
}

// actOn runs an action of the receptionist on the phone away from Fyne's
// goroutine. A failure goes to the log as the phone said it and to the
// status bar in plain words; done, when set, is then called on Fyne's
// goroutine with those words ("" on success), for a dialog that stays
// open on a failure.
func (c *Console) actOn(a action, f func(ctx context.Context) error, done func(msg string)) {
	c.spawn(func() {
		ctx, cancel := context.WithTimeout(c.ctx, actionTimeout)
		defer cancel()
		err := f(ctx)
		if c.ctx.Err() != nil {
			return
		}
		if err == nil {
			if done != nil {
				c.do(func() {
					done("")
					c.changed() // what done showed, in the state log at once
				})
			}
			return
		}
		c.log.Warn("could not "+a.what, "error", err)
		c.do(func() {
			msg := c.failure(a, err)
			c.flash(msg)
			if done != nil {
				done(msg)
			}
			c.changed()
		})
	})
}

// ringtoneFailed is the status bar's words when the ringtone cannot
// play (the sound device's error goes to the log).
const ringtoneFailed = "The ringtone could not play: check the ring device in Settings. Calls still show here."

// campOfferWords asks what to do with a caller dropped on a colleague
// whose lamp says busy or ringing.
func campOfferWords(colleague, caller string, ringing bool) string {
	state := "is on a call"
	if ringing {
		state = "has a call ringing"
	}
	return colleague + " " + state + ". Transfer " + caller + " when " + colleague + " is free?"
}

// campWaitWords says who waits for whom, until when; more are waiting
// when n > 1.
func campWaitWords(caller, colleague, until string, n int) string {
	s := caller + " waits on hold for " + colleague + ": transferred when free, back to you at " + until
	if n > 1 {
		s += fmt.Sprintf(" (%d calls waiting)", n)
	}
	return s
}

// campTimeoutWords says a camp-on ran out.
func campTimeoutWords(colleague, caller string) string {
	return colleague + " is still busy: " + caller + " is back with you"
}

// transferFailedWords says why a transfer failed, and that the caller
// is back with the receptionist.
func transferFailedWords(why telephony.TransferFailure, to, caller string) string {
	var happened string
	switch why {
	case telephony.TransferBusy:
		happened = to + " is busy"
	case telephony.TransferNoAnswer:
		happened = to + " did not answer"
	case telephony.TransferNoSuchPerson:
		happened = to + " cannot be reached at that number"
	case telephony.TransferDeclined:
		happened = to + " declined the call"
	case telephony.TransferRefused:
		happened = caller + "'s phone refused the transfer"
	case telephony.TransferNoOutcome:
		happened = caller + "'s phone never said whether the transfer worked"
	default:
		happened = "the transfer to " + to + " failed"
	}
	return "Transfer to " + to + " failed: " + happened + ". " + caller + " is back with you"
}
