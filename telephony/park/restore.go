package park

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony/park/store"
)

// Restore. Start on a store that holds calls takes each back before the
// service serves anyone: a parked caller is on its orbit again with music
// (its sender's SSRC, sequence and timestamp carried on, from the same
// RTP port when Options.RTPPort is the one it had), its park timer
// running on from where it was (a call that was ringing back rings again
// at once), its lamp lit for whoever subscribes (a new X-Park-Instance
// tells every console to); a bridged call relays again. Every restored
// dialog is rebuilt from its stored identifiers, so in-dialog requests
// for it (BYE, re-INVITE, ACK, INFO) are served, and the service's own
// requests in it (probes, the retrieve's re-INVITE, BYE) follow its route
// set with a CSeq above what the peer saw.
//
// Right after the restore every restored leg is probed with an in-dialog
// OPTIONS: a caller that hung up while the service was down (its BYE
// found nobody) answers 481 (or 408, or nothing within a probe interval)
// and leaves its orbit as lost; a bridged call whose either side is gone
// is ended on the other side too.
//
// A leg whose SIP came over TCP lost its connection with the process,
// and the port it came from was most likely an ephemeral one, which
// takes no new connection. The peer's next request opens a new
// connection to the service (its own in-dialog requests are served
// whatever connection brings them); the service's own requests in a
// restored TCP dialog (the probe first, a retrieve's re-INVITE, BYE) go
// to its first route when it has a route set (a record-routing proxy), as
// before, and otherwise to its remote target (the phone's Contact) on a
// connection opened for them (RFC 3261 §18.1.1), where a live dialog's go
// down the connection the phone opened. A phone whose Contact cannot be
// reached (behind NAT, over TCP, without a proxy) is found lost by the
// probe.
//
// Every restored dialog is kept as a dialog the service answered (a
// sipgo DialogServerSession), a ring-back's too: with the stored tags
// and route set in place, the requests it sends and accepts are the same
// for either role.

// restoreAhead is how many frames a restored sender's sequence and
// timestamp skip past a stored position whose read time is unknown (a
// store of schema 1): the packets sent between the last write and the
// stop are not repeated under the same numbers.
const restoreAhead = 50

// loadStore reads what the store holds, once, at Start; nil without a
// store.
func (s *Service) loadStore() (*store.Snapshot, error) {
	if s.opts.Store == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	snap, err := s.opts.Store.Load(ctx)
	if err != nil {
		return nil, fmt.Errorf("park: the park store: %w", err)
	}
	return &snap, nil
}

// storedRTPPort is the RTP port the stored calls' media flowed through
// on host, for a start whose Options.RTPPort is 0: their peers send there
// and expect the service there. 0 when none is stored.
func storedRTPPort(snap *store.Snapshot, host netip.Addr) int {
	if snap == nil {
		return 0
	}
	for _, c := range snap.Calls {
		for _, l := range c.Legs {
			if a := l.Media.Local; a.IsValid() && a.Port() != 0 && (a.Addr() == host || host.IsUnspecified()) {
				return int(a.Port())
			}
		}
	}
	return 0
}

// restore takes back every call in snap; it runs in Start before the
// service serves, and leaves the probes of the restored legs in
// s.afterRestore for Start to run once it serves. A call that cannot be restored is dropped from the
// store (and its peers get a BYE where a dialog could be rebuilt).
func (s *Service) restore(snap *store.Snapshot) {
	if snap == nil {
		return
	}
	var parked, bridged, dropped int
	for _, rec := range snap.Calls {
		var err error
		switch {
		case rec.Orbit != 0:
			err = s.restoreParked(rec)
			if err == nil {
				parked++
			}
		default:
			err = s.restoreBridge(rec)
			if err == nil {
				bridged++
			}
		}
		if err != nil {
			dropped++
			s.log.Warn("park: a stored call could not be restored; dropped", "call", rec.ID, "orbit", rec.Orbit, "error", err)
			_ = s.persist("drop of an unrestorable call", func(ctx context.Context, st store.Store) error {
				return st.DeleteCall(ctx, rec.ID)
			})
		}
	}
	if len(snap.Calls) > 0 {
		s.log.Info("park service restored its calls", "parked", parked, "bridged", bridged, "dropped", dropped,
			"generation", snap.Generation)
	}
}

// restoreParked puts a stored parked call back on its orbit.
func (s *Service) restoreParked(rec store.Call) error {
	var callerRec *store.Leg
	var others []store.Leg
	for i := range rec.Legs {
		if rec.Legs[i].ID == trimCallID(rec.ID) {
			callerRec = &rec.Legs[i]
		} else {
			others = append(others, rec.Legs[i])
		}
	}
	if callerRec == nil {
		return errors.New("no caller leg")
	}
	if !s.opts.Orbits.Contains(rec.Orbit) {
		return fmt.Errorf("orbit %d is outside the lot %s", rec.Orbit, s.opts.Orbits)
	}
	l, err := s.restoreLeg(*callerRec)
	if err != nil {
		return err
	}
	c := &parkedCall{
		orbit: rec.Orbit, token: rec.Token, parker: rec.Parker, forURI: rec.For, note: rec.Note,
		callerName: rec.CallerName, callerURI: rec.CallerURI, parkedAt: rec.ParkedAt, leg: l,
		confirmed: make(chan struct{}), state: stateParked, ringbacks: rec.Ringbacks, returnedAt: rec.ReturnedAt,
	}
	close(c.confirmed)
	l.call = c
	s.mu.Lock()
	err = s.lot.take(c.orbit, c)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("orbit %d: %w", c.orbit, err)
	}
	s.register(l)
	s.keep.mu.Lock()
	s.keptLocked(l, rec.ID, true)
	s.keep.mu.Unlock()
	// A retriever whose retrieve was under way: it may never have had
	// its 200; the caller waits on its orbit and the retriever's dialog,
	// if it has one, is ended.
	for _, o := range others {
		if rl, err := s.restoreLeg(o); err == nil {
			s.bg.Go(func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				s.register(rl)
				rl.hangup(ctx, "retrieve cut short by a restart")
			})
		}
	}
	if len(others) > 0 {
		_ = s.saveCall(c, nil) // parked again, without the retriever
	}

	// The park timer runs on from where it was; a ring-back the stop
	// cut short rings again at once.
	due := s.opts.ParkTime
	switch {
	case rec.State == store.State(stateRinging.String()):
		due = 0
	case !rec.RingbackAt.IsZero():
		due = max(time.Until(rec.RingbackAt), 0)
	}
	s.mu.Lock()
	c.timer = time.AfterFunc(due, func() { s.startRingback(c, "timeout") })
	s.mu.Unlock()
	l.playMusic()
	s.lamps.changed(c.orbit)
	s.event("restored", c, "state", string(rec.State))
	// The probe right after the restore finds a caller gone meanwhile;
	// it is sent once every call is back and the music runs.
	s.afterRestore = append(s.afterRestore, func() { s.probe(c) })
	return nil
}

// restoreBridge relays a stored bridged call again.
func (s *Service) restoreBridge(rec store.Call) error {
	if len(rec.Legs) != 2 {
		// One side ended before the other's end was written: end it.
		for _, lr := range rec.Legs {
			if l, err := s.restoreLeg(lr); err == nil {
				s.register(l)
				s.bg.Go(func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					l.hangup(ctx, "its partner had hung up")
				})
			}
		}
		return fmt.Errorf("a bridge of %d legs", len(rec.Legs))
	}
	a, err := s.restoreLeg(rec.Legs[0])
	if err != nil {
		return err
	}
	b, err := s.restoreLeg(rec.Legs[1])
	if err != nil {
		return err
	}
	a.partner, b.partner = b, a
	s.register(a)
	s.register(b)
	s.keep.mu.Lock()
	callerID := trimCallID(rec.ID)
	s.keptLocked(a, rec.ID, a.id == callerID)
	s.keptLocked(b, rec.ID, b.id == callerID)
	s.keep.mu.Unlock()
	s.media.bridge(a.media, b.media)
	s.log.Info("park", "event", "restored bridge", "caller", rec.CallerURI, "legs", a.id+" "+b.id)
	for _, l := range []*sipLeg{a, b} {
		s.afterRestore = append(s.afterRestore, func() { s.probeBridged(l) })
	}
	return nil
}

// probeBridged asks a restored bridged leg whether its peer still has
// the dialog; one that does not (481, 408, no answer) ends the bridge:
// the other side gets its BYE.
func (s *Service) probeBridged(l *sipLeg) {
	code, err := s.options(l, 0, s.opts.ProbeInterval)
	select {
	case <-s.closing:
		return
	default:
	}
	if err == nil && code != sip.StatusCallTransactionDoesNotExists && code != sip.StatusRequestTimeout {
		s.saveLeg(l)
		s.log.Debug("park", "event", "probe answered", "dialog", l.id, "status", code)
		return
	}
	s.log.Info("park", "event", "lost", "dialog", l.id, "status", code, "error", errString(err))
	l.mu.Lock()
	partner := l.partner
	l.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	l.hangup(ctx, "lost")
	if partner != nil {
		partner.hangup(ctx, "its partner was lost")
	}
}

// trimCallID is the caller's leg ID in a stored call ID (callID).
func trimCallID(id string) string {
	const p = "call:"
	if len(id) > len(p) && id[:len(p)] == p {
		return id[len(p):]
	}
	return id
}

// restoreLeg rebuilds a stored leg: its dialog, as one the service
// answered (see the comment at the top), and its media.
func (s *Service) restoreLeg(rec store.Leg) (*sipLeg, error) {
	transport := rec.Dialog.Transport
	if transport == "" {
		transport = "UDP"
	}
	dua := s.duaFor(transport)
	if sip.IsReliable(sip.NetworkToLower(transport)) && len(rec.Dialog.RouteSet) == 0 {
		// The peer's connection closed with the service that answered
		// it, and the port it came from was an ephemeral one, which
		// takes no new connection: the service's requests go to the
		// remote target, on a connection opened for them (RFC 3261 §18.1.1).
		dua = s.targetDUA
	}
	dss, err := s.rebuildDialog(rec, dua)
	if err != nil {
		return nil, err
	}
	m := rec.Media
	if !validRemote(m.Remote) {
		return nil, fmt.Errorf("leg %s: no media address", rec.ID)
	}
	l := &sipLeg{s: s, id: rec.ID, media: restoredLeg(m, time.Now()),
		sess: m.SDPSession, ver: max(m.SDPVersion, 1)}
	l.uas.Store(dss)
	if l.sess == 0 {
		l.sess = rand.Uint64() >> 2
	}
	l.sdp = sdpParams{sessionID: l.sess, version: l.ver, addr: s.media.local,
		formats: []format{{pt: m.RecvPT, codec: m.Codec}}, eventPT: m.RecvEventPT, direction: "sendrecv"}
	if len(m.SDP) > 0 {
		if o, err := parseOffer(m.SDP); err == nil {
			l.sdp.direction, l.sdp.lines, l.sdp.audioIdx = o.direction, o.lines, o.audioIndex
		}
	}
	return l, nil
}

// rebuildDialog makes the dialog of rec, as one the service answered
// (see the comment at the top), whose requests go out through dua: a
// restored leg's, or a sleeping caller's as it wakes (dormant.go).
func (s *Service) rebuildDialog(rec store.Leg, dua *sipgo.DialogUA) (*sipgo.DialogServerSession, error) {
	d := rec.Dialog
	var remote, local sip.Uri
	remoteParams, localParams := sip.NewParams(), sip.NewParams()
	remoteName, err := sip.ParseAddressValue(d.RemoteURI, &remote, &remoteParams)
	if err != nil {
		return nil, fmt.Errorf("leg %s: remote URI %q: %w", rec.ID, d.RemoteURI, err)
	}
	localName, err := sip.ParseAddressValue(d.LocalURI, &local, &localParams)
	if err != nil {
		return nil, fmt.Errorf("leg %s: local URI %q: %w", rec.ID, d.LocalURI, err)
	}
	remoteParams.Add("tag", d.RemoteTag)
	localParams.Add("tag", d.LocalTag)
	var target sip.Uri
	if err := sip.ParseUri(d.RemoteTarget, &target); err != nil {
		return nil, fmt.Errorf("leg %s: remote target %q: %w", rec.ID, d.RemoteTarget, err)
	}
	transport := d.Transport
	if transport == "" {
		transport = "UDP"
	}
	// inv is the INVITE that made the dialog. The session counts its
	// own requests on from the INVITE's CSeq: start it above both our
	// last request and the peer's INVITE, then give the INVITE the
	// peer's CSeq, which the peer's later requests are checked against.
	inv := sip.NewRequest(sip.INVITE, *target.Clone())
	host, port := s.hostOnly(), int(s.addr.Port())
	if h, p, err := net.SplitHostPort(d.Source); err == nil {
		host = h
		port, _ = strconv.Atoi(p)
	}
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: transport,
		Host: host, Port: port, Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranch())
	inv.AppendHeader(via)
	inv.AppendHeader(&sip.FromHeader{DisplayName: remoteName, Address: remote, Params: remoteParams})
	inv.AppendHeader(&sip.ToHeader{DisplayName: localName, Address: local, Params: localParams})
	callID := sip.CallIDHeader(d.CallID)
	inv.AppendHeader(&callID)
	inv.AppendHeader(&sip.CSeqHeader{SeqNo: max(d.LocalCSeq, d.RemoteCSeq), MethodName: sip.INVITE})
	inv.AppendHeader(&sip.ContactHeader{Address: *target.Clone()})
	for _, rr := range d.RouteSet {
		inv.AppendHeader(sip.NewHeader("Record-Route", rr))
	}
	inv.SetTransport(transport)
	inv.SetSource(d.Source)
	// ReadInvite works on a clone of inv (and gives it a To tag of its
	// own); the session keeps inv itself, our tag in its To.
	dss, err := dua.ReadInvite(inv, restoredTx{})
	if err != nil {
		return nil, fmt.Errorf("leg %s: %w", rec.ID, err)
	}
	// Only ReadInvite wants the Via: the dialog keeps its INVITE for
	// its life (a parked caller's for hours) and reads From, To,
	// Call-ID, CSeq, Contact, Record-Route, source and transport from
	// it, never the Via (issue 17: bytes per call).
	inv.RemoveHeader("Via")
	dss.InviteRequest = inv
	dss.InitWithState(sip.DialogStateConfirmed)
	inv.CSeq().SeqNo = d.RemoteCSeq
	if rec.Role == store.RoleUAC {
		// The peer's requests in a dialog the service started count
		// from the peer's own first CSeq, which was never seen.
		inv.CSeq().SeqNo = 0
	}
	// The dialog's 2xx is read for two things only: that it was a
	// success (Bye) and its To, ours with our tag, the From of every
	// request the service sends in the dialog (buildReq). It is all the
	// rebuilt dialog keeps of it.
	res := sip.NewResponse(sip.StatusOK, "OK")
	res.AppendHeader(sip.HeaderClone(dss.InviteRequest.To()))
	dss.InviteResponse = res
	dss.ID = rec.ID
	if id, err := sip.DialogIDFromRequestUAS(dss.InviteRequest); err != nil || id != rec.ID {
		return nil, fmt.Errorf("leg %s: rebuilt dialog has ID %q (%v)", rec.ID, id, err)
	}
	return dss, nil
}

// restoredTx stands for the INVITE transaction of a restored dialog,
// which ended with the service that answered it: nothing can be sent in
// it, and it is done.
type restoredTx struct{}

var doneCh = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

var errRestoredTx = errors.New("the INVITE transaction ended before a restart")

func (restoredTx) Terminate()                         {}
func (restoredTx) OnTerminate(sip.FnTxTerminate) bool { return true }
func (restoredTx) Done() <-chan struct{}              { return doneCh }
func (restoredTx) Err() error                         { return nil }
func (restoredTx) Respond(*sip.Response) error        { return errRestoredTx }
func (restoredTx) Acks() <-chan *sip.Request          { return nil }
func (restoredTx) OnCancel(sip.FnTxCancel) bool       { return true }

var _ sip.ServerTransaction = restoredTx{}
