package apptest_test

import (
	"context"
	"errors"
	"testing"

	"github.com/switchboard/switchboard/app/apptest"
	"github.com/switchboard/switchboard/telephony"
)

// inState returns a fresh phone with one call in state st, and the call.
// Dialing and Parking pass at once in the fake (Dial and Park finish
// before they return), so they are not set up.
func inState(t *testing.T, st telephony.CallState) (*apptest.Phone, telephony.CallID) {
	t.Helper()
	ctx := context.Background()
	p := apptest.NewPhone(701, 709)
	id := p.Ring("Alice", "sip:alice@127.0.0.1")
	step := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("setting up a %s call: %v", st, err)
		}
	}
	switch st {
	case telephony.StateRinging:
	case telephony.StateActive:
		step(p.Answer(ctx, id))
	case telephony.StateHeld:
		step(p.Answer(ctx, id))
		step(p.Hold(ctx, id))
	case telephony.StateParkedAway:
		step(p.Answer(ctx, id))
		step(p.Park(ctx, id, 0))
	case telephony.StateEnded:
		p.CallerHangsUp(id)
		return p, id
	default:
		t.Fatalf("no set-up for a %s call", st)
	}
	if c, ok := p.Call(id); !ok || c.State != st {
		t.Fatalf("set up a %s call, got %+v", st, c)
	}
	return p, id
}

// do asks op of call id.
func do(p *apptest.Phone, op telephony.Op, id telephony.CallID) error {
	ctx := context.Background()
	switch op {
	case telephony.OpAnswer:
		return p.Answer(ctx, id)
	case telephony.OpReject:
		return p.Reject(ctx, id)
	case telephony.OpHangup:
		return p.Hangup(ctx, id)
	case telephony.OpHold:
		return p.Hold(ctx, id)
	case telephony.OpResume:
		return p.Resume(ctx, id)
	case telephony.OpPark:
		return p.Park(ctx, id, 0)
	case telephony.OpTransfer:
		return p.BlindTransfer(ctx, id, "sip:bob@127.0.0.1")
	case telephony.OpSendDTMF:
		return p.SendDTMF(ctx, id, "1")
	}
	return errors.New("no such operation")
}

// TestPhoneFollowsLifecycle: the fake phone allows exactly the
// operations telephony's lifecycle allows, in every state it can hold a
// call in; it refuses the others with ErrWrongState and leaves the call
// as it was. An ended call is gone: every operation finds no such call.
func TestPhoneFollowsLifecycle(t *testing.T) {
	sts := []telephony.CallState{telephony.StateRinging, telephony.StateActive, telephony.StateHeld,
		telephony.StateParkedAway, telephony.StateEnded}
	for _, st := range sts {
		for _, op := range telephony.Ops() {
			p, id := inState(t, st)
			before, _ := p.Call(id)
			err := do(p, op, id)
			switch {
			case st == telephony.StateEnded:
				if telephony.Allows(st, op) || !errors.Is(err, telephony.ErrNoSuchCall) {
					t.Errorf("%s of an ended call: %v, want ErrNoSuchCall", op, err)
				}
			case telephony.Allows(st, op):
				if err != nil {
					t.Errorf("%s of a %s call: %v, want it allowed", op, st, err)
				}
			default:
				if !errors.Is(err, telephony.ErrWrongState) {
					t.Errorf("%s of a %s call: %v, want ErrWrongState", op, st, err)
				}
				if after, _ := p.Call(id); after != before {
					t.Errorf("the refused %s changed the %s call:\n before %+v\n after  %+v", op, st, before, after)
				}
			}
		}
	}
}
