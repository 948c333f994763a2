package park_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// A parked caller whose phone does not answer its probes but whose audio
// still arrives is not a vanished phone (its SIP path failed: a NAT
// binding that expired, a proxy that lost the route): it stays parked,
// hearing music, and is probed again. Once its audio stops too, the next
// unanswered probe takes it off as lost.
func TestProbeUnansweredWhileAudioArrivesKeepsCaller(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.ProbeInterval = 2 * time.Second })
	music := siptest.Log[int]{}
	p := &probedCaller{}
	p.start(t, "mute-sip", func(srv *sipgo.Server) {
		srv.OnOptions(func(req *sip.Request, _ sip.ServerTransaction) { p.probes.Add(req) }) // never answered
	}, nil, func(pkt []byte) { music.Add(len(pkt)) })
	p.park(t, f, 710)
	stop := make(chan struct{})
	p.sendPCMUUntil(440, p.remote, stop)

	f.log.Until(t, "two unanswered probes that kept the caller", func(r []map[string]string) bool {
		return countEvents(r, "probe unanswered", 710) >= 2
	})
	if n := f.log.count("lost"); n != 0 {
		t.Fatalf("%d lost events for a caller whose audio arrives", n)
	}
	if st, _ := f.svc.Orbit(710); !st.Occupied {
		t.Fatalf("the caller left its orbit: %+v", st)
	}
	before := music.Len()
	music.Until(t, "music after the unanswered probes", func(r []int) bool { return len(r) > before+10 })

	close(stop)
	ev := f.log.wait(t, "lost", "orbit", "710")
	if !strings.HasPrefix(ev["reason"], "probe unanswered: ") {
		t.Fatalf("lost for %q once its audio stopped, want the unanswered probe", ev["reason"])
	}
}

// A probe that cannot leave the service is sent again on Timer E's
// schedule within the interval: one that could not be sent says nothing
// about the caller. Two callers over TCP behind a proxy (on their
// Record-Route) that is down when the first probe goes (the service's
// connect is refused): one proxy comes back within the interval and its
// caller stays parked; the other does not, and its caller is lost after
// the retries, for that reason. Before, both were lost at once: a proxy's
// restart cost every caller parked behind it.
func TestProbeNotSentIsRetried(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.ProbeInterval = 8 * time.Second })
	back, gone := closedTCPPort(t), closedTCPPort(t)
	tcpRoutedPark(t, f, 708, back)
	tcpRoutedPark(t, f, 709, gone)

	f.log.wait(t, "probe not sent", "orbit", "708")
	answered := serveOptions(t, back)
	f.log.wait(t, "probe answered", "orbit", "708")
	if answered() == 0 {
		t.Fatal("the probe was answered, but not by the proxy that came back")
	}

	ev := f.log.wait(t, "lost", "orbit", "709")
	if !strings.HasPrefix(ev["reason"], "probe could not be sent: ") {
		t.Fatalf("lost for %q, want the send failure", ev["reason"])
	}
	if n := countEvents(f.log.All(), "probe not sent", 709); n < 2 {
		t.Fatalf("orbit 709's probe was tried %d times before its caller was lost, want retries within the interval", n+1)
	}
	if st, _ := f.svc.Orbit(708); !st.Occupied {
		t.Fatalf("the caller behind the proxy that came back left its orbit: %+v", st)
	}
}

// closedTCPPort is a loopback TCP port that nothing listens on (for now).
func closedTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// tcpRoutedPark parks a raw TCP caller on orbit, with a proxy at
// 127.0.0.1:proxy on its Record-Route, and ACKs the park.
func tcpRoutedPark(t *testing.T, f *fixture, orbit, proxy int) {
	t.Helper()
	p := dialTCP(t, f, "127.0.0.1")
	local := p.local()
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	id, tag := fmt.Sprintf("%x@routed", rand.Uint64()), rand.Uint64()
	head := func(method string) string {
		return fmt.Sprintf("%s sip:park-%d@%s SIP/2.0\r\nVia: SIP/2.0/TCP %s;branch=z9hG4bK%x\r\n", method, orbit, f.h, local, rand.Uint64()) +
			fmt.Sprintf("From: <sip:routed-%d@%s>;tag=%x\r\nCall-ID: %s\r\nMax-Forwards: 70\r\n", orbit, local, tag, id)
	}
	invite := head("INVITE") + fmt.Sprintf("To: <sip:park-%d@%s>\r\nCSeq: 1 INVITE\r\nContact: <sip:routed-%d@%s;transport=tcp>\r\n", orbit, f.h, orbit, local) +
		fmt.Sprintf("Record-Route: <sip:127.0.0.1:%d;transport=tcp;lr>\r\nContent-Type: application/sdp\r\nContent-Length: %d\r\n\r\n%s", proxy, len(sdp), sdp)
	if _, err := io.WriteString(p.c, invite); err != nil {
		t.Fatal(err)
	}
	res := p.answer(t, id)
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("park on %d answered %d", orbit, res.StatusCode)
	}
	ack := head("ACK") + "To: " + res.To().Value() + "\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
	if _, err := io.WriteString(p.c, ack); err != nil {
		t.Fatal(err)
	}
	f.log.wait(t, "parked", "orbit", strconv.Itoa(orbit))
}

// serveOptions listens on 127.0.0.1:port over TCP until the test ends and
// answers every request 200, as a proxy and its phone would an OPTIONS;
// it returns the count of requests answered so far.
func serveOptions(t *testing.T, port int) func() int {
	t.Helper()
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port})
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				stop := context.AfterFunc(t.Context(), func() { c.Close() })
				defer stop()
				par := sip.NewParser().NewSIPStream()
				buf := make([]byte, 64<<10)
				for {
					k, err := c.Read(buf)
					if k > 0 {
						_ = par.ParseSIPStream(buf[:k], func(m sip.Message) {
							if req, ok := m.(*sip.Request); ok {
								n.Add(1)
								_, _ = io.WriteString(c, sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil).String())
							}
						})
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return func() int { return int(n.Load()) }
}

func TestProbe481MarksLost(t *testing.T)        { lostCase(t, sip.StatusCallTransactionDoesNotExists) }
func TestProbe408MarksLost(t *testing.T)        { lostCase(t, sip.StatusRequestTimeout) }
func TestProbeUnansweredMarksLost(t *testing.T) { lostCase(t, 0) }

// waitAsleep waits until the caller parked on orbit n sleeps; a caller
// is awake only while a probe waits for its answer.
func waitAsleep(t testing.TB, f *fixture, n int) {
	t.Helper()
	for deadline := time.Now().Add(siptest.WaitFor); !f.svc.Asleep(n); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the caller parked on %d did not sleep after its probes", n)
		}
	}
}

// A sleeping caller's hang-up is answered 200 in the dialog it wakes
// into and takes it off its orbit ("gave up"), and the service's own
// BYE reaches a sleeping caller as the service closes.
func TestSleepingCallerHangsUpAndIsHungUp(t *testing.T) {
	// These callers send no audio, so a probe left unanswered for one
	// interval would lose them: an interval a loaded machine answers in.
	f := startPark(t, func(o *park.Options) { o.ProbeInterval = time.Second })
	gone := parkAlice(t, f.uri("park-707"))
	stays := parkAlice(t, f.uri("park-708"))
	f.log.wait(t, "probe answered", "orbit", "707")
	f.log.wait(t, "probe answered", "orbit", "708")
	waitAsleep(t, f, 707)
	hangup(t, gone) // fails on anything but a 2xx
	f.log.wait(t, "gave up", "orbit", "707")
	waitAsleep(t, f, 708)
	f.svc.Close()
	select {
	case <-stays.Context().Done():
	case <-time.After(siptest.WaitFor):
		t.Fatal("the sleeping caller got no BYE as the service closed")
	}
	if n := f.log.count("lost"); n != 0 {
		t.Fatalf("%d lost events", n)
	}
}

// A parked caller's dialog sleeps once its first probe is answered (the
// leg keeps its record alone: dormant.go; issue 17, docs/BENCHMARKS.md),
// and everything goes on in the dialog rebuilt as it wakes: the next
// probe, the retrieve's re-INVITE that takes the caller off hold (tones
// both ways), and the caller's hang-up, which ends the retriever's leg.
func TestSleepingCallerCarriesOn(t *testing.T) {
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
	waitAsleep(t, f, 709) // retrieve it asleep
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
