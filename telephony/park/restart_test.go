package park_test

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/freeport"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/park"
	"github.com/switchboard/switchboard/telephony/park/store"
)

// freeRTPPort is an even port whose successor (RTCP) was free too on
// 127.0.0.1 a moment ago.
func freeRTPPort(t testing.TB) int {
	t.Helper()
	p, err := freeport.RTPPair(netip.MustParseAddr("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// sameAddresses is the options of a service that a restart can replace:
// the store st, and SIP and RTP on fixed loopback ports.
func sameAddresses(t testing.TB, st store.Store) func(*park.Options) {
	sip, rtp := siptest.FreePort(t), freeRTPPort(t)
	return func(o *park.Options) {
		o.Store = st
		o.Listen = "127.0.0.1:" + strconv.Itoa(sip)
		o.RTPPort = rtp
	}
}

// ended waits until d's dialog ended (its BYE came).
func ended(t testing.TB, what string, d interface{ Context() context.Context }) {
	t.Helper()
	select {
	case <-d.Context().Done():
	case <-time.After(siptest.WaitFor):
		t.Fatalf("never: %s", what)
	}
}

// TestRestartKeepsParkedAndBridgedCalls: three callers parked (music
// checked) and a bridged call (a retrieved caller, tones both ways); the
// service stops with Close and a new one starts on the same store and
// addresses. Every parked caller hears music again, the bridged call
// carries tones both ways again, a watcher subscribing anew sees the
// orbits lit with a new instance, a retrieve of each parked call works
// (the caller hears its retriever), and hang-ups end the right legs.
func TestRestartKeepsParkedAndBridgedCalls(t *testing.T) {
	st, _ := openStore(t)
	same := sameAddresses(t, st)
	f1 := startPark(t, same)
	orbits := []int{701, 702, 703}
	callers := make([]*siptest.Call, len(orbits))
	music := make([]*siptest.Media, len(orbits))
	for i, n := range orbits {
		callers[i] = parkAlice(t, f1.uri(fmt.Sprintf("park-%d", n)))
		f1.log.wait(t, "parked", "orbit", strconv.Itoa(n))
		music[i] = siptest.StartMedia(t, callers[i], 0)
		hearsMusic(t, music[i])
	}
	dan := parkAlice(t, f1.uri("park-704"))
	f1.log.wait(t, "parked", "orbit", "704")
	danMedia := siptest.StartMedia(t, dan, 440)
	rita, err := newAgent(t, "rita", nil).Call(t, f1.uri("704"))
	if err != nil {
		t.Fatal(err)
	}
	ritaMedia := siptest.StartMedia(t, rita, 1000)
	hears(t, danMedia, 1000)
	hears(t, ritaMedia, 440)
	first := f1.svc.Instance()

	f1.svc.Close()
	f2 := startPark(t, same)
	if f2.svc.Instance() == first {
		t.Fatal("the restarted service kept its X-Park-Instance")
	}
	for i, n := range orbits {
		f2.log.wait(t, "restored", "orbit", strconv.Itoa(n))
		hearsMusic(t, music[i])
	}
	hears(t, danMedia, 1000)
	hears(t, ritaMedia, 440)
	if p, b := f2.svc.Held(); p != 3 || b != 1 {
		t.Fatalf("Held() after the restart = %d parked, %d bridged; want 3, 1", p, b)
	}
	for _, n := range orbits {
		newWatcher(t, f2, n).waitOccupied(t, true)
	}
	newWatcher(t, f2, 704).waitOccupied(t, false)

	// Retrieve 701: its caller is taken off hold in its restored dialog
	// and hears the retriever.
	r1, err := newAgent(t, "bob", nil).Call(t, f2.uri("701"))
	if err != nil {
		t.Fatalf("retrieve of restored 701: %v", err)
	}
	f2.log.wait(t, "retrieved", "orbit", "701")
	siptest.StartMedia(t, r1, 880)
	hears(t, music[0], 880)
	// The retriever hangs up: the restored caller gets its BYE.
	hangup(t, r1)
	ended(t, "the BYE of 701's restored caller", callers[0])
	// 702's caller gives up: its orbit goes dark.
	hangup(t, callers[1])
	f2.log.wait(t, "gave up", "orbit", "702")
	// 703 is retrieved too, its retriever hears it (and it the retriever).
	r3, err := newAgent(t, "carol", nil).Call(t, f2.uri("703"))
	if err != nil {
		t.Fatalf("retrieve of restored 703: %v", err)
	}
	siptest.StartMedia(t, r3, 660)
	hears(t, music[2], 660)
	// Dan hangs up the restored bridge: Rita gets her BYE.
	hangup(t, dan)
	ended(t, "the BYE of the restored bridge's other side", rita)
}

// TestRestartFindsCallersGoneMeanwhile: a caller whose phone forgot its
// dialog while the service was down (its BYE found nobody) answers the
// probe right after the restore 481 and leaves its orbit as lost, lamp
// and all; a caller still there (answering 200) stays parked. The probe
// interval is the default two minutes: only the restore's probe runs.
func TestRestartFindsCallersGoneMeanwhile(t *testing.T) {
	st, _ := openStore(t)
	same := sameAddresses(t, st)
	f1 := startPark(t, same)
	gone := newProbedCaller(t, "gone", sip.StatusCallTransactionDoesNotExists)
	gone.park(t, f1, 707)
	here := newProbedCaller(t, "here", sip.StatusOK)
	here.park(t, f1, 708)
	f1.svc.Close()

	f2 := startPark(t, same)
	w := newWatcher(t, f2, 707)
	ev := f2.log.wait(t, "lost", "orbit", "707")
	if ev["reason"] != "probe answered 481" {
		t.Fatalf("lost event %v, want reason probe answered 481", ev)
	}
	w.waitOccupied(t, false)
	if st, _ := f2.svc.Orbit(707); st.Occupied || st.Last == nil || st.Last.How != park.ExitLost {
		t.Fatalf("orbit 707 after the restore's probe: %+v, want free, left as lost", st)
	}
	here.probes.Until(t, "the restore's probe of 708", func(r []*sip.Request) bool { return len(r) >= 1 })
	f2.log.wait(t, "restored", "orbit", "708")
	if n := f2.log.count("lost"); n != 1 {
		t.Fatalf("%d lost events, want only 707's", n)
	}
	if st, _ := f2.svc.Orbit(708); !st.Occupied {
		t.Fatalf("orbit 708, whose caller answered the probe, is %+v after the restore", st)
	}
}

// TestRestartRingsACutShortRingbackAgain: a call whose ring-back was
// ringing when the service stopped is rung back again at once by the
// restored service (whose own park time is an hour: the ring comes from
// the restored state), and the parker answering it talks to the caller.
func TestRestartRingsACutShortRingbackAgain(t *testing.T) {
	st, _ := openStore(t)
	same := sameAddresses(t, st)
	rings := make(chan *diago.DialogServerSession, 4)
	answer := make(chan struct{})
	heard := make(chan struct{}, 1)
	parker := newAgent(t, "console", func(d *diago.DialogServerSession) {
		rings <- d
		select {
		case <-answer:
		case <-d.Context().Done():
			return
		}
		dm, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			return
		}
		m := siptest.StartMedia(t, dm, 1000)
		hears(t, m, 440)
		heard <- struct{}{}
		<-d.Context().Done()
	})
	f1 := startPark(t, func(o *park.Options) {
		same(o)
		o.ParkTime = 300 * time.Millisecond
		o.RingbackTime = time.Hour // it rings until the stop
	})
	dc := parkAlice(t, f1.uri("park-708"), sip.NewHeader("Referred-By", "<"+parker.AOR()+">"))
	mc := siptest.StartMedia(t, dc, 440)
	siptest.Recv(t, "the first ring-back", rings)
	f1.log.wait(t, "timed out", "orbit", "708")
	f1.svc.Close()

	f2 := startPark(t, same) // park time an hour
	f2.log.wait(t, "restored", "orbit", "708", "state", "ringing")
	f2.log.wait(t, "timed out", "orbit", "708")
	second := siptest.Recv(t, "the ring-back again after the restart", rings)
	if h := second.InviteRequest.GetHeader("X-Park-Orbit"); h == nil || h.Value() != "708" {
		t.Fatalf("the second ring-back's X-Park-Orbit = %v, want 708", h)
	}
	close(answer)
	hears(t, mc, 1000)
	siptest.Recv(t, "the parker hearing the restored caller", heard)
	f2.log.wait(t, "rang back", "orbit", "708", "answered", "true")
}
