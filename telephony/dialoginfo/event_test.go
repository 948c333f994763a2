package dialoginfo_test

import (
	"testing"

	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

// TestEventType: the package name of an Event header value, without its
// parameters or white space, in the case it was written.
func TestEventType(t *testing.T) {
	for in, want := range map[string]string{
		"dialog":              "dialog",
		"dialog;id=7":         "dialog",
		"dialog ;id=7":        "dialog",
		" \tdialog\t; id=7":   "dialog",
		"refer;id=42":         "refer",
		"Dialog":              "Dialog",
		"presence.winfo;a=b":  "presence.winfo",
		"":                    "",
		";id=1":               "",
		"dialog extra tokens": "dialog",
	} {
		if got := dialoginfo.EventType(in); got != want {
			t.Errorf("EventType(%q) = %q, want %q", in, got, want)
		}
	}
}
