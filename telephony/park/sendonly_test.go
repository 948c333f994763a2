package park_test

import (
	"context"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
)

// holdPeer is a caller on sipgo whose SDP and answers the test writes:
// it parks with an offer of a chosen direction, answers the service's
// re-INVITEs with the codes planned (then 200), each only once gate (when
// set) is closed, and sends and records PCMU whatever the directions say.
type holdPeer struct {
	sipPeer
	d *sipgo.DialogClientSession // the parking call

	heard     siptest.Recording                  // PCMU that arrived
	reinvites siptest.Log[*sip.Request]          // the service's re-INVITEs
	acks      siptest.Log[*sip.Request]          // ACKs of our 2xx to them
	byes      siptest.Log[*sip.Request]          // BYEs from the service
	answers   siptest.Log[*sip.Response]         // what we answered, in order
	answered  siptest.Log[sip.ServerTransaction] // the transactions of answers, in order

	mu   sync.Mutex
	plan []int         // codes for the next re-INVITEs; 200 when empty
	gate chan struct{} // nil: answer at once
}

func newHoldPeer(t *testing.T, name string) *holdPeer {
	t.Helper()
	return newHoldPeerOver(t, name, false)
}

// newHoldPeerOver is newHoldPeer over TCP when tcp is set.
func newHoldPeerOver(t *testing.T, name string, tcp bool) *holdPeer {
	t.Helper()
	p := &holdPeer{}
	p.tcp = tcp
	p.start(t, name, func(srv *sipgo.Server) {
		srv.OnInvite(p.onReinvite)
		srv.OnAck(func(req *sip.Request, _ sip.ServerTransaction) { p.acks.Add(req) })
	}, func(req *sip.Request) { p.byes.Add(req) }, p.read)
	return p
}

// answerWith plans the codes of the next re-INVITEs' answers.
func (p *holdPeer) answerWith(codes ...int) {
	p.mu.Lock()
	p.plan = append(p.plan, codes...)
	p.mu.Unlock()
}

// holdAnswers makes the next re-INVITEs wait for the returned func.
func (p *holdPeer) holdAnswers() (release func()) {
	g := make(chan struct{})
	p.mu.Lock()
	p.gate = g
	p.mu.Unlock()
	var once sync.Once
	return func() { once.Do(func() { close(g) }) }
}

func (p *holdPeer) onReinvite(req *sip.Request, tx sip.ServerTransaction) {
	p.reinvites.Add(req)
	p.mu.Lock()
	code := sip.StatusOK
	if len(p.plan) > 0 {
		code, p.plan = p.plan[0], p.plan[1:]
	}
	gate := p.gate
	p.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-p.stop:
			return
		}
	}
	var res *sip.Response
	if code == sip.StatusOK {
		res = sip.NewSDPResponseFromRequest(req, p.sdp(2, "sendrecv"))
		contact := p.contact()
		res.AppendHeader(&contact)
	} else {
		res = sip.NewResponseFromRequest(req, code, "Refused", nil)
	}
	p.answers.Add(res)
	p.answered.Add(tx)
	_ = tx.Respond(res)
}

// sdp is the peer's SDP: PCMU under 0, version ver, direction dir.
func (p *holdPeer) sdp(ver int, dir string) []byte {
	port := p.rtp.LocalAddr().(*net.UDPAddr).Port
	return fmt.Appendf(nil, "v=0\r\no=- 7 %d IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=ptime:20\r\na=%s\r\n",
		ver, port, dir)
}

// park INVITEs uri offering direction dir and returns the answer SDP.
func (p *holdPeer) park(t *testing.T, uri sip.Uri, dir string) string {
	t.Helper()
	d, ans := p.invite(t, uri, p.sdp(1, dir))
	p.d = d
	return ans
}

// read records the audio of a PCMU packet.
func (p *holdPeer) read(pkt []byte) {
	if pkt[1]&0x7f == 0 {
		p.heard.Add(pcmu.decodeAll(pkt[12:])...)
	}
}

// sendTone sends a PCMU sine of freq every 20 ms until the test ends.
func (p *holdPeer) sendTone(freq float64) { p.sendPCMU(freq, p.remote) }

// hears waits until freq dominates 400 ms of what arrives from now on.
func (p *holdPeer) hears(t *testing.T, freq float64) {
	t.Helper()
	p.heard.WaitToneLevel(t, p.name, freq, window, 0.05)
}

// sdpLine returns the i-th field of the first SDP line starting with prefix.
func sdpLine(sdp, prefix string, i int) string {
	for line := range strings.SplitSeq(sdp, "\r\n") {
		if f := strings.Fields(line); strings.HasPrefix(line, prefix) && len(f) > i {
			return f[i]
		}
	}
	return ""
}

// sdpWhole returns the first SDP line starting with prefix.
func sdpWhole(sdp, prefix string) string {
	for line := range strings.SplitSeq(sdp, "\r\n") {
		if strings.HasPrefix(line, prefix) {
			return line
		}
	}
	return ""
}

// sdpDirection is the a= direction attribute of an SDP (sendrecv when none).
func sdpDirection(sdp string) string {
	dir := "sendrecv"
	for line := range strings.SplitSeq(sdp, "\r\n") {
		switch line {
		case "a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive":
			dir = line[2:]
		}
	}
	return dir
}

// retrieveAsync retrieves uri with a new agent in the background: the
// channel gives its dialog once answered, or is closed if refused.
func retrieveAsync(t *testing.T, uri sip.Uri) <-chan *siptest.Call {
	t.Helper()
	r := newAgent(t, "desk", nil)
	d, err := r.DG.NewDialog(uri, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return siptest.Dial(t, d, diago.InviteClientOptions{Headers: []sip.Header{r.From()}})
}

// The park answer says sendonly: music on hold is a hold (RFC 3264
// §6.1). An offer that is itself a hold (sendonly, inactive) gets the
// answer RFC 3264 requires; the music keeps coming to a caller that
// wants to receive.
func TestParkAnswerSaysSendonly(t *testing.T) {
	f := startPark(t, nil)
	for i, tc := range []struct{ offer, want string }{
		{"sendrecv", "sendonly"},
		{"recvonly", "sendonly"},
		{"sendonly", "recvonly"},
		{"inactive", "inactive"},
	} {
		t.Run(tc.offer, func(t *testing.T) {
			p := newHoldPeer(t, "hp"+tc.offer)
			orbit := strconv.Itoa(711 + i)
			ans := p.park(t, f.uri("park-"+orbit), tc.offer)
			if got := sdpDirection(ans); got != tc.want {
				t.Fatalf("answer to a %s offer says %s, want %s:\n%s", tc.offer, got, tc.want, ans)
			}
			f.log.wait(t, "parked", "orbit", orbit)
			if tc.want == "sendonly" {
				if rms := tone.RMS(p.heard.WaitAudio(t, 0, window)); rms < 0.01 {
					t.Fatalf("parked caller hears silence (rms %.4f), want music", rms)
				}
			}
		})
	}

	// A diago caller is answered sendonly too and hears the music.
	caller := newAgent(t, "alice", nil)
	dc, err := caller.Call(t, f.uri("park-720"))
	if err != nil {
		t.Fatal(err)
	}
	if got := sdpDirection(string(dc.InviteResponse.Body())); got != "sendonly" {
		t.Fatalf("answer to diago says %s, want sendonly:\n%s", got, dc.InviteResponse.Body())
	}
	mc := siptest.StartMedia(t, dc, 440)
	if rms := tone.RMS(mc.WaitAudio(t, 0, window)); rms < 0.01 {
		t.Fatalf("no music while parked (rms %.4f)", rms)
	}
}

// A retrieve first takes the caller off hold: the service re-INVITEs it
// with its current session (same o= session, version +1, address,
// payload number) saying sendrecv, and answers the retriever only after
// the caller's 2xx, which it ACKs. Then tones go both ways.
func TestRetrieveTakesCallerOffHoldFirst(t *testing.T) {
	f := startPark(t, nil)
	p := newHoldPeer(t, "carol")
	parkAns := p.park(t, f.uri("park-703"), "sendrecv")
	f.log.wait(t, "parked", "orbit", "703")
	p.sendTone(440)
	release := p.holdAnswers()
	defer release()

	got := retrieveAsync(t, f.uri("703"))
	re := p.reinvites.Wait(t, "the service's re-INVITE", func(*sip.Request) bool { return true })
	offer := string(re.Body())
	if dir := sdpDirection(offer); dir != "sendrecv" {
		t.Errorf("re-INVITE says %s, want sendrecv:\n%s", dir, offer)
	}
	for _, l := range []string{"m=audio ", "c=", "a=rtpmap:"} {
		if a, o := sdpWhole(parkAns, l), sdpWhole(offer, l); a != o || a == "" {
			t.Errorf("re-INVITE's %q line is %q, the park answer's %q", l, o, a)
		}
	}
	if sdpLine(offer, "o=", 1) != sdpLine(parkAns, "o=", 1) {
		t.Errorf("re-INVITE's o= session %q, the park answer's %q", sdpLine(offer, "o=", 1), sdpLine(parkAns, "o=", 1))
	}
	v0, _ := strconv.Atoi(sdpLine(parkAns, "o=", 2))
	if v1, _ := strconv.Atoi(sdpLine(offer, "o=", 2)); v1 != v0+1 {
		t.Errorf("re-INVITE's SDP version %d, want %d (the park answer's + 1)", v1, v0+1)
	}
	if re.CallID().Value() != p.d.InviteRequest.CallID().Value() {
		t.Errorf("re-INVITE outside the parked call's dialog: Call-ID %s", re.CallID().Value())
	}
	// Until the caller answers, the retriever is not answered.
	select {
	case d, ok := <-got:
		t.Fatalf("retriever answered (%v, ok %v) before the caller's 2xx", d != nil, ok)
	default:
	}
	release()
	p.acks.Wait(t, "the ACK of our 2xx", func(a *sip.Request) bool { return a.CSeq().SeqNo == re.CSeq().SeqNo })
	dr := siptest.Recv(t, "the retriever's answer", got)
	if dr == nil {
		t.Fatal("retrieve refused")
	}
	mr := siptest.StartMedia(t, dr, 1000)
	hears(t, mr, 440)
	p.hears(t, 1000)
	f.log.wait(t, "taken off hold", "orbit", "703")
	f.log.wait(t, "retrieved", "orbit", "703")
	if n := p.reinvites.Len(); n != 1 {
		t.Errorf("%d re-INVITEs, want 1", n)
	}
}

// diago honours sendonly (it stops sending): after a retrieve the
// re-INVITE lets its tone through again, and it hears the retriever.
func TestRetrieveDiagoCallerBothWays(t *testing.T) {
	f := startPark(t, nil)
	caller := newAgent(t, "alice", nil)
	dc, err := caller.Call(t, f.uri("park-704"))
	if err != nil {
		t.Fatal(err)
	}
	mc := siptest.StartMedia(t, dc, 440)
	if rms := tone.RMS(mc.WaitAudio(t, 0, window)); rms < 0.01 {
		t.Fatalf("no music while parked (rms %.4f)", rms)
	}
	dr := siptest.Recv(t, "the retriever's answer", retrieveAsync(t, f.uri("704")))
	if dr == nil {
		t.Fatal("retrieve refused")
	}
	mr := siptest.StartMedia(t, dr, 1000)
	hears(t, mr, 440)
	hears(t, mc, 1000)
	f.log.wait(t, "taken off hold", "orbit", "704")
}

// A caller that refuses the re-INVITE (488) is bridged anyway and not
// hung up: it ignored our sendonly, so audio goes both ways.
func TestRefusedReinviteStillBridged(t *testing.T) {
	f := startPark(t, nil)
	p := newHoldPeer(t, "dave")
	p.answerWith(sip.StatusNotAcceptableHere)
	p.park(t, f.uri("park-705"), "sendrecv")
	f.log.wait(t, "parked", "orbit", "705")
	p.sendTone(440)
	dr := siptest.Recv(t, "the retriever's answer", retrieveAsync(t, f.uri("705")))
	if dr == nil {
		t.Fatal("retrieve refused after the caller refused the re-INVITE")
	}
	mr := siptest.StartMedia(t, dr, 1000)
	hears(t, mr, 440)
	p.hears(t, 1000)
	f.log.wait(t, "retrieved", "orbit", "705")
	if n := p.reinvites.Len(); n != 1 {
		t.Errorf("%d re-INVITEs after a 488, want 1", n)
	}
	if n := p.byes.Len(); n != 0 {
		t.Errorf("caller got %d BYEs", n)
	}
	if n := f.log.count("taken off hold"); n != 0 {
		t.Errorf("%d taken-off-hold events after a 488", n)
	}
}

// A 491 (the caller re-INVITEd at the same time) is retried once, with
// the same offer, and the second answer's 2xx takes the caller off hold.
func TestGlareReinviteRetriedOnce(t *testing.T) {
	f := startPark(t, nil)
	p := newHoldPeer(t, "erin")
	p.answerWith(sip.StatusRequestPending)
	p.park(t, f.uri("park-706"), "sendrecv")
	f.log.wait(t, "parked", "orbit", "706")
	p.sendTone(440)
	dr := siptest.Recv(t, "the retriever's answer", retrieveAsync(t, f.uri("706")))
	if dr == nil {
		t.Fatal("retrieve refused")
	}
	f.log.wait(t, "taken off hold", "orbit", "706")
	res := p.reinvites.All()
	if len(res) != 2 {
		t.Fatalf("%d re-INVITEs, want 2 (a 491, then the retry)", len(res))
	}
	if res[1].CSeq().SeqNo <= res[0].CSeq().SeqNo {
		t.Errorf("retry CSeq %d not above %d", res[1].CSeq().SeqNo, res[0].CSeq().SeqNo)
	}
	if a, b := sdpLine(string(res[0].Body()), "o=", 2), sdpLine(string(res[1].Body()), "o=", 2); a != b {
		t.Errorf("retry's SDP version %s, the refused offer's %s: the session did not change", b, a)
	}
	p.acks.Wait(t, "the ACK of the retry's 2xx", func(a *sip.Request) bool { return a.CSeq().SeqNo == res[1].CSeq().SeqNo })
	mr := siptest.StartMedia(t, dr, 1000)
	hears(t, mr, 440)
	p.hears(t, 1000)
}

// While our re-INVITE is pending, the caller's own gets 491 (RFC 3261
// §14.2); a caller's re-INVITE while parked is answered as the park was.
func TestCallerReinvites(t *testing.T) {
	f := startPark(t, nil)
	p := newHoldPeer(t, "fay")
	p.park(t, f.uri("park-707"), "sendrecv")
	f.log.wait(t, "parked", "orbit", "707")
	reinvite := func(dir string) *sip.Response {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
		defer cancel()
		req := sip.NewRequest(sip.INVITE, p.d.InviteResponse.Contact().Address)
		req.SetBody(p.sdp(3, dir))
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res, err := p.d.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if res.IsSuccess() {
			ack := sip.NewRequest(sip.ACK, p.d.InviteResponse.Contact().Address)
			if err := p.d.WriteRequest(ack); err != nil {
				t.Fatal(err)
			}
		}
		return res
	}
	// Hold and unhold while parked: answered as today, the music stays a hold.
	if res := reinvite("sendonly"); !res.IsSuccess() || sdpDirection(string(res.Body())) != "recvonly" {
		t.Fatalf("hold while parked: %d, answer says %s", res.StatusCode, sdpDirection(string(res.Body())))
	}
	if res := reinvite("sendrecv"); !res.IsSuccess() || sdpDirection(string(res.Body())) != "sendonly" {
		t.Fatalf("unhold while parked: %d, answer says %s", res.StatusCode, sdpDirection(string(res.Body())))
	}
	p.heard.WaitAudio(t, p.heard.Len(), window) // music again

	release := p.holdAnswers()
	defer release()
	got := retrieveAsync(t, f.uri("707"))
	p.reinvites.Wait(t, "the service's re-INVITE", func(*sip.Request) bool { return true })
	if res := reinvite("sendrecv"); res.StatusCode != sip.StatusRequestPending {
		t.Fatalf("caller's re-INVITE during ours: %d, want 491", res.StatusCode)
	}
	release()
	dr := siptest.Recv(t, "the retriever's answer", got)
	if dr == nil {
		t.Fatal("retrieve refused")
	}
	f.log.wait(t, "taken off hold", "orbit", "707")
	p.sendTone(440)
	mr := siptest.StartMedia(t, dr, 1000)
	hears(t, mr, 440)
	p.hears(t, 1000)
}

// A ring-back that is answered takes the caller off hold before the
// bridge too.
func TestRingbackTakesCallerOffHold(t *testing.T) {
	parker := newAgent(t, "parker", nil)
	f := startPark(t, shortTimes)
	p := newHoldPeer(t, "gus")
	p.park(t, f.uri("park-708", "parker="+strings.TrimPrefix(parker.AOR(), "sip:")), "sendrecv")
	f.log.wait(t, "parked", "orbit", "708")
	p.sendTone(440)
	ds := siptest.Recv(t, "the ring-back", parker.incoming)
	dsm, err := ds.Answer(diago.AnswerOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.log.wait(t, "taken off hold", "orbit", "708")
	if n := p.reinvites.Len(); n != 1 {
		t.Errorf("%d re-INVITEs, want 1", n)
	}
	m := siptest.StartMedia(t, dsm, 1000)
	hears(t, m, 440)
	p.hears(t, 1000)
}

// baresip, a real phone, parks by calling the service, is answered
// sendonly, and after a retrieve sends and receives audio again.
func TestBaresipTakenOffHoldOnRetrieve(t *testing.T) {
	siptest.NeedPeer(t, "baresip")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	f := startPark(t, nil)
	b := siptest.StartBaresip(t, baresip.Options{Display: "Bare Sip", ToneHz: 440})
	if err := b.Dial(ctx, "sip:park-709@"+f.h); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitType(ctx, "CALL_ESTABLISHED", "park-709"); err != nil {
		t.Fatalf("baresip not parked: %v", err)
	}
	f.log.wait(t, "parked", "orbit", "709")
	// baresip honours the sendonly answer: it only receives. Music
	// starts at the ACK: wait until some arrived, so that the sequence
	// number compared below is the service's, not baresip's zero.
	parked := waitBaresipAudio(ctx, t, b, "recvonly while parked, with music", func(a baresipAudio) bool { return a.dir == "recvonly" && a.rx != 0 })

	dr := siptest.Recv(t, "the retriever's answer", retrieveAsync(t, f.uri("709")))
	if dr == nil {
		t.Fatal("retrieve refused")
	}
	f.log.wait(t, "taken off hold", "orbit", "709")
	mr := siptest.StartMedia(t, dr, 1000)
	hears(t, mr, 440) // baresip sends again
	// and receives the retriever: a bridged leg gets no music, so what
	// arrives now (a second of packets) is relayed from the retriever.
	bridged := waitBaresipAudio(ctx, t, b, "sendrecv, sending and receiving", func(a baresipAudio) bool {
		return a.dir == "sendrecv" && a.tx > parked.tx && uint16(a.rx-parked.rx) >= 50 && uint16(a.rx-parked.rx) < 1<<15
	})
	t.Logf("baresip parked %+v, bridged %+v", parked, bridged)
}

// baresipAudio is what baresip's audio_debug says of its call's audio.
type baresipAudio struct {
	dir    string // audio dir=
	tx, rx int    // RTP packets sent (TX: packets=); sequence number last received (seq_put=)
}

var (
	reAudioDir = regexp.MustCompile(`audio dir=(\w+)`)
	reAudioTx  = regexp.MustCompile(`TX: packets=(\d+)`)
	reAudioRx  = regexp.MustCompile(`seq_put=(\d+)`)
)

// waitBaresipAudio asks baresip's audio_debug until ok holds (it has no
// event for it), 100 ms apart, for up to siptest.WaitFor.
func waitBaresipAudio(ctx context.Context, t *testing.T, b *baresip.Baresip, what string, ok func(baresipAudio) bool) baresipAudio {
	t.Helper()
	deadline := time.Now().Add(siptest.WaitFor)
	var last string
	for {
		out, err := b.Command(ctx, "audio_debug", "")
		if err != nil {
			t.Fatal(err)
		}
		last = out
		var a baresipAudio
		if m := reAudioDir.FindStringSubmatch(out); m != nil {
			a.dir = m[1]
		}
		if m := reAudioTx.FindStringSubmatch(out); m != nil {
			a.tx, _ = strconv.Atoi(m[1])
		}
		if m := reAudioRx.FindStringSubmatch(out); m != nil {
			a.rx, _ = strconv.Atoi(m[1])
		}
		if ok(a) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip's audio never %s; last audio_debug:\n%s", what, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A caller whose ACK was lost retransmits its 2xx to the service's
// re-INVITE (RFC 3261 §13.3.1.4); each copy is ACKed again, the same
// ACK, for as long as RFC 6026's Timer M would keep the transaction.
func TestReinvite2xxRetransmissionAckedAgain(t *testing.T) {
	for _, tcp := range []bool{false, true} {
		t.Run(map[bool]string{false: "udp", true: "tcp"}[tcp], func(t *testing.T) { reinvite2xxAckedAgain(t, tcp) })
	}
}

func reinvite2xxAckedAgain(t *testing.T, tcp bool) {
	f := startPark(t, nil)
	p := newHoldPeerOver(t, "carol", tcp)
	var params []string
	if tcp {
		params = append(params, "transport=tcp")
	}
	p.park(t, f.uri("park-704", params...), "sendrecv")
	f.log.wait(t, "parked", "orbit", "704")

	got := retrieveAsync(t, f.uri("704"))
	re := p.reinvites.Wait(t, "the service's re-INVITE", func(*sip.Request) bool { return true })
	ours := func(a *sip.Request) bool { return a.CSeq().SeqNo == re.CSeq().SeqNo }
	first := p.acks.Wait(t, "the ACK of our 2xx", ours)
	if siptest.Recv(t, "the retriever's answer", got) == nil {
		t.Fatal("retrieve refused")
	}
	res := p.answers.Wait(t, "our 2xx", func(r *sip.Response) bool { return r.StatusCode == sip.StatusOK })
	tx := p.answered.Wait(t, "our 2xx's transaction", func(sip.ServerTransaction) bool { return true })
	for want := 2; want <= 3; want++ {
		// As the UAS core does (RFC 3261 §13.3.1.4), over TCP too, where
		// sipgo's transaction is already gone: down its connection.
		if err := tx.(*sip.ServerTx).Connection().WriteMsg(res); err != nil {
			t.Fatalf("2xx again: %v", err)
		}
		p.acks.Until(t, fmt.Sprintf("ACK %d of our 2xx", want), func(acks []*sip.Request) bool {
			n := 0
			for _, a := range acks {
				if ours(a) {
					n++
				}
			}
			return n >= want
		})
	}
	for i, a := range p.acks.All() {
		if !ours(a) {
			continue
		}
		if want := map[bool]string{false: "UDP", true: "TCP"}[tcp]; a.Transport() != want {
			t.Errorf("ACK %d came over %s, want %s", i+1, a.Transport(), want)
		}
		for _, h := range []string{"Call-ID", "CSeq", "From", "To", "Via"} {
			if got, want := headerValue(a, h), headerValue(first, h); got != want {
				t.Errorf("ACK %d's %s %q, the first's %q", i+1, h, got, want)
			}
		}
	}
}

// headerValue is the value of m's first header name, "" when it has none
// (an ACK missing one fails the comparison instead of the test binary).
func headerValue(m sip.Message, name string) string {
	if h := m.GetHeaders(name); len(h) > 0 {
		return h[0].Value()
	}
	return ""
}
