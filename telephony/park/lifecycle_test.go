package park_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony/park"
)

// rawDialog is one call written by hand over UDP, below any SIP stack:
// it sends what the test says and nothing more (no ACK unless told), so
// a test can leave a 200 unconfirmed or send BYE before the ACK. Requests
// from the service (BYE, OPTIONS) are answered 200 and kept; every RTP
// packet that reaches its media socket is counted.
type rawDialog struct {
	t       *testing.T
	f       *fixture
	name    string
	conn    *net.UDPConn // SIP
	rtp     *net.UDPConn // media, the address of its SDP
	local   string
	callID  string
	fromTag string
	uri     string // the INVITE's Request-URI
	cseq    uint32

	mu     sync.Mutex
	toTag  string // the service's, from its 2xx
	target string // the service's Contact, from its 2xx

	responses siptest.Log[*sip.Response]
	requests  siptest.Log[*sip.Request]
	packets   atomic.Int64
}

// newRawDialog binds a SIP and an RTP socket on host (127.0.0.1 when
// empty); both close when the test ends.
func newRawDialog(t *testing.T, f *fixture, name, host string) *rawDialog {
	t.Helper()
	if host == "" {
		host = "127.0.0.1"
	}
	ip := net.ParseIP(host)
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	rtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		conn.Close()
		t.Fatal(err)
	}
	d := &rawDialog{t: t, f: f, name: name, conn: conn, rtp: rtp, local: conn.LocalAddr().String(),
		callID: fmt.Sprintf("%x@%s", rand.Uint64(), name), fromTag: fmt.Sprintf("%x", rand.Uint64())}
	var wg sync.WaitGroup
	wg.Go(d.readSIP)
	wg.Go(func() {
		buf := make([]byte, 1500)
		for {
			if _, err := rtp.Read(buf); errors.Is(err, net.ErrClosed) {
				return
			}
			d.packets.Add(1)
		}
	})
	t.Cleanup(func() {
		conn.Close()
		rtp.Close()
		wg.Wait()
	})
	return d
}

func (d *rawDialog) readSIP() {
	buf := make([]byte, 65535)
	for {
		n, src, err := d.conn.ReadFrom(buf)
		if errors.Is(err, net.ErrClosed) {
			return
		}
		if err != nil {
			continue
		}
		msg, err := sip.ParseMessage(append([]byte(nil), buf[:n]...))
		if err != nil {
			continue
		}
		switch m := msg.(type) {
		case *sip.Response:
			d.responses.Add(m)
		case *sip.Request:
			d.requests.Add(m)
			if m.Method != sip.ACK {
				_, _ = d.conn.WriteTo([]byte(sip.NewResponseFromRequest(m, sip.StatusOK, "OK", nil).String()), src)
			}
		}
	}
}

// send writes one request of the dialog; cseq and method make its CSeq.
func (d *rawDialog) send(method, ruri string, cseq uint32, body string) {
	d.t.Helper()
	d.mu.Lock()
	to := fmt.Sprintf("<%s>", d.uri)
	if d.toTag != "" {
		to += ";tag=" + d.toTag
	}
	d.mu.Unlock()
	ctype := ""
	if body != "" {
		ctype = "Content-Type: application/sdp\r\n"
	}
	msg := fmt.Sprintf("%s %s SIP/2.0\r\n", method, ruri) +
		fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK%x;rport\r\n", d.local, rand.Uint64()) +
		"Max-Forwards: 70\r\n" +
		fmt.Sprintf("From: <sip:%s@%s>;tag=%s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\n", d.name, d.local, d.fromTag, to, d.callID, cseq, method) +
		fmt.Sprintf("Contact: <sip:%s@%s>\r\n%sContent-Length: %d\r\n\r\n%s", d.name, d.local, ctype, len(body), body)
	dst, _ := net.ResolveUDPAddr("udp", d.f.svc.Addr().String())
	if _, err := d.conn.WriteTo([]byte(msg), dst); err != nil {
		d.t.Fatal(err)
	}
}

// final waits for the final response to the request with CSeq cseq.
func (d *rawDialog) final(cseq uint32, method sip.RequestMethod) *sip.Response {
	d.t.Helper()
	return d.responses.Wait(d.t, fmt.Sprintf("%s: final answer to %s", d.name, method), func(r *sip.Response) bool {
		c := r.CSeq()
		return c != nil && c.SeqNo == cseq && c.MethodName == method && !r.IsProvisional()
	})
}

// invite sends INVITE sip:user@H with a PCMU offer naming d.rtp and
// returns the final answer; a 2xx sets the dialog's To tag and target.
func (d *rawDialog) invite(user string) *sip.Response {
	d.t.Helper()
	d.uri = "sip:" + user + "@" + d.f.h
	d.cseq++
	a := d.rtp.LocalAddr().(*net.UDPAddr)
	sdp := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
		a.IP, a.IP, a.Port)
	d.send("INVITE", d.uri, d.cseq, sdp)
	res := d.final(d.cseq, sip.INVITE)
	if res.IsSuccess() {
		d.mu.Lock()
		d.toTag, _ = res.To().Params.Get("tag")
		d.target = d.uri
		if c := res.Contact(); c != nil {
			d.target = c.Address.String()
		}
		d.mu.Unlock()
	}
	return res
}

// ack confirms the 2xx of the last INVITE.
func (d *rawDialog) ack() {
	d.t.Helper()
	d.send("ACK", d.remoteTarget(), d.cseq, "")
}

// bye ends the dialog and returns the service's answer.
func (d *rawDialog) bye() *sip.Response {
	d.t.Helper()
	d.cseq++
	d.send("BYE", d.remoteTarget(), d.cseq, "")
	return d.final(d.cseq, sip.BYE)
}

func (d *rawDialog) remoteTarget() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.target
}

// waitRequest waits for a request of method from the service.
func (d *rawDialog) waitRequest(method sip.RequestMethod) *sip.Request {
	d.t.Helper()
	return d.requests.Wait(d.t, fmt.Sprintf("%s: a %s from the service", d.name, method), func(r *sip.Request) bool {
		return r.Method == method
	})
}

// waitPackets waits until n RTP packets have reached d's media socket.
func (d *rawDialog) waitPackets(n int64) {
	d.t.Helper()
	deadline := time.Now().Add(siptest.WaitFor)
	for d.packets.Load() < n {
		if time.Now().After(deadline) {
			d.t.Fatalf("%s: %d RTP packets after %v, want %d", d.name, d.packets.Load(), siptest.WaitFor, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func wantStatus(t *testing.T, what string, res *sip.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("%s: %d %s, want %d", what, res.StatusCode, res.Reason, code)
	}
}

// A 200 that is never ACKed sends no media anywhere: music to a parked
// caller starts with its ACK. A forged INVITE naming a third party's
// address gets that party no RTP.
func TestUnconfirmedParkSendsNoMusic(t *testing.T) {
	f := startPark(t, nil)
	forged := newRawDialog(t, f, "forged", "")
	wantStatus(t, "forged park", forged.invite("park-701"), 200)

	// Event-driven: a second call, parked after the forged one and ACKed,
	// gets music; had the forged 200 started music, it would have had
	// its own for longer by then.
	caller := newRawDialog(t, f, "caller", "")
	wantStatus(t, "confirmed park", caller.invite("park-702"), 200)
	caller.ack()
	caller.waitPackets(25)
	if n := forged.packets.Load(); n != 0 {
		t.Fatalf("the never-ACKed park got %d RTP packets, want none", n)
	}
	if st, _ := f.svc.Orbit(701); st.Occupied {
		t.Fatalf("an unconfirmed park shows on its orbit: %+v", st)
	}
}

// retrieveGhostSetup parks alice on orbit with a lamp watching it and
// music playing; it returns her call, her media and the watcher.
func retrieveGhostSetup(t *testing.T, f *fixture, orbit int) (*siptest.Call, *siptest.Media, *watcher, *agent) {
	t.Helper()
	w := newWatcher(t, f, orbit)
	caller := newAgent(t, "alice", nil)
	dc, err := caller.Call(t, f.uri(fmt.Sprintf("park-%d", orbit)))
	if err != nil {
		t.Fatal(err)
	}
	mc := siptest.StartMedia(t, dc, 440)
	if rms := tone.RMS(mc.WaitAudio(t, 0, window)); rms < 0.01 {
		t.Fatalf("no music while parked (rms %.4f)", rms)
	}
	w.waitOccupied(t, true)
	return dc, mc, w, caller
}

// wantBackOnOrbit checks that alice is parked on orbit again: her call
// is up, she hears music, the lamp shows her, and a real retrieve gets
// her with audio.
func wantBackOnOrbit(t *testing.T, f *fixture, orbit int, dc *siptest.Call, mc *siptest.Media, w *watcher, caller *agent) {
	t.Helper()
	if dc.Context().Err() != nil {
		t.Fatal("the parked caller was hung up")
	}
	st, _ := f.svc.Orbit(orbit)
	if !st.Occupied || st.CallerURI != caller.AOR() {
		t.Fatalf("orbit %d after the failed retrieve: %+v, want alice parked", orbit, st)
	}
	if rms := tone.RMS(mc.WaitAudio(t, mc.Len(), window)); rms < 0.01 {
		t.Fatalf("caller back on the orbit hears silence (rms %.4f), want music", rms)
	}
	if doc := w.waitOccupied(t, true); doc.Dialogs[0].Remote == nil || doc.Dialogs[0].Remote.Identity != caller.AOR() {
		t.Fatalf("lamp after the failed retrieve: %+v", doc)
	}
	r := newAgent(t, "bob", nil)
	dr, err := r.Call(t, f.uri(fmt.Sprint(orbit)))
	if err != nil {
		t.Fatalf("retrieve after the failed one: %v", err)
	}
	if h := dr.InviteResponse.GetHeader("X-Park-Caller"); h == nil || !strings.Contains(h.Value(), caller.AOR()) {
		t.Fatalf("the retrieve after the failed one got %v, want alice", h)
	}
	hears(t, siptest.StartMedia(t, dr, 1000), 440)
	hears(t, mc, 1000)
}

// A retriever whose BYE arrives before its ACK leaves no ghost: the
// caller goes back to its orbit with music, the lamp lit.
func TestRetrieveByeBeforeAckReturnsCaller(t *testing.T) {
	f := startPark(t, nil)
	dc, mc, w, caller := retrieveGhostSetup(t, f, 703)
	r := newRawDialog(t, f, "hasty", "")
	wantStatus(t, "retrieve", r.invite("703"), 200)
	r.bye()
	f.log.wait(t, "returned", "orbit", "703")
	wantBackOnOrbit(t, f, 703, dc, mc, w, caller)
}

// A retrieve whose ACK never comes puts the caller back on the orbit
// within the ACK wait, and the service hangs the retriever's dialog up.
func TestRetrieveNeverAckedReturnsCaller(t *testing.T) {
	f := startPark(t, func(o *park.Options) { park.SetAckWait(o, 300*time.Millisecond) })
	dc, mc, w, caller := retrieveGhostSetup(t, f, 704)
	r := newRawDialog(t, f, "mute", "")
	wantStatus(t, "retrieve", r.invite("704"), 200)
	f.log.wait(t, "returned", "orbit", "704")
	r.waitRequest(sip.BYE)
	if n := r.packets.Load(); n != 0 {
		t.Fatalf("the never-ACKed retriever got %d RTP packets, want none", n)
	}
	wantBackOnOrbit(t, f, 704, dc, mc, w, caller)
}

// An unACKed park frees its orbit within the ACK wait, and the lamp never
// shows it taken meanwhile.
func TestUnconfirmedParkFreesOrbit(t *testing.T) {
	f := startPark(t, func(o *park.Options) { park.SetAckWait(o, 300*time.Millisecond) })
	w := newWatcher(t, f, 705)
	forged := newRawDialog(t, f, "forged", "")
	res := forged.invite("park-705")
	wantStatus(t, "forged park", res, 200)
	f.log.wait(t, "unconfirmed", "orbit", "705")
	forged.waitRequest(sip.BYE)
	for _, doc := range w.documents() {
		if _, occ := doc.Occupied(); occ {
			t.Fatalf("the lamp showed the unconfirmed park: %+v", doc)
		}
	}
	a := newAgent(t, "alice", nil)
	if _, err := a.Call(t, f.uri("park-705")); err != nil {
		t.Fatalf("park on the orbit an unconfirmed park held: %v", err)
	}
	w.waitOccupied(t, true)
}

// Unconfirmed parks are capped per source address: a fifth gets 503 with
// a reason, other sources still park, and an ACK makes room again.
func TestPendingParksCappedPerSource(t *testing.T) {
	f := startPark(t, nil)
	var pending []*rawDialog
	for i := range 4 {
		d := newRawDialog(t, f, fmt.Sprintf("flood%d", i), "")
		wantStatus(t, "unconfirmed park", d.invite("park"), 200)
		pending = append(pending, d)
	}
	fifth := newRawDialog(t, f, "flood4", "")
	res := fifth.invite("park")
	wantStatus(t, "fifth unconfirmed park from one source", res, 503)
	if h := res.GetHeader(park.ReasonHeader); h == nil || h.Value() != string(park.ReasonPendingLimit) {
		t.Fatalf("X-Park-Reason of the fifth = %v, want %s", h, park.ReasonPendingLimit)
	}
	f.log.wait(t, "refused", "reason", "too many unconfirmed parks from this source")

	other := newRawDialog(t, f, "other", "127.0.0.2")
	wantStatus(t, "park from another source", other.invite("park"), 200)
	other.ack()

	orbit := pending[0].orbitOf(t)
	pending[0].ack()
	f.log.wait(t, "parked", "orbit", orbit)
	again := newRawDialog(t, f, "again", "")
	res = again.invite("park")
	wantStatus(t, "park after an ACK made room", res, 200)
	again.ack()
	f.log.wait(t, "parked", "orbit", again.orbitOf(t))
}

// orbitOf is the X-Park-Orbit of the last 2xx to d's INVITE.
func (d *rawDialog) orbitOf(t *testing.T) string {
	t.Helper()
	res := d.final(d.cseq, sip.INVITE)
	h := res.GetHeader("X-Park-Orbit")
	if h == nil {
		t.Fatalf("%s: no X-Park-Orbit in %d %s", d.name, res.StatusCode, res.Reason)
	}
	return h.Value()
}
