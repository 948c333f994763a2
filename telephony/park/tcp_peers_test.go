package park_test

import (
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
)

// TestTCPThreePeersEachOnItsConnection: a watcher, a parked caller and a
// retriever, each on a TCP connection of its own that it opened. Every
// request the service starts goes down its own peer's connection: the
// watcher's NOTIFYs (lit, then dark), the re-INVITE that takes the
// caller off hold (the retriever hears it), the caller's BYE when the
// retriever hangs up. Down another peer's connection, a NOTIFY would be
// answered 481 by a UA that knows no such subscription and the lamp
// dropped, a re-INVITE would leave the caller on hold.
func TestTCPThreePeersEachOnItsConnection(t *testing.T) {
	f := startPark(t, nil)
	w := newWatcherTCP(t, f, 704)
	w.waitOccupied(t, false)

	caller := newAgentOn(t, "tcp", "alice", nil)
	dc, err := caller.Call(t, f.uri("park-704", "transport=tcp"))
	if err != nil {
		t.Fatalf("park over TCP: %v", err)
	}
	mc := siptest.StartMedia(t, dc, 440)
	w.waitOccupied(t, true)

	r := newAgentOn(t, "tcp", "bob", nil)
	dr, err := r.Call(t, f.uri("704", "transport=tcp"))
	if err != nil {
		t.Fatalf("retrieve over TCP: %v", err)
	}
	mr := siptest.StartMedia(t, dr, 1000)
	hears(t, mr, 440)
	hears(t, mc, 1000)
	w.waitOccupied(t, false)
	hangup(t, dr)
	select {
	case <-dc.Context().Done():
	case <-time.After(siptest.WaitFor):
		t.Fatal("TCP caller not hung up after the retriever left")
	}
	for _, n := range w.notifies.All() {
		if n.Transport() != "TCP" {
			t.Fatalf("a NOTIFY came over %s, want the watcher's TCP connection", n.Transport())
		}
	}
	if f.svc.Watchers() != 1 {
		t.Fatalf("%d lamp subscriptions left, want the watcher's 1", f.svc.Watchers())
	}
}

// TestRingbackOverTCP: a caller parked over TCP is rung back to a parker
// whose URI says transport=tcp. The ring-back INVITE is a request the
// service starts: it goes to the parker on a connection to the parker,
// never down the caller's connection (which a client pinned to the
// listening address may pick from the pool), and the two are bridged.
func TestRingbackOverTCP(t *testing.T) {
	f := startPark(t, shortTimes)
	got := make(chan *sip.Request, 1)
	heard := make(chan struct{}, 1)
	parker := newAgentOn(t, "tcp", "console", func(d *diago.DialogServerSession) {
		got <- d.InviteRequest
		dm, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			return
		}
		m := siptest.StartMedia(t, dm, 1000)
		hears(t, m, 440)
		heard <- struct{}{}
		<-d.Context().Done()
	})
	caller := newAgentOn(t, "tcp", "alice", func(d *diago.DialogServerSession) {
		t.Errorf("the caller got an INVITE meant for the parker: %s", d.InviteRequest.Recipient.String())
		_ = d.Respond(sip.StatusNotFound, "Not Found", nil)
	})
	dc, err := caller.Call(t, f.uri("park-712", "transport=tcp"),
		sip.NewHeader("Referred-By", "<"+parker.AOR()+";transport=tcp>"))
	if err != nil {
		t.Fatalf("park over TCP: %v", err)
	}
	mc := siptest.StartMedia(t, dc, 440)
	req := siptest.Recv(t, "the ring-back INVITE", got)
	if req.Transport() != "TCP" {
		t.Errorf("ring-back INVITE came over %s, want TCP", req.Transport())
	}
	hears(t, mc, 1000)
	siptest.Recv(t, "the parker hearing the caller", heard)
	f.log.wait(t, "rang back", "orbit", "712", "answered", "true")
}
