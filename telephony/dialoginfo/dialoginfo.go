// Package dialoginfo encodes and decodes RFC 4235 dialog-info+xml documents,
// the bodies of NOTIFY requests in the SIP "dialog" event package, as used for
// call-park orbit busy lamps.
//
// The park service encodes one [Document] per orbit change with [Marshal]; the
// console decodes what it receives with [Unmarshal], both from our own service
// and from other PBXs such as Asterisk, whose documents carry only a dialog id
// and a state.
//
// An occupied orbit holds one dialog whose state is not "terminated"; a free
// orbit holds no dialog, or only terminated ones (see [Document.Occupied]).
// Our service adds, where known, the orbit number, the parker and the park
// time in an extension element in its own namespace ([ParkNamespace]):
//
//	<sb:park xmlns:sb="urn:switchboard:park" orbit="705" parker="sip:console@host" parked-at="2026-03-01T09:00:00Z"/>
//
// When a call leaves its orbit the service may say how in one terminated
// dialog: event "remote-bye" (the caller hung up) or "replaced" (someone
// retrieved it, named by a retrieved-by attribute of the extension).
//
// While the service rings back the parker of a call nobody retrieved (or,
// after that, its fallback), the orbit's dialog stays confirmed (the caller
// is still connected to the service) and carries a second extension element
// saying whom it rings and since when ([Ringback]):
//
//	<sb:ringback xmlns:sb="urn:switchboard:park" target="sip:console@host" since="2026-03-01T09:02:00Z"/>
//
// A call that returns to its orbit because nobody answered loses that
// element and gains a returned-at attribute on its park element, from which
// the park time runs again. A call that leaves its orbit because the
// ring-back was answered leaves as if retrieved (event "replaced",
// retrieved-by the answerer) and keeps the ringback element on its
// terminated dialog, so watchers can tell the ring-back, and the fallback
// (fallback="true"), from a retrieve.
//
// [Unmarshal] is tolerant: it accepts any namespace prefix, a missing default
// namespace, elements in any order, absent optional elements and attributes,
// surrounding whitespace, ISO-8859-1 and US-ASCII documents, and it ignores
// elements and attributes it does not know. It rejects what would make the
// lamp wrong: malformed XML, a root element other than dialog-info, a missing
// or invalid version or state, and malformed values in the elements it reads.
package dialoginfo

import (
	"errors"
	"time"
)

// ContentType is the MIME type of a dialog-info document (RFC 4235 section 4.2),
// for the Content-Type and Accept headers.
const ContentType = "application/dialog-info+xml"

// EventName is the SIP event package name carried in the Event header of
// SUBSCRIBE and NOTIFY requests for busy lamps (RFC 4235 section 3).
const EventName = "dialog"

// Namespace is the XML namespace of dialog-info documents.
const Namespace = "urn:ietf:params:xml:ns:dialog-info"

// ParkNamespace is the XML namespace of Switchboard's park extension element.
const ParkNamespace = "urn:switchboard:park"

// StateFull and StatePartial are the values of [Document.State]: a full
// document replaces everything the watcher knew, a partial one updates only
// the dialogs it lists.
const (
	StateFull    = "full"
	StatePartial = "partial"
)

// DialogTrying, DialogProceeding, DialogEarly, DialogConfirmed and
// DialogTerminated are the values of [Dialog.State] (RFC 4235 section 3.7.1).
// A parked call is confirmed; a free orbit's dialog, if any, is terminated.
const (
	DialogTrying     = "trying"
	DialogProceeding = "proceeding"
	DialogEarly      = "early"
	DialogConfirmed  = "confirmed"
	DialogTerminated = "terminated"
)

// DirectionInitiator and DirectionRecipient are the values of
// [Dialog.Direction]; an empty Direction means unknown.
const (
	DirectionInitiator = "initiator"
	DirectionRecipient = "recipient"
)

// ErrInvalid is wrapped by every error [Marshal] and [Unmarshal] return for a
// document that is well-formed XML but not a valid dialog-info document, or
// for a [Document] that cannot be encoded as one.
var ErrInvalid = errors.New("invalid dialog-info document")

// Document is a dialog-info document: the state of the dialogs of one
// entity, here one park orbit.
type Document struct {
	// Version counts the documents sent on one subscription, from 0.
	Version uint32
	// State is StateFull or StatePartial.
	State string
	// Entity is the URI of the watched resource, e.g. "sip:705@park.example".
	Entity string
	// Dialogs are the entity's dialogs; none for a free orbit.
	Dialogs []Dialog
}

// Dialog is one dialog of a [Document]'s entity; for a park orbit, the
// parked call.
type Dialog struct {
	// ID identifies the dialog within the document; required by RFC 4235.
	// Asterisk uses the slot number.
	ID string
	// CallID, LocalTag and RemoteTag identify the SIP dialog; optional.
	CallID    string
	LocalTag  string
	RemoteTag string
	// Direction is DirectionInitiator, DirectionRecipient or empty.
	Direction string
	// State is one of DialogTrying, DialogProceeding, DialogEarly,
	// DialogConfirmed and DialogTerminated.
	State string
	// Event is the optional reason for the state, usually for a terminated
	// dialog: "cancelled", "rejected", "replaced", "local-bye", "remote-bye",
	// "error" or "timeout".
	Event string
	// Code is the optional SIP response code of the state (the state
	// element's code attribute); 0 when absent.
	Code int
	// Duration is how long the dialog has existed, in seconds; 0 leaves it
	// out.
	Duration int
	// Local is the entity's side of the dialog (for an orbit, the park
	// service); nil when absent.
	Local *Participant
	// Remote is the far side (for an orbit, the parked caller); nil when
	// absent, as in Asterisk's documents.
	Remote *Participant
	// Park is Switchboard's park extension; nil when absent.
	Park *ParkInfo
	// Ringback is Switchboard's ring-back extension; nil when absent.
	Ringback *Ringback
}

// Participant is the local or remote side of a [Dialog].
type Participant struct {
	// Identity is the participant's URI, e.g. the caller's From URI.
	Identity string
	// Display is the display name of Identity; it may hold any text.
	// A Display requires an Identity.
	Display string
	// Target is the participant's target (contact) URI; optional.
	Target string
}

// ParkInfo is Switchboard's extension element of a [Dialog]: what the park
// service knows about the call parked on an orbit.
type ParkInfo struct {
	// Orbit is the orbit number; 0 leaves it out.
	Orbit int
	// Parker is the URI of the console that parked the call; optional.
	Parker string
	// ParkedAt is when the call was parked; the zero time leaves it out.
	// It is encoded in UTC to the second.
	ParkedAt time.Time
	// RetrievedBy is the URI of whoever retrieved the call, on the
	// terminated dialog of a call that left its orbit that way; optional.
	RetrievedBy string
	// ReturnedAt is when the call last came back to its orbit after a
	// ring-back nobody answered: the park time runs again from there.
	// The zero time (never returned) leaves it out. It is encoded in UTC
	// to the second.
	ReturnedAt time.Time
	// For is the URI of the colleague the call was parked for (the park
	// URI's for parameter); optional.
	For string
	// Note is the parker's note on the call (the park URI's note
	// parameter, at most 140 characters); optional.
	Note string
}

// Ringback is Switchboard's ring-back extension element of a [Dialog]. On
// a dialog that is not terminated it says the park service is ringing
// Target back for the parked call now; on a terminated dialog (event
// "replaced") it says the call left its orbit because Target answered
// that ring-back.
type Ringback struct {
	// Target is the URI rung: the parker, or the service's fallback;
	// optional.
	Target string
	// Since is when the service began to ring Target; the zero time
	// leaves it out. It is encoded in UTC to the second.
	Since time.Time
	// Fallback is true when Target is the service's fallback rather than
	// the parker.
	Fallback bool
}

// Occupied returns the first dialog of d that is not terminated, and true;
// or, when every dialog is terminated or there is none (a free orbit), the
// zero Dialog and false.
func (d Document) Occupied() (Dialog, bool) {
	for _, dl := range d.Dialogs {
		if dl.State != DialogTerminated {
			return dl, true
		}
	}
	return Dialog{}, false
}
