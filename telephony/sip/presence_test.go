package sip_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// dialogSource is a PBX's presence server as RFC 4235 words it, for the
// console's tests: SUBSCRIBE sip:EXT@source (Event: dialog) is answered
// 200 and followed by a full dialog-info document of EXT's calls; set
// changes an extension's state and notifies its subscribers; restart
// forgets every subscription, as a restarted PBX does (a refresh of one
// is answered 481).
type dialogSource struct {
	t      testing.TB
	ua     *sipgo.UserAgent
	client *sipgo.Client
	port   int

	mu     sync.Mutex
	states map[string]telephony.Presence // by extension; idle when not set
	refuse map[string]int                // by extension, the status its SUBSCRIBEs get
	subs   map[string]*dialogSub         // by Call-ID
	// instance, when set, is sent as X-Park-Instance on NOTIFYs and
	// OPTIONS answers, as a Switchboard park service names its start.
	instance string
	closed   bool
	wg       sync.WaitGroup

	// subscribed logs "EXT" for every subscription made (not refreshes),
	// unsubscribed "EXT" for every one ended by the console.
	subscribed, unsubscribed siptest.Log[string]
}

// dialogSub is one subscription the source keeps.
type dialogSub struct {
	ext, callID    string
	from           sip.Uri
	fromTag, toTag string
	target         sip.Uri
	cseq, version  uint32
}

func startDialogSource(t testing.TB) *dialogSource {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("presence"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	s := &dialogSource{t: t, ua: ua, port: siptest.FreePort(t), states: map[string]telephony.Presence{},
		refuse: map[string]int{}, subs: map[string]*dialogSub{}}
	addr := fmt.Sprintf("127.0.0.1:%d", s.port)
	s.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientConnectionAddr(addr))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnSubscribe(s.onSubscribe)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		s.mu.Lock()
		if s.instance != "" {
			res.AppendHeader(sip.NewHeader("X-Park-Instance", s.instance))
		}
		s.mu.Unlock()
		_ = tx.Respond(res)
	})
	ctx, cancel := context.WithCancel(context.Background())
	var serving sync.WaitGroup
	serving.Go(func() { _ = srv.ListenAndServe(ctx, "udp", addr) })
	t.Cleanup(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		s.wg.Wait()
		cancel()
		ua.Close()
		serving.Wait()
	})
	siptest.WaitListening(t, ua, addr)
	return s
}

// uri is extension ext at the source.
func (s *dialogSource) uri(ext string) string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", ext, s.port) }

// live counts the subscriptions the source keeps.
func (s *dialogSource) live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// set changes ext's state and notifies its subscribers.
func (s *dialogSource) set(ext string, st telephony.Presence) {
	s.mu.Lock()
	s.states[ext] = st
	var subs []*dialogSub
	for _, d := range s.subs {
		if d.ext == ext {
			subs = append(subs, d)
		}
	}
	s.mu.Unlock()
	for _, d := range subs {
		s.notify(d, false)
	}
}

// refuseExt makes the SUBSCRIBEs to ext get code.
func (s *dialogSource) refuseExt(ext string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse[ext] = code
}

// restart forgets every subscription without a word; instance is the
// new start's X-Park-Instance ("" for a server that sends none).
func (s *dialogSource) restart(instance string) {
	s.mu.Lock()
	clear(s.subs)
	s.instance = instance
	s.mu.Unlock()
}

func (s *dialogSource) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	ext := req.Recipient.User
	callID := string(*req.CallID())
	expires := "600"
	if h := req.GetHeader("Expires"); h != nil {
		expires = strings.TrimSpace(h.Value())
	}
	s.mu.Lock()
	if code := s.refuse[ext]; code != 0 {
		s.mu.Unlock()
		_ = tx.Respond(sip.NewResponseFromRequest(req, code, "Refused", nil))
		return
	}
	d := s.subs[callID]
	if toTag, _ := req.To().Params.Get("tag"); d == nil && toTag != "" {
		s.mu.Unlock()
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist", nil))
		return
	}
	fresh := d == nil
	if fresh {
		fromTag, _ := req.From().Params.Get("tag")
		d = &dialogSub{ext: ext, callID: callID, from: req.From().Address, fromTag: fromTag, toTag: sip.GenerateTagN(10), target: req.Contact().Address}
		s.subs[callID] = d
	}
	final := expires == "0"
	if final {
		delete(s.subs, callID)
	}
	s.mu.Unlock()
	if fresh && !final {
		s.subscribed.Add(ext)
	}
	if final {
		s.unsubscribed.Add(ext)
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.To().Params.Add("tag", d.toTag)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: ext, Host: "127.0.0.1", Port: s.port}})
	res.AppendHeader(sip.NewHeader("Expires", expires))
	_ = tx.Respond(res)
	s.mu.Lock()
	if !s.closed {
		s.wg.Go(func() { s.notify(d, final) })
	}
	s.mu.Unlock()
}

// notify sends d's extension's state, a full document (RFC 4235 §3.7).
func (s *dialogSource) notify(d *dialogSub, final bool) {
	s.mu.Lock()
	doc := dialoginfo.Document{Version: d.version, State: dialoginfo.StateFull, Entity: s.uri(d.ext)}
	switch s.states[d.ext] {
	case telephony.PresenceRinging:
		doc.Dialogs = []dialoginfo.Dialog{{ID: "d1", State: dialoginfo.DialogEarly, Direction: dialoginfo.DirectionRecipient}}
	case telephony.PresenceBusy:
		doc.Dialogs = []dialoginfo.Dialog{{ID: "d1", State: dialoginfo.DialogConfirmed, Direction: dialoginfo.DirectionRecipient}}
	}
	d.version++
	d.cseq++
	body, err := dialoginfo.Marshal(doc)
	if err != nil {
		s.mu.Unlock()
		s.t.Errorf("presence document: %v", err)
		return
	}
	req := sip.NewRequest(sip.NOTIFY, d.target)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: d.ext, Host: "127.0.0.1", Port: s.port}, Params: sip.NewParams()}
	from.Params.Add("tag", d.toTag)
	to := &sip.ToHeader{Address: d.from, Params: sip.NewParams()}
	to.Params.Add("tag", d.fromTag)
	callID := sip.CallIDHeader(d.callID)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: d.cseq, MethodName: sip.NOTIFY})
	req.AppendHeader(&sip.ContactHeader{Address: from.Address})
	req.AppendHeader(sip.NewHeader("Event", dialoginfo.EventName))
	if final {
		req.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=timeout"))
	} else {
		req.AppendHeader(sip.NewHeader("Subscription-State", "active;expires=600"))
	}
	if s.instance != "" {
		req.AppendHeader(sip.NewHeader("X-Park-Instance", s.instance))
	}
	req.AppendHeader(sip.NewHeader("Content-Type", dialoginfo.ContentType))
	req.SetBody(body)
	req.SetTransport("UDP")
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := s.client.Do(ctx, req); err != nil {
		s.t.Logf("presence: NOTIFY %s: %v", d.ext, err)
	}
}

// presenceMark is where in a console's events a wait for presence
// starts: each state is looked for after the last one seen.
type presenceMark struct{ n int }

// waitPresence waits for target's state to become want after mark, and
// moves mark past it.
func (c *console) waitPresence(t testing.TB, mark *presenceMark, target string, want telephony.Presence) telephony.PresenceChanged {
	t.Helper()
	var got telephony.PresenceChanged
	c.events.Until(t, fmt.Sprintf("%s: %s %s", c.name, target, want), func(items []telephony.Event) bool {
		for i := mark.n; i < len(items); i++ {
			if pc, ok := items[i].(telephony.PresenceChanged); ok && pc.Target == target && pc.Presence == want {
				got, mark.n = pc, i+1
				return true
			}
		}
		return false
	})
	return got
}

// TestPresenceFollowsColleague: a colleague's extension, watched by the
// console at a real RFC 4235 source, goes idle → ringing → busy → idle
// on the console, each seen as PresenceChanged and in Presence.
func TestPresenceFollowsColleague(t *testing.T) {
	src := startDialogSource(t)
	a := newConsole(t, "desk", 1000, nil)
	bob := src.uri("201")
	a.Watch([]string{bob})
	var m presenceMark
	a.waitPresence(t, &m, bob, telephony.PresenceIdle)
	for _, st := range []telephony.Presence{telephony.PresenceRinging, telephony.PresenceBusy, telephony.PresenceIdle} {
		src.set("201", st)
		if got := a.waitPresence(t, &m, bob, st); got.Fault != telephony.LampKnown {
			t.Fatalf("%s: %+v", st, got)
		}
		if got, ok := a.Presence(bob); !ok || got != st {
			t.Fatalf("Presence(%s) = %s, %v; want %s", bob, got, ok, st)
		}
	}
}

// TestPresenceNumberAtLampHost: a colleague given by extension is
// watched at the host of the park lamps' template (the PBX), and seen
// busy there.
func TestPresenceNumberAtLampHost(t *testing.T) {
	src := startDialogSource(t)
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		h := fmt.Sprintf("@127.0.0.1:%d", src.port)
		c.Park = sbsip.ParkConfig{ParkAny: "sip:700" + h, Retrieve: "sip:{orbit}" + h, Lamp: "sip:{orbit}" + h,
			Orbits: telephony.Lot{First: 701, Last: 701}}
	})
	src.set("202", telephony.PresenceBusy)
	a.Watch([]string{"202"})
	var m presenceMark
	a.waitPresence(t, &m, "202", telephony.PresenceBusy)
	src.subscribed.Wait(t, "202 subscribed at the lamps' host", func(ext string) bool { return ext == "202" })
}

// TestPresenceResubscribesAfterRestart: the presence server restarts
// and forgets the console's subscription; the console's refresh gets
// 481, it subscribes again at once, and the state the restarted server
// has (busy) shows.
func TestPresenceResubscribesAfterRestart(t *testing.T) {
	src := startDialogSource(t)
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		h := fmt.Sprintf("@127.0.0.1:%d", src.port)
		c.Park = sbsip.ParkConfig{ParkAny: "sip:700" + h, Retrieve: "sip:{orbit}" + h, Lamp: "sip:{orbit}" + h,
			Orbits: telephony.Lot{First: 701, Last: 701}, LampExpiry: 2 * time.Second}
	})
	bob := src.uri("203")
	a.Watch([]string{bob})
	var m presenceMark
	a.waitPresence(t, &m, bob, telephony.PresenceIdle)
	src.restart("")
	src.set("203", telephony.PresenceBusy) // nobody to notify: the server lost them
	a.waitPresence(t, &m, bob, telephony.PresenceBusy)
	n := 0
	for _, ext := range src.subscribed.All() {
		if ext == "203" {
			n++
		}
	}
	if n < 2 {
		t.Fatalf("203 subscribed %d times, want a new subscription after the restart", n)
	}
}

// TestPresenceBounded: watching 5,000 colleagues costs the server at
// most MaxWatched subscriptions; watching fewer unsubscribes the rest
// (Expires: 0), and nothing is left after Close.
func TestPresenceBounded(t *testing.T) {
	src := startDialogSource(t)
	a := newConsole(t, "desk", 1000, nil)
	targets := make([]string, 5000)
	for i := range targets {
		targets[i] = src.uri(strconv.Itoa(10000 + i))
	}
	a.Watch(targets)
	src.subscribed.Until(t, "the bounded subscriptions made", func(items []string) bool { return len(items) >= sbsip.MaxWatched })
	if w, filed := a.Watching(); w != sbsip.MaxWatched || filed > sbsip.MaxWatched {
		t.Fatalf("watching %d, %d subscriptions filed; want %d", w, filed, sbsip.MaxWatched)
	}
	keep := targets[:3]
	made := len(src.subscribed.All())
	a.Watch(keep)
	src.unsubscribed.Until(t, "the others unsubscribed", func(items []string) bool { return len(items) >= sbsip.MaxWatched-3 })
	if n := src.live(); n != 3 {
		t.Fatalf("the server keeps %d subscriptions, want 3", n)
	}
	if w, _ := a.Watching(); w != 3 {
		t.Fatalf("watching %d, want 3", w)
	}
	if n := len(src.subscribed.All()); n != made {
		t.Fatalf("%d subscriptions made after watching 3 of them, want none (the kept ones are not made again)", n-made)
	}
}

// TestPresenceRefusedIsUnknown: a server that has no such extension
// (404) makes the colleague unknown with why, never idle.
func TestPresenceRefusedIsUnknown(t *testing.T) {
	src := startDialogSource(t)
	src.refuseExt("299", sip.StatusNotFound)
	a := newConsole(t, "desk", 1000, nil)
	ghost := src.uri("299")
	a.Watch([]string{ghost})
	var m presenceMark
	if got := a.waitPresence(t, &m, ghost, telephony.PresenceUnknown); got.Fault != telephony.LampNotFound {
		t.Fatalf("got %+v, want unknown, not found", got)
	}
	for _, ev := range a.events.All() {
		if pc, ok := ev.(telephony.PresenceChanged); ok && pc.Presence != telephony.PresenceUnknown {
			t.Fatalf("a refused colleague was shown %s", pc.Presence)
		}
	}
}

// TestBlindTransferToBusyFailsTyped: the colleague answers the caller's
// new call 486: the console's call stays held and the failure comes as
// TransferFailed, busy, 486, not only as words.
func TestBlindTransferToBusyFailsTyped(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	alice := newPeer(t, "alice", nil)
	bob := newPeer(t, "bob", func(d *diago.DialogServerSession) {
		_ = d.Respond(sip.StatusBusyHere, "Busy Here", nil)
	})
	da := alice.dial(t, a.uri(), true)
	r := a.waitRinging(t)
	if err := a.Answer(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	siptest.Recv(t, "answered", da)
	if err := a.BlindTransfer(ctxT(t), r.ID, bob.AOR()); err != nil {
		t.Fatal(err)
	}
	ev := a.waitEvent(t, "transfer failed", func(e telephony.Event) bool {
		_, ok := e.(telephony.TransferFailed)
		return ok
	}).(telephony.TransferFailed)
	if ev.Call != r.ID || ev.Why != telephony.TransferBusy || ev.Code != sip.StatusBusyHere {
		t.Fatalf("failed = %+v", ev)
	}
	if got, _ := a.Call(r.ID); got.State != telephony.StateHeld {
		t.Fatalf("call after the failed transfer = %+v, want held", got)
	}
	if err := a.Resume(ctxT(t), r.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, r.ID, telephony.StateActive)
}

// TestPresenceResubscribesOnServiceRestart: the colleagues are watched
// on the park service that serves the lamps; it restarts (a new
// X-Park-Instance on its health answer) and forgot them: the console
// subscribes again at once, as for the orbit lamps, not after the
// 10-minute refresh, and the state it has now shows.
func TestPresenceResubscribesOnServiceRestart(t *testing.T) {
	src := startDialogSource(t)
	src.restart("start-1")
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		h := fmt.Sprintf("@127.0.0.1:%d", src.port)
		c.Park = sbsip.ParkConfig{ParkAny: "sip:700" + h, Retrieve: "sip:{orbit}" + h, Lamp: "sip:{orbit}" + h,
			Orbits: telephony.Lot{First: 701, Last: 701}, HealthInterval: 300 * time.Millisecond}
	})
	a.Watch([]string{"204"})
	var m presenceMark
	a.waitPresence(t, &m, "204", telephony.PresenceIdle)
	src.restart("start-2")
	src.set("204", telephony.PresenceBusy) // nobody to notify: it forgot them
	a.waitPresence(t, &m, "204", telephony.PresenceBusy)
}

// TestPresenceWatchBeforeStart: colleagues the window asks for before
// the phone starts (the console's window may open first) are watched
// once it has started.
func TestPresenceWatchBeforeStart(t *testing.T) {
	src := startDialogSource(t)
	p, err := sbsip.New(sbsip.Config{User: "desk", Listen: []sbsip.Listener{{Transport: "udp", Addr: "127.0.0.1:0"}},
		Audio: &siptest.ToneDevice{Freq: 1000}, Logger: testLogger(t, "desk")})
	if err != nil {
		t.Fatal(err)
	}
	bob := src.uri("205")
	src.set("205", telephony.PresenceBusy)
	p.Watch([]string{bob})
	if err := p.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	for {
		select {
		case ev := <-p.Events():
			if pc, ok := ev.(telephony.PresenceChanged); ok && pc.Target == bob && pc.Presence == telephony.PresenceBusy {
				return
			}
		case <-ctxT(t).Done():
			t.Fatal("the colleague asked for before the start was never watched")
		}
	}
}
