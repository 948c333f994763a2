package app

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// This file turns telephony snapshots into what the widgets show. Its
// functions are pure: no Fyne state, no clock but the one given.

// lineState is the card state of a call.
func lineState(c telephony.Call) widgets.LineState {
	switch c.State {
	case telephony.StateRinging:
		if c.BackFrom != 0 {
			return widgets.LineBack
		}
		return widgets.LineRinging
	case telephony.StateDialing:
		return widgets.LineDialing
	case telephony.StateActive:
		return widgets.LineActive
	case telephony.StateHeld:
		return widgets.LineHeld
	case telephony.StateParking:
		return widgets.LineParking
	case telephony.StateParkedAway:
		return widgets.LineParked
	}
	return widgets.LineEnded
}

// cardOrbit is the orbit a card names: the one it parks on, is parked
// on, or rings back from.
func cardOrbit(c telephony.Call) int {
	switch c.State {
	case telephony.StateParking, telephony.StateParkedAway:
		return c.Orbit
	case telephony.StateRinging:
		return c.BackFrom
	}
	return 0
}

// cardDetail is the small print under a card's number.
func cardDetail(c telephony.Call) string {
	switch {
	case c.State == telephony.StateDialing && c.RetrievedFrom != 0:
		return fmt.Sprintf("retrieving from orbit %d", c.RetrievedFrom)
	case c.Reason != "" || c.State == telephony.StateEnded:
		return reasonText(c)
	case c.RemoteHold && (c.State == telephony.StateActive || c.State == telephony.StateHeld):
		return "the caller put you on hold"
	case c.Relayed && c.State == telephony.StateParkedAway:
		return "parked (relayed by this console)"
	case c.RetrievedFrom != 0 && c.State == telephony.StateActive:
		return fmt.Sprintf("retrieved from orbit %d", c.RetrievedFrom)
	}
	return ""
}

// maxKeyed is how many of the last digits the far end keyed a card
// shows.
const maxKeyed = 16

// keyedDetail is a card's small print with the digits the far end keyed
// on the call ("keyed 1 5 #", after the other small print): while the
// call is live or held, where the receptionist reads what a caller
// keyed (an extension, a menu choice).
func keyedDetail(detail string, c telephony.Call, keyed []rune) string {
	if len(keyed) == 0 || (c.State != telephony.StateActive && c.State != telephony.StateHeld) {
		return detail
	}
	keyed = keyed[max(0, len(keyed)-maxKeyed):]
	var b strings.Builder
	b.WriteString("keyed")
	for _, d := range keyed {
		b.WriteByte(' ')
		b.WriteRune(d)
	}
	if detail == "" {
		return b.String()
	}
	return detail + ", " + b.String()
}

// reasonText is what a card or message says about why a call is in its
// state: the phone's words, or the end's own when it has none.
func reasonText(c telephony.Call) string {
	if c.Reason != "" {
		return c.Reason
	}
	return c.End.String()
}

// callName is the caller's name as a card headline shows it; for a
// retrieve whose caller is not named (yet), the orbit ("Orbit 705").
func callName(c telephony.Call) string {
	name := strings.TrimSpace(c.RemoteName)
	if name == "" && c.RetrievedFrom != 0 {
		return "Orbit " + strconv.Itoa(c.RetrievedFrom)
	}
	return name
}

// who names the far end of a call for the history: "Alice Martin" or
// the number when there is no name.
func who(name, uri string) string {
	if n := strings.TrimSpace(name); n != "" {
		return n
	}
	if num := displayNumber(uri); num != "" {
		return num
	}
	return "unknown caller"
}

// displayNumber shows a SIP URI the way a receptionist reads it: the
// number alone when the user part is one ("+442079460018"), else
// user@host; a bare number stays as it is.
func displayNumber(uri string) string {
	s := strings.TrimSpace(uri)
	for _, scheme := range []string{"sip:", "sips:", "tel:"} {
		s = strings.TrimPrefix(s, scheme)
	}
	if i := strings.IndexAny(s, ";?>"); i >= 0 {
		s = s[:i]
	}
	user, host, hasHost := strings.Cut(s, "@")
	if u, err := url.PathUnescape(user); err == nil {
		user = u
	}
	if isNumber(user) || !hasHost {
		return user
	}
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
		host = h
	}
	if user == "" {
		return host
	}
	return user + "@" + host
}

// isNumber reports whether s is a dialable number: digits, maybe a
// leading + and the odd *, # or separator.
func isNumber(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == '*', r == '#', r == '-', r == ' ', r == '.':
		default:
			return false
		}
	}
	return digits > 0
}

// slotView is what a slot shows for an orbit; me is this console's
// address. A call the park service rings back names whom it rings in
// place of the parker ("you", "reception1").
func slotView(o telephony.Orbit, me string) (state widgets.SlotState, caller, parker string) {
	if !o.Occupied {
		return widgets.SlotFree, "", ""
	}
	caller = who(o.CallerName, o.CallerURI)
	if o.CallerName == "" && o.CallerURI == "" {
		caller = "" // Asterisk's lamps name nobody
	}
	switch {
	case o.RingingBack != "":
		return widgets.SlotRingingBack, caller, rung(o, me)
	case o.ParkedByMe:
		return widgets.SlotMine, caller, ""
	}
	return widgets.SlotOccupied, caller, shortParty(o.Parker)
}

// slotSince is when the timer of an occupied orbit's slot starts: the
// ring-back while there is one, else the call's return from an
// unanswered ring-back (the park time runs again from there), else
// parked, when the park service parked it.
func slotSince(o telephony.Orbit, parked time.Time) time.Time {
	switch {
	case o.RingingBack != "" && !o.RingingBackSince.IsZero():
		return o.RingingBackSince
	case o.RingingBack == "" && !o.ReturnedAt.IsZero():
		return o.ReturnedAt
	}
	return parked
}

// rung names whom a ring-back rings: "you" when it rings this console
// (me, or the parker of a call parked here), else the user part of its
// address ("reception1").
func rung(o telephony.Orbit, me string) string {
	if o.ParkedByMe && o.RingingBack == o.Parker || telephony.SameParty(o.RingingBack, me) {
		return "you"
	}
	return shortParty(o.RingingBack)
}

// shortParty names a console by its URI's user part ("reception2").
func shortParty(uri string) string {
	if uri == "" {
		return ""
	}
	s := strings.Trim(strings.TrimSpace(uri), "<>")
	for _, scheme := range []string{"sip:", "sips:"} {
		s = strings.TrimPrefix(s, scheme)
	}
	user, _, _ := strings.Cut(s, "@")
	if u, err := url.PathUnescape(user); err == nil && u != "" {
		return u
	}
	return s
}

// orbitNumber parses typed digits as an orbit of the lot.
func orbitNumber(digits string, first, last int) (int, bool) {
	n, err := strconv.Atoi(digits)
	if err != nil || n < first || n > last {
		return 0, false
	}
	return n, true
}
