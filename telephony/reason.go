package telephony

import "fmt"

// EndReason says why a call ended (Call.End): the window decides by it
// (a missed call, a failed retrieve), Call.Reason words it for display.
// The zero value, EndNone, is a call that has not ended.
type EndReason uint8

// Why a call ended.
const (
	EndNone            EndReason = iota // not ended
	EndHungUpHere                       // the receptionist hung up (or cancelled a call being placed)
	EndHungUpByFarEnd                   // the far end hung up an answered call, or one being parked
	EndMissed                           // the caller hung up while it rang, unanswered
	EndRejected                         // the receptionist declined the ringing call
	EndBusy                             // the far end was busy (486, 600)
	EndDeclined                         // the far end declined the call (403, 603)
	EndNoAnswer                         // the far end did not answer in time (408)
	EndNoSuchNumber                     // the far end does not exist (404)
	EndUnavailable                      // the far end is unavailable (480)
	EndUnreachable                      // no answer at all: the far end, or the park service for a retrieve, could not be reached
	EndTransferred                      // handed over by a transfer (blind, or attended: both legs)
	EndParked                           // handed over to the park service (a call on an orbit lives on until it leaves)
	EndLeftOrbit                        // a call this console parked left its orbit (its lamp went dark)
	EndRemoved                          // the receptionist took a parked call off the lines
	EndOrbitEmpty                       // a retrieve found no call on the orbit (or not the one this console parked there)
	EndRelayEnded                       // the park service ended a call this console relay-parked
	EndParkUnconfirmed                  // the PBX took the call (a 2xx sipfrag, or it forgot our leg) but no lamp confirmed where: Call.Reason names the orbits it may be on, or says it may have dropped it
	EndNoAudio                          // the call had no usable audio
	EndClosed                           // the console closed
	EndLostInRestart                    // a call this console parked did not survive a restart of the park service (Orbit.Left LeftServiceStopped)
	EndFailed                           // anything else; Call.Reason has the details
)

var endNames = [...]string{
	EndNone:            "",
	EndHungUpHere:      "hung up",
	EndHungUpByFarEnd:  "far end hung up",
	EndMissed:          "missed",
	EndRejected:        "rejected",
	EndBusy:            "busy",
	EndDeclined:        "declined",
	EndNoAnswer:        "no answer",
	EndNoSuchNumber:    "no such number",
	EndUnavailable:     "unavailable",
	EndUnreachable:     "unreachable",
	EndTransferred:     "transferred",
	EndParked:          "parked",
	EndLeftOrbit:       "left its orbit",
	EndRemoved:         "removed from the lines",
	EndOrbitEmpty:      "orbit is empty",
	EndRelayEnded:      "relayed call ended",
	EndParkUnconfirmed: "the park was not confirmed",
	EndNoAudio:         "no usable audio",
	EndClosed:          "console closed",
	EndLostInRestart:   "lost when the park service stopped",
	EndFailed:          "call failed",
}

// String words the reason plainly ("busy", "rejected"); empty for
// EndNone. Call.Reason may say more (an orbit, a target, an error).
func (r EndReason) String() string {
	if int(r) < len(endNames) {
		return endNames[r]
	}
	return fmt.Sprintf("end(%d)", r)
}

// ParkOutcome says how the last call left a free orbit (Orbit.Left), as
// the park service's lamp reports it. The zero value, LeftUnknown, is an
// orbit whose last call left without the service saying how, or that
// has had none.
type ParkOutcome uint8

// How a call left its orbit.
const (
	LeftUnknown   ParkOutcome = iota // not said
	LeftGaveUp                       // the caller hung up while parked
	LeftRetrieved                    // someone retrieved it (Orbit.RetrievedBy)
	LeftRingBack                     // the parker answered the ring-back (Orbit.RetrievedBy)
	LeftFallback                     // the ring-back went to the fallback, which answered (Orbit.RetrievedBy)
	LeftLost                         // its phone stopped answering the service's probes
	// LeftServiceStopped: the park service restarted (a new
	// X-Park-Instance) and the call did not come back with it: its orbit
	// came back free, or lost at the restored service's first probe (the
	// caller hung up while the service was down).
	LeftServiceStopped
)

var leftNames = [...]string{
	LeftUnknown:        "",
	LeftGaveUp:         "gave up",
	LeftRetrieved:      "retrieved",
	LeftRingBack:       "answered ring-back",
	LeftFallback:       "fallback",
	LeftLost:           "lost",
	LeftServiceStopped: "lost when the park service stopped",
}

// String words the outcome ("gave up", "retrieved"); empty for
// LeftUnknown.
func (o ParkOutcome) String() string {
	if int(o) < len(leftNames) {
		return leftNames[o]
	}
	return fmt.Sprintf("left(%d)", o)
}
