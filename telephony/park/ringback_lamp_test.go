package park_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
	"github.com/switchboard/switchboard/telephony/park"
)

// The lamps of a ring-back. The parker (and the fallback) hold each ring
// until the test has seen the lamp say it rings them, so the waits follow
// the lamps, not the ring-back time (long: only a safety net).

// ringbackLampTimes parks briefly and rings back for long.
func ringbackLampTimes(o *park.Options) {
	o.ParkTime = 300 * time.Millisecond
	o.RingbackTime = siptest.WaitFor
}

// lampDoc waits for the first document after the first from ones for
// which match is true, and returns it with its index.
func lampDoc(t *testing.T, w *watcher, from int, what string, match func(dialoginfo.Document) bool) (dialoginfo.Document, int) {
	t.Helper()
	var doc dialoginfo.Document
	at := -1
	ok := w.notifies.Await(siptest.WaitFor, func([]*sip.Request) bool {
		docs := w.documents()
		for i := from; i < len(docs); i++ {
			if match(docs[i]) {
				doc, at = docs[i], i
				return true
			}
		}
		return false
	})
	if !ok {
		t.Fatalf("lamp of orbit %d never showed %s; documents: %+v", w.orbit, what, w.documents())
	}
	return doc, at
}

// ringingBack matches a lit lamp whose ring-back element rings target.
func ringingBack(target string, fallback bool) func(dialoginfo.Document) bool {
	return func(doc dialoginfo.Document) bool {
		dl, ok := doc.Occupied()
		return ok && dl.Ringback != nil && dl.Ringback.Target == target && dl.Ringback.Fallback == fallback
	}
}

// checkRinging checks the rest of a ringing-back lamp: the caller still
// on the confirmed dialog, the park element unchanged, a ring-back time
// no earlier than the park.
func checkRinging(t *testing.T, doc dialoginfo.Document, caller string, parked dialoginfo.Dialog) {
	t.Helper()
	dl, _ := doc.Occupied()
	if dl.State != dialoginfo.DialogConfirmed || dl.Remote == nil || dl.Remote.Identity != caller || dl.Remote.Display != "Alice" {
		t.Errorf("ringing-back dialog %+v remote %+v, want confirmed with Alice", dl, dl.Remote)
	}
	if dl.ID != parked.ID || dl.Park == nil || !dl.Park.ParkedAt.Equal(parked.Park.ParkedAt) || dl.Park.Parker != parked.Park.Parker {
		t.Errorf("ringing-back dialog %s park %+v, want the parked one %s %+v", dl.ID, dl.Park, parked.ID, parked.Park)
	}
	if dl.Ringback.Since.IsZero() || dl.Ringback.Since.Before(parked.Park.ParkedAt) {
		t.Errorf("ring-back since %v, park at %v", dl.Ringback.Since, parked.Park.ParkedAt)
	}
}

// TestRingbackLampUnanswered: the lamp says whom the service rings back
// and since when; nobody answers and the lamp shows the call parked
// again, with when it returned, and it rings back again from there.
func TestRingbackLampUnanswered(t *testing.T) {
	f := startPark(t, ringbackLampTimes)
	w := newWatcher(t, f, 709)
	w.waitOccupied(t, false)
	release := make(chan struct{})
	rings := make(chan struct{}, 4)
	parker := newAgent(t, "console", func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		rings <- struct{}{}
		select {
		case <-release:
			_ = d.Respond(480, "Temporarily Unavailable", nil)
		case <-d.Context().Done():
		}
	})
	caller := newAgent(t, "alice", nil)
	dc, err := caller.Call(t, f.uri("park-709"), sip.NewHeader("Referred-By", "<"+parker.AOR()+">"))
	if err != nil {
		t.Fatal(err)
	}
	lit := w.waitOccupied(t, true)
	parked, _ := lit.Occupied()
	if parked.Ringback != nil || parked.Park == nil || !parked.Park.ReturnedAt.IsZero() {
		t.Fatalf("parked lamp %+v park %+v, want no ring-back and no return yet", parked.Ringback, parked.Park)
	}

	doc, i := lampDoc(t, w, 0, "ringing back the parker", ringingBack(parker.AOR(), false))
	checkRinging(t, doc, caller.AOR(), parked)
	siptest.Recv(t, "the ring-back INVITE", rings)
	if st, _ := f.svc.Orbit(709); !st.Occupied || !st.RingingBack {
		t.Fatalf("orbit state while ringing back: %+v", st)
	}
	close(release) // the parker declines: nobody else to ring

	back, j := lampDoc(t, w, i+1, "the call parked again", func(doc dialoginfo.Document) bool {
		dl, ok := doc.Occupied()
		return ok && dl.Ringback == nil
	})
	dl, _ := back.Occupied()
	ring, _ := doc.Occupied()
	if dl.ID != parked.ID || dl.Remote == nil || dl.Remote.Identity != caller.AOR() || dl.Park == nil || !dl.Park.ParkedAt.Equal(parked.Park.ParkedAt) {
		t.Errorf("returned lamp %+v park %+v, want the parked call back", dl, dl.Park)
	}
	if dl.Park.ReturnedAt.IsZero() || dl.Park.ReturnedAt.Before(ring.Ringback.Since) {
		t.Errorf("returned-at %v, ring-back since %v: want the time it came back", dl.Park.ReturnedAt, ring.Ringback.Since)
	}
	f.log.wait(t, "returned", "orbit", "709")
	if dc.Context().Err() != nil {
		t.Fatal("the caller was hung up")
	}

	// A park time later it rings back again, the lamp saying so anew and
	// still saying when the call last came back.
	again, _ := lampDoc(t, w, j+1, "ringing back the parker again", ringingBack(parker.AOR(), false))
	dl, _ = again.Occupied()
	if dl.Ringback.Since.Before(back.Dialogs[0].Park.ReturnedAt) || !dl.Park.ReturnedAt.Equal(back.Dialogs[0].Park.ReturnedAt) {
		t.Errorf("second ring-back since %v returned-at %v, want from the return at %v", dl.Ringback.Since, dl.Park.ReturnedAt, back.Dialogs[0].Park.ReturnedAt)
	}
	siptest.Recv(t, "the second ring-back INVITE", rings)
}

// TestRingbackLampAnswered: the parker answers the ring-back and the lamp
// goes dark as for a retrieve by the parker, saying it was the ring-back.
func TestRingbackLampAnswered(t *testing.T) {
	f := startPark(t, ringbackLampTimes)
	w := newWatcher(t, f, 708)
	release := make(chan struct{})
	parker := newAgent(t, "console", func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		select {
		case <-release:
		case <-d.Context().Done():
			return
		}
		if _, err := d.Answer(diago.AnswerOptions{}); err != nil {
			return
		}
		<-d.Context().Done()
	})
	caller := newAgent(t, "alice", nil)
	if _, err := caller.Call(t, f.uri("park-708"), sip.NewHeader("Referred-By", "<"+parker.AOR()+">")); err != nil {
		t.Fatal(err)
	}
	lit := w.waitOccupied(t, true)
	parked, _ := lit.Occupied()
	doc, i := lampDoc(t, w, 0, "ringing back the parker", ringingBack(parker.AOR(), false))
	checkRinging(t, doc, caller.AOR(), parked)
	close(release)

	dark, _ := lampDoc(t, w, i+1, "the lamp dark", func(doc dialoginfo.Document) bool {
		_, occ := doc.Occupied()
		return !occ
	})
	checkAnsweredExit(t, dark, caller.AOR(), parker.AOR(), false)
	f.log.wait(t, "rang back", "orbit", "708", "answered", "true")
	if st, _ := f.svc.Orbit(708); st.Occupied || st.Last == nil || st.Last.How != park.ExitRetrieved || st.Last.RetrievedBy != parker.AOR() {
		t.Fatalf("orbit state after the answered ring-back: %+v last %+v", st, st.Last)
	}
}

// TestRingbackLampFallback: the parker declines, the lamp moves the
// ring-back to the fallback, which answers: dark, saying the fallback
// took it.
func TestRingbackLampFallback(t *testing.T) {
	declined := make(chan struct{})
	parker := newAgent(t, "console", func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		select {
		case <-declined:
			_ = d.Respond(486, "Busy Here", nil)
		case <-d.Context().Done():
		}
	})
	answer := make(chan struct{})
	operator := newAgent(t, "operator", func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		select {
		case <-answer:
		case <-d.Context().Done():
			return
		}
		if _, err := d.Answer(diago.AnswerOptions{}); err != nil {
			return
		}
		<-d.Context().Done()
	})
	f := startPark(t, func(o *park.Options) {
		ringbackLampTimes(o)
		o.Fallback = operator.AOR()
	})
	w := newWatcher(t, f, 711)
	caller := newAgent(t, "alice", nil)
	if _, err := caller.Call(t, f.uri("park-711"), sip.NewHeader("Referred-By", "<"+parker.AOR()+">")); err != nil {
		t.Fatal(err)
	}
	lit := w.waitOccupied(t, true)
	parked, _ := lit.Occupied()
	doc, i := lampDoc(t, w, 0, "ringing back the parker", ringingBack(parker.AOR(), false))
	checkRinging(t, doc, caller.AOR(), parked)
	close(declined)

	fb, j := lampDoc(t, w, i+1, "ringing the fallback", ringingBack(operator.AOR(), true))
	checkRinging(t, fb, caller.AOR(), parked)
	first, _ := doc.Occupied()
	if dl, _ := fb.Occupied(); dl.Ringback.Since.Before(first.Ringback.Since) {
		t.Errorf("fallback rung since %v, before the parker (%v)", dl.Ringback.Since, first.Ringback.Since)
	}
	close(answer)

	dark, _ := lampDoc(t, w, j+1, "the lamp dark", func(doc dialoginfo.Document) bool {
		_, occ := doc.Occupied()
		return !occ
	})
	checkAnsweredExit(t, dark, caller.AOR(), operator.AOR(), true)
	f.log.wait(t, "fell back", "orbit", "711", "answered", "true")
}

// TestRingbackLampRetrievedWhileRinging: a retrieve during the ring-back
// darkens the lamp as a plain retrieve, without the ring-back element.
func TestRingbackLampRetrievedWhileRinging(t *testing.T) {
	f := startPark(t, ringbackLampTimes)
	w := newWatcher(t, f, 712)
	parker := newAgent(t, "console", func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		<-d.Context().Done() // rings until cancelled by the retrieve
	})
	caller := newAgent(t, "alice", nil)
	if _, err := caller.Call(t, f.uri("park-712"), sip.NewHeader("Referred-By", "<"+parker.AOR()+">")); err != nil {
		t.Fatal(err)
	}
	_, i := lampDoc(t, w, 0, "ringing back the parker", ringingBack(parker.AOR(), false))
	bob := newAgent(t, "bob", nil)
	if _, err := bob.Call(t, f.uri("712")); err != nil {
		t.Fatal(err)
	}
	dark, _ := lampDoc(t, w, i+1, "the lamp dark", func(doc dialoginfo.Document) bool {
		_, occ := doc.Occupied()
		return !occ
	})
	if len(dark.Dialogs) != 1 || dark.Dialogs[0].Event != "replaced" || dark.Dialogs[0].Park == nil ||
		dark.Dialogs[0].Park.RetrievedBy != bob.AOR() || dark.Dialogs[0].Ringback != nil {
		t.Fatalf("dark lamp after a retrieve during the ring-back: %+v", dark.Dialogs)
	}
}

// checkAnsweredExit checks the dark lamp of a call an answered ring-back
// took: terminated, replaced, retrieved by the answerer, the ring-back
// element naming it.
func checkAnsweredExit(t *testing.T, dark dialoginfo.Document, caller, by string, fallback bool) {
	t.Helper()
	if len(dark.Dialogs) != 1 {
		t.Fatalf("dark lamp with %d dialogs: %+v", len(dark.Dialogs), dark.Dialogs)
	}
	dl := dark.Dialogs[0]
	desc := fmt.Sprintf("%+v park %+v ringback %+v", dl, dl.Park, dl.Ringback)
	if dl.State != dialoginfo.DialogTerminated || dl.Event != "replaced" || dl.Remote == nil || dl.Remote.Identity != caller {
		t.Errorf("dark lamp %s: want terminated, replaced, the caller", desc)
	}
	if dl.Park == nil || dl.Park.RetrievedBy != by {
		t.Errorf("dark lamp %s: want retrieved by %s", desc, by)
	}
	if dl.Ringback == nil || dl.Ringback.Target != by || dl.Ringback.Fallback != fallback || dl.Ringback.Since.IsZero() {
		t.Errorf("dark lamp %s: want the ring-back to %s (fallback %v)", desc, by, fallback)
	}
}
