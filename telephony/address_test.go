package telephony_test

import (
	"testing"

	"github.com/switchboard/switchboard/telephony"
)

// TestSameParty: one user (or none) at one host, whatever the form the
// address takes; an address of nobody matches nothing.
func TestSameParty(t *testing.T) {
	same := [][2]string{
		{"sip:bob@pbx", "sip:bob@pbx"},
		{"sip:bob@pbx:5060", "sip:bob@pbx:5070"},
		{"sip:bob@pbx", "sips:bob@pbx"},
		{"sip:bob@PBX.example", "sip:bob@pbx.example"},
		{`"Bob Smith" <sip:bob@pbx:5060>;tag=1`, "sip:bob@pbx"},
		{"<sip:bob@pbx;transport=tcp>", "sip:bob@pbx?Subject=x"},
		{"sip:bob:secret@pbx", "sip:bob@pbx"},
		{"sip:%62ob@pbx", "sip:bob@pbx"},
		{"sip:reception@[::1]:5060", "sip:reception@[::1]:5070"},
		{" sip:bob@pbx ", "sip:bob@pbx"},
		{"sip:0::@0", "sip:0:@0"}, // sipgo prints the one as the other
		{"sip:pbx", "sip:pbx"},
		{"<sip:pbx:5060;lr>", "sips:PBX"},
		{"sip:@pbx", "sip:pbx"},
		{"bob@pbx", "sip:bob@pbx"},
	}
	different := [][2]string{
		{"sip:Bob@pbx", "sip:bob@pbx"},
		{"sip:bob@pbx", "sip:alice@pbx"},
		{"sip:bob@pbx", "sip:bob@other"},
		{"sip:reception@[::1]", "sip:reception@[::2]"},
		{"sip:bob;x=1@pbx", "sip:bob@pbx"}, // ';' in a user part is the user's
		{"sip:pbx", "sip:bob@pbx"},
		{"sip:bob@", "sip:bob@"},
		{"sip:", "sip:"},
		{"<>", "<>"},
		{"pbx", "pbx"},
		{"", ""},
		{"", "sip:bob@pbx"},
		{"tel:+15551234", "tel:+15551234"},
	}
	check := func(pairs [][2]string, want bool) {
		for _, p := range pairs {
			if telephony.SameParty(p[0], p[1]) != want || telephony.SameParty(p[1], p[0]) != want {
				t.Errorf("SameParty(%q, %q) is not %v both ways", p[0], p[1], want)
			}
		}
	}
	check(same, true)
	check(different, false)
}
