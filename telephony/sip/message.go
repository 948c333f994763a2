// Park for someone: the for and note of a park (ParkFor), and the SIP
// MESSAGE (RFC 3428) that tells the colleague, sent and received. See
// docs/PARK-PROTOCOL.md, "Park for someone".

package sip

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
)

// Headers of a park notice, a MESSAGE that tells a colleague a call was
// parked for them. X-Park-Orbit marks a MESSAGE as one.
const (
	noticeOrbitHeader  = "X-Park-Orbit"
	noticeCallerHeader = "X-Park-Caller"
	noticeNoteHeader   = "X-Park-Note"
	noticeForHeader    = "X-Park-For" // on a ring-back INVITE, not a notice
	noticeTokenHeader  = "X-Park-Token"
)

// messageTimeout bounds the sending of one park notice.
const messageTimeout = 32 * time.Second

// ErrBadParkFor is wrapped by ParkFor when whom a park is for, or its
// note, cannot be sent.
var ErrBadParkFor = errors.New("park for: bad colleague or note")

// ErrNoticeNotConfirmed is wrapped by RetrieveParked when the orbit's
// lamp does not confirm the park notice (telephony.CheckNotice).
var ErrNoticeNotConfirmed = telephony.ErrNoticeNotConfirmed

// checkParkFor validates f and returns the colleague's URI (nil when
// the park is for nobody).
func (p *Phone) checkParkFor(f telephony.ParkFor) (*sip.Uri, error) {
	if utf8.RuneCountInString(f.Note) > telephony.MaxParkNote {
		return nil, fmt.Errorf("sip: %w: the note is longer than %d characters", ErrBadParkFor, telephony.MaxParkNote)
	}
	for _, r := range f.Note {
		if unicode.IsControl(r) {
			return nil, fmt.Errorf("sip: %w: the note holds a control character", ErrBadParkFor)
		}
	}
	if f.For == "" {
		return nil, nil
	}
	u, err := p.parseTarget(f.For)
	if err != nil {
		return nil, fmt.Errorf("sip: %w: %q is not an address: %w", ErrBadParkFor, f.For, err)
	}
	return &u, nil
}

// forWhomParams adds whom a park is for and its note to a park URI, in
// the escape-free forms (for-user/for-host, note64) where they can be:
// baresip 1.0 runs a Refer-To through printf and eats percent escapes
// (see addParker).
func forWhomParams(params *sip.HeaderParams, to *sip.Uri, note string) {
	if to != nil {
		hostport := to.Host
		if to.Port != 0 {
			hostport += ":" + strconv.Itoa(to.Port)
		}
		if to.Scheme == "sip" && to.User != "" && plainParam(to.User) && plainParam(hostport) {
			params.Add("for-user", to.User)
			params.Add("for-host", hostport)
		} else {
			params.Add("for", parkerParam(*to))
		}
	}
	if note != "" {
		params.Add("note64", base64.RawURLEncoding.EncodeToString([]byte(note)))
	}
}

// switchboardLot reports whether the park service is Switchboard's own
// (PARK-PROTOCOL.md), which keeps for and note: its safe retrieve takes
// a token. With a PBX lot they stay with this console.
func (p *Phone) switchboardLot() bool {
	return strings.Contains(p.cfg.Park.SafeRetrieve, "{token}")
}

// noticeText is a park notice as a person reads it: "Call for you: Eva
// Novak (+442079460777) on 705 — dial 705", the note after.
func noticeText(callerName, callerURI string, orbit int, note string) string {
	who := numberOf(callerURI)
	if callerName != "" && callerName != who {
		if who != "" {
			who = callerName + " (" + who + ")"
		} else {
			who = callerName
		}
	}
	if who == "" {
		who = "a caller"
	}
	n := strconv.Itoa(orbit)
	s := "Call for you: " + who + " on " + n + " — dial " + n
	if note != "" {
		s += ". " + note
	}
	return s
}

// numberOf is the user part of a caller's URI ("+442079460777"), or
// user@host when the user part is no number.
func numberOf(uri string) string {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return uri
	}
	user := u.User
	if v, err := url.PathUnescape(user); err == nil {
		user = v
	}
	if user == "" {
		return u.Host
	}
	for _, r := range user {
		if !strings.ContainsRune("0123456789+*# -.", r) {
			return user + "@" + u.Host
		}
	}
	return user
}

// tellParkedFor sends the colleague a call was parked for the park
// notice, in the background: the park is done whatever becomes of it.
func (p *Phone) tellParkedFor(f telephony.ParkFor, token string, orbit int, callerName, callerURI string) {
	if f.For == "" || orbit == 0 {
		return
	}
	to, err := p.parseTarget(f.For)
	if err != nil {
		p.log.Warn("park notice not sent", "for", f.For, "error", err)
		return
	}
	if !p.switchboardLot() {
		token = "" // a PBX lot's retrieve takes none
	}
	p.wg.Go(func() {
		ctx, cancel := context.WithTimeout(p.ctx, messageTimeout)
		defer cancel()
		if err := p.sendNotice(ctx, to, token, orbit, callerName, callerURI, f.Note); err != nil {
			p.log.Warn("park notice not delivered", "for", f.For, "orbit", orbit, "error", err)
			return
		}
		p.log.Info("park notice delivered", "for", f.For, "orbit", orbit)
	})
}

// sendNotice sends one park notice: MESSAGE to the colleague's AOR
// (through the outbound proxy where there is one), the text as
// text/plain for any phone, the X-Park headers for a console.
func (p *Phone) sendNotice(ctx context.Context, to sip.Uri, token string, orbit int, callerName, callerURI, note string) error {
	req := sip.NewRequest(sip.MESSAGE, to)
	req.AppendHeader(p.fromHeader("", ""))
	req.AppendHeader(&sip.ToHeader{Address: to, Params: sip.NewParams()})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	routed := p.net.route != nil
	if routed {
		req.AppendHeader(sip.HeaderClone(p.net.route))
	}
	client, t := p.net.clientFor(to, routed)
	if client == nil {
		return fmt.Errorf("no %s transport", t)
	}
	req.SetTransport(strings.ToUpper(t))
	req.AppendHeader(sip.NewHeader("Content-Type", "text/plain;charset=UTF-8"))
	req.AppendHeader(sip.NewHeader(noticeOrbitHeader, strconv.Itoa(orbit)))
	if callerURI != "" {
		req.AppendHeader(sip.NewHeader(noticeCallerHeader, nameAddr(callerName, callerURI)))
	}
	if note != "" {
		req.AppendHeader(sip.NewHeader(noticeNoteHeader, url.PathEscape(note)))
	}
	if token != "" {
		req.AppendHeader(sip.NewHeader(noticeTokenHeader, token))
	}
	req.SetBody([]byte(noticeText(callerName, callerURI, orbit, note)))
	res, err := p.cfg.Account.do(ctx, client, req)
	if err != nil {
		return err
	}
	if !res.IsSuccess() {
		return fmt.Errorf("answered %d %s", res.StatusCode, res.Reason)
	}
	return nil
}

// parkedForIn reads whom a ring-back's call was parked for and the
// parker's note from X-Park-For (`<sip:…>`) and X-Park-Note
// (percent-escaped), as the park service puts them on the ring-back
// INVITE; a value that does not parse is left out.
func parkedForIn(req *sip.Request) (forURI, note string) {
	if h := req.GetHeader(noticeForHeader); h != nil {
		v := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(h.Value()), "<"), ">")
		var u sip.Uri
		if len(v) <= maxNoticeText && sip.ParseUri(v, &u) == nil && u.Host != "" {
			forURI = v
		}
	}
	if h := req.GetHeader(noticeNoteHeader); h != nil {
		if v, err := url.PathUnescape(h.Value()); err == nil {
			note = telephony.CleanNote(v)
		}
	}
	return forURI, note
}

// nameAddr is `"Name" <uri>`, or `<uri>` without a name.
func nameAddr(name, uri string) string {
	if name == "" {
		return "<" + uri + ">"
	}
	return strconv.Quote(name) + " <" + uri + ">"
}

// onMessage answers a MESSAGE: a park notice (X-Park-Orbit) becomes a
// ParkedForYou event; any other message is taken (200) and logged, for
// the console shows no chat.
func (p *Phone) onMessage(req *sip.Request, tx sip.ServerTransaction) {
	h := req.GetHeader(noticeOrbitHeader)
	if h == nil {
		p.log.Info("message ignored: not a park notice", "from", req.From().Value())
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		return
	}
	orbit, err := strconv.Atoi(strings.TrimSpace(h.Value()))
	if err != nil || !p.cfg.Park.Orbits.Contains(orbit) {
		res := sip.NewResponseFromRequest(req, sip.StatusBadRequest, "Bad Request", nil)
		res.AppendHeader(sip.NewHeader("Warning", `399 console "not an orbit of this console's lot"`))
		_ = tx.Respond(res)
		return
	}
	n := telephony.ParkedForYou{Orbit: orbit, Text: noticeBody(req.Body()), At: time.Now()}
	if from := req.From(); from != nil {
		n.FromName, n.From = from.DisplayName, uriString(from.Address)
	}
	n.CallerName, n.CallerURI = identityOf(req.GetHeader(noticeCallerHeader))
	if h := req.GetHeader(noticeNoteHeader); h != nil {
		if v, err := url.PathUnescape(h.Value()); err == nil {
			n.Note = telephony.CleanNote(v)
		}
	}
	if h := req.GetHeader(noticeTokenHeader); h != nil && plainParam(h.Value()) {
		n.Token = h.Value()
	}
	p.mu.Lock()
	n.Check, n.Left = p.checkNoticeLocked(n)
	if n.Check != telephony.NoticeGone {
		p.watchNoticeLocked(n)
	}
	p.mu.Unlock()
	if n.Check == telephony.NoticeConfirmed {
		p.log.Info("park notice", "orbit", orbit, "from", n.From, "caller", n.CallerURI)
	} else {
		p.log.Warn("park notice not confirmed by the orbit's lamp: shown without retrieve", "orbit", orbit, "from", n.From,
			"caller", n.CallerURI, "check", n.Check, "source", req.Source())
	}
	// Reported before the 200, which lets the sender's next notice in:
	// its handler must not report first.
	p.emit(n)
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
}

// Who may send a park notice: anyone may send a MESSAGE, and its From
// proves nothing, so a notice is never trusted for itself. The proof is
// the orbit's lamp, the park service's own state through this console's
// subscription: a notice is confirmed (and the window offers Retrieve)
// only while the lamp shows the notice's caller on the orbit and, with
// Switchboard's park service, parked for this console's user
// (telephony.CheckNotice). Every notice is answered 200 and shown; one
// the lamp does not confirm is shown as information with why
// (ParkedForYou.Why), and RetrieveParked refuses it. The phone watches
// the notices it reported (maxWatchedNotices, for noticeWatch) and
// reports one again when a lamp change alters its check: a genuine
// notice that came before the lamp lit becomes confirmed, and one whose
// call left says so.

// maxWatchedNotices bounds the notices watched for lamp changes; the
// oldest goes first.
const maxWatchedNotices = 16

// noticeWatch is how long a notice is watched for lamp changes.
const noticeWatch = 15 * time.Minute

// checkNoticeLocked checks n against its orbit's lamp. p.mu is held.
func (p *Phone) checkNoticeLocked(n telephony.ParkedForYou) (telephony.NoticeCheck, telephony.ParkOutcome) {
	o := p.orbits[n.Orbit]
	if o == nil {
		return telephony.NoticeUnconfirmed, telephony.LeftUnknown
	}
	return telephony.CheckNotice(n, *o, p.aor.String(), p.switchboardLot())
}

// watchNoticeLocked keeps n to check again when its orbit's lamp
// changes. p.mu is held.
func (p *Phone) watchNoticeLocked(n telephony.ParkedForYou) {
	if len(p.notices) >= maxWatchedNotices {
		p.notices = append(p.notices[:0], p.notices[1:]...)
	}
	p.notices = append(p.notices, n)
}

// recheckNoticesLocked checks again the notices watched for orbit o,
// which just changed, and returns those whose check changed, to report
// again; a notice whose call left is no longer watched. p.mu is held.
func (p *Phone) recheckNoticesLocked(o telephony.Orbit) []telephony.ParkedForYou {
	var again []telephony.ParkedForYou
	kept := p.notices[:0]
	for _, n := range p.notices {
		if time.Since(n.At) > noticeWatch {
			continue
		}
		if n.Orbit == o.Number {
			check, left := p.checkNoticeLocked(n)
			if check != n.Check || left != n.Left {
				n.Check, n.Left, n.Recheck = check, left, true
				again = append(again, n)
			}
			if check == telephony.NoticeGone {
				continue
			}
		}
		kept = append(kept, n)
	}
	clear(p.notices[len(kept):])
	p.notices = kept
	return again
}

// RetrieveParked picks up the call a park notice told of: with its token
// (safe retrieve) where the notice has one and this console's park
// service takes tokens, so the colleague never gets another call that
// took the orbit meanwhile.
//
// Only a notice the orbit's lamp confirms now is retrieved: otherwise
// the error wraps ErrNoticeNotConfirmed and says why (the call already
// left, another caller is there), and nothing is sent, so a forged or
// stale notice never takes another caller.
func (p *Phone) RetrieveParked(ctx context.Context, n telephony.ParkedForYou) (telephony.CallID, error) {
	pc := p.cfg.Park
	if err := p.ready(); err != nil {
		return "", err
	}
	p.mu.Lock()
	n.Check, n.Left = p.checkNoticeLocked(n)
	p.mu.Unlock()
	if n.Check != telephony.NoticeConfirmed {
		return "", fmt.Errorf("sip: retrieve %d: %w", n.Orbit, &telephony.NoticeError{Notice: n})
	}
	if n.Token == "" || pc.SafeRetrieve == "" {
		return p.Retrieve(ctx, n.Orbit)
	}
	if !pc.Orbits.Contains(n.Orbit) {
		return "", fmt.Errorf("sip: retrieve %d: %w (%s)", n.Orbit, ErrBadOrbit, pc.Orbits)
	}
	u, err := expand(pc.SafeRetrieve, n.Orbit, n.Token)
	if err != nil {
		return "", fmt.Errorf("sip: retrieve %d: %w", n.Orbit, err)
	}
	c := p.newCall(telephony.Outbound, n.CallerName, uriString(u), "", nil)
	p.log.Info("retrieving a call parked for us", "call", c.id, "orbit", n.Orbit)
	p.startOutbound(c, outbound{uri: u, retrieve: n.Orbit, safe: true})
	return c.id, nil
}

// parkedForLocked notes whom a park of ours just confirmed on orbit is
// for, so the orbit shows it where the lamps do not (a PBX lot), and
// tells the colleague. p.mu is held.
func (pk *parking) parkedForLocked(a *parkAttempt, orbit int) {
	p := pk.p
	if a.forWhom.Nobody() || orbit == 0 {
		return
	}
	if p.forWhom == nil {
		p.forWhom = make(map[int]telephony.ParkFor)
	}
	p.forWhom[orbit] = a.forWhom
	p.tellParkedFor(a.forWhom, a.token, orbit, a.callerName, a.callerURI)
}

// forWhomLocked fills in whom the call on orbit n is for when this
// console parked it there and the lamp does not say (a PBX lot's lamps
// never do), and forgets it once the orbit is free. p.mu is held.
func (p *Phone) forWhomLocked(n int, next *telephony.Orbit) {
	f, ok := p.forWhom[n]
	switch {
	case !ok:
	case !next.Occupied:
		delete(p.forWhom, n)
	case next.ParkedByMe && next.For == "" && next.Note == "":
		next.For, next.Note = f.For, f.Note
	}
}

// maxNoticeText bounds the text of a park notice a console shows: ours
// are under 400 characters (caller, number, orbit, a 140-character note).
const maxNoticeText = 512

// noticeBody is a received notice's text as the window may show it: its
// control characters gone and at most maxNoticeText characters, whatever
// the sender put in the body.
func noticeBody(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		if unicode.IsControl(r) || r == utf8.RuneError {
			return -1
		}
		return r
	}, string(b))
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) > maxNoticeText {
		s = string([]rune(s)[:maxNoticeText])
	}
	return s
}
