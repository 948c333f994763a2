package sip_test

import (
	"context"
	"fmt"
	"slices"
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

// asterisk plays a PBX whose park behaves on the wire as
// PARK-PROTOCOL.md ("Interworking with another PBX") says Asterisk 20's
// res_parking does. Its calls to the console are the callers; a REFER on
// one gets 202 and one NOTIFY with sipfrag 200 (no 100 first) and never
// a BYE. A REFER to the lot's park extension (700) parks the caller on
// the first free slot; to 87NN on slot NN (occupied: silently on the
// next free one); to a bare slot number NN
// Asterisk tries to retrieve NN, fails and hangs the caller up (after
// the same 200 sipfrag). Lamps: SUBSCRIBE sip:NN@pbx gets dialog-info
// with <dialog id="NN"><state>…</state></dialog>, state="full", a
// counting version and never a caller identity.
type asterisk struct {
	t      testing.TB
	ua     *sipgo.UserAgent
	dg     *diago.Diago
	client *sipgo.Client
	port   int
	first  int
	last   int

	referred chan string // the Refer-To user of every REFER
	byes     chan string // the Call-ID of every BYE from the console
	wg       sync.WaitGroup
	// notifying is the lamp NOTIFYs' context: a NOTIFY's transaction
	// lasts, retransmitted, until its answer or Timer F (64*T1, sipgo's
	// own), as a real PBX keeps it, or until the PBX stops.
	notifying context.Context
	subbed    siptest.Log[int]    // the slot of every SUBSCRIBE, once subs has it
	notified  siptest.Log[int]    // the slot of every lamp NOTIFY, once it has its version
	refused   siptest.Log[string] // the Call-ID of every refresh of a subscription it does not know
	// seen is every lamp SUBSCRIBE the PBX answered, with its answer.
	seen siptest.Log[subscribeSeen]
	// auth, once requireAuth set it, challenges every SUBSCRIBE and
	// REGISTER, as res_pjsip does; password is the account's.
	auth     *diago.DigestAuthServer
	password string

	mu     sync.Mutex
	closed bool                // no more work is started
	calls  map[string]*pbxCall // by Call-ID, the calls to the console
	parked map[int]*pbxCall    // by slot
	subs   map[int][]*lampSub  // by slot
	cseqs  map[string]uint32   // by Call-ID, the highest SUBSCRIBE CSeq taken
	pinned map[int]int         // by slot, the version every NOTIFY says while set
	hungUp []string            // callers Asterisk hung up on a failed park, or lost by a BYE before their transfer
	// refuseRefer, when set, is the status every REFER is answered with
	// ("503 can't handle one-legged xfers").
	refuseRefer int
	// beforeNotify and afterNotify, when set, run in a REFER's handling
	// just before its 200 sipfrag and just after (before the caller is
	// parked, unless lampFirst): another parker's park in the same
	// moment, or a wait for the console to see a lamp.
	beforeNotify, afterNotify func()
	// lampFirst parks the caller, and lights its lamp, before the 200
	// sipfrag rather than after.
	lampFirst bool
	// afterPark, when set, runs once a REFER's caller is parked and its
	// lamp NOTIFYs are sent (the caller hanging up at once...).
	afterPark func(slot int)
	// silentRefer accepts a REFER (202), takes the caller and says
	// nothing more: no sipfrag, and the transferer's dialog is gone (an
	// in-dialog OPTIONS gets 481).
	silentRefer bool
	// sendrpid sends a retrieved caller's identity in a re-INVITE right
	// after the 200 (P-Asserted-Identity, as sendrpid=pai does, or
	// Remote-Party-ID with rpidHeader, as sendrpid=rpid does), never in
	// the 200 itself.
	sendrpid   bool
	rpidHeader string
	// rpidGate, when set, holds that re-INVITE until it is closed: the
	// PBX's identity may come at any time after the 200, and a test
	// that looks at the console before it sets one.
	rpidGate chan struct{}

	// retrieved is the name of every caller a retrieve took off its
	// slot; probed the Call-ID of every in-dialog OPTIONS.
	retrieved siptest.Log[string]
	probed    siptest.Log[string]
}

// subscribeSeen is one SUBSCRIBE the PBX answered.
type subscribeSeen struct {
	callID  string
	cseq    uint32
	expires string
	status  int
}

// requireAuth makes the PBX challenge every SUBSCRIBE and REGISTER with
// digest auth for any user with password; call it before the console
// starts.
func (x *asterisk) requireAuth(t testing.TB, password string) {
	x.mu.Lock()
	x.auth, x.password = diago.NewDigestServer(), password
	x.mu.Unlock()
	t.Cleanup(x.auth.Close)
}

// authorized returns the challenge or refusal to answer req with, or nil
// when req may go on (no auth required, or it passed). The caller records
// what it saw before it answers: the answer lets the console send its
// next request, which another handler may record first.
func (x *asterisk) authorized(req *sip.Request) *sip.Response {
	x.mu.Lock()
	auth, password := x.auth, x.password
	x.mu.Unlock()
	if auth == nil {
		return nil
	}
	res, err := auth.AuthorizeRequest(req, diago.DigestAuth{Username: req.From().Address.User, Password: password, Realm: "asterisk"})
	if err == nil && res.StatusCode == sip.StatusOK {
		return nil
	}
	if err != nil && res.StatusCode == sip.StatusUnauthorized {
		res = sip.NewResponseFromRequest(req, sip.StatusForbidden, "Forbidden", nil)
	}
	return res
}

// onRegister binds the console (after the challenge, when required).
func (x *asterisk) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	if refusal := x.authorized(req); refusal != nil {
		_ = tx.Respond(refusal)
		return
	}
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	exp := "60"
	if h := req.GetHeader("Expires"); h != nil {
		exp = strings.TrimSpace(h.Value())
	}
	res.AppendHeader(sip.NewHeader("Expires", exp))
	_ = tx.Respond(res)
}

// pbxCall is one call the PBX put through to the console.
type pbxCall struct {
	name, user string
	callID     string
	d          *diago.DialogClientSession
	// guarded by asterisk.mu
	referred bool // a REFER was accepted (202): re-INVITEs go unanswered
	accepted bool // the transfer is done: the 200 sipfrag is on its way
	lost     bool // the console hung up before the transfer was done
}

// lampSub is one console's subscription to a slot's lamp.
type lampSub struct {
	slot    int
	callID  string
	from    sip.Uri // the subscriber
	fromTag string
	toTag   string
	target  sip.Uri
	cseq    uint32
	version int
	// turn is held by the subscription's NOTIFY in flight: chan_sip
	// sends a subscription's next NOTIFY only once the last one is
	// answered (a change meanwhile waits, and goes out with the state
	// of that moment), so two are never under way at once.
	turn chan struct{}
}

// startAsterisk starts the PBX on loopback with the lot first-last.
func startAsterisk(t testing.TB, first, last int) *asterisk {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("asterisk"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	x := &asterisk{t: t, ua: ua, port: siptest.FreePort(t), first: first, last: last,
		referred: make(chan string, 64), byes: make(chan string, 64),
		calls: make(map[string]*pbxCall), parked: make(map[int]*pbxCall), subs: make(map[int][]*lampSub), cseqs: make(map[string]uint32), pinned: make(map[int]int)}
	addr := fmt.Sprintf("127.0.0.1:%d", x.port)
	x.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientConnectionAddr(addr))
	if err != nil {
		t.Fatal(err)
	}
	// diago answers the calls' requests; SUBSCRIBE, which diago does not
	// know, goes straight to the sipgo server it shares.
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnSubscribe(x.onSubscribe)
	srv.OnRegister(x.onRegister)
	x.dg = diago.NewDiago(ua, diago.WithServer(srv), diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: x.port}),
		diago.WithLogger(testLogger(t, "asterisk")), diago.WithServerRequestMiddleware(x.middleware))
	ctx, cancel := context.WithCancel(context.Background())
	err = x.dg.ServeBackground(ctx, x.onInvite)
	if err != nil {
		t.Fatal(err)
	}
	notifying, stopNotifying := context.WithCancel(context.Background())
	x.notifying = notifying
	t.Cleanup(func() {
		x.mu.Lock()
		x.closed = true
		x.mu.Unlock()
		stopNotifying() // a NOTIFY to a console already gone is not waited for
		x.wg.Wait()
		cancel()
		ua.Close()
	})
	siptest.WaitListening(t, ua, addr)
	return x
}

// templates configures a console for this PBX; parkOrbit is the
// park-to-orbit template's user part ("87{orbit}" with the dialplan
// prefix, "{orbit}" for the mistake of REFERring straight to a slot).
func (x *asterisk) templates(parkOrbit string) func(*sbsip.Config) {
	return func(c *sbsip.Config) {
		h := fmt.Sprintf("@127.0.0.1:%d", x.port)
		c.Park = sbsip.ParkConfig{
			ParkAny:        "sip:700" + h,
			ParkOrbit:      "sip:" + parkOrbit + h,
			Retrieve:       "sip:{orbit}" + h,
			Lamp:           "sip:{orbit}" + h,
			Orbits:         telephony.Lot{First: x.first, Last: x.last},
			HealthInterval: 300 * time.Millisecond,
			Timeout:        waitFor, // a safety net; the test of the timeout sets its own
		}
	}
}

// middleware answers what Asterisk answers before diago sees it.
func (x *asterisk) middleware(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		switch req.Method {
		case sip.OPTIONS:
			if tag, _ := req.To().Params.Get("tag"); tag != "" {
				x.probed.Add(string(*req.CallID()))
				x.mu.Lock()
				pc := x.calls[string(*req.CallID())]
				gone := pc != nil && pc.referred && x.silentRefer
				x.mu.Unlock()
				if gone {
					_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call Leg/Transaction Does Not Exist", nil))
					return
				}
			}
			_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		case sip.REFER:
			x.onRefer(req, tx)

		case sip.BYE:
			select {
			case x.byes <- string(*req.CallID()):
			default:
			}
			// A transferer hanging up before the transfer is done takes
			// the caller with it.
			x.mu.Lock()
			if pc := x.calls[string(*req.CallID())]; pc != nil && pc.referred && !pc.accepted && !pc.lost {
				pc.lost = true
				x.hungUp = append(x.hungUp, pc.name)
			}
			x.mu.Unlock()
			next(req, tx)
		case sip.INVITE:
			// After its 202, Asterisk answers no re-INVITE on the
			// transferer's dialog.
			x.mu.Lock()
			pc := x.calls[string(*req.CallID())]
			mute := pc != nil && pc.referred
			x.mu.Unlock()
			if !mute {
				next(req, tx)
			}
		default:
			next(req, tx)
		}
	}
}

// call puts a caller through to the console. The channel gives the PBX's
// leg (pc.d) once the console answered, or is closed if it did not.
func (x *asterisk) call(t testing.TB, to sip.Uri, name, user string) (*pbxCall, <-chan *siptest.Call) {
	t.Helper()
	d, err := x.dg.NewDialog(to, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pc := &pbxCall{name: name, user: user, d: d, callID: sip.GenerateTagN(24)}
	callID := sip.CallIDHeader(pc.callID)
	x.mu.Lock()
	x.calls[pc.callID] = pc
	x.mu.Unlock()
	from := &sip.FromHeader{DisplayName: name, Address: sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: x.port}, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	return pc, siptest.Dial(t, d, diago.InviteClientOptions{Headers: []sip.Header{from, &callID}})
}

// onRefer handles a blind transfer of one of the PBX's calls.
func (x *asterisk) onRefer(req *sip.Request, tx sip.ServerTransaction) {
	x.mu.Lock()
	pc := x.calls[string(*req.CallID())]
	x.mu.Unlock()
	h := req.GetHeader("Refer-To")
	var to sip.Uri
	if pc == nil || h == nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
		return
	}
	params := sip.NewParams()
	if _, err := sip.ParseAddressValue(h.Value(), &to, &params); err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil))
		return
	}
	x.mu.Lock()
	refuse := x.refuseRefer
	if refuse == 0 {
		pc.referred = true
	}
	before, after, lampFirst, afterPark, silent := x.beforeNotify, x.afterNotify, x.lampFirst, x.afterPark, x.silentRefer
	x.mu.Unlock()
	if refuse != 0 {
		_ = tx.Respond(sip.NewResponseFromRequest(req, refuse, "Can't handle one-legged xfers", nil))
		return
	}
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusAccepted, "Accepted", nil))
	select {
	case x.referred <- to.User:
	default:
	}
	x.spawn(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		x.mu.Lock()
		lost := pc.lost
		pc.accepted = !lost
		x.mu.Unlock()
		if lost {
			return
		}
		parkIt := func() {
			slot := x.park(to.User)
			x.mu.Lock()
			if slot == 0 {
				x.hungUp = append(x.hungUp, pc.name)
			} else {
				x.parked[slot] = pc
			}
			x.mu.Unlock()
			if slot != 0 {
				x.lamp(slot)
				if afterPark != nil {
					afterPark(slot)
				}
			}
		}
		if silent {
			parkIt()
			return
		}
		if lampFirst {
			parkIt()
		}
		if before != nil {
			before()
		}
		// One NOTIFY, 200, whatever becomes of the caller.
		n := sip.NewRequest(sip.NOTIFY, pc.d.RemoteContact().Address)
		n.AppendHeader(sip.NewHeader("Event", "refer"))
		n.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=noresource"))
		n.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
		n.SetBody([]byte("SIP/2.0 200 OK\r\n"))
		if _, err := pc.d.Do(ctx, n); err != nil {
			x.t.Errorf("asterisk: REFER NOTIFY: %v", err)
		}
		if after != nil {
			after()
		}
		if !lampFirst {
			parkIt()
		}
	})
}

// park is the slot a REFER to user parks on, or 0 when Asterisk hangs
// the caller up instead.
func (x *asterisk) park(user string) int {
	x.mu.Lock()
	defer x.mu.Unlock()
	switch n, err := strconv.Atoi(strings.TrimPrefix(user, "87")); {
	case user == "700":
		for s := x.first; s <= x.last; s++ {
			if x.parked[s] == nil {
				return s
			}
		}
	case strings.HasPrefix(user, "87") && err == nil && n >= x.first && n <= x.last:
		// An occupied slot is not refused: the caller goes on the next
		// free one, silently.
		for s := n; s <= x.last; s++ {
			if x.parked[s] == nil {
				return s
			}
		}
	}
	return 0 // a bare slot: retrieve of an empty slot fails, the caller is hung up
}

// onInvite answers a retrieve, an INVITE to a slot: the slot's caller
// is bridged and its lamp goes dark; an empty slot is 404. With sendrpid
// the caller's identity follows in a re-INVITE. diago wants the handler
// to last the call.
func (x *asterisk) onInvite(d *diago.DialogServerSession) {
	slot, err := strconv.Atoi(d.ToUser())
	x.mu.Lock()
	pc := x.parked[slot]
	if err == nil && pc != nil {
		delete(x.parked, slot)
	}
	rpid, header, gate := x.sendrpid, x.rpidHeader, x.rpidGate
	x.mu.Unlock()
	if pc == nil {
		_ = d.Respond(sip.StatusNotFound, "Not Found", nil)
		return
	}
	if _, err := d.Answer(diago.AnswerOptions{}); err != nil {
		x.t.Logf("asterisk: retrieve %d: %v", slot, err)
		return
	}
	x.retrieved.Add(pc.name)
	x.lamp(slot)
	if rpid && gate != nil {
		select {
		case <-gate:
		case <-d.Context().Done():
			return
		}
	}
	if rpid {
		ctx, cancel := context.WithTimeout(d.Context(), waitFor)
		x.reinviteIdentity(ctx, d, pc, header)
		cancel()
	}
	<-d.Context().Done()
}

// reinviteIdentity sends the bridged caller's identity in a re-INVITE
// with the dialog's SDP unchanged, as Asterisk with sendrpid=pai does.
func (x *asterisk) reinviteIdentity(ctx context.Context, d *diago.DialogServerSession, pc *pbxCall, header string) {
	req := sip.NewRequest(sip.INVITE, d.RemoteContact().Address)
	id := fmt.Sprintf("\"%s\" <sip:%s@127.0.0.1:%d>", pc.name, pc.user, x.port)
	if header == "Remote-Party-ID" {
		id += ";party=calling;privacy=off;screen=no"
	} else {
		header = "P-Asserted-Identity"
	}
	req.AppendHeader(sip.NewHeader(header, id))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.SetBody(d.InviteResponse.Body())
	res, err := d.Do(ctx, req)
	if err != nil {
		x.t.Logf("asterisk: identity re-INVITE: %v", err)
		return
	}
	if res.IsSuccess() {
		ack := sip.NewRequest(sip.ACK, d.RemoteContact().Address)
		if cont := res.Contact(); cont != nil {
			ack = sip.NewRequest(sip.ACK, cont.Address)
		}
		_ = d.WriteRequest(ack)
	}
}

// leave makes the caller parked on slot hang up: the slot goes dark.
func (x *asterisk) leave(slot int) {
	x.mu.Lock()
	delete(x.parked, slot)
	x.mu.Unlock()
	x.lamp(slot)
}

// parkOther puts a call that is not the console's on a slot.
func (x *asterisk) parkOther(slot int, name string) {
	x.mu.Lock()
	x.parked[slot] = &pbxCall{name: name}
	x.mu.Unlock()
	x.lamp(slot)
}

// comeback times out the call parked on slot: the slot goes dark and
// the PBX re-dials the console (comebacktoorigin=yes) with only the
// caller's ID.
func (x *asterisk) comeback(t testing.TB, console sip.Uri, slot int) {
	t.Helper()
	x.mu.Lock()
	pc := x.parked[slot]
	delete(x.parked, slot)
	x.mu.Unlock()
	if pc == nil {
		t.Fatalf("asterisk: nothing parked on %d", slot)
	}
	x.lamp(slot)
	x.call(t, console, pc.name, pc.user)
}

// onSubscribe answers a lamp SUBSCRIBE and sends the slot's state.
func (x *asterisk) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	slot, err := strconv.Atoi(req.Recipient.User)
	if err != nil || slot < x.first || slot > x.last {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotFound, "Not Found", nil))
		return
	}
	callID := string(*req.CallID())
	expires := "600"
	if h := req.GetHeader("Expires"); h != nil {
		expires = strings.TrimSpace(h.Value())
	}
	// res_pjsip refuses a request whose CSeq is not above the last one
	// of its Call-ID (RFC 3261 §12.2.2), challenged or not.
	cseq := req.CSeq().SeqNo
	seen := subscribeSeen{callID: callID, cseq: cseq, expires: expires}
	x.mu.Lock()
	if last, ok := x.cseqs[callID]; ok && cseq <= last {
		x.mu.Unlock()
		seen.status = sip.StatusInternalServerError
		x.seen.Add(seen)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusInternalServerError, "Invalid CSeq", nil))
		return
	}
	x.cseqs[callID] = cseq
	x.mu.Unlock()
	if refusal := x.authorized(req); refusal != nil {
		seen.status = refusal.StatusCode
		x.seen.Add(seen)
		_ = tx.Respond(refusal)
		return
	}
	x.mu.Lock()
	var sub *lampSub
	for _, s := range x.subs[slot] {
		if s.callID == callID {
			sub = s
		}
	}
	if toTag, _ := req.To().Params.Get("tag"); sub == nil && toTag != "" {
		// A refresh of a subscription it does not know (it restarted):
		// chan_sip answers 481, like any request in an unknown dialog.
		x.mu.Unlock()
		x.refused.Add(callID)
		seen.status = sip.StatusCallTransactionDoesNotExists
		x.seen.Add(seen)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Call Leg/Transaction Does Not Exist", nil))
		return
	}
	if sub == nil {
		fromTag, _ := req.From().Params.Get("tag")
		sub = &lampSub{slot: slot, callID: callID, from: req.From().Address, fromTag: fromTag,
			toTag: sip.GenerateTagN(10), target: req.Contact().Address, version: -1, turn: make(chan struct{}, 1)}
		x.subs[slot] = append(x.subs[slot], sub)
	}
	if expires == "0" {
		x.subs[slot] = slices.DeleteFunc(x.subs[slot], func(o *lampSub) bool { return o == sub })
	}
	x.mu.Unlock()
	x.subbed.Add(slot)
	seen.status = sip.StatusOK
	x.seen.Add(seen)
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.To().Params.Add("tag", sub.toTag)
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: req.Recipient.User, Host: "127.0.0.1", Port: x.port}})
	res.AppendHeader(sip.NewHeader("Expires", expires))
	_ = tx.Respond(res)
	x.spawn(func() { x.notify(sub, expires == "0") })
}

// spawn runs f on a goroutine the cleanup waits for, unless the PBX is
// closing.
func (x *asterisk) spawn(f func()) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if !x.closed {
		x.wg.Go(f)
	}
}

// lamp sends the slot's state to every subscriber, each subscription
// on its own; it returns once every NOTIFY is answered or given up.
func (x *asterisk) lamp(slot int) {
	x.mu.Lock()
	subs := append([]*lampSub(nil), x.subs[slot]...)
	x.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range subs {
		wg.Go(func() { x.notify(s, false) })
	}
	wg.Wait()
}

// notify sends one lamp NOTIFY as Asterisk's chan_sip words it, once
// the subscription's last one is answered, with the slot's state of
// that moment.
func (x *asterisk) notify(s *lampSub, final bool) {
	select {
	case s.turn <- struct{}{}:
	case <-x.notifying.Done():
		return
	}
	defer func() { <-s.turn }()
	x.mu.Lock()
	state := "terminated"
	if x.parked[s.slot] != nil {
		state = "confirmed"
	}
	s.version++
	if v, ok := x.pinned[s.slot]; ok {
		s.version = v
	}
	s.cseq++
	x.notified.Add(s.slot)
	entity := fmt.Sprintf("sip:%d@127.0.0.1:%d", s.slot, x.port)
	body := fmt.Sprintf("<?xml version=\"1.0\"?>\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"%d\" state=\"full\" entity=\"%s\">\n<dialog id=\"%d\">\n<state>%s</state>\n</dialog>\n</dialog-info>\n",
		s.version, entity, s.slot, state)
	req := sip.NewRequest(sip.NOTIFY, s.target)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: strconv.Itoa(s.slot), Host: "127.0.0.1", Port: x.port}, Params: sip.NewParams()}
	from.Params.Add("tag", s.toTag)
	to := &sip.ToHeader{Address: s.from, Params: sip.NewParams()}
	to.Params.Add("tag", s.fromTag)
	callID := sip.CallIDHeader(s.callID)
	req.AppendHeader(from)
	req.AppendHeader(to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: s.cseq, MethodName: sip.NOTIFY})
	req.AppendHeader(&sip.ContactHeader{Address: from.Address})
	req.AppendHeader(sip.NewHeader("Event", dialoginfo.EventName))
	if final {
		req.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=timeout"))
	} else {
		req.AppendHeader(sip.NewHeader("Subscription-State", "active;expires=600"))
	}
	req.AppendHeader(sip.NewHeader("Content-Type", dialoginfo.ContentType))
	req.SetBody([]byte(body))
	req.SetTransport("UDP")
	x.mu.Unlock()
	if _, err := x.client.Do(x.notifying, req); err != nil && x.notifying.Err() == nil {
		x.t.Logf("asterisk: lamp NOTIFY %d: %v", s.slot, err)
	}
}

// pinVersion makes every later lamp NOTIFY of slot, on any of its
// subscriptions (a re-subscription may come at any time), say version.
func (x *asterisk) pinVersion(slot, version int) {
	x.mu.Lock()
	x.pinned[slot] = version
	x.mu.Unlock()
}

// waitSubscribed waits until the console watches every slot and each
// slot's latest subscription has its first NOTIFY under way (a test that
// sets a subscription's version afterwards is not overtaken by it).
func (x *asterisk) waitSubscribed(t testing.TB) {
	t.Helper()
	x.notified.Until(t, "asterisk: every slot watched", func([]int) bool {
		x.mu.Lock()
		defer x.mu.Unlock()
		for s := x.first; s <= x.last; s++ {
			if n := len(x.subs[s]); n == 0 || x.subs[s][n-1].version < 0 {
				return false
			}
		}
		return true
	})
}

// TestAsteriskParkConfirmedByLamp: against Asterisk's park, a park on
// the next free slot is done when a slot's lamp lights right after the
// REFER: the console ends its own leg (Asterisk sends no BYE) and shows
// the slot with the caller it parked, though the lamp names nobody; a
// slot someone else parked on shows occupied, with nobody.
func TestAsteriskParkConfirmedByLamp(t *testing.T) {
	x := startAsterisk(t, 701, 704)
	x.parkOther(701, "Earlier")
	a := newConsole(t, "desk", 1000, x.templates("87{orbit}"))
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	a.waitOrbit(t, 701, "occupied by someone", func(o telephony.Orbit) bool { return o.Occupied })

	pc, leg := x.call(t, a.uri(), "Alice", "alice")
	call := answered(t, a)
	siptest.Recv(t, "alice put through", leg)
	if err := a.Park(ctxT(t), call.ID, 0); err != nil {
		t.Fatal(err)
	}
	if to := siptest.Recv(t, "REFER", x.referred); to != "700" {
		t.Fatalf("REFER to %q, want the park extension 700", to)
	}
	parked := a.waitState(t, call.ID, telephony.StateParkedAway)
	if parked.Orbit != 702 || parked.Relayed {
		t.Fatalf("parked = %+v, want on 702 (the first free slot)", parked)
	}
	if id := siptest.Recv(t, "BYE from the console", x.byes); id != pc.callID {
		t.Fatalf("BYE for %s", id)
	}
	select {
	case <-pc.d.Context().Done():
	case <-time.After(waitFor):
		t.Fatal("the console's leg is still up after the park")
	}
	o := a.waitOrbit(t, 702, "lit with the caller parked", occupiedBy("Alice"))
	if !o.ParkedByMe || o.CallerURI != "sip:alice@127.0.0.1:"+strconv.Itoa(x.port) {
		t.Fatalf("orbit 702 = %+v", o)
	}
	for _, o := range a.Orbits() {
		if o.Number == 701 && (o.CallerName != "" || o.CallerURI != "" || o.ParkedByMe) {
			t.Fatalf("someone else's park shows %+v, want occupied by nobody", o)
		}
	}
	if got, ok := a.Call(call.ID); !ok || got.State != telephony.StateParkedAway {
		t.Fatalf("parked call = %+v, %v", got, ok)
	}
}

// TestAsteriskComebackMatchedToPark: a directed park (the dialplan's 87
// prefix) is confirmed by its slot's lamp; when it times out, Asterisk
// re-dials the console with only the caller's ID. The console takes it
// for the return of the call it parked on that slot; another caller is
// just a new call.
func TestAsteriskComebackMatchedToPark(t *testing.T) {
	x := startAsterisk(t, 701, 706)
	a := newConsole(t, "desk", 1000, x.templates("87{orbit}"))
	a.waitParkService(t, true)
	x.waitSubscribed(t)
	_, leg := x.call(t, a.uri(), "Alice", "alice")
	call := answered(t, a)
	siptest.Recv(t, "alice put through", leg) // the PBX holds the dialog before the console holds it
	if err := a.Park(ctxT(t), call.ID, 705); err != nil {
		t.Fatal(err)
	}
	if to := siptest.Recv(t, "REFER", x.referred); to != "87705" {
		t.Fatalf("REFER to %q", to)
	}
	if got := a.waitState(t, call.ID, telephony.StateParkedAway); got.Orbit != 705 {
		t.Fatalf("parked = %+v", got)
	}
	a.waitOrbit(t, 705, "lit with Alice", occupiedBy("Alice"))

	x.call(t, a.uri(), "Bob", "bob")
	bob := a.waitCall(t, "bob rings", func(c telephony.Call) bool { return c.State == telephony.StateRinging && c.RemoteName == "Bob" })
	if bob.BackFrom != 0 {
		t.Fatalf("bob's call = %+v, taken for a return", bob)
	}
	if err := a.Reject(ctxT(t), bob.ID); err != nil {
		t.Fatal(err)
	}

	x.comeback(t, a.uri(), 705)
	back := a.waitCall(t, "alice rings back", func(c telephony.Call) bool {
		return c.State == telephony.StateRinging && c.RemoteName == "Alice" && c.ID != call.ID
	})
	if back.BackFrom != 705 {
		t.Fatalf("comeback = %+v, want the return from orbit 705", back)
	}
	if ended := a.waitState(t, call.ID, telephony.StateEnded); ended.End != telephony.EndLeftOrbit || ended.Reason != "left orbit 705" {
		t.Fatalf("parked call ended with %v, %q", ended.End, ended.Reason)
	}
	a.waitOrbit(t, 705, "dark", free)
	if err := a.Answer(ctxT(t), back.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, back.ID, telephony.StateActive)
}
