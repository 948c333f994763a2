package sip_test

import (
	"strings"
	"testing"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
)

// These tests transfer callers to Debian's baresip as the colleague:
// blind, attended with Replaces (RFC 3891), and a camp-on that fires
// when the colleague's call ends. baresip sends a 440 Hz tone, the
// caller (alice) 600 Hz and the console 1000 Hz; each step is checked
// by ear (internal/tone's Goertzel through siptest).

// nth waits for baresip's n-th event of type typ (counted from its start).
func nth(t *testing.T, b *baresip.Baresip, typ string, n int) baresip.Event {
	t.Helper()
	seen := 0
	ev, err := b.WaitEvent(ctxT(t), func(e baresip.Event) bool {
		if e.Type == typ {
			seen++
		}
		return seen == n && e.Type == typ
	})
	if err != nil {
		t.Fatalf("baresip: %s #%d: %v\n%s", typ, n, err, b.Log())
	}
	return ev
}

// accept answers baresip's n-th incoming call.
func accept(t *testing.T, b *baresip.Baresip, n int) {
	t.Helper()
	nth(t, b, "CALL_INCOMING", n)
	if _, err := b.Command(ctxT(t), "accept", ""); err != nil {
		t.Fatal(err)
	}
	nth(t, b, "CALL_ESTABLISHED", n)
}

// aliceOnConsole has alice (600 Hz, following REFERs) call the console,
// which answers; both hear each other.
func aliceOnConsole(t *testing.T, a *console) (*peer, *siptest.Media, telephony.Call) {
	t.Helper()
	alice := newPeer(t, "alice", nil)
	da := dialFollowingReplaces(t, alice, a.uri())
	r := a.waitRinging(t)
	if err := a.Answer(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	first := siptest.Recv(t, "alice answered", da)
	ma := siptest.StartMedia(t, first, 600)
	a.hears(t, 600)
	ma.WaitTone(t, "alice hears the console", 1000)
	return alice, ma, r
}

// dialFollowingReplaces has pr call uri and follow a REFER as a
// referee should, Replaces and all (siptest.FollowRefers).
func dialFollowingReplaces(t *testing.T, pr *peer, uri sip.Uri) <-chan *siptest.Call {
	t.Helper()
	d, err := pr.DG.NewDialog(uri, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := diago.InviteClientOptions{Headers: []sip.Header{pr.From()}, OnRefer: siptest.FollowRefers(pr.From(), pr.referred)}
	return siptest.Dial(t, d, opts)
}

// TestBaresipBlindTransfer: the console transfers alice blind to
// baresip, which answers; the console's leg ends and alice and baresip
// alice hears baresip's tone.
func TestBaresipBlindTransfer(t *testing.T) {
	b := siptest.StartBaresip(t, baresip.Options{Display: "Bare Colleague"})
	a := newConsole(t, "desk", 1000, nil)
	alice, _, r := aliceOnConsole(t, a)
	if err := a.BlindTransfer(ctxT(t), r.ID, b.AOR); err != nil {
		t.Fatal(err)
	}
	accept(t, b, 1)
	got := a.waitState(t, r.ID, telephony.StateEnded)
	if got.End != telephony.EndTransferred {
		t.Fatalf("console's leg: %+v", got)
	}
	nd := siptest.Recv(t, "alice's call to baresip", alice.referred)
	mn := siptest.StartMedia(t, nd, 600)
	mn.WaitTone(t, "alice hears baresip", 440)
}

// TestBaresipAttendedTransfer: the console holds alice, calls baresip
// (the console hears it), then completes: alice calls baresip with
// Replaces naming the consultation call (baresip 1.0 rings it: the
// colleague answers), both of the console's legs end and alice hears
// baresip.
func TestBaresipAttendedTransfer(t *testing.T) {
	b := siptest.StartBaresip(t, baresip.Options{Display: "Bare Colleague"})
	a := newConsole(t, "desk", 1000, nil)
	alice, _, r := aliceOnConsole(t, a)
	consult, err := a.Dial(ctxT(t), b.AOR)
	if err != nil {
		t.Fatal(err)
	}
	accept(t, b, 1)
	a.waitState(t, r.ID, telephony.StateHeld)
	a.waitState(t, consult, telephony.StateActive)
	a.hears(t, 440)
	if err := a.AttendedTransfer(ctxT(t), r.ID, consult); err != nil {
		t.Fatal(err)
	}
	// Debian's baresip (1.0) rings an INVITE with Replaces like any
	// call rather than taking it in the replaced call's place: the
	// colleague answers it.
	accept(t, b, 2)
	if got := a.waitState(t, r.ID, telephony.StateEnded); got.End != telephony.EndTransferred {
		t.Fatalf("alice's leg: %+v", got)
	}
	a.waitState(t, consult, telephony.StateEnded)
	nd := siptest.Recv(t, "alice's replacing call", alice.referred)
	if h := nd.DialogSIP().InviteRequest.GetHeader("Replaces"); h == nil {
		t.Fatal("alice's INVITE has no Replaces")
	}
	mn := siptest.StartMedia(t, nd, 600)
	mn.WaitTone(t, "alice hears baresip", 440)
	// The consultation call is over (the console ended it once alice's
	// replacing call was up) and baresip has alice's.
	nth(t, b, "CALL_CLOSED", 1)
	if evs := b.Events(); !hasEvent(evs, "CALL_ESTABLISHED", "alice") {
		t.Fatalf("baresip has no call with alice: %v", evs)
	}
}

// hasEvent reports whether evs hold one of type typ whose peer names peer.
func hasEvent(evs []baresip.Event, typ, peer string) bool {
	for _, e := range evs {
		if e.Type == typ && strings.Contains(e.PeerURI, peer) {
			return true
		}
	}
	return false
}

// TestBaresipCampOn: baresip is on a call with bob; its lamp (an RFC
// 4235 source fed by baresip's own call events) says busy. Alice waits
// on hold at the console for it, as the window's "transfer when free"
// does; bob hangs up, the lamp goes idle, and at that PresenceChanged
// alice is transferred: baresip answers and alice hears it.
func TestBaresipCampOn(t *testing.T) {
	b := siptest.StartBaresip(t, baresip.Options{Display: "Bare Colleague"})
	src := siptest.StartDialogSource(t)
	a := newConsole(t, "desk", 1000, nil)
	lamp := src.URI("colleague")
	a.Watch([]string{lamp})
	var m presenceMark
	a.waitPresence(t, &m, lamp, telephony.PresenceIdle)

	// bob calls baresip: its lamp is busy.
	bob := newPeer(t, "bob", nil)
	var bu sip.Uri
	if err := sip.ParseUri(b.AOR, &bu); err != nil {
		t.Fatal(err)
	}
	bd := bob.dial(t, bu, false)
	accept(t, b, 1)
	bobCall := siptest.Recv(t, "bob's call to baresip", bd)
	src.Set("colleague", telephony.PresenceBusy)
	a.waitPresence(t, &m, lamp, telephony.PresenceBusy)

	alice, _, r := aliceOnConsole(t, a)
	if err := a.Hold(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, r.ID, telephony.StateHeld)

	// bob hangs up: baresip's call ends, its lamp goes idle.
	if err := bobCall.Hangup(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	nth(t, b, "CALL_CLOSED", 1)
	src.Set("colleague", telephony.PresenceIdle)
	a.waitPresence(t, &m, lamp, telephony.PresenceIdle)
	if err := a.BlindTransfer(ctxT(t), r.ID, b.AOR); err != nil {
		t.Fatal(err)
	}
	accept(t, b, 2)
	a.waitState(t, r.ID, telephony.StateEnded)
	nd := siptest.Recv(t, "alice's call to baresip", alice.referred)
	mn := siptest.StartMedia(t, nd, 600)
	mn.WaitTone(t, "alice hears baresip", 440)
}
