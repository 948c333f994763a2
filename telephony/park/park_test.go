package park_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
)

// parkAlice has a new caller, alice, call target (a park URI) with hdrs
// and returns her dialog once the service has answered: she is parked.
func parkAlice(t testing.TB, target sip.Uri, hdrs ...sip.Header) *siptest.Call {
	t.Helper()
	d, err := newAgent(t, "alice", nil).Call(t, target, hdrs...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestParkOnChosenOrbitPlaysMusicAndRemembers(t *testing.T) {
	f := startPark(t, nil)
	caller := newAgent(t, "alice", nil)
	d, err := caller.Call(t, f.uri("park-705", "token=tok705", "parker=console%40127.0.0.1%3A5999"),
		sip.NewHeader("Referred-By", "<sip:desk@127.0.0.1:5998>"))
	if err != nil {
		t.Fatal(err)
	}
	if h := d.InviteResponse.GetHeader("X-Park-Orbit"); h == nil || h.Value() != "705" {
		t.Fatalf("X-Park-Orbit = %v, want 705", h)
	}
	m := siptest.StartMedia(t, d, 440)
	// Music, not silence, several times over (it loops and keeps coming).
	for i := 0; i < 3; i++ {
		win := m.WaitAudio(t, m.Len(), window)
		if rms := tone.RMS(win); rms < 0.01 {
			t.Fatalf("parked caller hears silence (rms %.4f), want music", rms)
		}
	}
	ev := f.log.wait(t, "parked", "orbit", "705")
	// Referred-By wins over the parker parameter.
	if ev["parker"] != "sip:desk@127.0.0.1:5998" || !strings.Contains(ev["caller"], "Alice") {
		t.Fatalf("parked event = %v", ev)
	}
	st, _ := f.svc.Orbit(705)
	if !st.Occupied || st.CallerName != "Alice" || st.CallerURI != caller.AOR() || st.Parker != "sip:desk@127.0.0.1:5998" {
		t.Fatalf("orbit state = %+v", st)
	}
}

func TestParkerFromParameterThenHeader(t *testing.T) {
	f := startPark(t, nil)
	a := newAgent(t, "bob", nil)
	if _, err := a.Call(t, f.uri("park-701", "parker=console%40127.0.0.1%3A5999")); err != nil {
		t.Fatal(err)
	}
	if ev := f.log.wait(t, "parked", "orbit", "701"); ev["parker"] != "sip:console@127.0.0.1:5999" {
		t.Fatalf("parker from parameter = %q", ev["parker"])
	}
	b := newAgent(t, "carol", nil)
	if _, err := b.Call(t, f.uri("park-702"), sip.NewHeader("X-Park-Parker", "<sip:other@127.0.0.1:5997>")); err != nil {
		t.Fatal(err)
	}
	if ev := f.log.wait(t, "parked", "orbit", "702"); ev["parker"] != "sip:other@127.0.0.1:5997" {
		t.Fatalf("parker from X-Park-Parker = %q", ev["parker"])
	}
}

func TestParkAnyTakesLeastRecentlyFreed(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.Orbits = telephony.Lot{First: 701, Last: 703} })
	orbitOf := func(d *siptest.Call) string {
		return d.InviteResponse.GetHeader("X-Park-Orbit").Value()
	}
	a := newAgent(t, "a", nil)
	d1, err := a.Call(t, f.uri("park"))
	if err != nil {
		t.Fatal(err)
	}
	if got := orbitOf(d1); got != "701" {
		t.Fatalf("first park on %s, want 701", got)
	}
	// Free 701 by retrieving it: it is now the most recently freed.
	r := newAgent(t, "r", nil)
	if _, err := r.Call(t, f.uri("701")); err != nil {
		t.Fatal(err)
	}
	b := newAgent(t, "b", nil)
	d2, err := b.Call(t, f.uri("park"))
	if err != nil {
		t.Fatal(err)
	}
	if got := orbitOf(d2); got != "702" {
		t.Fatalf("second park on %s, want 702 (701 was just freed)", got)
	}
	c := newAgent(t, "c", nil)
	d3, err := c.Call(t, f.uri("park"))
	if err != nil {
		t.Fatal(err)
	}
	if got := orbitOf(d3); got != "703" {
		t.Fatalf("third park on %s, want 703", got)
	}
	d := newAgent(t, "d", nil)
	d4, err := d.Call(t, f.uri("park"))
	if err != nil {
		t.Fatal(err)
	}
	if got := orbitOf(d4); got != "701" {
		t.Fatalf("fourth park on %s, want 701", got)
	}
	// The lot is full now.
	e := newAgent(t, "e", nil)
	if _, err := e.Call(t, f.uri("park")); siptest.Status(err) != 486 {
		t.Fatalf("park on a full lot: %v, want 486", err)
	}
	f.log.wait(t, "refused", "reason", "lot full")
}

func TestParkRefusals(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.Orbits = telephony.Lot{First: 701, Last: 705} })
	first := newAgent(t, "first", nil)
	if _, err := first.Call(t, f.uri("park-703")); err != nil {
		t.Fatal(err)
	}
	// Shown on its orbit once its ACK is in: beside two busy loops the
	// refusals below were all answered before it was.
	f.log.wait(t, "parked", "orbit", "703")
	for _, tc := range []struct {
		name string
		uri  sip.Uri
		want int
	}{
		{"occupied orbit", f.uri("park-703"), 486},
		{"orbit outside the lot", f.uri("park-799"), 404},
		{"retrieve outside the lot", f.uri("799"), 404},
		{"unknown user part", f.uri("reception"), 404},
		{"park with junk number", f.uri("park-7x"), 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newAgent(t, "second", nil)
			_, err := a.Call(t, tc.uri)
			if got := siptest.Status(err); got != tc.want {
				t.Fatalf("INVITE %s: %v (status %d), want %d", tc.uri.String(), err, got, tc.want)
			}
		})
	}
	// Never two callers on one orbit: 703 still holds the first caller only.
	if st, _ := f.svc.Orbit(703); st.CallerURI != first.AOR() {
		t.Fatalf("orbit 703 holds %+v", st)
	}
}

func TestSourceNotAllowedIsForbidden(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.Allow, _ = park.ParseAllow("10.0.0.0/8") })
	a := newAgent(t, "intruder", nil)
	if _, err := a.Call(t, f.uri("park")); siptest.Status(err) != 403 {
		t.Fatalf("park from a source outside the allowlist: %v, want 403", err)
	}
	f.log.wait(t, "refused", "reason", "source not allowed")
	if f.svc.Parked() != 0 {
		t.Fatal("a refused call was parked")
	}
}

func TestDigestCredentials(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.Username, o.Password = "park", "s3cret" })
	a := newAgent(t, "nocreds", nil)
	if _, err := a.Call(t, f.uri("park")); siptest.Status(err) != 401 {
		t.Fatalf("park without credentials: %v, want 401", err)
	}
	good := newAgent(t, "creds", nil)
	d, err := good.DG.NewDialog(f.uri("park-704"), diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.Invite(ctx, diago.InviteClientOptions{Username: "park", Password: "s3cret"}); err != nil {
		t.Fatalf("park with credentials: %v", err)
	}
	_ = d.Ack(ctx)
	defer d.Hangup(ctx)
	f.log.wait(t, "parked", "orbit", "704")

	bad := newAgent(t, "badcreds", nil)
	d2, _ := bad.DG.NewDialog(f.uri("park-705"), diago.NewDialogOptions{})
	if _, err := d2.Invite(ctx, diago.InviteClientOptions{Username: "park", Password: "wrong"}); siptest.Status(err) != 403 && siptest.Status(err) != 401 {
		t.Fatalf("park with a wrong password: %v, want 403", err)
	}
}

// TestRetrieveBridgesBothWays is the audio story: the caller sends 440 Hz
// and hears music while parked; after the retrieve the retriever hears
// 440 Hz and the caller hears the retriever's 1 kHz, and the orbit is free.
func TestRetrieveBridgesBothWays(t *testing.T) {
	f := startPark(t, nil)
	caller := newAgent(t, "alice", nil)
	dc, err := caller.Call(t, f.uri("park-707", "token=abc"))
	if err != nil {
		t.Fatal(err)
	}
	mc := siptest.StartMedia(t, dc, 440)
	if rms := tone.RMS(mc.WaitAudio(t, 0, window)); rms < 0.01 {
		t.Fatalf("no music while parked (rms %.4f)", rms)
	}
	if _, dominant := tone.Detect(mc.WaitAudio(t, mc.Len(), window), 1000, 8000); dominant {
		t.Fatal("1 kHz before anyone retrieved")
	}

	retriever := newAgent(t, "bob", nil)
	dr, err := retriever.Call(t, f.uri("707"))
	if err != nil {
		t.Fatal(err)
	}
	pai := dr.InviteResponse.GetHeader("P-Asserted-Identity")
	if pai == nil || !strings.Contains(pai.Value(), `"Alice"`) || !strings.Contains(pai.Value(), caller.AOR()) {
		t.Fatalf("200 OK of the retrieve carries identity %v, want Alice", pai)
	}
	if h := dr.InviteResponse.GetHeader("X-Park-Caller"); h == nil || !strings.Contains(h.Value(), caller.AOR()) {
		t.Fatalf("X-Park-Caller = %v", h)
	}
	mr := siptest.StartMedia(t, dr, 1000)
	hears(t, mr, 440)
	hears(t, mc, 1000)
	if st, _ := f.svc.Orbit(707); st.Occupied {
		t.Fatalf("orbit 707 still occupied after retrieve: %+v", st)
	}
	f.log.wait(t, "retrieved", "orbit", "707")
	if st := f.svc.MediaStats(); st.MusicPackets == 0 || st.RelayedPackets == 0 || st.SendErrors != 0 {
		t.Fatalf("media stats %+v: want music and relayed packets, no send errors", st)
	}

	// The retriever hangs up: the caller gets BYE (a normal call end).
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := dr.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-dc.Context().Done():
	case <-ctx.Done():
		t.Fatal("caller not hung up after the retriever left")
	}
}

func TestRetrieveRefusals(t *testing.T) {
	f := startPark(t, nil)
	r := newAgent(t, "r", nil)
	if _, err := r.Call(t, f.uri("710")); siptest.Status(err) != 404 {
		t.Fatalf("retrieve of an empty orbit: %v, want 404", err)
	}
	parkAlice(t, f.uri("park-710", "token=right"))
	f.log.wait(t, "parked", "orbit", "710")
	if _, err := r.Call(t, f.uri("710", "token=wrong")); siptest.Status(err) != 404 {
		t.Fatalf("retrieve with a wrong token: %v, want 404", err)
	}
	if st, _ := f.svc.Orbit(710); !st.Occupied {
		t.Fatal("a refused retrieve took the call off its orbit")
	}
	if _, err := r.Call(t, f.uri("710", "token=right")); err != nil {
		t.Fatalf("retrieve with the right token: %v", err)
	}
}

func TestConcurrentRetrievesExactlyOneWins(t *testing.T) {
	f := startPark(t, nil)
	parkAlice(t, f.uri("park-712"))
	const n = 4
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		a := newAgent(t, "r"+string(rune('a'+i)), nil)
		wg.Go(func() {
			_, err := a.Call(t, f.uri("712"))
			if err == nil {
				codes[i] = 200
			} else {
				codes[i] = siptest.Status(err)
			}
		})
	}
	wg.Wait()
	ok, notFound := 0, 0
	for _, c := range codes {
		switch c {
		case 200:
			ok++
		case 404:
			notFound++
		}
	}
	if ok != 1 || notFound != n-1 {
		t.Fatalf("concurrent retrieves answered %v, want one 200 and %d 404", codes, n-1)
	}
}

func TestCallerHangsUpWhileParked(t *testing.T) {
	f := startPark(t, nil)
	d := parkAlice(t, f.uri("park-715"))
	f.log.wait(t, "parked", "orbit", "715")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	ev := f.log.wait(t, "gave up", "orbit", "715")
	if !strings.Contains(ev["caller"], "Alice") || ev["duration"] == "" {
		t.Fatalf("gave up event = %v", ev)
	}
	if st, _ := f.svc.Orbit(715); st.Occupied {
		t.Fatal("orbit still occupied after the caller hung up")
	}
	// The orbit is usable again.
	b := newAgent(t, "bob", nil)
	if _, err := b.Call(t, f.uri("park-715")); err != nil {
		t.Fatalf("re-park on the freed orbit: %v", err)
	}
}

// TestSafeRetrieveStory is the SafeRetrieveUri story of the Lync
// documentation: a stale token never connects a console to someone else.
func TestSafeRetrieveStory(t *testing.T) {
	f := startPark(t, nil)
	caller1 := newAgent(t, "caller1", nil)
	d1, err := caller1.Call(t, f.uri("park-705", "token=tokenA"), sip.NewHeader("Referred-By", "<sip:consoleA@127.0.0.1:5991>"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = d1.Hangup(ctx)
	f.log.wait(t, "gave up", "orbit", "705")

	caller2 := newAgent(t, "caller2", nil)
	if _, err := caller2.Call(t, f.uri("park-705", "token=tokenB"), sip.NewHeader("Referred-By", "<sip:consoleB@127.0.0.1:5992>")); err != nil {
		t.Fatal(err)
	}
	f.log.waitParked(t, 705, caller2.AOR())
	consoleA := newAgent(t, "consoleA", nil)
	if _, err := consoleA.Call(t, f.uri("705", "token=tokenA")); siptest.Status(err) != 404 {
		t.Fatalf("A's safe retrieve of 705 after caller 1 left: %v, want 404", err)
	}
	if st, _ := f.svc.Orbit(705); !st.Occupied || st.CallerURI != caller2.AOR() {
		t.Fatalf("caller 2 must still be parked on 705: %+v", st)
	}
	plain := newAgent(t, "consoleC", nil)
	dr, err := plain.Call(t, f.uri("705"))
	if err != nil {
		t.Fatalf("plain retrieve of 705: %v", err)
	}
	if h := dr.InviteResponse.GetHeader("X-Park-Caller"); h == nil || !strings.Contains(h.Value(), caller2.AOR()) {
		t.Fatalf("plain retrieve got %v, want caller 2", h)
	}
}

// TestParkAndRetrieveOverTCP: SIP over TCP works for parking and
// retrieving alike (RTP stays UDP).
func TestParkAndRetrieveOverTCP(t *testing.T) {
	f := startPark(t, nil)
	caller := newAgentOn(t, "tcp", "alice", nil)
	dc, err := caller.Call(t, f.uri("park-719", "transport=tcp"))
	if err != nil {
		t.Fatalf("park over TCP: %v", err)
	}
	if h := dc.InviteResponse.GetHeader("X-Park-Orbit"); h == nil || h.Value() != "719" {
		t.Fatalf("X-Park-Orbit = %v", h)
	}
	mc := siptest.StartMedia(t, dc, 440)
	r := newAgentOn(t, "tcp", "bob", nil)
	dr, err := r.Call(t, f.uri("719", "transport=tcp"))
	if err != nil {
		t.Fatalf("retrieve over TCP: %v", err)
	}
	mr := siptest.StartMedia(t, dr, 1000)
	hears(t, mr, 440)
	hears(t, mc, 1000)
	hangup(t, dr)
	select {
	case <-dc.Context().Done():
	case <-time.After(10 * time.Second):
		t.Fatal("TCP caller not hung up after the retriever left")
	}
}
