package sip_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// lampSubOf is the console's (only) subscription to slot at the PBX.
func (x *asterisk) lampSubOf(t testing.TB, slot int) lampSub {
	t.Helper()
	x.mu.Lock()
	defer x.mu.Unlock()
	if len(x.subs[slot]) == 0 {
		t.Fatalf("asterisk: nobody watches %d", slot)
	}
	return *x.subs[slot][len(x.subs[slot])-1]
}

// forgedNotify is a lamp NOTIFY in the dialog of s that says the slot is
// occupied, as a stranger at from would send it, with its own Contact.
func forgedNotify(s lampSub, from *net.UDPAddr, version int) []byte {
	return lampNotify(s, from, "sip:evil@"+from.String(), s.cseq+100, version, "confirmed")
}

// lampNotify is a lamp NOTIFY in the dialog of s, sent from from with
// contact as its Contact, numbered cseq, whose full document of the
// given version says the slot's dialog is in state.
func lampNotify(s lampSub, from *net.UDPAddr, contact string, cseq uint32, version int, state string) []byte {
	host := from.IP.String()
	body := fmt.Sprintf(`<?xml version="1.0"?>
<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="%d" state="full" entity="sip:%d@%s">
<dialog id="%d"><state>%s</state></dialog>
</dialog-info>
`, version, s.slot, host, s.slot, state)
	var b strings.Builder
	fmt.Fprintf(&b, "NOTIFY %s SIP/2.0\r\n", s.target.String())
	fmt.Fprintf(&b, "Via: SIP/2.0/UDP %s;branch=z9hG4bK%s;rport\r\n", from.String(), sip.GenerateTagN(12))
	fmt.Fprintf(&b, "From: <sip:%d@%s>;tag=%s\r\n", s.slot, host, s.toTag)
	fmt.Fprintf(&b, "To: <%s>;tag=%s\r\n", s.from.String(), s.fromTag)
	fmt.Fprintf(&b, "Call-ID: %s\r\n", s.callID)
	fmt.Fprintf(&b, "CSeq: %d NOTIFY\r\n", cseq)
	fmt.Fprintf(&b, "Max-Forwards: 70\r\n")
	fmt.Fprintf(&b, "Contact: <%s>\r\n", contact)
	fmt.Fprintf(&b, "Event: dialog\r\nSubscription-State: active;expires=600\r\n")
	fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Length: %d\r\n\r\n%s", dialoginfo.ContentType, len(body), body)
	return []byte(b.String())
}

// TestLampIgnoresNotifyFromStranger: a NOTIFY that carries a lamp
// subscription's identifiers but does not come from the PBX (any host
// can send one over UDP) is refused and changes nothing: the orbit stays
// free and the subscription keeps working with the real PBX.
func TestLampIgnoresNotifyFromStranger(t *testing.T) {
	x := startAsterisk(t, 701, 702)
	a := newConsole(t, "desk", 1000, x.templates("87{orbit}"))
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	a.waitOrbit(t, 701, "free at first", func(o telephony.Orbit) bool { return !o.Occupied })

	stranger, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Skipf("no second loopback address: %v", err)
	}
	defer stranger.Close()
	console := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: int(a.Addr("udp").Port())}
	if _, err := stranger.WriteToUDP(forgedNotify(x.lampSubOf(t, 701), stranger.LocalAddr().(*net.UDPAddr), 1<<31), console); err != nil {
		t.Fatal(err)
	}
	_ = stranger.SetReadDeadline(time.Now().Add(waitFor))
	buf := make([]byte, 4096)
	n, _, err := stranger.ReadFromUDP(buf)
	if err != nil {
		t.Fatalf("no answer to the forged NOTIFY: %v", err)
	}
	if res := string(buf[:n]); !strings.HasPrefix(res, "SIP/2.0 403 ") {
		t.Fatalf("forged NOTIFY answered %q, want 403", strings.SplitN(res, "\r\n", 2)[0])
	}

	// The real PBX still drives the lamps: a park on 702 shows, 701 is
	// still free.
	x.parkOther(702, "Bob")
	a.waitOrbit(t, 702, "lit by the PBX", func(o telephony.Orbit) bool { return o.Occupied })
	for _, o := range a.Orbits() {
		if o.Number == 701 && o.Occupied {
			t.Fatalf("orbit 701 = %+v after a stranger's NOTIFY, want free", o)
		}
	}
}

// TestLampFullDocumentWhateverItsVersion: a full dialog-info document is
// the orbit's whole state whatever its version. A document numbered
// 4294967295 (a buggy or hostile peer, or a service before a restart)
// used to freeze the lamp: every later, lower-numbered NOTIFY was
// ignored.
func TestLampFullDocumentWhateverItsVersion(t *testing.T) {
	x := startAsterisk(t, 701, 702)
	a := newConsole(t, "desk", 1000, x.templates("87{orbit}"))
	a.waitParkService(t, true)
	x.waitSubscribed(t)

	x.pinVersion(701, 4294967295)
	x.parkOther(701, "Bob")
	a.waitOrbit(t, 701, "lit at version 4294967295", func(o telephony.Orbit) bool { return o.Occupied })

	x.pinVersion(701, 5) // counting anew, as a restarted PBX does
	x.mu.Lock()
	delete(x.parked, 701)
	x.mu.Unlock()
	x.lamp(701)
	a.waitOrbit(t, 701, "dark again at version 5", func(o telephony.Orbit) bool { return !o.Occupied })
}

// TestLampRefreshRefusedSubscribesAgain: a PBX that forgot the
// subscription (a restart) answers its refresh 481; the console
// subscribes again in a new dialog, and the lamp shows the PBX's state.
func TestLampRefreshRefusedSubscribesAgain(t *testing.T) {
	x := startAsterisk(t, 701, 701)
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		x.templates("87{orbit}")(c)
		c.Park.LampExpiry = 2 * time.Second
	})
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	first := x.lampSubOf(t, 701).callID

	x.mu.Lock()
	x.subs = make(map[int][]*lampSub) // the PBX restarted
	x.parked[701] = &pbxCall{name: "Bob"}
	x.mu.Unlock()
	x.refused.Wait(t, "a refresh answered 481", func(callID string) bool { return callID == first })
	x.waitSubscribed(t)
	if again := x.lampSubOf(t, 701).callID; again == first {
		t.Fatalf("re-subscribed in the old dialog %s", again)
	}
	a.waitOrbit(t, 701, "lit from the new subscription", func(o telephony.Orbit) bool { return o.Occupied })
}

// TestLampCSeqAfterChallenge: a PBX that challenges every SUBSCRIBE
// (res_pjsip) and refuses a CSeq not above the last of its Call-ID
// (500 Invalid CSeq) keeps the lamp's subscription: the refresh after a
// challenged SUBSCRIBE takes a new CSeq, in the same dialog, and so does
// the unsubscribe at Close, which the PBX takes (the subscription does
// not linger on the PBX). The console used to send the refresh with the
// CSeq the digest retry had already used.
func TestLampCSeqAfterChallenge(t *testing.T) {
	x := startAsterisk(t, 701, 701)
	x.requireAuth(t, "s3cret")
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		x.templates("87{orbit}")(c)
		c.Account = sbsip.Account{AOR: fmt.Sprintf("sip:desk@127.0.0.1:%d", x.port), Password: "s3cret"}
		c.Park.LampExpiry = 2 * time.Second
	})
	a.waitParkService(t, true)
	first := x.seen.Wait(t, "an accepted SUBSCRIBE", func(s subscribeSeen) bool { return s.status == sip.StatusOK })
	// Every SUBSCRIBE the PBX saw: one dialog, CSeqs rising, each
	// answered 200 after its challenge.
	check := func(when string) {
		t.Helper()
		var last uint32
		for _, s := range x.seen.All() {
			if s.callID != first.callID {
				t.Fatalf("%s: a second subscription %s: the first was lost (%+v)", when, s.callID, s)
			}
			if s.status != sip.StatusOK && s.status != sip.StatusUnauthorized {
				t.Fatalf("%s: SUBSCRIBE CSeq %d (Expires %s) answered %d", when, s.cseq, s.expires, s.status)
			}
			if s.cseq <= last {
				t.Fatalf("%s: CSeq %d after %d", when, s.cseq, last)
			}
			last = s.cseq
		}
	}
	// The refresh (due after 80 % of the 2 s granted), in the same dialog.
	x.seen.Until(t, "asterisk: a refresh answered", func(seen []subscribeSeen) bool {
		n := 0
		for _, s := range seen {
			if s.status != sip.StatusUnauthorized {
				n++
			}
		}
		return n >= 2
	})
	check("after the refresh")

	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	x.seen.Wait(t, "the unsubscribe answered", func(s subscribeSeen) bool {
		return s.expires == "0" && s.status != sip.StatusUnauthorized
	})
	check("after Close")
	x.mu.Lock()
	left := len(x.subs[701])
	x.mu.Unlock()
	if left != 0 {
		t.Errorf("%d subscriptions left on the PBX after Close", left)
	}
}
