package park_test

import (
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/sipgate"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/park"
)

// allowOnly127001 allows 127.0.0.1 alone: a sender on 127.0.0.2 is outside.
func allowOnly127001(o *park.Options) {
	var err error
	if o.Allow, err = park.ParseAllow("127.0.0.1/32"); err != nil {
		panic(err)
	}
}

// guardInDialog is a request line and headers for method inside the dialog
// of c, a call the agent placed to the service, as its caller would send
// it (From the caller's tag, To the service's), with extra header lines.
// step is added to the INVITE's CSeq number.
func guardInDialog(c *siptest.Call, method string, step int, extra ...string) string {
	inv, ans := c.InviteRequest, c.InviteResponse
	cseq := int(inv.CSeq().SeqNo) + step
	target := ans.Contact().Address
	msg := fmt.Sprintf("%s %s SIP/2.0\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d %s\r\nMax-Forwards: 70\r\n",
		method, target.String(), inv.From().Value(), ans.To().Value(), inv.CallID().Value(), cseq, method)
	for _, e := range extra {
		msg += e
	}
	return msg
}

// A request that names a parked caller's dialog but comes from another
// host outside the allowlist is refused: a forged BYE does not drop the
// caller, a forged re-INVITE does not move its media, a forged INFO is
// not answered 200. The caller stays parked with music; the same BYE
// from the caller's own address ends the park.
func TestForgedInDialogRequestsRefused(t *testing.T) {
	f := startPark(t, allowOnly127001)
	c, err := newAgent(t, "alice", nil).Call(t, f.uri("park-701"))
	if err != nil {
		t.Fatal(err)
	}
	f.log.wait(t, "parked", "orbit", "701")
	m := siptest.StartMedia(t, c, 440)
	guardHearsMusic(t, m)

	moved := "v=0\r\no=- 1 2 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\n"
	for i, tc := range []struct {
		method string
		extra  []string
		body   string
	}{
		{"BYE", nil, ""},
		{"INVITE", []string{"Contact: <sip:evil@127.0.0.2:9>\r\n", "Content-Type: application/sdp\r\n"}, moved},
		{"INFO", nil, ""},
	} {
		res, src := guardSend(t, f, "127.0.0.2", guardInDialog(c, tc.method, 100+i, tc.extra...), tc.body)
		wantNotAllowed(t, "a forged in-dialog "+tc.method, res, sip.StatusForbidden)
		refusedOnceFrom(t, f, src)
	}
	if st, _ := f.svc.Orbit(701); !st.Occupied || f.svc.Parked() != 1 {
		t.Fatalf("after the forged requests orbit 701 is %+v, want alice still parked", st)
	}
	guardHearsMusic(t, m)
	if n := f.log.count("gave up"); n != 0 {
		t.Fatalf("%d 'gave up' events after a forged BYE", n)
	}

	// The caller's own address may end its call.
	res, _ := guardSend(t, f, "127.0.0.1", guardInDialog(c, "BYE", 200), "")
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("BYE from the caller's address: %d %s, want 200", res.StatusCode, res.Reason)
	}
	f.log.wait(t, "gave up", "orbit", "701")
	if f.svc.Parked() != 0 {
		t.Fatal("the caller is still parked after its BYE")
	}
}

// Out of any dialog a source outside the allowlist gets 403 and
// X-Park-Reason: not-allowed for every method, REFER and a BYE naming no
// dialog included, and each refusal is logged once with its source.
func TestDisallowedSourceRefusedEveryMethod(t *testing.T) {
	f := startPark(t, allowOnly127001)
	for _, tc := range []struct {
		method, user string
		extra        []string
		body         string
	}{
		{"REFER", "park", []string{"Refer-To: <sip:park-701@" + f.h + ">\r\n", "Contact: <sip:raw@127.0.0.2:9>\r\n"}, ""},
		{"OPTIONS", "park", nil, ""},
		{"SUBSCRIBE", "701", []string{"Event: dialog\r\n", "Expires: 60\r\n", "Contact: <sip:raw@127.0.0.2:9>\r\n"}, ""},
		{"INVITE", "park", []string{"Contact: <sip:raw@127.0.0.2:9>\r\n", "Content-Type: application/sdp\r\n"}, guardOffer},
		{"BYE", "park", nil, ""},
		{"INFO", "park", nil, ""},
		{"CANCEL", "park", nil, ""},
	} {
		res, src := guardSend(t, f, "127.0.0.2", guardRequest(tc.method, "sip:"+tc.user+"@"+f.h, tc.extra...), tc.body)
		wantNotAllowed(t, tc.method+" from outside the allowlist", res, sip.StatusForbidden)
		ev := refusedOnceFrom(t, f, src)
		if ev["method"] != tc.method {
			t.Errorf("refusal of %s logged as %v", tc.method, ev)
		}
	}
	if f.svc.Parked() != 0 || f.svc.Watchers() != 0 {
		t.Fatalf("refused requests left %d parked, %d watchers", f.svc.Parked(), f.svc.Watchers())
	}
}

// parkerOn127002 is a phone on 127.0.0.2, outside the allowlist, that
// answers the service's ring-back and hands the answered dialog over.
func parkerOn127002(t *testing.T) (sip.Uri, <-chan *sipgo.DialogServerSession) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	port := pc.LocalAddr().(*net.UDPAddr).Port
	pc.Close()
	addr := fmt.Sprintf("127.0.0.2:%d", port)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("parker"), sipgo.WithUserAgentHostname("127.0.0.2"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.2"), sipgo.WithClientConnectionAddr(addr))
	if err != nil {
		t.Fatal(err)
	}
	me := sip.Uri{Scheme: "sip", User: "parker", Host: "127.0.0.2", Port: port}
	dc := sipgo.NewDialogServerCache(client, sip.ContactHeader{Address: me})
	answered := make(chan *sipgo.DialogServerSession, 1)
	answer := "v=0\r\no=- 7 7 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40004 RTP/AVP 0\r\n"
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		d, err := dc.ReadInvite(req, tx)
		if err != nil {
			return
		}
		if err := d.RespondSDP([]byte(answer)); err != nil {
			return
		}
		select {
		case answered <- d:
		default:
		}
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = dc.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { _ = dc.ReadBye(req, tx) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ListenAndServe(ctx, "udp", addr)
	}()
	t.Cleanup(func() {
		cancel()
		ua.Close()
		<-done
	})
	siptest.WaitListening(t, ua, addr)
	return me, answered
}

// The exception: a dialog's own remote peer may send in it even from
// outside the allowlist. A parker on 127.0.0.2 answers its ring-back and
// hangs up: its BYE is taken, and the caller is hung up with it.
func TestDialogPeerOutsideAllowlistMayHangUp(t *testing.T) {
	f := startPark(t, func(o *park.Options) { allowOnly127001(o); shortTimes(o) })
	parker, answered := parkerOn127002(t)
	c, err := newAgent(t, "alice", nil).Call(t, f.uri("park-702", "parker-user=parker", fmt.Sprintf("parker-host=127.0.0.2:%d", parker.Port)))
	if err != nil {
		t.Fatal(err)
	}
	d := siptest.Recv(t, "the ring-back on 127.0.0.2", answered)
	f.log.wait(t, "rang back", "orbit", "702", "answered", "true")
	ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
	defer cancel()
	if err := d.Bye(ctx); err != nil {
		t.Fatalf("the parker's BYE from 127.0.0.2: %v, want 200", err)
	}
	select {
	case <-c.Context().Done():
	case <-ctx.Done():
		t.Fatal("the caller was not hung up after the parker's BYE")
	}
	if n := f.log.count("refused"); n != 0 {
		t.Fatalf("%d refusals logged, want none: %v", n, f.log.All())
	}
}

// A BYE in a parked caller's dialog whose CSeq is below the INVITE's is
// out of order (RFC 3261 §12.2.2): it is answered 500 and the caller
// stays parked, even from the caller's own address.
func TestByeWithOldCSeqRefused(t *testing.T) {
	f := startPark(t, allowOnly127001)
	c, err := newAgent(t, "alice", nil).Call(t, f.uri("park-703"))
	if err != nil {
		t.Fatal(err)
	}
	f.log.wait(t, "parked", "orbit", "703")
	if c.InviteRequest.CSeq().SeqNo == 0 {
		t.Skip("the INVITE's CSeq is 0: nothing is below it")
	}
	res, _ := guardSend(t, f, "127.0.0.1", guardInDialog(c, "BYE", -1), "")
	if res.StatusCode != sip.StatusInternalServerError {
		t.Fatalf("a BYE below the INVITE's CSeq: %d %s, want 500", res.StatusCode, res.Reason)
	}
	if st, _ := f.svc.Orbit(703); !st.Occupied {
		t.Fatalf("the caller left orbit 703 on an out-of-order BYE: %+v", st)
	}
	res, _ = guardSend(t, f, "127.0.0.1", guardInDialog(c, "BYE", 1), "")
	if res.StatusCode != sip.StatusOK {
		t.Fatalf("the caller's BYE: %d %s, want 200", res.StatusCode, res.Reason)
	}
	f.log.wait(t, "gave up", "orbit", "703")
}

// A lamp subscription's refresh or unsubscribe from another host outside
// the allowlist is refused: anyone who learnt the dialog's identifiers
// could otherwise end a console's lamp with Expires: 0. The lamp keeps
// working; the watcher's own unsubscribe ends it.
func TestForgedUnsubscribeRefused(t *testing.T) {
	f := startPark(t, allowOnly127001)
	w := newWatcher(t, f, 702)
	w.waitOccupied(t, false)
	w.mu.Lock()
	msg := fmt.Sprintf("SUBSCRIBE %s SIP/2.0\r\nFrom: %s\r\nTo: %s\r\nCall-ID: %s\r\nCSeq: %d SUBSCRIBE\r\nMax-Forwards: 70\r\nEvent: dialog\r\nExpires: 0\r\nContact: <sip:evil@127.0.0.2:9>\r\n",
		w.target.String(), w.from.Value(), w.to.Value(), w.callID.Value(), w.cseq+10)
	w.mu.Unlock()
	res, src := guardSend(t, f, "127.0.0.2", msg, "")
	wantNotAllowed(t, "a forged unsubscribe", res, sip.StatusForbidden)
	refusedOnceFrom(t, f, src)
	if w.ended() || f.svc.Watchers() != 1 {
		t.Fatalf("the lamp subscription ended after a forged unsubscribe (watchers %d)", f.svc.Watchers())
	}
	if _, err := newAgent(t, "alice", nil).Call(t, f.uri("park-702")); err != nil {
		t.Fatal(err)
	}
	w.waitOccupied(t, true)
}

// A flood of refusals from one host is logged once, not once a request:
// the log must not become the flood.
func TestRefusalsLoggedOncePerHost(t *testing.T) {
	f := startPark(t, func(o *park.Options) {
		allowOnly127001(o)
		park.SetRefusalLogEvery(o, sipgate.LogInterval)
	})
	for i := range 20 {
		res, _ := guardSend(t, f, "127.0.0.2", guardRequest("OPTIONS", "sip:park@"+f.h, ""), "")
		wantNotAllowed(t, fmt.Sprintf("OPTIONS %d from a disallowed host", i), res, sip.StatusForbidden)
	}
	if n := f.log.count("refused"); n != 1 {
		t.Fatalf("20 refusals of one host logged %d times, want once", n)
	}
}
