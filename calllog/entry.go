// Package calllog is the console's persistent call log: every call the
// receptionist saw, with its direction, parties, times and typed outcome,
// kept in a SQLite file (the pure-Go driver modernc.org/sqlite, WAL mode)
// for a retention period. Writes go through one owned writer goroutine
// with a bounded queue, so the window never waits on the disk; reads
// (Recent, Search) may come from any goroutine. The package knows nothing
// of Fyne or SIP.
package calllog

import (
	"fmt"
	"strings"
	"time"
	"unicode"

	"golang.org/x/text/runes"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Direction says who placed a call.
type Direction uint8

// Directions of a call.
const (
	Inbound Direction = iota
	Outbound
)

// String returns "inbound" or "outbound".
func (d Direction) String() string {
	if d == Outbound {
		return "outbound"
	}
	return "inbound"
}

// Outcome is what became of a call, as far as this console knows. A
// parked call's outcome moves on when it leaves its orbit (Parked, then
// GaveUp or RetrievedBy...).
type Outcome uint8

// Outcomes of a call.
const (
	Ongoing       Outcome = iota // nothing to say yet
	Answered                     // an inbound call answered here
	Called                       // an outbound call answered by the far end
	NotAnswered                  // an outbound call the far end did not take (busy, no answer...)
	Missed                       // the caller hung up before anyone answered
	Declined                     // the receptionist declined the ringing call
	Parked                       // parked on Orbit by this console
	Returned                     // back on Orbit after a ring-back nobody answered
	RetrievedHere                // this console retrieved it from Orbit
	RetrievedBy                  // Party retrieved it from Orbit
	AnsweredBy                   // Party answered its ring-back from Orbit
	GaveUp                       // the caller hung up while parked on Orbit
	Fallback                     // its ring-back went to the fallback (Party)
	Lost                         // its phone stopped answering while parked on Orbit
	LeftOrbit                    // it left Orbit; the park service did not say how
	RangBack                     // the park service rang it back from Orbit, nobody answered, it went back to the orbit
	Transferred                  // transferred to Party
	LostInRestart                // parked on Orbit, it did not survive a restart of the park service
)

var outcomeNames = [...]string{
	Ongoing: "ongoing", Answered: "answered", Called: "called", NotAnswered: "not answered",
	Missed: "missed", Declined: "declined", Parked: "parked", Returned: "returned",
	RetrievedHere: "retrieved here", RetrievedBy: "retrieved by", AnsweredBy: "answered by",
	GaveUp: "gave up", Fallback: "fallback", Lost: "lost", LeftOrbit: "left orbit",
	RangBack: "rang back", Transferred: "transferred", LostInRestart: "lost in restart",
}

// String names the outcome ("gave up").
func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return fmt.Sprintf("outcome(%d)", o)
}

// NeedsCallBack reports whether an entry with this outcome asks the
// receptionist to call the caller back until it is handled.
func (o Outcome) NeedsCallBack() bool { return o == Missed || o == GaveUp || o == LostInRestart }

// Entry is one call in the log.
type Entry struct {
	// ID identifies the entry; Log.Add assigns it.
	ID        int64
	Direction Direction
	// Name and URI are the far end: the caller, or whom we called.
	Name string
	URI  string
	// Started is when the call began to ring or be dialled; Answered
	// when it was answered (zero if never); Ended when this console's
	// leg of it ended (zero while up).
	Started  time.Time
	Answered time.Time
	Ended    time.Time
	Outcome  Outcome
	// Orbit is the orbit of a park outcome, or of a ring-back.
	Orbit int
	// BackFrom is the orbit an inbound ring-back came from.
	BackFrom int
	// Party is who retrieved, answered or took the call (a SIP URI),
	// for RetrievedBy, AnsweredBy, Fallback and Transferred.
	Party string
	// ParkedAt is since when the call was parked, for the outcomes that
	// say how long it waited on its orbit.
	ParkedAt time.Time
	// OutcomeAt is when Outcome happened.
	OutcomeAt time.Time
	// Handled is set once the receptionist called back a Missed or
	// GaveUp entry.
	Handled bool
}

// fold is s in lower case without diacritics ("Díaz" -> "diaz"), for
// searches.
func fold(s string) string {
	t := transform.Chain(norm.NFD, runes.Remove(runes.In(unicode.Mn)), norm.NFC)
	out, _, err := transform.String(t, s)
	if err != nil {
		out = s
	}
	return strings.ToLower(out)
}

// digits keeps the digits of s ("+44 20 7946-0018" -> "442079460018").
func digits(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// userPart is the user of a SIP URI ("sip:+1555@host;x" -> "+1555"), or
// the URI without its scheme when it names none.
func userPart(uri string) string {
	s := uri
	if i := strings.IndexByte(s, ':'); i >= 0 && !strings.Contains(s[:i], "@") {
		s = s[i+1:]
	}
	if i := strings.IndexByte(s, '@'); i >= 0 {
		return s[:i]
	}
	if i := strings.IndexAny(s, ";:?"); i >= 0 {
		return s[:i]
	}
	return s
}

// PartyKey is the key under which a far end's entries are found for a
// call back: the URI's user part, lower case ("sip:+1555@pbx:5060" ->
// "+1555"); the whole URI without parameters when it has no user.
func PartyKey(uri string) string {
	return strings.ToLower(userPart(uri))
}

// searchText is what a search looks into for e: names and addresses,
// folded.
func searchText(e Entry) string {
	return fold(e.Name + "\n" + e.URI + "\n" + e.Party)
}

// searchDigits is the digits of e's numbers.
func searchDigits(e Entry) string {
	return digits(userPart(e.URI)) + "\n" + digits(userPart(e.Party))
}

// Matches reports whether Search(q) would find e: for the entries a
// window holds before they are written.
func Matches(e Entry, q string) bool {
	q = strings.TrimSpace(q)
	if q == "" {
		return true
	}
	if strings.Contains(searchText(e), fold(q)) {
		return true
	}
	d := digits(q)
	return d != "" && strings.Trim(q, "0123456789 +-.()") == "" && strings.Contains(searchDigits(e), d)
}
