package dialoginfo_test

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

// TestParkForAndNote: the park element carries whom the call was parked
// for and the parker's note, escaped, and reads them back unchanged.
func TestParkForAndNote(t *testing.T) {
	want := dialoginfo.Document{
		Version: 1, State: dialoginfo.StateFull, Entity: "sip:705@park.example",
		Dialogs: []dialoginfo.Dialog{{
			ID: "705-1", Direction: dialoginfo.DirectionRecipient, State: dialoginfo.DialogConfirmed,
			Remote: &dialoginfo.Participant{Identity: "sip:+442079460777@example.com", Display: "Eva Novak"},
			Park: &dialoginfo.ParkInfo{Orbit: 705, Parker: "sip:console1@example.com", ParkedAt: parkedAt,
				For: "sip:bob.chen@example.com", Note: `re: "contract" <urgent> & Zoë's call`},
		}},
	}
	b, err := dialoginfo.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{` for="sip:bob.chen@example.com"`, ` note="re: &quot;contract&quot; &lt;urgent&gt; &amp; Zo&#xEB;&apos;s call"`} {
		if !strings.Contains(string(b), part) {
			t.Errorf("document lacks %s:\n%s", part, b)
		}
	}
	got, err := dialoginfo.Unmarshal(b)
	if err != nil {
		t.Fatal(err)
	}
	sameDocument(t, got, want)
}
