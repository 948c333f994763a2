package siptest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

// DialogSource is a PBX's presence server as RFC 4235 words it, for the
// console's tests: SUBSCRIBE sip:EXT@source (Event: dialog) is answered
// 200 and followed by a full dialog-info document of EXT's calls; set
// changes an extension's state and notifies its subscribers; restart
// forgets every subscription, as a restarted PBX does (a refresh of one
// is answered 481). A subscription's NOTIFYs go out as the changes come,
// without waiting for the last one's answer (the CSeq tells their
// order); each is retransmitted until its answer or Timer F (64*T1), as
// a real server keeps its transaction, or until the source stops.
type DialogSource struct {
	t      testing.TB
	ua     *sipgo.UserAgent
	client *sipgo.Client
	Port   int // where it listens (UDP, 127.0.0.1)
	// notifying is the NOTIFYs' context, ended when the source stops.
	notifying context.Context

	mu     sync.Mutex
	states map[string]telephony.Presence // by extension; idle when not set
	// dialogs are the documents' dialogs by extension, where SetDialogs
	// gave them (they win over states).
	dialogs map[string][]dialoginfo.Dialog
	refuse  map[string]int        // by extension, the status its SUBSCRIBEs get
	subs    map[string]*dialogSub // by Call-ID
	// instance, when set, is sent as X-Park-Instance on NOTIFYs and
	// OPTIONS answers, as a Switchboard park service names its start.
	instance string
	// emptyIdle: an idle extension's NOTIFYs carry no body (Kamailio's
	// presence_dialoginfo, for a user with no dialogs published).
	emptyIdle bool
	closed    bool
	wg        sync.WaitGroup

	// Subscribed logs "EXT" for every subscription made (not refreshes),
	// Unsubscribed "EXT" for every one ended by the console.
	Subscribed, Unsubscribed Log[string]
}

// dialogSub is one subscription the source keeps.
type dialogSub struct {
	ext, callID    string
	from           sip.Uri
	fromTag, toTag string
	target         sip.Uri
	cseq, version  uint32
}

// StartDialogSource starts a presence server on a free loopback UDP
// port; it stops with the test.
func StartDialogSource(t testing.TB) *DialogSource {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("presence"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	s := &DialogSource{t: t, ua: ua, Port: FreePort(t), states: map[string]telephony.Presence{},
		refuse: map[string]int{}, subs: map[string]*dialogSub{}}
	addr := fmt.Sprintf("127.0.0.1:%d", s.Port)
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
	notifying, stopNotifying := context.WithCancel(context.Background())
	s.notifying = notifying
	t.Cleanup(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		stopNotifying() // a NOTIFY to a console already gone is not waited for
		s.wg.Wait()
		cancel()
		ua.Close()
		serving.Wait()
	})
	WaitListening(t, ua, addr)
	return s
}

// URI is extension ext at the source.
func (s *DialogSource) URI(ext string) string { return fmt.Sprintf("sip:%s@127.0.0.1:%d", ext, s.Port) }

// Live counts the subscriptions the source keeps.
func (s *DialogSource) Live() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.subs)
}

// Set changes ext's state and notifies its subscribers.
func (s *DialogSource) Set(ext string, st telephony.Presence) {
	s.mu.Lock()
	s.states[ext] = st
	delete(s.dialogs, ext)
	s.mu.Unlock()
	s.notifyAll(ext)
}

// SetDialogs makes ext's documents list exactly dialogs (a PBX's own
// words, stale or odd ones too) and notifies its subscribers; each has
// answered the NOTIFY when it returns.
func (s *DialogSource) SetDialogs(ext string, dialogs ...dialoginfo.Dialog) {
	s.mu.Lock()
	if s.dialogs == nil {
		s.dialogs = map[string][]dialoginfo.Dialog{}
	}
	s.dialogs[ext] = dialogs
	s.mu.Unlock()
	s.notifyAll(ext)
}

// notifyAll notifies ext's subscribers of its state.
func (s *DialogSource) notifyAll(ext string) {
	s.mu.Lock()
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

// Refuse makes the SUBSCRIBEs to ext get code.
func (s *DialogSource) Refuse(ext string, code int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refuse[ext] = code
}

// EmptyWhenIdle makes the NOTIFYs of an idle extension carry no body,
// as Kamailio's presence server sends them for a user who has no dialogs
// (presence_dialoginfo without force_dummy_dialog).
func (s *DialogSource) EmptyWhenIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.emptyIdle = true
}

// Restart forgets every subscription without a word; instance is the
// new start's X-Park-Instance ("" for a server that sends none).
func (s *DialogSource) Restart(instance string) {
	s.mu.Lock()
	clear(s.subs)
	s.instance = instance
	s.mu.Unlock()
}

func (s *DialogSource) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
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
		s.Subscribed.Add(ext)
	}
	if final {
		s.Unsubscribed.Add(ext)
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.To().Params.Add("tag", d.toTag)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: ext, Host: "127.0.0.1", Port: s.Port}})
	res.AppendHeader(sip.NewHeader("Expires", expires))
	_ = tx.Respond(res)
	s.mu.Lock()
	if !s.closed {
		s.wg.Go(func() { s.notify(d, final) })
	}
	s.mu.Unlock()
}

// notify sends d's extension's state, a full document (RFC 4235 §3.7).
func (s *DialogSource) notify(d *dialogSub, final bool) {
	s.mu.Lock()
	doc := dialoginfo.Document{Version: d.version, State: dialoginfo.StateFull, Entity: s.URI(d.ext)}
	switch s.states[d.ext] {
	case telephony.PresenceRinging:
		doc.Dialogs = []dialoginfo.Dialog{{ID: "d1", State: dialoginfo.DialogEarly, Direction: dialoginfo.DirectionRecipient}}
	case telephony.PresenceBusy:
		doc.Dialogs = []dialoginfo.Dialog{{ID: "d1", State: dialoginfo.DialogConfirmed, Direction: dialoginfo.DirectionRecipient}}
	}
	if dls, ok := s.dialogs[d.ext]; ok {
		doc.Dialogs = dls
	}
	var body []byte
	if len(doc.Dialogs) > 0 || !s.emptyIdle {
		d.version++
		var err error
		if body, err = dialoginfo.Marshal(doc); err != nil {
			s.mu.Unlock()
			s.t.Errorf("presence document: %v", err)
			return
		}
	}
	d.cseq++
	req := sip.NewRequest(sip.NOTIFY, d.target)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: d.ext, Host: "127.0.0.1", Port: s.Port}, Params: sip.NewParams()}
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
	if body != nil {
		req.AppendHeader(sip.NewHeader("Content-Type", dialoginfo.ContentType))
		req.SetBody(body)
	}
	req.SetTransport("UDP")
	s.mu.Unlock()
	if _, err := s.client.Do(s.notifying, req); err != nil && s.notifying.Err() == nil {
		s.t.Logf("presence: NOTIFY %s: %v", d.ext, err)
	}
}
