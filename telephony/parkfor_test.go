package telephony

import "testing"

// TestCheckNotice: what an orbit's lamp says of a park notice, and the
// words a window shows for each check.
func TestCheckNotice(t *testing.T) {
	const me, eva = "sip:bob@pbx.example", "sip:+442079460777@pbx.example"
	n := ParkedForYou{Orbit: 705, CallerName: "Eva Novak", CallerURI: eva}
	lit := Orbit{Number: 705, Occupied: true, CallerName: "Eva Novak", CallerURI: eva + ";user=phone", For: "sip:bob@pbx.example:5060"}
	cases := []struct {
		name        string
		o           Orbit
		lampsSayFor bool
		check       NoticeCheck
		left        ParkOutcome
		why         string
	}{
		{"lit for me", lit, true, NoticeConfirmed, LeftUnknown, ""},
		{"a PBX lamp naming the caller", Orbit{Number: 705, Occupied: true, CallerURI: eva}, false, NoticeConfirmed, LeftUnknown, ""},
		{"lit for another", Orbit{Number: 705, Occupied: true, CallerURI: eva, For: "sip:ann@pbx.example"}, true, NoticeNotForYou, LeftUnknown,
			"The park service does not say the call on 705 is for you"},
		{"lit for nobody", Orbit{Number: 705, Occupied: true, CallerURI: eva}, true, NoticeNotForYou, LeftUnknown,
			"The park service does not say the call on 705 is for you"},
		{"another caller", Orbit{Number: 705, Occupied: true, CallerURI: "sip:dan@pbx.example", For: me}, true, NoticeOtherCaller, LeftUnknown,
			"Eva Novak is not on 705: another call is parked there"},
		{"retrieved", Orbit{Number: 705, CallerURI: eva, Left: LeftRetrieved}, true, NoticeGone, LeftRetrieved,
			"Eva Novak was already picked up from 705"},
		{"answered ring-back", Orbit{Number: 705, CallerURI: eva, Left: LeftRingBack}, true, NoticeGone, LeftRingBack,
			"Eva Novak was already picked up from 705"},
		{"gave up", Orbit{Number: 705, CallerURI: eva, Left: LeftGaveUp}, true, NoticeGone, LeftGaveUp,
			"Eva Novak hung up on 705 before anyone picked up"},
		{"free, not lit yet", Orbit{Number: 705}, true, NoticeUnconfirmed, LeftUnknown,
			"The park service does not show Eva Novak on 705: dial 705 to pick up"},
		{"anonymous lamp", Orbit{Number: 705, Occupied: true}, false, NoticeUnconfirmed, LeftUnknown,
			"The park service does not show Eva Novak on 705: dial 705 to pick up"},
		{"lamp failed", Orbit{Number: 705, Occupied: true, CallerURI: eva, For: me, Lamp: LampFault(1)}, true, NoticeUnconfirmed, LeftUnknown,
			"The park service does not show Eva Novak on 705: dial 705 to pick up"},
		{"another orbit", Orbit{Number: 706, Occupied: true, CallerURI: eva, For: me}, true, NoticeUnconfirmed, LeftUnknown,
			"The park service does not show Eva Novak on 705: dial 705 to pick up"},
	}
	for _, tc := range cases {
		check, left := CheckNotice(n, tc.o, me, tc.lampsSayFor)
		if check != tc.check || left != tc.left {
			t.Errorf("%s: %s, %s; want %s, %s", tc.name, check, left, tc.check, tc.left)
		}
		m := n
		m.Check, m.Left = check, left
		if got := m.Why(); got != tc.why {
			t.Errorf("%s: why %q, want %q", tc.name, got, tc.why)
		}
	}
	if check, _ := CheckNotice(ParkedForYou{Orbit: 705}, lit, me, true); check != NoticeUnconfirmed {
		t.Errorf("a notice naming no caller: %s, want unconfirmed", check)
	}
}
