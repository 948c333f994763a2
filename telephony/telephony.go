// Package telephony holds the console's telephony domain: calls, orbits,
// the events that report every change, and the interfaces the window
// drives (Phone) and the sound device implements (AudioDevice). It knows
// nothing of Fyne; telephony/sip implements Phone on diago and
// telephony/audio implements AudioDevice on malgo.
package telephony

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Errors that every Phone wraps (with details) where they apply, so that
// the window can tell them apart whatever implements the Phone.
var (
	ErrNoSuchCall      = errors.New("no such call")
	ErrWrongState      = errors.New("call is not in a state for this")
	ErrBadOrbit        = errors.New("orbit is outside the lot")
	ErrParkUnavailable = errors.New("park service is unavailable")
	ErrNoParkService   = errors.New("no park service is configured")
	ErrBadTarget       = errors.New("not a number or SIP URI")
	// ErrNoticeNotConfirmed: RetrieveParked's notice is not confirmed
	// by its orbit's lamp now (CheckNotice); nothing was sent. The
	// error's text ends with the notice's Why.
	ErrNoticeNotConfirmed = errors.New("park notice not confirmed by the orbit's lamp")
)

// CallID identifies a call within one console for its whole life.
type CallID string

// Direction says who placed a call.
type Direction uint8

// Directions of a call.
const (
	Inbound Direction = iota
	Outbound
)

// String returns "inbound" or "outbound".
func (d Direction) String() string {
	if d == Outbound {
		return "outbound"
	}
	return "inbound"
}

// CallState is where a call is in its life, as the receptionist sees it.
type CallState uint8

// Call states.
const (
	StateRinging    CallState = iota // inbound, not answered yet
	StateDialing                     // outbound, not answered yet
	StateActive                      // the live line: audio to and from the headset
	StateHeld                        // on hold, by us or (RemoteHold) by the far end
	StateParking                     // park requested; our leg is up and held until confirmed
	StateParkedAway                  // parked on an orbit (or relayed: see Call.Relayed)
	StateEnded                       // over; Call.End says why
)

var stateNames = [...]string{"ringing", "dialing", "active", "held", "parking", "parked", "ended"}

// String returns the state's lower-case name.
func (s CallState) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", s)
}

// Call is a snapshot of one call. Events carry copies; a Call is never
// shared mutably.
type Call struct {
	ID         CallID
	Direction  Direction
	RemoteName string // display name, may be empty
	RemoteURI  string
	State      CallState
	// End says why the call ended (StateEnded); EndNone before.
	End EndReason
	// Reason words for the receptionist why the call is in its state
	// when that is news: the end of a call ("caller hung up", "transferred
	// to sip:bob@pbx"), a failed park ("orbit 705 is busy"), a failed
	// retrieve, the far end's progress ("ringing"). It is for display
	// only: decisions read State, End and the other typed fields.
	Reason     string
	RemoteHold bool // the far end put us on hold
	Started    time.Time
	Answered   time.Time // zero until answered
	// Orbit and Token are set while the call is parked by this console
	// (StateParking, StateParkedAway) and kept after, for safe retrieve.
	Orbit int
	Token string
	// Relayed is true when the caller could not be transferred and the
	// console parks it by holding two legs itself ("parked (relayed)").
	Relayed bool
	// BackFrom is the orbit a ring-back comes from ("back from 705").
	BackFrom int
	// ParkedFor is whom a ring-back's call was parked for (an address of
	// record) and ParkNote the parker's note, as the park service says
	// (X-Park-For, X-Park-Note); empty when none.
	ParkedFor, ParkNote string
	// RetrievedFrom is the orbit this call was retrieved from.
	RetrievedFrom int
	// Candidates are the orbits a parked call may be on when the PBX
	// took it but no lamp said which is its (StateParkedAway with Orbit
	// 0; see Uncertain): more than one anonymous lamp lit in the moment
	// of its park. They narrow as one goes dark, is retrieved, or lights
	// for another call.
	Candidates OrbitSet
	// Likely is the candidate most likely the call's (the first to light
	// after the PBX took it): the one a retrieve of the call takes.
	Likely int
}

// Uncertain reports whether c is parked but not on an orbit known for
// certain: the PBX has it on one of c.Candidates.
func (c Call) Uncertain() bool {
	return c.State == StateParkedAway && c.Orbit == 0 && c.Candidates.Len() > 0
}

// MaxCandidates is how many orbits an OrbitSet holds.
const MaxCandidates = 8

// OrbitSet is a small set of orbits, ascending. It is a value (copied
// with the Call that holds it, comparable); the zero value is empty.
type OrbitSet struct {
	orbits [MaxCandidates]int
	n      uint8
}

// NewOrbitSet returns the set of orbits; ok is false when they are more
// than MaxCandidates (the set then holds none).
func NewOrbitSet(orbits ...int) (s OrbitSet, ok bool) {
	for _, o := range orbits {
		if s.Contains(o) {
			continue
		}
		if int(s.n) == MaxCandidates {
			return OrbitSet{}, false
		}
		i := int(s.n)
		for i > 0 && s.orbits[i-1] > o {
			s.orbits[i] = s.orbits[i-1]
			i--
		}
		s.orbits[i] = o
		s.n++
	}
	return s, true
}

// Len is how many orbits s holds.
func (s OrbitSet) Len() int { return int(s.n) }

// List returns the orbits, ascending, in a new slice.
func (s OrbitSet) List() []int { return append([]int(nil), s.orbits[:s.n]...) }

// Contains reports whether s holds orbit n.
func (s OrbitSet) Contains(n int) bool {
	for _, o := range s.orbits[:s.n] {
		if o == n {
			return true
		}
	}
	return false
}

// Orbit is a snapshot of one park orbit, as the busy lamps report it.
type Orbit struct {
	Number     int
	Occupied   bool
	CallerName string
	CallerURI  string
	Parker     string
	ParkedAt   time.Time // zero when unknown
	// For is whom the call was parked for (an address of record), Note
	// the parker's note: from the lamp, or for a park of this console's
	// on a PBX lot, remembered by the console. Empty when none.
	For, Note string
	// ParkedByMe is true when this console parked the call on it.
	ParkedByMe bool
	// RingingBack is the URI the park service rings back for the call on
	// the orbit, while it does because nobody retrieved it: its parker,
	// or the service's fallback after that. Empty otherwise.
	RingingBack string
	// RingingBackSince is when the service began to ring RingingBack;
	// zero when not ringing back or unknown.
	RingingBackSince time.Time
	// ReturnedAt is when the call came back to the orbit after a
	// ring-back nobody answered; the park time runs again from there.
	// Zero when it never did, or the park service does not say.
	ReturnedAt time.Time
	// Left says how the last call left a free orbit, when the park
	// service said so; LeftUnknown otherwise. CallerName, CallerURI,
	// Parker and ParkedAt then describe that call.
	Left ParkOutcome
	// RetrievedBy is who took the call off the orbit (a SIP URI): the
	// retriever for LeftRetrieved, whoever answered the ring-back for
	// LeftRingBack and LeftFallback.
	RetrievedBy string
	// Lamp is LampKnown while the orbit's lamp subscription stands (or
	// has not been tried); otherwise why it failed: the orbit's state is
	// then unknown, and the other fields are the last state known.
	Lamp LampFault
}

// LampFault says why an orbit's lamp subscription failed, so that an
// orbit nobody can see is shown unknown rather than free.
type LampFault uint8

// Lamp faults.
const (
	LampKnown      LampFault = iota // the lamp stands: the orbit's state is known
	LampRefused                     // 401/403/407 or a failed digest: wrong credentials?
	LampNotFound                    // 404: the service has no such orbit
	LampNotOffered                  // 489/405/501: the service offers no dialog lamps
	LampNoAnswer                    // no answer, 408, or the service unreachable
	LampFailing                     // 5xx or another failure
)

var lampFaultNames = [...]string{"known", "refused", "not-found", "not-offered", "no-answer", "failing"}

// String returns the fault's lower-case name.
func (f LampFault) String() string {
	if int(f) < len(lampFaultNames) {
		return lampFaultNames[f]
	}
	return fmt.Sprintf("lampfault(%d)", f)
}

// RegistrationState is the state of the console's PBX registration.
type RegistrationState uint8

// Registration states.
const (
	RegistrationNone        RegistrationState = iota // no account configured
	RegistrationRegistering                          // in progress or retrying
	RegistrationRegistered
	RegistrationFailed
)

var regNames = [...]string{"none", "registering", "registered", "failed"}

// String returns the state's lower-case name.
func (s RegistrationState) String() string {
	if int(s) < len(regNames) {
		return regNames[s]
	}
	return fmt.Sprintf("registration(%d)", s)
}

// Event is a change the console reports; the app applies it to the view.
type Event interface{ event() }

// CallChanged reports a new call or any change of one.
type CallChanged struct{ Call Call }

// OrbitChanged reports an orbit's new state (lamp on, off, caller changed).
type OrbitChanged struct{ Orbit Orbit }

// ParkServiceChanged reports whether the park service answers.
type ParkServiceChanged struct {
	Available bool
	Reason    string
}

// RegistrationChanged reports the registration state.
type RegistrationChanged struct {
	State  RegistrationState
	Reason string
}

// DTMFReceived reports a DTMF digit the far end of a call sent (an RFC
// 4733 telephone event or a SIP INFO), once per key press, in the order
// pressed. Digit is '0'-'9', '*', '#' or 'A'-'D'.
type DTMFReceived struct {
	CallID CallID
	Digit  rune
}

// EventsLost reports that events were dropped because nobody read them
// in time; the app should resynchronise from Phone.Calls and Phone.Orbits.
type EventsLost struct{ Count int }

// Presence is a colleague's line as their dialog lamp (an RFC 4235
// subscription to their extension at the PBX) shows it.
type Presence uint8

// Presence states.
const (
	PresenceUnknown Presence = iota // not watched, no document yet, or the subscription fails (PresenceChanged.Fault)
	PresenceIdle                    // no call
	PresenceRinging                 // a call rings them (early, or trying)
	PresenceBusy                    // on a call
)

var presenceNames = [...]string{"unknown", "idle", "ringing", "busy"}

// String returns the state's lower-case name.
func (p Presence) String() string {
	if int(p) < len(presenceNames) {
		return presenceNames[p]
	}
	return fmt.Sprintf("presence(%d)", p)
}

// PresenceChanged reports a watched colleague's new state (Phone.Watch).
// Target is the target as given to Watch.
type PresenceChanged struct {
	Target   string
	Presence Presence
	// Fault says why the state is unknown when the subscription fails;
	// LampKnown otherwise.
	Fault LampFault
}

// TransferFailure says why a transfer failed (TransferFailed.Why).
type TransferFailure uint8

// Why a transfer failed.
const (
	TransferRefused      TransferFailure = iota // the caller's side refused the REFER (or the request failed)
	TransferBusy                                // the target was busy (486, 600)
	TransferNoAnswer                            // the target did not answer (408, 480, 487)
	TransferNoSuchPerson                        // the target does not exist (404, 484, 604)
	TransferDeclined                            // the target declined (403, 603)
	TransferNoOutcome                           // the caller's side never said how it went
	TransferFailedOther                         // another failure (TransferFailed.Code)
)

var transferFailureNames = [...]string{"refused", "busy", "no answer", "no such person", "declined", "no outcome", "failed"}

// String returns the reason's lower-case name.
func (f TransferFailure) String() string {
	if int(f) < len(transferFailureNames) {
		return transferFailureNames[f]
	}
	return fmt.Sprintf("transferfailure(%d)", f)
}

// TransferFailed reports that a transfer of Call (blind, or attended to
// the consultation call) failed: the call stays held on the lines, with
// Call.Reason saying so, for the receptionist to take back.
type TransferFailed struct {
	Call   CallID
	Target string
	Why    TransferFailure
	// Code is the SIP status the failure came with, 0 when none.
	Code int
}

func (CallChanged) event()         {}
func (OrbitChanged) event()        {}
func (ParkServiceChanged) event()  {}
func (RegistrationChanged) event() {}
func (DTMFReceived) event()        {}
func (EventsLost) event()          {}
func (PresenceChanged) event()     {}
func (TransferFailed) event()      {}

// Phone is the receptionist's telephone as the window drives it. Every
// method acts on the live SIP stack and returns when the action is under
// way or refused; outcomes arrive as Events.
type Phone interface {
	// Events delivers every change, in order. It never blocks the SIP
	// goroutines: when it is full, events are counted and reported as
	// one EventsLost.
	Events() <-chan Event
	// Calls and Orbits are the current state, for a fresh view.
	Calls() []Call
	Orbits() []Orbit

	Answer(ctx context.Context, id CallID) error
	Reject(ctx context.Context, id CallID) error
	Hangup(ctx context.Context, id CallID) error
	Hold(ctx context.Context, id CallID) error
	Resume(ctx context.Context, id CallID) error
	// Dial calls a number or SIP URI.
	Dial(ctx context.Context, target string) (CallID, error)
	// Park parks a call on orbit (0: the next free one).
	Park(ctx context.Context, id CallID, orbit int) error
	// ParkFor parks a call like Park, for someone: the park service
	// (or, with a PBX lot, the console) keeps whom it is for and the
	// note, and once it is parked the colleague is told by a SIP
	// MESSAGE. A zero f is Park.
	ParkFor(ctx context.Context, id CallID, orbit int, f ParkFor) error
	// Retrieve picks up the call parked on orbit as a new call.
	Retrieve(ctx context.Context, orbit int) (CallID, error)
	// RetrieveParked picks up the call a park notice told of (a
	// ParkedForYou event), safely where the notice allows.
	RetrieveParked(ctx context.Context, n ParkedForYou) (CallID, error)
	BlindTransfer(ctx context.Context, id CallID, target string) error
	// AttendedTransfer connects the far ends of id and consult (the
	// consultation call) and drops both of ours.
	AttendedTransfer(ctx context.Context, id, consult CallID) error
	SendDTMF(ctx context.Context, id CallID, digits string) error
	// Watch sets the colleagues whose presence is followed (numbers or
	// SIP URIs), replacing the last set: the new ones are subscribed,
	// the ones left out unsubscribed. Their states arrive as
	// PresenceChanged. Presence returns the state of a watched target.
	Watch(targets []string)
	Presence(target string) (Presence, bool)
}

// FrameDuration is the length of every audio frame between a call and
// the sound device.
const FrameDuration = 20 * time.Millisecond

// Frame is one frame of decoded mono 16-bit PCM from a call, with the RTP
// sequence number and timestamp a jitter buffer orders it by.
type Frame struct {
	Seq       uint16
	Timestamp uint32
	PCM       []int16
}

// AudioPort carries one live call's audio to and from a sound device (or
// a generator and detector in tests).
type AudioPort interface {
	// Play hands over a frame received from the call. It does not block
	// and does not keep f.PCM.
	Play(f Frame)
	// Capture fills pcm with the next 20 ms of microphone audio, blocking
	// until it is due; it returns an error once the port is closed.
	Capture(pcm []int16) error
	// Close releases the port.
	Close() error
}

// AudioDevice opens ports for calls.
type AudioDevice interface {
	// OpenPort opens a port at sampleRate (8000 for G.711, 48000 for
	// Opus); frames are sampleRate/50 samples long.
	OpenPort(sampleRate int) (AudioPort, error)
}
