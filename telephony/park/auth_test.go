package park_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony/park"
)

// The service's digest credentials in these tests.
const (
	guardUser   = "park"
	guardSecret = "s3cret"
)

func guardPassword(o *park.Options) { o.Username, o.Password = guardUser, guardSecret }

// guardSend sends one SIP request over UDP from a fresh socket on src (an
// address on lo: Linux routes all of 127/8 there) and returns the first
// final response and the address it was sent from. msg is the request
// line and every header but Via and Content-Length, each line ending in
// CRLF; those two are added.
func guardSend(t testing.TB, f *fixture, src, msg, body string) (*sip.Response, string) {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(src)})
	if err != nil {
		t.Fatal(err)
	}
	// Kept open to the test's end, so that no later send of the same test
	// gets the same port from the kernel and its refusal is not counted
	// as this one's (seen once in a busy full run).
	t.Cleanup(func() { conn.Close() })
	local := conn.LocalAddr().String()
	line, rest, _ := strings.Cut(msg, "\r\n")
	wire := line + "\r\n" +
		fmt.Sprintf("Via: SIP/2.0/UDP %s;branch=z9hG4bK%x\r\n", local, rand.Uint64()) +
		rest + fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(body), body)
	return parseResponse(t, udpExchange(t, f, conn, wire)), local
}

// guardRequest is a request line and the headers of a new request for
// method to uri from a raw sender, with extra header lines appended.
func guardRequest(method, uri string, extra ...string) string {
	id := rand.Uint64()
	return fmt.Sprintf("%s %s SIP/2.0\r\nFrom: <sip:raw@127.0.0.9>;tag=%x\r\nTo: <%s>\r\nCall-ID: %x@raw\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\n",
		method, uri, id, uri, id, method) + strings.Join(extra, "")
}

// guardOffer is a minimal G.711 offer for raw INVITEs.
const guardOffer = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"

// hdr is the value of res's header name, or "".
func headerOf(res *sip.Response, name string) string {
	if h := res.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// wantNotAllowed fails t unless res is code with X-Park-Reason: not-allowed.
func wantNotAllowed(t testing.TB, what string, res *sip.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("%s: %d %s, want %d", what, res.StatusCode, res.Reason, code)
	}
	if got := headerOf(res, park.ReasonHeader); got != string(park.ReasonNotAllowed) {
		t.Fatalf("%s: %s %q, want %q", what, park.ReasonHeader, got, park.ReasonNotAllowed)
	}
}

// refusedOnceFrom waits for the refusal of the request sent from src to be
// logged and fails t unless it was logged exactly once.
func refusedOnceFrom(t testing.TB, f *fixture, src string) map[string]string {
	t.Helper()
	ev := f.log.wait(t, "refused", "source", src)
	n := 0
	for _, r := range f.log.All() {
		if r["event"] == "refused" && r["source"] == src {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("the refusal of %s logged %d times, want once", src, n)
	}
	return ev
}

// guardMedia makes a diago call's media a siptest.Session.
type guardMedia struct{ *diago.DialogMedia }

func (m guardMedia) Media() *diago.DialogMedia { return m.DialogMedia }

// callWithPassword has a new agent INVITE uri answering the service's
// challenge with password, as the console does (diago over sipgo), and
// ACKs the answer. The call is hung up at the end of the test.
func callWithPassword(t testing.TB, name string, uri sip.Uri, password string) (*diago.DialogClientSession, *diago.DialogMedia, error) {
	t.Helper()
	a := newAgent(t, name, nil)
	d, err := a.DG.NewDialog(uri, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
	defer cancel()
	m, err := d.Invite(ctx, diago.InviteClientOptions{Username: guardUser, Password: password, Headers: []sip.Header{a.From()}})
	if err != nil {
		d.Close()
		return nil, nil, err
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Hangup(ctx)
		d.Close()
	})
	return d, m, nil
}

// guardHearsMusic fails t unless m receives music (not silence) next.
func guardHearsMusic(t testing.TB, m *siptest.Media) {
	t.Helper()
	win := m.WaitAudio(t, m.Len(), window)
	if rms := tone.RMS(win); rms < 0.01 {
		t.Fatalf("parked caller hears silence (rms %.4f), want music", rms)
	}
}

// A captured Authorization header is good for its own request once: on
// another park, on a retrieve of the orbit it parked, or again on the
// same URI it is refused, and the caller it parked stays parked.
func TestDigestReplayRefused(t *testing.T) {
	f := startPark(t, guardPassword)
	d, _, err := callWithPassword(t, "alice", f.uri("park"), guardSecret)
	if err != nil {
		t.Fatalf("park with credentials: %v", err)
	}
	orbit := headerOf(d.InviteResponse, "X-Park-Orbit")
	f.log.wait(t, "parked", "orbit", orbit)
	h := d.InviteRequest.GetHeader("Authorization")
	if h == nil {
		t.Fatal("the park INVITE carried no Authorization")
	}
	captured := h.Value()
	sent, err := digest.ParseCredentials(captured)
	if err != nil {
		t.Fatal(err)
	}
	auth := "Authorization: " + captured + "\r\nContact: <sip:raw@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n"

	for _, tc := range []struct{ what, user string }{
		{"on another orbit's park", "park-705"},
		{"on a retrieve of the parked orbit", orbit},
	} {
		uri := "sip:" + tc.user + "@" + f.h
		res, src := guardSend(t, f, "127.0.0.1", guardRequest("INVITE", uri, auth), guardOffer)
		wantNotAllowed(t, "the header replayed "+tc.what, res, sip.StatusForbidden)
		if w := headerOf(res, "Warning"); !strings.Contains(w, "uri") {
			t.Errorf("replayed %s: Warning %q does not name the uri", tc.what, w)
		}
		refusedOnceFrom(t, f, src)
	}

	// The same URI again: the nonce count did not grow, so the credentials
	// are stale; a new challenge follows with a fresh nonce.
	res, src := guardSend(t, f, "127.0.0.1", guardRequest("INVITE", "sip:park@"+f.h, auth), guardOffer)
	wantNotAllowed(t, "the header replayed on its own URI", res, sip.StatusUnauthorized)
	chal, err := digest.ParseChallenge(headerOf(res, "WWW-Authenticate"))
	if err != nil {
		t.Fatalf("replay on its own URI: challenge %q: %v", headerOf(res, "WWW-Authenticate"), err)
	}
	if !chal.Stale || chal.Nonce == sent.Nonce || !chal.SupportsQOP("auth") {
		t.Fatalf("replay on its own URI: challenge %+v, want stale=true, a fresh nonce, qop=auth", chal)
	}
	refusedOnceFrom(t, f, src)

	if n := f.svc.Parked(); n != 1 {
		t.Fatalf("%d calls parked after the replays, want alice's alone", n)
	}
	if st, _ := f.svc.Orbit(guardAtoi(t, orbit)); !st.Occupied {
		t.Fatalf("alice left orbit %s: %+v", orbit, st)
	}
}

func guardAtoi(t testing.TB, s string) int {
	t.Helper()
	var n int
	if _, err := fmt.Sscan(s, &n); err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// The console's clients (diago's INVITE, sipgo's DoDigestAuth for a lamp
// SUBSCRIBE) answer each challenge with a fresh nonce count: back-to-back
// parks, a retrieve and two lamp fetches all pass, and the retrieve
// bridges.
func TestDigestClientsParkRetrieveAndSubscribe(t *testing.T) {
	f := startPark(t, guardPassword)
	alice, am, err := callWithPassword(t, "alice", f.uri("park"), guardSecret)
	if err != nil {
		t.Fatalf("first park: %v", err)
	}
	first := headerOf(alice.InviteResponse, "X-Park-Orbit")
	if _, _, err := callWithPassword(t, "bob", f.uri("park"), guardSecret); err != nil {
		t.Fatalf("second park right after: %v", err)
	}
	ma := siptest.StartMedia(t, guardMedia{am}, 440)
	guardHearsMusic(t, ma)

	ua, err := sipgo.NewUA(sipgo.WithUserAgent("lamps"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	// The fetch's NOTIFY comes back to the client's socket: take it.
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	notified := make(chan struct{}, 2)
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		select {
		case notified <- struct{}{}:
		default:
		}
	})
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		req := sip.NewRequest(sip.SUBSCRIBE, f.uri(first))
		req.AppendHeader(sip.NewHeader("Event", "dialog"))
		req.AppendHeader(sip.NewHeader("Accept", "application/dialog-info+xml"))
		req.AppendHeader(sip.NewHeader("Expires", "0"))
		req.AppendHeader(sip.NewHeader("Contact", "<sip:lamps@127.0.0.1:9>"))
		ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
		res, err := client.Do(ctx, req)
		if err == nil && res.StatusCode == sip.StatusUnauthorized {
			res, err = client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: guardUser, Password: guardSecret})
		}
		cancel()
		if err != nil || res.StatusCode != sip.StatusOK {
			t.Fatalf("lamp fetch %d with credentials: %v %v", i+1, res, err)
		}
		siptest.Recv(t, "the lamp fetch's NOTIFY", notified)
	}

	r, rm, err := callWithPassword(t, "carol", f.uri(first), guardSecret)
	if err != nil {
		t.Fatalf("retrieve with credentials: %v", err)
	}
	if got := headerOf(r.InviteResponse, "X-Park-Orbit"); got != first {
		t.Fatalf("retrieved orbit %s, want %s", got, first)
	}
	f.log.wait(t, "retrieved", "orbit", first)
	mr := siptest.StartMedia(t, guardMedia{rm}, 1000)
	hears(t, mr, 440)
	hears(t, ma, 1000)
}

// Credentials with the wrong password are refused as not allowed.
func TestDigestWrongPasswordNotAllowed(t *testing.T) {
	f := startPark(t, guardPassword)
	_, _, err := callWithPassword(t, "mallory", f.uri("park"), "wrong")
	var e *sipgo.ErrDialogResponse
	if !errors.As(err, &e) {
		t.Fatalf("park with a wrong password: %v, want a refusal", err)
	}
	wantNotAllowed(t, "park with a wrong password", e.Res, sip.StatusForbidden)
	if f.svc.Parked() != 0 {
		t.Fatal("a refused call was parked")
	}
}
