package park_test

import (
	"encoding/base64"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/telephony/dialoginfo"
	"github.com/switchboard/switchboard/telephony/park"
)

// note705 is a note with what needs escaping: spaces, quotes, angle
// brackets, an ampersand, a semicolon and accents.
const note705 = `Eva Novak re "contract" <urgent>; 50% & Zoë's`

// TestParkForSomeone: a park naming whom it is for (for=, escaped like
// the parker) with a note (note=, escaped) keeps both on the call: the
// orbit's lamp shows them in sb:park, the retrieve's 200 carries
// X-Park-For and X-Park-Note, and the terminated dialog after the
// retrieve still names them.
func TestParkForSomeone(t *testing.T) {
	f := startPark(t, nil)
	w := newWatcher(t, f, 705)
	parkAlice(t, f.uri("park-705", "token=t705", "for=bob.chen%40example.com", "note="+park.EscapeNote(note705)))

	doc, at := lampDoc(t, w, 0, "the park for Bob", func(d dialoginfo.Document) bool {
		_, ok := d.Occupied()
		return ok
	})
	dl, _ := doc.Occupied()
	if dl.Park == nil || dl.Park.For != "sip:bob.chen@example.com" || dl.Park.Note != note705 {
		t.Fatalf("lit lamp's park element %+v, want for sip:bob.chen@example.com and the note %q", dl.Park, note705)
	}
	if st, _ := f.svc.Orbit(705); st.For != "sip:bob.chen@example.com" || st.Note != note705 {
		t.Fatalf("orbit state %+v", st)
	}

	dr, err := newAgent(t, "bob", nil).Call(t, f.uri("705", "token=t705"))
	if err != nil {
		t.Fatal(err)
	}
	defer hangup(t, dr)
	if h := dr.InviteResponse.GetHeader(park.ForHeader); h == nil || h.Value() != "<sip:bob.chen@example.com>" {
		t.Fatalf("%s = %v, want <sip:bob.chen@example.com>", park.ForHeader, h)
	}
	h := dr.InviteResponse.GetHeader(park.NoteHeader)
	if h == nil {
		t.Fatalf("no %s on the retrieve's 200", park.NoteHeader)
	}
	if got, err := url.PathUnescape(h.Value()); err != nil || got != note705 {
		t.Fatalf("%s = %q (unescaped %q, %v), want %q", park.NoteHeader, h.Value(), got, err, note705)
	}

	doc, _ = lampDoc(t, w, at+1, "the retrieve", func(d dialoginfo.Document) bool {
		return len(d.Dialogs) == 1 && d.Dialogs[0].State == dialoginfo.DialogTerminated
	})
	if pk := doc.Dialogs[0].Park; pk == nil || pk.For != "sip:bob.chen@example.com" || pk.Note != note705 {
		t.Fatalf("terminated dialog's park element %+v", pk)
	}
}

// TestParkForEscapeFree: the escape-free forms a caller that eats
// percent escapes passes intact (for-user/for-host, note64) mean the same.
func TestParkForEscapeFree(t *testing.T) {
	f := startPark(t, nil)
	parkAlice(t, f.uri("park-706", "for-user=bob.chen", "for-host=example.com:5062",
		"note64="+base64.RawURLEncoding.EncodeToString([]byte(note705))))
	f.log.wait(t, "parked", "orbit", "706")
	if st, _ := f.svc.Orbit(706); st.For != "sip:bob.chen@example.com:5062" || st.Note != note705 {
		t.Fatalf("orbit state %+v", st)
	}
	// A park naming nobody has neither; its retrieve's 200 says nothing.
	parkAlice(t, f.uri("park-707"))
	f.log.wait(t, "parked", "orbit", "707")
	dr, err := newAgent(t, "carol", nil).Call(t, f.uri("707"))
	if err != nil {
		t.Fatal(err)
	}
	defer hangup(t, dr)
	if h := dr.InviteResponse.GetHeader(park.ForHeader); h != nil {
		t.Fatalf("%s on a park for nobody: %v", park.ForHeader, h)
	}
	if h := dr.InviteResponse.GetHeader(park.NoteHeader); h != nil {
		t.Fatalf("%s on a park without a note: %v", park.NoteHeader, h)
	}
}

// TestParkForRefusals: a malformed for or note refuses the park, 400 with
// a typed X-Park-Reason, and takes no orbit.
func TestParkForRefusals(t *testing.T) {
	f := startPark(t, nil)
	long := strings.Repeat("é", park.MaxNote+1)
	for _, c := range []struct {
		param  string
		reason park.Reason
	}{
		{"for=bob%ZZexample.com", park.ReasonBadFor},
		{"for=%3Cbob%40example.com%3E", park.ReasonBadFor},
		{"for=bob%20chen%40example.com", park.ReasonBadFor},
		{"for=" + strings.Repeat("b", 300) + "%40example.com", park.ReasonBadFor},
		{"for-user=bob", park.ReasonBadFor},
		{"note=" + park.EscapeNote(long), park.ReasonBadNote},
		{"note=bad%2", park.ReasonBadNote},
		{"note=line%0Abreak", park.ReasonBadNote},
		{"note=%FF%FE", park.ReasonBadNote},
		{"note64=not+base64", park.ReasonBadNote},
	} {
		wantReason(t, c.param, rawInvite(t, f, "park-708", c.param), 400, c.reason)
	}
	if n := f.svc.Parked(); n != 0 {
		t.Fatalf("%d calls parked after the refusals", n)
	}
	// Exactly 140 characters is fine.
	parkAlice(t, f.uri("park-708", "note="+park.EscapeNote(strings.Repeat("é", park.MaxNote))))
	f.log.wait(t, "parked", "orbit", "708")
}
