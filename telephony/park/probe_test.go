package park_test

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
	"github.com/switchboard/switchboard/telephony/park"
)

// probedCaller is a parked caller (raw sipgo) that answers the service's
// in-dialog OPTIONS with code, or not at all when code is 0, and keeps
// every OPTIONS it got.
type probedCaller struct {
	sipPeer
	probes siptest.Log[*sip.Request]
}

func newProbedCaller(t *testing.T, name string, code int) *probedCaller {
	t.Helper()
	p := &probedCaller{}
	p.start(t, name, func(srv *sipgo.Server) {
		srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
			p.probes.Add(req)
			if code != 0 {
				_ = tx.Respond(sip.NewResponseFromRequest(req, code, "Probe", nil))
			}
		})
	}, nil, nil)
	return p
}

// park parks p on orbit of f with a PCMU offer.
func (p *probedCaller) park(t *testing.T, f *fixture, orbit int) {
	t.Helper()
	port := p.rtp.LocalAddr().(*net.UDPAddr).Port
	offer := fmt.Appendf(nil, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n", port)
	p.invite(t, f.uri(fmt.Sprintf("park-%d", orbit)), offer)
	f.log.wait(t, "parked", "orbit", fmt.Sprint(orbit))
}

// The probe intervals of the tests. A probe waits one interval for its
// answer, so a caller that answers gets a whole second even on a busy
// machine; the unanswered probe gives up after 200 ms.
const (
	probeAnswered   = time.Second
	probeUnanswered = 200 * time.Millisecond
)

// A parked caller that answers its probes stays parked: the service
// never hangs up a caller by itself.
func TestProbeAnsweredKeepsCaller(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.ProbeInterval = probeAnswered })
	p := newProbedCaller(t, "alive", 200)
	p.park(t, f, 706)
	p.probes.Until(t, "two in-dialog OPTIONS probes", func(r []*sip.Request) bool { return len(r) >= 2 })
	for _, r := range p.probes.All() {
		if to, _ := r.To().Params.Get("tag"); to == "" {
			t.Fatalf("probe outside the dialog:\n%s", r)
		}
	}
	if st, _ := f.svc.Orbit(706); !st.Occupied {
		t.Fatalf("a caller answering its probes left its orbit: %+v", st)
	}
	if n := f.log.count("lost"); n != 0 {
		t.Fatalf("%d lost events for a caller that answers", n)
	}
}

// lostCase parks a caller that answers probes with code (0: never) and
// checks it is taken off its orbit as lost, for that reason, with the
// lamp's terminated dialog saying event="rejected".
func lostCase(t *testing.T, code int) {
	every, why := probeAnswered, fmt.Sprintf("probe answered %d", code)
	if code == 0 {
		every, why = probeUnanswered, "probe unanswered: no final answer in time"
	}
	f := startPark(t, func(o *park.Options) { o.ProbeInterval = every })
	w := newWatcher(t, f, 707)
	p := newProbedCaller(t, "vanished", code)
	p.park(t, f, 707)
	w.waitOccupied(t, true)
	ev := f.log.wait(t, "lost", "orbit", "707")
	if ev["caller"] == "" || ev["reason"] != why {
		t.Fatalf("lost event without the caller: %v", ev)
	}
	doc := w.waitOccupied(t, false)
	if len(doc.Dialogs) != 1 || doc.Dialogs[0].State != dialoginfo.DialogTerminated || doc.Dialogs[0].Event != "rejected" {
		t.Fatalf("lamp of a lost caller: %+v, want one terminated dialog with event rejected", doc)
	}
	st, _ := f.svc.Orbit(707)
	if st.Occupied || st.Last == nil || st.Last.How != park.ExitLost {
		t.Fatalf("orbit of a lost caller: %+v", st)
	}
	// The orbit serves the next caller.
	if _, err := newAgent(t, "next", nil).Call(t, f.uri("park-707")); err != nil {
		t.Fatalf("park on the orbit a lost caller left: %v", err)
	}
}

func TestProbe481MarksLost(t *testing.T)        { lostCase(t, sip.StatusCallTransactionDoesNotExists) }
func TestProbe408MarksLost(t *testing.T)        { lostCase(t, sip.StatusRequestTimeout) }
func TestProbeUnansweredMarksLost(t *testing.T) { lostCase(t, 0) }

// A parked caller's dialog is rebuilt small once its first probe is
// answered (compact; issue 17, docs/BENCHMARKS.md), and everything goes
// on in it: the next probe, the retrieve's re-INVITE that takes the
// caller off hold (tones both ways), and the caller's hang-up, which
// ends the retriever's leg.
func TestCompactedCallerCarriesOn(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.ProbeInterval = 200 * time.Millisecond })
	dc := parkAlice(t, f.uri("park-709"))
	mc := siptest.StartMedia(t, dc, 440)
	f.log.Until(t, "two probes answered", func(rs []map[string]string) bool {
		n := 0
		for _, r := range rs {
			if r["event"] == "probe answered" && r["orbit"] == "709" {
				n++
			}
		}
		return n >= 2
	})
	if !f.svc.Compacted(709) {
		t.Fatal("the parked caller's dialog was not compacted after its probes")
	}
	r := newAgent(t, "bob", nil)
	dr, err := r.Call(t, f.uri("709"))
	if err != nil {
		t.Fatal(err)
	}
	mr := siptest.StartMedia(t, dr, 1000)
	hears(t, mr, 440)
	hears(t, mc, 1000)
	f.log.wait(t, "taken off hold", "orbit", "709")
	hangup(t, dc)
	select {
	case <-dr.Context().Done():
	case <-time.After(siptest.WaitFor):
		t.Fatal("the caller's hang-up did not end the retriever's leg")
	}
	if n := f.log.count("lost"); n != 0 {
		t.Fatalf("%d lost events", n)
	}
}
