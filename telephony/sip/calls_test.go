package sip_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
)

// TestInboundAnswerAudioAndRemoteBye: a call rings with the caller's
// name, is answered, carries audio both ways, and ends when the caller
// hangs up.
func TestInboundAnswerAudioAndRemoteBye(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	alice := newPeer(t, "alice", nil)
	got := alice.dial(t, a.uri(), false)
	ring := a.waitRinging(t)
	if ring.RemoteName != "Alice" || ring.RemoteURI != alice.AOR() || ring.Direction != telephony.Inbound {
		t.Fatalf("ringing call = %+v", ring)
	}
	if err := a.Answer(ctxT(t), ring.ID); err != nil {
		t.Fatal(err)
	}
	active := a.waitState(t, ring.ID, telephony.StateActive)
	if active.Answered.IsZero() {
		t.Fatal("answered time not set")
	}
	d := siptest.Recv(t, "alice's call answered", got)
	m := siptest.StartMedia(t, d, 440)
	m.WaitTone(t, "alice hears the console", 1000)
	a.hears(t, 440)

	ctx := ctxT(t)
	if err := d.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	ended := a.waitState(t, ring.ID, telephony.StateEnded)
	if ended.End != telephony.EndHungUpByFarEnd || ended.Reason != "caller hung up" {
		t.Fatalf("end %v, reason %q", ended.End, ended.Reason)
	}
	if len(a.Calls()) != 0 {
		t.Fatalf("calls left: %+v", a.Calls())
	}
}

// TestRejectAndCancel: a rejected call gets 486; a caller that gives up
// while it rings (CANCEL) is shown as such.
func TestRejectAndCancel(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	bob := newPeer(t, "bob", nil)

	d, err := bob.DG.NewDialog(a.uri(), diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	res := make(chan error, 1)
	go func() {
		_, err := d.Invite(ctxT(t), diago.InviteClientOptions{Headers: []sip.Header{bob.From()}})
		res <- err
	}()
	ring := a.waitRinging(t)
	if err := a.Reject(ctxT(t), ring.ID); err != nil {
		t.Fatal(err)
	}
	if err := siptest.Recv(t, "invite outcome", res); siptest.Status(err) != 486 {
		t.Fatalf("rejected INVITE: %v, want 486", err)
	}
	if got := a.waitState(t, ring.ID, telephony.StateEnded); got.End != telephony.EndRejected || got.Reason != "rejected" {
		t.Fatalf("end %v, reason %q", got.End, got.Reason)
	}

	d2, err := bob.DG.NewDialog(a.uri(), diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		_, err := d2.Invite(ctx, diago.InviteClientOptions{Headers: []sip.Header{bob.From()}})
		res <- err
	}()
	ring2 := a.waitCall(t, "second ringing call", func(c telephony.Call) bool {
		return c.State == telephony.StateRinging && c.ID != ring.ID
	})
	cancel() // CANCEL
	<-res
	if got := a.waitState(t, ring2.ID, telephony.StateEnded); got.End != telephony.EndMissed || got.Reason != "caller hung up" {
		t.Fatalf("end %v, reason %q", got.End, got.Reason)
	}
}

// TestOneLiveLine: answering a second call holds the first (sendonly
// re-INVITE seen by its caller); resuming the first holds the second.
func TestOneLiveLine(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	alice := newPeer(t, "alice", nil)
	bob := newPeer(t, "bob", nil)

	da := alice.dial(t, a.uri(), false)
	r1 := a.waitRinging(t)
	if err := a.Answer(ctxT(t), r1.ID); err != nil {
		t.Fatal(err)
	}
	ma := siptest.StartMedia(t, siptest.Recv(t, "alice answered", da), 440)

	db := bob.dial(t, a.uri(), false)
	r2 := a.waitCall(t, "bob rings", func(c telephony.Call) bool { return c.State == telephony.StateRinging && c.ID != r1.ID })
	if err := a.Answer(ctxT(t), r2.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, r1.ID, telephony.StateHeld)
	a.waitState(t, r2.ID, telephony.StateActive)
	mb := siptest.StartMedia(t, siptest.Recv(t, "bob answered", db), 600)
	mb.WaitTone(t, "bob hears the console", 1000)
	a.hears(t, 600)
	live := 0
	for _, c := range a.Calls() {
		if c.State == telephony.StateActive {
			live++
		}
	}
	if live != 1 {
		t.Fatalf("%d live calls: %+v", live, a.Calls())
	}

	if err := a.Resume(ctxT(t), r1.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, r2.ID, telephony.StateHeld)
	a.waitState(t, r1.ID, telephony.StateActive)
	ma.WaitTone(t, "alice hears the console again", 1000)
	a.hears(t, 440)

	// Hold the live call: no live line at all.
	if err := a.Hold(ctxT(t), r1.ID); err != nil {
		t.Fatal(err)
	}
	for _, c := range a.Calls() {
		if c.State != telephony.StateHeld {
			t.Fatalf("after hold: %+v", c)
		}
	}
}

// TestRemoteHoldShown: the far end's sendonly re-INVITE shows as
// RemoteHold, its resume clears it.
func TestRemoteHoldShown(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	alice := newPeer(t, "alice", nil)
	da := alice.dial(t, a.uri(), false)
	r := a.waitRinging(t)
	if err := a.Answer(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	d := siptest.Recv(t, "answered", da)
	a.waitState(t, r.ID, telephony.StateActive)
	if err := d.Hold(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	a.waitCall(t, "remote hold", func(c telephony.Call) bool { return c.ID == r.ID && c.RemoteHold })
	if err := d.Unhold(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	a.waitCall(t, "remote resume", func(c telephony.Call) bool { return c.ID == r.ID && !c.RemoteHold && c.State == telephony.StateActive })
}

// TestDialProgressAudioAndDTMF: an outgoing call shows dialing and
// ringing, connects, carries audio both ways and sends RFC 4733 digits.
func TestDialProgressAudioAndDTMF(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	srv := make(chan *siptest.Answered, 1)
	carol := newPeer(t, "carol", func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		time.Sleep(200 * time.Millisecond)
		a, err := siptest.Answer(d)
		if err != nil {
			return
		}
		srv <- a
		<-d.Context().Done()
	})
	id, err := a.Dial(ctxT(t), carol.AOR())
	if err != nil {
		t.Fatal(err)
	}
	a.waitState(t, id, telephony.StateDialing)
	a.waitCall(t, "ringing progress", func(c telephony.Call) bool {
		return c.ID == id && c.State == telephony.StateDialing && c.Reason == "ringing"
	})
	a.waitState(t, id, telephony.StateActive)
	d := siptest.Recv(t, "carol answered", srv)
	m := siptest.StartMedia(t, d, 440)
	m.WaitTone(t, "carol hears the console", 1000)
	a.hears(t, 440)

	if err := a.SendDTMF(ctxT(t), id, "12#"); err != nil {
		t.Fatal(err)
	}
	m.WaitDigits(t, "12#")
	if err := a.SendDTMF(ctxT(t), id, "x"); err == nil {
		t.Fatal("bad digit accepted")
	}
	if err := a.Hangup(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	if got := a.waitState(t, id, telephony.StateEnded); got.End != telephony.EndHungUpHere || got.Reason != "hung up" {
		t.Fatalf("end %v, reason %q", got.End, got.Reason)
	}
	select {
	case <-d.Context().Done():
	case <-time.After(waitFor):
		t.Fatal("carol's leg still up")
	}
}

// TestDialFailuresAndCancel: a busy callee, and a call cancelled while
// it rings.
func TestDialFailuresAndCancel(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	busy := newPeer(t, "busy", func(d *diago.DialogServerSession) { _ = d.Respond(486, "Busy Here", nil) })
	id, err := a.Dial(ctxT(t), busy.AOR())
	if err != nil {
		t.Fatal(err)
	}
	if got := a.waitState(t, id, telephony.StateEnded); got.End != telephony.EndBusy || got.Reason != "busy" {
		t.Fatalf("end %v, reason %q", got.End, got.Reason)
	}
	cancelled := make(chan struct{})
	slow := newPeer(t, "slow", func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		<-d.Context().Done()
		close(cancelled)
	})
	id, err = a.Dial(ctxT(t), slow.AOR())
	if err != nil {
		t.Fatal(err)
	}
	a.waitCall(t, "ringing", func(c telephony.Call) bool { return c.ID == id && c.Reason == "ringing" })
	if err := a.Hangup(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	select {
	case <-cancelled:
	case <-time.After(waitFor):
		t.Fatal("callee never saw the CANCEL")
	}
	if got := a.waitState(t, id, telephony.StateEnded); got.End != telephony.EndHungUpHere || got.Reason != "hung up" {
		t.Fatalf("end %v, reason %q", got.End, got.Reason)
	}
	if _, err := a.Dial(ctxT(t), "12 34"); err == nil {
		t.Fatal("bad target accepted")
	}
}

// TestBlindTransfer: the caller is REFERred to a colleague; our leg ends
// when the caller's new call is answered.
func TestBlindTransfer(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	alice := newPeer(t, "alice", nil)
	bob := newPeer(t, "bob", nil)
	da := alice.dial(t, a.uri(), true)
	r := a.waitRinging(t)
	if err := a.Answer(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	siptest.Recv(t, "answered", da)
	if err := a.BlindTransfer(ctxT(t), r.ID, bob.AOR()); err != nil {
		t.Fatal(err)
	}
	got := a.waitState(t, r.ID, telephony.StateEnded)
	if got.End != telephony.EndTransferred || !strings.HasPrefix(got.Reason, "transferred to") {
		t.Fatalf("end %v, reason %q", got.End, got.Reason)
	}
	nd := siptest.Recv(t, "alice's new call", alice.referred)
	bd := siptest.Recv(t, "bob's call", bob.incoming)
	ma := siptest.StartMedia(t, nd, 440)
	mb := siptest.StartMedia(t, bd, 600)
	ma.WaitTone(t, "alice hears bob", 600)
	mb.WaitTone(t, "bob hears alice", 440)
}

// TestAttendedTransfer: the console consults bob, then connects alice to
// bob with REFER/Replaces; both of the console's legs end.
func TestAttendedTransfer(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	alice := newPeer(t, "alice", nil)
	// Bob answers the consult call, then accepts alice's INVITE with
	// Replaces for it and ends the replaced dialog.
	bobCalls := make(chan *siptest.Answered, 2)
	var mu sync.Mutex
	var consultLeg *diago.DialogServerSession
	bob := newPeer(t, "bob", func(d *diago.DialogServerSession) {
		if h := d.InviteRequest.GetHeader("Replaces"); h != nil {
			parts := strings.Split(h.Value(), ";")
			var toTag, fromTag string
			for _, p := range parts[1:] {
				k, v, _ := strings.Cut(strings.TrimSpace(p), "=")
				switch k {
				case "to-tag":
					toTag = v
				case "from-tag":
					fromTag = v
				}
			}
			mu.Lock()
			cd := consultLeg
			mu.Unlock()
			if cd == nil {
				_ = d.Respond(481, "Call/Transaction Does Not Exist", nil)
				return
			}
			ourTag, _ := cd.InviteResponse.To().Params.Get("tag")
			theirTag, _ := cd.InviteRequest.From().Params.Get("tag")
			if parts[0] != string(*cd.InviteRequest.CallID()) || toTag != ourTag || fromTag != theirTag {
				_ = d.Respond(481, "Call/Transaction Does Not Exist", nil)
				return
			}
			a, err := siptest.Answer(d)
			if err != nil {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = cd.Hangup(ctx)
			cancel()
			bobCalls <- a
			<-d.Context().Done()
			return
		}
		a, err := siptest.Answer(d)
		if err != nil {
			return
		}
		mu.Lock()
		consultLeg = d
		mu.Unlock()
		bobCalls <- a
		<-d.Context().Done()
	})
	da := alice.dial(t, a.uri(), true)
	r := a.waitRinging(t)
	if err := a.Answer(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	siptest.Recv(t, "alice answered", da)
	consult, err := a.Dial(ctxT(t), bob.AOR())
	if err != nil {
		t.Fatal(err)
	}
	a.waitState(t, r.ID, telephony.StateHeld)
	a.waitState(t, consult, telephony.StateActive)
	siptest.Recv(t, "bob's consult leg", bobCalls)
	if err := a.AttendedTransfer(ctxT(t), r.ID, consult); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, r.ID, telephony.StateEnded)
	a.waitState(t, consult, telephony.StateEnded)
	nd := siptest.Recv(t, "alice's new call", alice.referred)
	bd := siptest.Recv(t, "bob's replacing call", bobCalls)
	ma := siptest.StartMedia(t, nd, 440)
	mb := siptest.StartMedia(t, bd, 600)
	ma.WaitTone(t, "alice hears bob", 600)
	mb.WaitTone(t, "bob hears alice", 440)
}
