package park_test

import (
	"context"
	"fmt"
	"regexp"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
)

// rawSDP is a PCMU offer for the raw requests, to a port nobody reads.
const rawSDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 9 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"

// rawInvite sends INVITE sip:user@H;params with a PCMU offer and returns the
// final response, parsed.
func rawInvite(t *testing.T, f *fixture, user string, params ...string) *sip.Response {
	t.Helper()
	uri := "sip:" + user + "@" + f.h
	for _, p := range params {
		uri += ";" + p
	}
	head := fmt.Sprintf("INVITE %s SIP/2.0\r\nContact: <sip:raw@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n", uri)
	return parseResponse(t, rawRequest(t, f, head, rawSDP))
}

func parseResponse(t testing.TB, s string) *sip.Response {
	t.Helper()
	msg, err := sip.ParseMessage([]byte(s))
	if err != nil {
		t.Fatalf("unparseable answer: %v\n%s", err, s)
	}
	res, ok := msg.(*sip.Response)
	if !ok {
		t.Fatalf("not a response:\n%s", s)
	}
	return res
}

// wantRefusal checks res's status and its X-Park-Reason.
func wantReason(t *testing.T, what string, res *sip.Response, code int, reason park.Reason) {
	t.Helper()
	h := res.GetHeader(park.ReasonHeader)
	if res.StatusCode != code || h == nil || h.Value() != string(reason) {
		t.Fatalf("%s: %d %s with %s %v, want %d with %s", what, res.StatusCode, res.Reason, park.ReasonHeader, h, code, reason)
	}
}

// Orbit numbers are decimal without sign or leading zeros: anything else
// is 404 no-such-orbit, and never reaches the call on the orbit it
// resembles.
func TestStrictOrbitNumbers(t *testing.T) {
	f := startPark(t, nil)
	a := newAgent(t, "alice", nil)
	if _, err := a.Call(t, f.uri("park-705")); err != nil {
		t.Fatal(err)
	}
	// Parked once its ACK is in: beside two busy loops the odd numbers
	// were all answered before it was.
	f.log.wait(t, "parked", "orbit", "705")
	for _, user := range []string{"park-0", "park-0705", "park-+705", "park--705", "park-705x", "park-", "0705", "+705", "0", "-705", "99999999999999999999"} {
		wantReason(t, "INVITE sip:"+user, rawInvite(t, f, user), 404, park.ReasonNoSuchOrbit)
	}
	if st, _ := f.svc.Orbit(705); !st.Occupied || st.CallerURI != a.AOR() {
		t.Fatalf("orbit 705 after the odd numbers: %+v, want alice still parked", st)
	}
	if n := f.svc.Parked(); n != 1 {
		t.Fatalf("%d calls parked, want alice alone", n)
	}
	for _, user := range []string{"0705", "+705"} {
		head := fmt.Sprintf("SUBSCRIBE sip:%s@%s SIP/2.0\r\nEvent: dialog\r\nContact: <sip:raw@127.0.0.1:9>\r\nExpires: 60\r\n", user, f.h)
		wantReason(t, "SUBSCRIBE sip:"+user, parseResponse(t, rawRequest(t, f, head)), 404, park.ReasonNoSuchOrbit)
	}
}

// Every refusal says why in X-Park-Reason; "lot full" and "orbit
// occupied" are told apart by it.
func TestRefusalsCarryReason(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.Orbits = telephony.Lot{First: 701, Last: 702} })
	if _, err := newAgent(t, "a", nil).Call(t, f.uri("park-701", "token=right")); err != nil {
		t.Fatal(err)
	}
	wantReason(t, "retrieve of an empty orbit", rawInvite(t, f, "702"), 404, park.ReasonEmpty)
	wantReason(t, "retrieve with a wrong token", rawInvite(t, f, "701", "token=wrong"), 404, park.ReasonTokenMismatch)
	wantReason(t, "park outside the lot", rawInvite(t, f, "park-799"), 404, park.ReasonNoSuchOrbit)
	wantReason(t, "retrieve outside the lot", rawInvite(t, f, "799"), 404, park.ReasonNoSuchOrbit)
	wantReason(t, "unknown user", rawInvite(t, f, "reception"), 404, park.ReasonNoSuchOrbit)
	wantReason(t, "directed park on a taken orbit", rawInvite(t, f, "park-701"), 486, park.ReasonOccupied)
	if _, err := newAgent(t, "b", nil).Call(t, f.uri("park-702")); err != nil {
		t.Fatal(err)
	}
	wantReason(t, "park on a full lot", rawInvite(t, f, "park"), 486, park.ReasonLotFull)
	head := fmt.Sprintf("SUBSCRIBE sip:799@%s SIP/2.0\r\nEvent: dialog\r\nContact: <sip:raw@127.0.0.1:9>\r\n", f.h)
	wantReason(t, "lamp outside the lot", parseResponse(t, rawRequest(t, f, head)), 404, park.ReasonNoSuchOrbit)
}

func TestRefusedSourceCarriesReason(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.Allow, _ = park.ParseAllow("10.0.0.0/8") })
	wantReason(t, "park from outside the allowlist", rawInvite(t, f, "park"), 403, park.ReasonNotAllowed)
	head := fmt.Sprintf("OPTIONS sip:park@%s SIP/2.0\r\n", f.h)
	wantReason(t, "OPTIONS from outside the allowlist", parseResponse(t, rawRequest(t, f, head)), 403, park.ReasonNotAllowed)
	head = fmt.Sprintf("SUBSCRIBE sip:701@%s SIP/2.0\r\nEvent: dialog\r\nContact: <sip:raw@127.0.0.1:9>\r\n", f.h)
	wantReason(t, "SUBSCRIBE from outside the allowlist", parseResponse(t, rawRequest(t, f, head)), 403, park.ReasonNotAllowed)

	g := startPark(t, func(o *park.Options) { o.Username, o.Password = "park", "s3cret" })
	wantReason(t, "park without credentials", rawInvite(t, g, "park"), 401, park.ReasonNotAllowed)
}

// A draining service refuses parks and health checks with "stopping".
func TestStoppingCarriesReason(t *testing.T) {
	f := startPark(t, nil)
	if _, err := newAgent(t, "a", nil).Call(t, f.uri("park-701")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.svc.Shutdown(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	// Draining starts with Shutdown: wait until OPTIONS says so.
	var res *sip.Response
	deadline := time.Now().Add(siptest.WaitFor)
	for {
		res = parseResponse(t, rawRequest(t, f, fmt.Sprintf("OPTIONS sip:park@%s SIP/2.0\r\n", f.h)))
		if res.StatusCode == 503 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantReason(t, "OPTIONS while draining", res, 503, park.ReasonStopping)
	wantReason(t, "park while draining", rawInvite(t, f, "park"), 503, park.ReasonStopping)
}

var instanceID = regexp.MustCompile(`^[0-9a-f]{16}$`)

// X-Park-Instance, new at every start, is on every OPTIONS answer and on
// every NOTIFY (PARK-PROTOCOL.md "Restarts are visible").
func TestInstanceOnOptionsAndNotify(t *testing.T) {
	f := startPark(t, nil)
	id := f.svc.Instance()
	if !instanceID.MatchString(id) {
		t.Fatalf("Instance() = %q, want 16 hex digits", id)
	}
	res := parseResponse(t, rawRequest(t, f, fmt.Sprintf("OPTIONS sip:park@%s SIP/2.0\r\n", f.h)))
	if h := res.GetHeader("X-Park-Instance"); res.StatusCode != 200 || h == nil || h.Value() != id {
		t.Fatalf("OPTIONS answer %d with X-Park-Instance %v, want 200 with %s", res.StatusCode, h, id)
	}
	w := newWatcher(t, f, 701)
	if _, err := newAgent(t, "a", nil).Call(t, f.uri("park-701")); err != nil {
		t.Fatal(err)
	}
	w.waitOccupied(t, true)
	for _, n := range w.notifies.All() {
		if h := n.GetHeader("X-Park-Instance"); h == nil || h.Value() != id {
			t.Fatalf("NOTIFY with X-Park-Instance %v, want %s:\n%s", h, id, n)
		}
	}
	if other := startPark(t, nil).svc.Instance(); other == id || !instanceID.MatchString(other) {
		t.Fatalf("a second service has instance %q, the first %q: want a new one", other, id)
	}
}
