package sip_test

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// refused checks that err refuses op for the call's state (it wraps
// telephony.ErrWrongState, which sip.ErrWrongState is) and that the call
// is exactly as it was: still listed, the same snapshot.
func (c *console) refused(t *testing.T, op string, err error, before telephony.Call) {
	t.Helper()
	if !errors.Is(err, telephony.ErrWrongState) || !errors.Is(err, sbsip.ErrWrongState) {
		t.Fatalf("%s of a %s call: error %v, want one wrapping ErrWrongState", op, before.State, err)
	}
	after, ok := c.Call(before.ID)
	if !ok {
		t.Fatalf("%s of a %s call: the call is gone", op, before.State)
	}
	if after != before {
		t.Fatalf("%s of a %s call changed it:\n before %+v\n after  %+v", op, before.State, before, after)
	}
}

// changeAfter returns the first change of call id published after the
// first mark events for which match is true.
func (c *console) changeAfter(t *testing.T, mark int, id telephony.CallID, what string, match func(telephony.Call) bool) telephony.Call {
	t.Helper()
	var got telephony.Call
	c.events.Until(t, c.name+": "+string(id)+" "+what, func(evs []telephony.Event) bool {
		for _, ev := range evs[mark:] {
			if cc, ok := ev.(telephony.CallChanged); ok && cc.Call.ID == id && match(cc.Call) {
				got = cc.Call
				return true
			}
		}
		return false
	})
	return got
}

// answerAndTalk answers ringing call id, whose far end is d, and checks
// that audio flows both ways: the refused action left the call whole.
// The first change published after mark must be the answer.
func answerAndTalk(t *testing.T, a *console, id telephony.CallID, mark int, d <-chan *siptest.Call) {
	t.Helper()
	if err := a.Answer(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	if got := a.changeAfter(t, mark, id, "changed", func(telephony.Call) bool { return true }); got.State != telephony.StateActive {
		t.Fatalf("first change after the refusal: %+v, want the answer", got)
	}
	m := siptest.StartMedia(t, siptest.Recv(t, "alice answered", d), 440)
	m.WaitTone(t, "alice hears the console", 1000)
	a.hears(t, 440)
}

// ringing has a new peer called name call console a and returns the
// ringing call, and the peer's dialog once answered.
func ringing(t *testing.T, a *console, name string) (telephony.Call, <-chan *siptest.Call) {
	t.Helper()
	pr := newPeer(t, name, nil)
	d := pr.dial(t, a.uri(), false)
	uri := pr.AOR()
	return a.waitCall(t, name+" ringing", func(c telephony.Call) bool {
		return c.State == telephony.StateRinging && c.RemoteURI == uri
	}), d
}

// TestParkOfRingingCallRefused: a call that still rings cannot be
// parked; it rings on, and answered it carries audio.
func TestParkOfRingingCallRefused(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk", 1000, f.templates)
	a.waitParkService(t, true)
	call, d := ringing(t, a, "alice")
	mark := a.events.Len()
	for _, orbit := range []int{705, 0} {
		a.refused(t, "park", a.Park(ctxT(t), call.ID, orbit), call)
	}
	answerAndTalk(t, a, call.ID, mark, d)
}

// TestTransferOfRingingCallRefused: a call that still rings cannot be
// transferred, blind or attended; it rings on, and answered it carries
// audio.
func TestTransferOfRingingCallRefused(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	bob := newPeer(t, "bob", nil)
	call, d := ringing(t, a, "alice")
	mark := a.events.Len()
	a.refused(t, "blind transfer", a.BlindTransfer(ctxT(t), call.ID, bob.AOR()), call)
	answerAndTalk(t, a, call.ID, mark, d)
}

// TestSecondParkWhileParkingRefused: while a park waits for its outcome
// (alice holds on to the REFER), a second park of the call, and a
// transfer, are refused and leave the park as it was; when alice then
// refuses to move, the call comes back, held, and resumed carries audio.
func TestSecondParkWhileParkingRefused(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk", 1000, f.templates)
	a.waitParkService(t, true)

	referred := make(chan struct{}, 1)
	release := make(chan struct{})
	alice := newPeer(t, "alice", nil)
	dl, err := alice.DG.NewDialog(a.uri(), diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dc := siptest.Dial(t, dl, diago.InviteClientOptions{
		Headers: []sip.Header{alice.From()},
		OnRefer: func(*diago.DialogClientSession) error {
			referred <- struct{}{}
			<-release
			return errors.New("alice stays where she is")
		},
	})
	call := answered(t, a)
	d := siptest.Recv(t, "alice answered", dc)
	m := siptest.StartMedia(t, d, 440)
	a.hears(t, 440)

	if err := a.Park(ctxT(t), call.ID, 705); err != nil {
		t.Fatal(err)
	}
	siptest.Recv(t, "alice got the REFER", referred)
	parking := a.waitState(t, call.ID, telephony.StateParking)
	if now, _ := a.Call(call.ID); now != parking {
		t.Fatalf("parking call %+v, published %+v", now, parking)
	}
	a.refused(t, "second park", a.Park(ctxT(t), call.ID, 706), parking)
	a.refused(t, "park on the next free orbit", a.Park(ctxT(t), call.ID, 0), parking)
	a.refused(t, "transfer", a.BlindTransfer(ctxT(t), call.ID, "sip:bob@127.0.0.1:9"), parking)

	mark := a.events.Len()
	close(release)
	back := a.changeAfter(t, mark, call.ID, "back from the park", func(c telephony.Call) bool { return c.State != telephony.StateParking })
	if back.State != telephony.StateHeld || back.Reason == "" {
		t.Fatalf("call back from the failed park = %+v (want it held, saying why)", back)
	}
	if err := a.Resume(ctxT(t), call.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateActive)
	m.WaitTone(t, "alice hears the console again", 1000)
	a.hears(t, 440)
}

// TestParkOfParkedOrEndedCallRefused: a call parked away (listed, with
// no leg of ours) cannot be parked again nor transferred; a call that
// ended is no longer the phone's: parking it is refused as no such call
// (ended calls leave the phone at once), and nothing comes back.
func TestParkOfParkedOrEndedCallRefused(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk", 1000, f.templates)
	a.waitParkService(t, true)

	_, call, _ := aliceOn(t, a, true)
	if err := a.Park(ctxT(t), call.ID, 705); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateParkedAway)
	a.waitOrbit(t, 705, "lit with Alice", occupiedBy("Alice"))
	parked, _ := a.Call(call.ID) // the lamp may have added to it
	a.refused(t, "park", a.Park(ctxT(t), call.ID, 706), parked)
	a.refused(t, "transfer", a.BlindTransfer(ctxT(t), call.ID, "sip:bob@127.0.0.1:9"), parked)
	if o := a.waitOrbit(t, 705, "still lit", occupiedBy("Alice")); !o.ParkedByMe {
		t.Fatalf("orbit 705 after the refused park = %+v", o)
	}

	carol, d := ringing(t, a, "carol")
	if err := a.Answer(ctxT(t), carol.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, carol.ID, telephony.StateActive)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := siptest.Recv(t, "carol answered", d).Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, carol.ID, telephony.StateEnded)
	before := a.Calls()
	err := a.Park(ctxT(t), carol.ID, 706)
	if !errors.Is(err, telephony.ErrNoSuchCall) {
		t.Fatalf("park of an ended call: error %v, want one wrapping ErrNoSuchCall", err)
	}
	if _, ok := a.Call(carol.ID); ok {
		t.Fatal("the ended call came back")
	}
	if after := a.Calls(); !slices.Equal(after, before) {
		t.Fatalf("calls after the refused park: %+v, before %+v", after, before)
	}
}

// TestParkCallerHangsUpDuringHold: Park puts the call on hold over the
// network before it sends the REFER. A caller who hangs up while that
// hold is under way ends the call; the park must then be refused, not
// carried out on a call the phone no longer has (it used to mark the
// ended call parking, fail the REFER and publish it again as a held call
// that Hang up called "no such call": a ghost card).
func TestParkCallerHangsUpDuringHold(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk", 1000, f.templates)
	var (
		calls = make(chan *siptest.Call, 1)
		hung  = make(chan struct{}, 1)
	)
	alice := siptest.NewAgent(t, "alice", siptest.AgentOptions{
		Logger: testLogger(t, "alice"),
		Middleware: func(next sipgo.RequestHandler) sipgo.RequestHandler {
			return func(req *sip.Request, tx sip.ServerTransaction) {
				if tag, _ := req.To().Params.Get("tag"); req.Method == sip.INVITE && tag != "" {
					// The console's hold: hang up before answering it.
					d := <-calls
					ctx, cancel := context.WithTimeout(context.Background(), waitFor)
					_ = d.Hangup(ctx)
					cancel()
					hung <- struct{}{}
				}
				next(req, tx)
			}
		},
	})
	d, err := alice.DG.NewDialog(a.uri(), diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	answered := siptest.Dial(t, d, diago.InviteClientOptions{Headers: []sip.Header{alice.From()}})
	r := a.waitRinging(t)
	if err := a.Answer(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	calls <- siptest.Recv(t, "alice answered", answered)
	a.waitState(t, r.ID, telephony.StateActive)

	mark := a.events.Len()
	err = a.Park(ctxT(t), r.ID, 703)
	siptest.Recv(t, "alice hung up during the hold", hung)
	if err == nil {
		t.Fatal("Park of a call whose caller hung up during the hold succeeded")
	}
	if !errors.Is(err, telephony.ErrNoSuchCall) {
		t.Fatalf("Park: %v, want an error wrapping ErrNoSuchCall", err)
	}
	if c, ok := a.Call(r.ID); ok {
		t.Fatalf("the phone still has the call: %+v", c)
	}
	a.waitState(t, r.ID, telephony.StateEnded) // published just after
	ended := false
	for _, ev := range a.events.All()[mark:] {
		cc, ok := ev.(telephony.CallChanged)
		if !ok || cc.Call.ID != r.ID {
			continue
		}
		if cc.Call.State == telephony.StateEnded {
			ended = true
			// The hold that failed with the hang-up does not reword
			// the end (it used to say "hold not confirmed").
			if cc.Call.End != telephony.EndHungUpByFarEnd || cc.Call.Reason != "caller hung up" {
				t.Fatalf("the call ended as %v, %q; want hung up by the far end, \"caller hung up\"", cc.Call.End, cc.Call.Reason)
			}
		} else if ended {
			t.Fatalf("the ended call was published again as %s: %+v", cc.Call.State, cc.Call)
		}
	}
	if !ended {
		t.Fatal("the call was never published as ended")
	}
}
