package telephony_test

import (
	"testing"

	"github.com/switchboard/switchboard/telephony"
)

// TestSameParty: one user (or none) at one host, whatever the form the
// address takes; an address of nobody matches nothing.
func TestSameParty(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"sip:bob@pbx", "sip:bob@pbx", true},
		{"sip:bob@pbx:5060", "sip:bob@pbx:5070", true},
		{"sip:bob@pbx", "sips:bob@pbx", true},
		{"sip:bob@PBX.example", "sip:bob@pbx.example", true},
		{`"Bob Smith" <sip:bob@pbx:5060>;tag=1`, "sip:bob@pbx", true},
		{"<sip:bob@pbx;transport=tcp>", "sip:bob@pbx?Subject=x", true},
		{"sip:bob:secret@pbx", "sip:bob@pbx", true},
		{"sip:%62ob@pbx", "sip:bob@pbx", true},
		{"sip:reception@[::1]:5060", "sip:reception@[::1]:5070", true},
		{" sip:bob@pbx ", "sip:bob@pbx", true},
		{"sip:0::@0", "sip:0:@0", true}, // sipgo prints the one as the other
		{"sip:Bob@pbx", "sip:bob@pbx", false},
		{"sip:bob@pbx", "sip:alice@pbx", false},
		{"sip:bob@pbx", "sip:bob@other", false},
		{"sip:reception@[::1]", "sip:reception@[::2]", false},
		{"sip:bob;x=1@pbx", "sip:bob@pbx", false}, // ';' in a user part is the user's
		{"sip:pbx", "sip:pbx", true},
		{"<sip:pbx:5060;lr>", "sips:PBX", true},
		{"sip:@pbx", "sip:pbx", true},
		{"bob@pbx", "sip:bob@pbx", true},
		{"sip:pbx", "sip:bob@pbx", false},
		{"sip:bob@", "sip:bob@", false},
		{"sip:", "sip:", false},
		{"<>", "<>", false},
		{"pbx", "pbx", false},
		{"", "", false},
		{"", "sip:bob@pbx", false},
		{"tel:+15551234", "tel:+15551234", false},
	} {
		if got := telephony.SameParty(tc.a, tc.b); got != tc.want {
			t.Errorf("SameParty(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
		if got := telephony.SameParty(tc.b, tc.a); got != tc.want {
			t.Errorf("SameParty(%q, %q) = %v, want %v", tc.b, tc.a, got, tc.want)
		}
	}
}
