package telephony_test

import (
	"errors"
	"testing"

	"github.com/switchboard/switchboard/telephony"
)

const (
	rin = telephony.StateRinging
	dia = telephony.StateDialing
	act = telephony.StateActive
	hel = telephony.StateHeld
	pkg = telephony.StateParking
	pka = telephony.StateParkedAway
	end = telephony.StateEnded
)

// TestLifecycleOps: every state × every operation is allowed or refused
// with ErrWrongState, as written out here.
func TestLifecycleOps(t *testing.T) {
	want := map[telephony.Op][]telephony.CallState{
		telephony.OpAnswer:   {rin},
		telephony.OpReject:   {rin},
		telephony.OpHangup:   {rin, dia, act, hel, pkg, pka},
		telephony.OpHold:     {act, hel},
		telephony.OpResume:   {act, hel},
		telephony.OpPark:     {act, hel},
		telephony.OpTransfer: {act, hel},
		telephony.OpSendDTMF: {act, hel},
	}
	if len(want) != len(telephony.Ops()) {
		t.Fatalf("the table covers %d operations, telephony has %d", len(want), len(telephony.Ops()))
	}
	for _, op := range telephony.Ops() {
		for _, st := range telephony.CallStates() {
			ok := contains(want[op], st)
			if got := telephony.Allows(st, op); got != ok {
				t.Errorf("Allows(%s, %s) = %v, want %v", st, op, got, ok)
			}
			err := telephony.Check(st, op)
			switch {
			case ok && err != nil:
				t.Errorf("Check(%s, %s) = %v, want nil", st, op, err)
			case !ok && !errors.Is(err, telephony.ErrWrongState):
				t.Errorf("Check(%s, %s) = %v, want ErrWrongState", st, op, err)
			}
		}
	}
	if telephony.Allows(act, telephony.Op(200)) {
		t.Error("an unknown operation is allowed")
	}
}

// TestLifecycleEvents: every state × every event gives the next state
// written out here, or a refusal with ErrWrongState that leaves the
// state as it was.
func TestLifecycleEvents(t *testing.T) {
	type move = map[telephony.CallState]telephony.CallState
	want := map[telephony.CallEvent]move{
		telephony.EvAnswered:       {rin: act, dia: act},
		telephony.EvHeld:           {act: hel},
		telephony.EvResumed:        {hel: act},
		telephony.EvParkRequested:  {act: pkg, hel: pkg},
		telephony.EvParkConfirmed:  {pkg: pka},
		telephony.EvParkFailed:     {pkg: hel},
		telephony.EvRetrievedRelay: {pka: act},
		telephony.EvEnded:          {rin: end, dia: end, act: end, hel: end, pkg: end, pka: end},
	}
	if len(want) != len(telephony.CallEvents()) {
		t.Fatalf("the table covers %d events, telephony has %d", len(want), len(telephony.CallEvents()))
	}
	for _, ev := range telephony.CallEvents() {
		for _, st := range telephony.CallStates() {
			next, err := telephony.Next(st, ev)
			to, ok := want[ev][st]
			switch {
			case ok && (err != nil || next != to):
				t.Errorf("Next(%s, %s) = %s, %v; want %s", st, ev, next, err, to)
			case !ok && (!errors.Is(err, telephony.ErrWrongState) || next != st):
				t.Errorf("Next(%s, %s) = %s, %v; want a refusal leaving %s", st, ev, next, err, st)
			}
		}
	}
	if _, err := telephony.Next(act, telephony.CallEvent(200)); !errors.Is(err, telephony.ErrWrongState) {
		t.Errorf("an unknown event: %v, want ErrWrongState", err)
	}
}

// TestInitialState: a call starts ringing when it comes in, dialing when
// placed.
func TestInitialState(t *testing.T) {
	if got := telephony.InitialState(telephony.Inbound); got != rin {
		t.Errorf("inbound starts %s", got)
	}
	if got := telephony.InitialState(telephony.Outbound); got != dia {
		t.Errorf("outbound starts %s", got)
	}
}

func contains(sts []telephony.CallState, st telephony.CallState) bool {
	for _, s := range sts {
		if s == st {
			return true
		}
	}
	return false
}
