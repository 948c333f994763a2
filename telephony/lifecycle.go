package telephony

import "fmt"

// A call's lifecycle, in one place: which user operations each state
// allows (Check) and which events move a call from each state, and where
// to (Next). Every Phone (telephony/sip's, and app/apptest's fake) checks
// its operations and changes its calls' states through these, so that
// they cannot disagree about what is allowed.

// Op is an operation the receptionist asks of one call.
type Op uint8

// Operations on a call.
const (
	OpAnswer   Op = iota // answer a ringing call
	OpReject             // decline a ringing call
	OpHangup             // end the call, whatever it is doing
	OpHold               // put the call on hold (a held call stays held)
	OpResume             // make the call the live line (an active call stays active)
	OpPark               // park the call on an orbit
	OpTransfer           // transfer the call, blind or attended (and the consultation call of an attended one)
	OpSendDTMF           // key digits on the call
	numOps
)

var opNames = [...]string{"answer", "reject", "hang up", "hold", "resume", "park", "transfer", "send DTMF"}

// String returns the operation's lower-case name ("hang up").
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("op(%d)", o)
}

// Ops returns every operation, in order.
func Ops() []Op {
	ops := make([]Op, numOps)
	for i := range ops {
		ops[i] = Op(i)
	}
	return ops
}

// CallEvent is something that moves a call from one state to another.
type CallEvent uint8

// Events in a call's life.
const (
	EvAnswered       CallEvent = iota // the call was answered: by us (ringing) or by the far end (dialing)
	EvHeld                            // we put the live call on hold
	EvResumed                         // we took a held call off hold
	EvParkRequested                   // a park was asked for; our leg stays up, held
	EvParkConfirmed                   // the park service has the call (or the console relays it)
	EvParkFailed                      // the park did not happen; the call stays held
	EvRetrievedRelay                  // the console took back a call it relay-parked
	EvEnded                           // the call is over, for any EndReason
	numEvents
)

var eventNames = [...]string{"answered", "held", "resumed", "park requested", "park confirmed", "park failed", "retrieved from relay", "ended"}

// String returns the event's lower-case name.
func (e CallEvent) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return fmt.Sprintf("event(%d)", e)
}

// CallEvents returns every event, in order.
func CallEvents() []CallEvent {
	evs := make([]CallEvent, numEvents)
	for i := range evs {
		evs[i] = CallEvent(i)
	}
	return evs
}

// CallStates returns every call state, in order.
func CallStates() []CallState {
	sts := make([]CallState, len(stateNames))
	for i := range sts {
		sts[i] = CallState(i)
	}
	return sts
}

// states is a set of call states.
type states uint16

func setOf(sts ...CallState) states {
	var s states
	for _, st := range sts {
		s |= 1 << st
	}
	return s
}

func (s states) has(st CallState) bool { return int(st) < 16 && s&(1<<st) != 0 }

// live is a call with a leg of ours that carries audio: on the line or held.
var live = setOf(StateActive, StateHeld)

// allowed says in which states each operation may act on a call. Hold of
// a held call and Resume of an active one are allowed and do nothing.
var allowed = [numOps]states{
	OpAnswer:   setOf(StateRinging),
	OpReject:   setOf(StateRinging),
	OpHangup:   setOf(StateRinging, StateDialing, StateActive, StateHeld, StateParking, StateParkedAway),
	OpHold:     live,
	OpResume:   live,
	OpPark:     live,
	OpTransfer: live,
	OpSendDTMF: live,
}

// transitions says, for each event, the states it may happen in and
// where it takes the call.
var transitions = [numEvents]struct {
	from states
	to   CallState
}{
	EvAnswered:       {setOf(StateRinging, StateDialing), StateActive},
	EvHeld:           {setOf(StateActive), StateHeld},
	EvResumed:        {setOf(StateHeld), StateActive},
	EvParkRequested:  {live, StateParking},
	EvParkConfirmed:  {setOf(StateParking), StateParkedAway},
	EvParkFailed:     {setOf(StateParking), StateHeld},
	EvRetrievedRelay: {setOf(StateParkedAway), StateActive},
	EvEnded:          {setOf(StateRinging, StateDialing, StateActive, StateHeld, StateParking, StateParkedAway), StateEnded},
}

// InitialState is the state a new call starts in: ringing when it comes
// in, dialing when the console places it.
func InitialState(d Direction) CallState {
	if d == Outbound {
		return StateDialing
	}
	return StateRinging
}

// Allows reports whether op may act on a call in state st.
func Allows(st CallState, op Op) bool {
	return int(op) < len(allowed) && allowed[op].has(st)
}

// Check returns nil when op may act on a call in state st, and an error
// wrapping ErrWrongState that names both otherwise.
func Check(st CallState, op Op) error {
	if Allows(st, op) {
		return nil
	}
	return fmt.Errorf("cannot %s a call that is %s: %w", op, st, ErrWrongState)
}

// Next returns the state ev takes a call in state st to, or an error
// wrapping ErrWrongState when ev cannot happen in st.
func Next(st CallState, ev CallEvent) (CallState, error) {
	if int(ev) < len(transitions) && transitions[ev].from.has(st) {
		return transitions[ev].to, nil
	}
	return st, fmt.Errorf("%s cannot happen to a call that is %s: %w", ev, st, ErrWrongState)
}
