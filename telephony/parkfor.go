package telephony

import (
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
}

func (ParkedForYou) event() {}
