package telephony

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// MaxParkNote is the longest note a park may carry, in characters
// (PARK-PROTOCOL.md).
const MaxParkNote = 140

// ParkFor says whom a park is for (Phone.ParkFor). The zero value parks
// for nobody: a plain Park.
type ParkFor struct {
	// For is the colleague's address of record, e.g. sip:bob@pbx; empty:
	// nobody.
	For string
	// Name is the colleague's name ("Bob Chen"), for the console's own
	// words; optional.
	Name string
	// Note is the receptionist's note, at most MaxParkNote characters
	// without control characters; optional.
	Note string
}

// Nobody reports whether f names neither a colleague nor a note.
func (f ParkFor) Nobody() bool { return f.For == "" && f.Note == "" }

// CleanNote returns s as a park note: control characters become spaces,
// runs of spaces one, trimmed and cut to MaxParkNote characters.
func CleanNote(s string) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if utf8.RuneCountInString(s) > MaxParkNote {
		s = string([]rune(s)[:MaxParkNote])
	}
	return s
}

// ParkedForYou reports that another console parked a call for this
// console's user and told them so (a SIP MESSAGE, PARK-PROTOCOL.md "Park
// for someone"): the window offers to retrieve it.
type ParkedForYou struct {
	// Orbit is the orbit the call waits on.
	Orbit int
	// CallerName and CallerURI are the parked caller.
	CallerName, CallerURI string
	// From is who parked it (the sender's address of record), FromName
	// their display name.
	From, FromName string
	// Note is the parker's note; Text the message as a person reads it.
	Note, Text string
	// Token is the park's token, for a safe retrieve; may be empty.
	Token string
	// At is when the message came.
	At time.Time
	// Check is what the park service's own lamp says of the notice: the
	// window offers Retrieve only when it is NoticeConfirmed. Anyone may
	// send a MESSAGE; the lamp is the proof (CheckNotice).
	Check NoticeCheck
	// Left is how the call left its orbit, for NoticeGone.
	Left ParkOutcome
	// Recheck is true when the phone reported this notice before (same
	// Orbit and At) and reports it again because the orbit's lamp now
	// says otherwise (a genuine notice that came before the lamp, a call
	// that left while its notice was open).
	Recheck bool
}

func (ParkedForYou) event() {}

// NoticeCheck is what the orbit's lamp, the park service's own word
// through the console's subscription, says of a park notice.
type NoticeCheck uint8

// What the lamp says of a park notice. The zero value is the one that
// offers nothing.
const (
	// NoticeUnconfirmed: the lamp does not show the call: its state is
	// unknown, it names no caller (a PBX lot's anonymous lamp), or it has
	// not lit yet.
	NoticeUnconfirmed NoticeCheck = iota
	// NoticeConfirmed: the lamp shows the notice's caller parked on the
	// orbit and, where the park service keeps whom a call is for (a
	// Switchboard lot), parked for this console's user.
	NoticeConfirmed
	// NoticeGone: the orbit is free and its last call was the notice's:
	// ParkedForYou.Left says how it left.
	NoticeGone
	// NoticeOtherCaller: the orbit holds another caller.
	NoticeOtherCaller
	// NoticeNotForYou: the lamp says the call is for somebody else, or
	// for nobody.
	NoticeNotForYou
)

var noticeCheckNames = [...]string{
	NoticeUnconfirmed: "unconfirmed",
	NoticeConfirmed:   "confirmed",
	NoticeGone:        "gone",
	NoticeOtherCaller: "other caller",
	NoticeNotForYou:   "not for you",
}

// String names the check ("confirmed", "gone").
func (c NoticeCheck) String() string {
	if int(c) < len(noticeCheckNames) {
		return noticeCheckNames[c]
	}
	return fmt.Sprintf("notice(%d)", c)
}

// CheckNotice checks park notice n against o, its orbit as this
// console's lamp shows it: me is this console's address of record, and
// lampsSayFor is true when the lot's lamps say whom a call is for
// (Switchboard's park service; a PBX's lamps never do). It returns the
// check and, for NoticeGone, how the call left.
func CheckNotice(n ParkedForYou, o Orbit, me string, lampsSayFor bool) (NoticeCheck, ParkOutcome) {
	if o.Number != n.Orbit || o.Lamp != LampKnown || n.CallerURI == "" {
		return NoticeUnconfirmed, LeftUnknown
	}
	same := o.CallerURI != "" && SameParty(o.CallerURI, n.CallerURI)
	switch {
	case !o.Occupied && same:
		return NoticeGone, o.Left
	case !o.Occupied, o.CallerURI == "":
		return NoticeUnconfirmed, LeftUnknown // not lit yet, or anonymous
	case !same:
		return NoticeOtherCaller, LeftUnknown
	case lampsSayFor && (o.For == "" || !SameParty(o.For, me)):
		return NoticeNotForYou, LeftUnknown
	}
	return NoticeConfirmed, LeftUnknown
}

// NoticeError is RetrieveParked's error for a notice its orbit's lamp
// does not confirm now: it wraps ErrNoticeNotConfirmed, and Notice (with
// the check made then) says why in plain words (Why).
type NoticeError struct {
	Notice ParkedForYou
}

// Error is ErrNoticeNotConfirmed's text and the notice's Why.
func (e *NoticeError) Error() string { return ErrNoticeNotConfirmed.Error() + ": " + e.Notice.Why() }

// Unwrap returns ErrNoticeNotConfirmed.
func (e *NoticeError) Unwrap() error { return ErrNoticeNotConfirmed }

// Why words plainly why n offers no Retrieve ("Eva Novak was already
// picked up from 705"); empty when it is confirmed.
func (n ParkedForYou) Why() string {
	who, whoMid := n.CallerName, n.CallerName
	if who == "" {
		who, whoMid = "The caller", "the caller"
	}
	orbit := strconv.Itoa(n.Orbit)
	switch n.Check {
	case NoticeConfirmed:
		return ""
	case NoticeGone:
		switch n.Left {
		case LeftRetrieved, LeftRingBack, LeftFallback:
			return who + " was already picked up from " + orbit
		case LeftGaveUp:
			return who + " hung up on " + orbit + " before anyone picked up"
		case LeftLost, LeftServiceStopped:
			return who + "'s call on " + orbit + " was lost"
		}
		return who + " is no longer on " + orbit
	case NoticeOtherCaller:
		return who + " is not on " + orbit + ": another call is parked there"
	case NoticeNotForYou:
		return "The park service does not say the call on " + orbit + " is for you"
	}
	return "The park service does not show " + whoMid + " on " + orbit + ": dial " + orbit + " to pick up"
}
