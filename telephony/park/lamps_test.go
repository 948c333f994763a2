package park_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
	"github.com/switchboard/switchboard/telephony/park"
)

func TestLampFullStateAtOnceAndOnEveryChange(t *testing.T) {
	f := startPark(t, nil)
	w := newWatcher(t, f, 705)
	first := w.waitOccupied(t, false)
	if first.Version != 0 || first.Entity != "sip:705@"+f.h {
		t.Fatalf("first document %+v, want version 0 for sip:705@%s", first, f.h)
	}

	caller := newAgent(t, "alice", nil)
	dc, err := caller.Call(t, f.uri("park-705"), sip.NewHeader("Referred-By", "<sip:consoleA@127.0.0.1:5991>"))
	if err != nil {
		t.Fatal(err)
	}
	lit := w.waitOccupied(t, true)
	d, _ := lit.Occupied()
	if d.State != dialoginfo.DialogConfirmed || d.Remote == nil || d.Remote.Display != "Alice" || d.Remote.Identity != caller.AOR() {
		t.Fatalf("lit lamp dialog %+v remote %+v, want Alice", d, d.Remote)
	}
	if d.Park == nil || d.Park.Orbit != 705 || d.Park.Parker != "sip:consoleA@127.0.0.1:5991" || d.Park.ParkedAt.IsZero() {
		t.Fatalf("park extension %+v", d.Park)
	}

	// A second watcher subscribing now gets the lit state at once.
	w2 := newWatcher(t, f, 705)
	w2.waitOccupied(t, true)

	r := newAgent(t, "bob", nil)
	if _, err := r.Call(t, f.uri("705")); err != nil {
		t.Fatal(err)
	}
	dark := w.waitOccupied(t, false)
	w2.waitOccupied(t, false)
	_ = dc
	// The dark lamp says the call was retrieved, and by whom.
	if len(dark.Dialogs) != 1 || dark.Dialogs[0].State != dialoginfo.DialogTerminated || dark.Dialogs[0].Event != "replaced" ||
		dark.Dialogs[0].Park == nil || dark.Dialogs[0].Park.RetrievedBy != r.AOR() || dark.Dialogs[0].Remote == nil || dark.Dialogs[0].Remote.Display != "Alice" {
		t.Fatalf("dark lamp after a retrieve: %+v", dark.Dialogs)
	}
	if st, _ := f.svc.Orbit(705); st.Last == nil || st.Last.How != park.ExitRetrieved || st.Last.RetrievedBy != r.AOR() {
		t.Fatalf("orbit state after a retrieve: %+v", st.Last)
	}

	// Other orbits' watchers hear nothing of 705.
	w3 := newWatcher(t, f, 706)
	w3.waitOccupied(t, false)
	if n := len(w3.documents()); n != 1 {
		t.Fatalf("watcher of 706 got %d documents, want 1", n)
	}
}

func TestLampGoesDarkWhenCallerGivesUp(t *testing.T) {
	f := startPark(t, nil)
	w := newWatcher(t, f, 703)
	caller := newAgent(t, "alice", nil)
	dc, err := caller.Call(t, f.uri("park-703"))
	if err != nil {
		t.Fatal(err)
	}
	w.waitOccupied(t, true)
	hangup(t, dc)
	dark := w.waitOccupied(t, false)
	// The dark lamp says the caller hung up.
	if len(dark.Dialogs) != 1 || dark.Dialogs[0].Event != "remote-bye" || dark.Dialogs[0].Remote == nil ||
		dark.Dialogs[0].Remote.Identity != caller.AOR() || dark.Dialogs[0].Park.RetrievedBy != "" {
		t.Fatalf("dark lamp after the caller gave up: %+v", dark.Dialogs)
	}
	// Parking again on the orbit forgets how the last call left.
	if _, err := caller.Call(t, f.uri("park-703")); err != nil {
		t.Fatal(err)
	}
	if lit := w.waitOccupied(t, true); len(lit.Dialogs) != 1 {
		t.Fatalf("lit lamp: %+v", lit.Dialogs)
	}
}

func TestLampRefreshAndUnsubscribe(t *testing.T) {
	f := startPark(t, nil)
	w := newWatcher(t, f, 710)
	w.waitOccupied(t, false)
	if f.svc.Watchers() != 1 {
		t.Fatalf("%d watchers, want 1", f.svc.Watchers())
	}
	res, err := w.subscribe(time.Minute)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("refresh: %v %v", res, err)
	}
	if h := res.GetHeader("Expires"); h == nil || h.Value() != "60" {
		t.Fatalf("refresh Expires = %v, want 60", h)
	}
	// A refresh gets the full state again, with the next version.
	w.notifies.Await(siptest.WaitFor, func([]*sip.Request) bool { return len(w.documents()) >= 2 })
	docs := w.documents()
	if len(docs) < 2 || docs[1].Version != 1 || docs[1].State != dialoginfo.StateFull {
		t.Fatalf("after refresh documents %+v", docs)
	}
	res, err = w.subscribe(0)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("unsubscribe: %v %v", res, err)
	}
	// The service tells no one when it drops a watcher: poll.
	for deadline := time.Now().Add(siptest.WaitFor); f.svc.Watchers() != 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if f.svc.Watchers() != 0 {
		t.Fatal("subscription still alive after Expires: 0")
	}
	w.waitTerminated(t)
	// A refresh of the ended subscription is unknown.
	if res, _ := w.subscribe(time.Minute); res == nil || res.StatusCode != 481 {
		t.Fatalf("refresh after unsubscribe: %v, want 481", res)
	}
}

func TestLampExpires(t *testing.T) {
	f := startPark(t, nil)
	w := newWatcher(t, f, 711)
	w.waitOccupied(t, false)
	if res, err := w.subscribe(1 * time.Second); err != nil || res.StatusCode != 200 {
		t.Fatalf("short refresh: %v %v", res, err)
	}
	deadline := time.Now().Add(siptest.WaitFor)
	for f.svc.Watchers() != 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if f.svc.Watchers() != 0 {
		t.Fatal("subscription outlived its Expires")
	}
}

func TestLampRefusals(t *testing.T) {
	f := startPark(t, nil)
	for _, tc := range []struct {
		name, head string
		want       string
	}{
		{"outside the lot", "SUBSCRIBE sip:799@" + f.h + " SIP/2.0\r\nEvent: dialog\r\nContact: <sip:w@127.0.0.1:9>\r\n", "SIP/2.0 404"},
		{"other event package", "SUBSCRIBE sip:705@" + f.h + " SIP/2.0\r\nEvent: presence\r\nContact: <sip:w@127.0.0.1:9>\r\n", "SIP/2.0 489"},
		{"no event", "SUBSCRIBE sip:705@" + f.h + " SIP/2.0\r\nContact: <sip:w@127.0.0.1:9>\r\n", "SIP/2.0 489"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if res := rawRequest(t, f, tc.head); !strings.HasPrefix(res, tc.want) {
				t.Fatalf("answered %q, want %q", firstLine(res), tc.want)
			}
		})
	}
}

// TestLampAfterServiceRestart: a watcher that re-subscribes to a restarted
// service (same address) gets the full state again.
func TestLampAfterServiceRestart(t *testing.T) {
	f := startPark(t, nil)
	addr := f.svc.Addr().String()
	caller := newAgent(t, "alice", nil)
	if _, err := caller.Call(t, f.uri("park-702")); err != nil {
		t.Fatal(err)
	}
	w := newWatcher(t, f, 702)
	w.waitOccupied(t, true)
	f.svc.Close()
	w.waitTerminated(t)
	f2 := startPark(t, func(o *park.Options) { o.Listen = addr })
	w2 := newWatcher(t, f2, 702)
	if doc := w2.waitOccupied(t, false); doc.Version != 0 {
		t.Fatalf("after restart: %+v", doc)
	}
}

// waitTerminated waits for a NOTIFY with Subscription-State: terminated.
func (w *watcher) waitTerminated(t testing.TB) {
	t.Helper()
	if !w.notifies.Await(siptest.WaitFor, func([]*sip.Request) bool { return w.ended() }) {
		t.Fatal("no terminating NOTIFY")
	}
}
