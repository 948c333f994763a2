package sip_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// parkedForYou waits for c's park notice of orbit n, confirmed by the
// orbit's lamp (it may come first unconfirmed, before the lamp lit).
func parkedForYou(t *testing.T, c *console, n int) telephony.ParkedForYou {
	t.Helper()
	return noticeChecked(t, c, n, telephony.NoticeConfirmed)
}

// noticeChecked waits for c's park notice of orbit n with the check.
func noticeChecked(t *testing.T, c *console, n int, check telephony.NoticeCheck) telephony.ParkedForYou {
	t.Helper()
	ev := c.waitEvent(t, "a park notice of "+strconv.Itoa(n)+", "+check.String(), func(e telephony.Event) bool {
		p, ok := e.(telephony.ParkedForYou)
		return ok && p.Orbit == n && p.Check == check
	})
	return ev.(telephony.ParkedForYou)
}

// sendNotice sends c a park notice from a socket of the test's own, as
// anyone on the network may: a MESSAGE from from, naming the caller on
// orbit (caller a name-addr, token optional). It returns the answer's
// status line.
func sendNotice(t *testing.T, c *console, from string, orbit int, caller, token string) string {
	t.Helper()
	u := c.uri()
	msg := without("MESSAGE", u.String(), "Event")
	msg = strings.Replace(msg, "<sip:mallory@{local}>;tag=m1", "<"+from+">;tag=m1", 1)
	body := "Call for you on " + strconv.Itoa(orbit)
	hdrs := "Content-Type: text/plain;charset=UTF-8\r\nX-Park-Orbit: " + strconv.Itoa(orbit) + "\r\nX-Park-Caller: " + caller + "\r\n"
	if token != "" {
		hdrs += "X-Park-Token: " + token + "\r\n"
	}
	msg = strings.Replace(msg, "Content-Length: 0\r\n\r\n", hdrs+"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body, 1)
	return rawTo(t, "udp", "127.0.0.1:"+strconv.Itoa(int(c.Addr("udp").Port())), msg)
}

// TestParkNoticeForgedNeverRetrieves: anyone may send a park notice, so
// the orbit's lamp decides. Carol is parked on 705 for nobody. A
// stranger's notice naming Carol on 705 is shown without Retrieve (not
// for Bob, says the lamp); one naming Eva, while Carol is there, says
// another call is parked there. RetrieveParked refuses both, sends
// nothing, and Carol stays parked.
func TestParkNoticeForgedNeverRetrieves(t *testing.T) {
	f := startParkService(t, "", nil)
	bob := newConsole(t, "bob", 1200, f.templates)
	bob.waitParkService(t, true)
	carol := parkDirect(t, f, "carol", "park-705")
	bob.waitOrbit(t, 705, "lit with Carol", occupiedBy("Carol"))

	cases := []struct {
		caller string
		check  telephony.NoticeCheck
		why    string
	}{
		{carol.AOR(), telephony.NoticeNotForYou, "The park service does not say the call on 705 is for you"},
		{"sip:eva@127.0.0.1", telephony.NoticeOtherCaller, "the caller is not on 705: another call is parked there"},
	}
	for _, tc := range cases {
		if got := sendNotice(t, bob, "sip:mallory@127.0.0.1", 705, "<"+tc.caller+">", "forged"); !strings.HasPrefix(got, "SIP/2.0 200 ") {
			t.Fatalf("forged notice answered %q, want 200 (shown as information)", got)
		}
		n := noticeChecked(t, bob, 705, tc.check)
		if n.CallerURI != tc.caller || !strings.EqualFold(n.Why(), tc.why) {
			t.Fatalf("forged notice naming %s: %+v, why %q, want %q", tc.caller, n, n.Why(), tc.why)
		}
		if _, err := bob.RetrieveParked(ctxT(t), n); !errors.Is(err, sbsip.ErrNoticeNotConfirmed) {
			t.Fatalf("retrieve from a forged notice = %v, want ErrNoticeNotConfirmed", err)
		}
		n.Check = telephony.NoticeConfirmed // a window that believed it: the phone checks again
		if _, err := bob.RetrieveParked(ctxT(t), n); !errors.Is(err, sbsip.ErrNoticeNotConfirmed) {
			t.Fatalf("retrieve from a forged notice marked confirmed = %v, want ErrNoticeNotConfirmed", err)
		}
	}
	if calls := bob.Calls(); len(calls) != 0 {
		t.Fatalf("bob's calls after the forged notices: %+v", calls)
	}
	if st, _ := f.svc.Orbit(705); !st.Occupied || st.CallerName != "Carol" {
		t.Fatalf("carol is no longer parked: %+v", st)
	}
}

// TestParkNoticeReplayedAfterRetrieve: Bob retrieves alice from the
// genuine notice; the same notice sent again says plainly that she was
// already picked up, and retrieves nothing.
func TestParkNoticeReplayedAfterRetrieve(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk-a", 1000, f.templates)
	bob := newConsole(t, "bob", 1200, f.templates)
	a.waitParkService(t, true)
	bob.waitParkService(t, true)
	alice, call, _ := aliceOn(t, a, true)
	if err := a.ParkFor(ctxT(t), call.ID, 706, telephony.ParkFor{For: bob.AOR(), Name: "Bob"}); err != nil {
		t.Fatal(err)
	}
	siptest.Recv(t, "alice follows the REFER", alice.referred)
	n := parkedForYou(t, bob, 706)
	id, err := bob.RetrieveParked(ctxT(t), n)
	if err != nil {
		t.Fatal(err)
	}
	bob.waitState(t, id, telephony.StateActive)
	bob.waitOrbit(t, 706, "free", free)

	if got := sendNotice(t, bob, a.AOR(), 706, `"Alice" <`+alice.AOR()+">", n.Token); !strings.HasPrefix(got, "SIP/2.0 200 ") {
		t.Fatalf("replayed notice answered %q", got)
	}
	stale := noticeChecked(t, bob, 706, telephony.NoticeGone)
	if stale.Left != telephony.LeftRetrieved || stale.Why() != "Alice was already picked up from 706" {
		t.Fatalf("replayed notice %+v: why %q", stale, stale.Why())
	}
	if _, err := bob.RetrieveParked(ctxT(t), stale); !errors.Is(err, sbsip.ErrNoticeNotConfirmed) {
		t.Fatalf("retrieve from the replayed notice = %v, want ErrNoticeNotConfirmed", err)
	}
	if n := len(bob.Calls()); n != 1 {
		t.Fatalf("bob has %d calls after the replay, want alice's only", n)
	}
}

// TestParkForColleague: console A parks alice on 705 for Bob with a
// note. Both consoles' lamps say whom the call is for and the note (the
// park service keeps them); Bob's console gets the park notice (a SIP
// MESSAGE) naming alice, the orbit and the note, retrieves from it (a
// safe retrieve with the park's token), and Bob and alice hear each
// other.
func TestParkForColleague(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk-a", 1000, f.templates)
	bob := newConsole(t, "bob", 1200, f.templates)
	a.waitParkService(t, true)
	bob.waitParkService(t, true)

	alice, call, _ := aliceOn(t, a, true)
	const note = "re: the contract; 50% — urgent"
	if err := a.ParkFor(ctxT(t), call.ID, 705, telephony.ParkFor{For: bob.AOR(), Name: "Bob", Note: note}); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateParkedAway)
	nd := siptest.Recv(t, "alice follows the REFER", alice.referred)
	m := siptest.StartMedia(t, nd, 440)

	forBob := func(o telephony.Orbit) bool { return o.Occupied && o.For == bob.AOR() && o.Note == note }
	a.waitOrbit(t, 705, "lit for Bob", forBob)
	bob.waitOrbit(t, 705, "lit for Bob", forBob)

	n := parkedForYou(t, bob, 705)
	if n.CallerURI != alice.AOR() || n.From != a.AOR() || n.Note != note || n.Token == "" {
		t.Fatalf("park notice %+v: want alice %s from %s, the note and a token", n, alice.AOR(), a.AOR())
	}
	if want := "Call for you: Alice ("; !strings.HasPrefix(n.Text, want) || !strings.Contains(n.Text, "on 705 — dial 705") {
		t.Fatalf("park notice text %q", n.Text)
	}

	id, err := bob.RetrieveParked(ctxT(t), n)
	if err != nil {
		t.Fatal(err)
	}
	bob.waitState(t, id, telephony.StateActive)
	bob.hears(t, 440)
	m.WaitTone(t, "alice hears Bob", 1200)
	bob.waitOrbit(t, 705, "free", free)
}

// TestParkForSafeRetrieveOfNotice: a notice retrieves only the call it
// told of: when that caller gave up and another was parked on the
// orbit, Bob's retrieve from the old notice is refused (the lamp shows
// another caller) and sends nothing, and the other caller stays parked.
// (Were the lamp late, the notice's token would still make the park
// service refuse.)
func TestParkForSafeRetrieveOfNotice(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk-a", 1000, f.templates)
	bob := newConsole(t, "bob", 1200, f.templates)
	a.waitParkService(t, true)

	alice, call, _ := aliceOn(t, a, true)
	if err := a.ParkFor(ctxT(t), call.ID, 703, telephony.ParkFor{For: bob.AOR()}); err != nil {
		t.Fatal(err)
	}
	nd := siptest.Recv(t, "alice follows the REFER", alice.referred)
	n := parkedForYou(t, bob, 703)
	bob.waitOrbit(t, 703, "lit for Bob", func(o telephony.Orbit) bool { return o.Occupied && o.For == bob.AOR() })
	if err := nd.Hangup(ctxT(t)); err != nil { // alice gives up
		t.Fatal(err)
	}
	bob.waitOrbit(t, 703, "dark", free)
	parkDirect(t, f, "carol", "park-703")
	bob.waitOrbit(t, 703, "lit with Carol", occupiedBy("Carol"))

	if _, err := bob.RetrieveParked(ctxT(t), n); !errors.Is(err, sbsip.ErrNoticeNotConfirmed) {
		t.Fatalf("retrieve from a stale notice = %v, want ErrNoticeNotConfirmed", err)
	}
	if calls := bob.Calls(); len(calls) != 0 {
		t.Fatalf("bob's calls after retrieving from a stale notice: %+v", calls)
	}
	if st, _ := f.svc.Orbit(703); !st.Occupied || st.CallerName != "Carol" {
		t.Fatalf("carol is no longer parked: %+v", st)
	}
}

// TestParkForRefusesBadNote: a note over 140 characters or a colleague
// that is no address is refused before anything is sent; the call stays.
func TestParkForRefusesBadNote(t *testing.T) {
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk-a", 1000, f.templates)
	a.waitParkService(t, true)
	_, call, _ := aliceOn(t, a, true)
	for _, pf := range []telephony.ParkFor{
		{Note: strings.Repeat("x", telephony.MaxParkNote+1)},
		{Note: "two\nlines"},
		{For: "bob chen"},
	} {
		if err := a.ParkFor(ctxT(t), call.ID, 705, pf); !errors.Is(err, sbsip.ErrBadParkFor) {
			t.Fatalf("ParkFor(%+v) = %v, want ErrBadParkFor", pf, err)
		}
	}
	for _, c := range a.Calls() {
		if c.ID == call.ID && c.State != telephony.StateActive {
			t.Fatalf("call after the refusals: %+v", c)
		}
	}
}

// TestParkForBaresipColleague: the colleague runs an ordinary phone,
// Debian's baresip: it receives the park notice MESSAGE, answers it 200,
// and its menu shows the text, "Call for you: Alice (alice@…) on 704 —
// dial 704" with the note, as from the console.
func TestParkForBaresipColleague(t *testing.T) {
	b := siptest.StartBaresip(t, baresip.Options{User: "bob", Display: "Bob Chen", Console: true})
	f := startParkService(t, "", nil)
	a := newConsole(t, "desk-a", 1000, f.templates)
	a.waitParkService(t, true)
	_, call, _ := aliceOn(t, a, true)
	if err := a.ParkFor(ctxT(t), call.ID, 704, telephony.ParkFor{For: b.AOR, Name: "Bob Chen", Note: "contract, urgent"}); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateParkedAway)
	line, err := b.WaitMessage(ctxT(t), "dial 704")
	if err != nil {
		t.Fatal(err)
	}
	if want := a.AOR() + `: "Call for you: Alice (alice@127.0.0.1) on 704 — dial 704. contract, urgent"`; line != want {
		t.Fatalf("baresip showed %s, want %s", line, want)
	}
}

// TestAsteriskParkForStaysLocal: with a PBX lot (Asterisk's, no tokens)
// whom the call is for and the note stay with the console that parked:
// its orbit shows them, another console's lamp does not (the PBX never
// heard of them), and the colleague is told all the same, without a
// token. The PBX's lamp names no caller, so the colleague's console
// cannot confirm the notice: it is shown without Retrieve ("dial 702").
func TestAsteriskParkForStaysLocal(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	a := newConsole(t, "desk", 1000, x.templates("87{orbit}"))
	bob := newConsole(t, "bob", 1200, x.templates("87{orbit}"))
	a.waitParkService(t, true)
	x.waitSubscribed(t)

	_, leg := x.call(t, a.uri(), "Alice", "alice")
	call := answered(t, a)
	siptest.Recv(t, "alice put through", leg)
	if err := a.ParkFor(ctxT(t), call.ID, 0, telephony.ParkFor{For: bob.AOR(), Note: "contract"}); err != nil {
		t.Fatal(err)
	}
	if to := siptest.Recv(t, "REFER", x.referred); to != "700" {
		t.Fatalf("REFER to %q, want the park extension 700", to)
	}
	parked := a.waitState(t, call.ID, telephony.StateParkedAway)
	a.waitOrbit(t, parked.Orbit, "lit for Bob", func(o telephony.Orbit) bool {
		return o.Occupied && o.ParkedByMe && o.For == bob.AOR() && o.Note == "contract"
	})
	n := noticeChecked(t, bob, parked.Orbit, telephony.NoticeUnconfirmed)
	if n.Token != "" || n.Note != "contract" || !strings.Contains(n.Text, "Alice") {
		t.Fatalf("park notice %+v: want Alice, the note and no token", n)
	}
	if o := bob.waitOrbit(t, parked.Orbit, "lit", func(o telephony.Orbit) bool { return o.Occupied }); o.For != "" || o.Note != "" {
		t.Fatalf("Bob's console shows %+v: the PBX lot's lamp cannot know whom it is for", o)
	}
}

// TestRingBackSaysWhomFor: a call parked for Bob that nobody retrieves
// rings back its parker with whom it was parked for and the note
// (X-Park-For, X-Park-Note on the ring-back INVITE), so the ringing
// card can say "for Bob Chen".
func TestRingBackSaysWhomFor(t *testing.T) {
	f := startParkService(t, "", func(o *park.Options) { o.ParkTime = time.Second })
	a := newConsole(t, "desk", 1000, f.templates)
	a.waitParkService(t, true)
	alice, call, _ := aliceOn(t, a, true)
	const note = "contract; 50% — urgent"
	if err := a.ParkFor(ctxT(t), call.ID, 706, telephony.ParkFor{For: "sip:bob@pbx.example", Name: "Bob Chen", Note: note}); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateParkedAway)
	siptest.Recv(t, "alice parked", alice.referred)
	back := a.waitCall(t, "ring-back", func(c telephony.Call) bool { return c.State == telephony.StateRinging && c.ID != call.ID })
	if back.BackFrom != 706 || back.ParkedFor != "sip:bob@pbx.example" || back.ParkNote != note {
		t.Fatalf("ring-back = %+v, want back from 706 for sip:bob@pbx.example with the note", back)
	}
}

// TestParkNoticesKeepTheirOrder: notices sent one after another, each
// after the 200 of the one before (a park service telling of re-parks on
// one orbit), are reported in the order they came, so the last one shown
// is the last one sent. The 200 once went out before the notice was
// reported, and the next notice's handler could report first (as INFO
// digits did on CI); this run's window is small: it passed 30 times
// against that order.
func TestParkNoticesKeepTheirOrder(t *testing.T) {
	f := startParkService(t, "", nil)
	bob := newConsole(t, "bob", 1200, f.templates)
	bob.waitParkService(t, true)
	const n = 16
	for i := range n {
		caller := "<sip:caller" + strconv.Itoa(i) + "@127.0.0.1>"
		if got := sendNotice(t, bob, "sip:parkd@127.0.0.1", 705, caller, ""); !strings.HasPrefix(got, "SIP/2.0 200 ") {
			t.Fatalf("notice %d answered %q", i, got)
		}
	}
	var got []string
	bob.events.Until(t, "bob: every notice", func(evs []telephony.Event) bool {
		got = got[:0]
		for _, ev := range evs {
			if p, ok := ev.(telephony.ParkedForYou); ok && p.Orbit == 705 {
				got = append(got, p.CallerURI)
			}
		}
		return len(got) >= n
	})
	for i, uri := range got {
		if want := "sip:caller" + strconv.Itoa(i) + "@127.0.0.1"; uri != want {
			t.Fatalf("notice %d reported %s, want %s (all: %v)", i, uri, want, got)
		}
	}
}
