package sip

import "github.com/switchboard/switchboard/telephony"

// ending is why a call ends: the type the window decides by
// (telephony.Call.End) and the words it shows (Call.Reason).
type ending struct {
	why   telephony.EndReason
	words string // empty: why's own words
}

// endAs is an ending of type why, worded words (empty: why's own words).
func endAs(why telephony.EndReason, words string) ending {
	return ending{why: why, words: words}
}

// set reports whether the ending was decided.
func (e ending) set() bool { return e.why != telephony.EndNone }

// text is the ending's words.
func (e ending) text() string {
	if e.words != "" {
		return e.words
	}
	return e.why.String()
}
