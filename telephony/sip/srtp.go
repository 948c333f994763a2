// SRTP: the audio of a TLS account's calls encrypted, keyed by SDES
// (RFC 4568 a=crypto in the SDP), as diago does it: one crypto suite,
// AES_CM_128_HMAC_SHA1_80, offered as RTP/SAVP. The mode is the
// account's (Account.SRTP) and applies to the calls over TLS only: SDES
// keys are in the clear wherever the SDP is, so a call over UDP or TCP
// (a park service on loopback) keeps plain RTP.

package sip

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// SRTPMode is whether a TLS account's calls encrypt their audio.
type SRTPMode uint8

// SRTP modes of Account.SRTP.
const (
	// SRTPOff sends plain RTP, and refuses an offer of SRTP only.
	SRTPOff SRTPMode = iota
	// SRTPOffered offers SRTP on the calls the console places and takes
	// it on the calls it receives; a far end without SRTP gets plain RTP
	// when it answers or offers so.
	SRTPOffered
	// SRTPRequired is SRTP or no call: an offer without an SDES key is
	// refused with 488 (ErrSRTPRequired), and a call placed whose answer
	// has none is hung up.
	SRTPRequired
)

var srtpModeNames = [...]string{"off", "offered", "required"}

// String returns the mode's name: off, offered or required.
func (m SRTPMode) String() string {
	if int(m) < len(srtpModeNames) {
		return srtpModeNames[m]
	}
	return fmt.Sprintf("srtp(%d)", m)
}

// ParseSRTPMode reads a mode by its name (off, offered, required; ""
// is off).
func ParseSRTPMode(s string) (SRTPMode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "off":
		return SRTPOff, nil
	case "offered":
		return SRTPOffered, nil
	case "required":
		return SRTPRequired, nil
	}
	return SRTPOff, fmt.Errorf("SRTP %q: want off, offered or required", s)
}

// ErrSRTPRequired is why a call without SRTP was refused or hung up on
// an account that requires it.
var ErrSRTPRequired = errors.New("the far end has no SRTP (SDES AES_CM_128_HMAC_SHA1_80), which this account requires")

// srtpSuite is the one crypto suite diago keys (media.MediaSession's
// default SRTPAlg); another suite in an offer is skipped by it.
const srtpSuite = "AES_CM_128_HMAC_SHA1_80"

// plainTLS is the ID of the diago transport that places a call of an
// SRTPOffered account again in plain RTP, over TLS, when the far end
// refused its SRTP offer.
const plainTLS = "tls-plain"

// validateSRTP checks the account's SRTP mode; validate has built its
// TLS side before.
func (a *Account) validateSRTP() error {
	switch {
	case a.SRTP > SRTPRequired:
		return fmt.Errorf("account: SRTP mode %d: want off, offered or required", a.SRTP)
	case a.SRTP != SRTPOff && a.tls == nil:
		return fmt.Errorf("account: SRTP %s needs a TLS account (a sips: or ;transport=tls registrar or outbound proxy): its keys travel in the SDP", a.SRTP)
	}
	return nil
}

// mediaSRTP is diago's Transport.MediaSRTP of the listener of transport:
// SDES (1) on TLS when the account uses SRTP, none (0) otherwise.
func (a *Account) mediaSRTP(transport string) int {
	if transport == "tls" && a.SRTP != SRTPOff {
		return 1
	}
	return 0
}

// sdesKeyed reports whether an SDP's audio stream carries an SDES key
// diago takes: an a=crypto line of srtpSuite whose inline key is 30 bytes
// (16 of key, 14 of salt), on a stream that is not disabled (port 0).
func sdesKeyed(body []byte) bool {
	inAudio := false
	for _, line := range bytes.Split(body, []byte("\n")) {
		l := strings.TrimSpace(string(line))
		switch {
		case strings.HasPrefix(l, "m="):
			f := strings.Fields(l[2:])
			inAudio = len(f) >= 3 && f[0] == "audio" && f[1] != "0"
		case inAudio && strings.HasPrefix(l, "a=crypto:"):
			f := strings.Fields(l[len("a=crypto:"):])
			if len(f) < 3 || f[1] != srtpSuite || !strings.HasPrefix(f[2], "inline:") {
				continue
			}
			key, _, _ := strings.Cut(strings.TrimPrefix(f[2], "inline:"), "|")
			if raw, err := base64.StdEncoding.DecodeString(key); err == nil && len(raw) == 30 {
				return true
			}
		}
	}
	return false
}

// srtpRefusal says why an inbound INVITE is refused for want of SRTP:
// ErrSRTPRequired when the account requires it and the offer, come over
// TLS, has no key diago takes (or no offer at all); nil otherwise.
func (p *Phone) srtpRefusal(req *sip.Request) error {
	if p.cfg.Account.SRTP != SRTPRequired || !strings.EqualFold(req.Transport(), "tls") {
		return nil
	}
	if sdesKeyed(req.Body()) {
		return nil
	}
	return fmt.Errorf("sip: call from %s: %w", req.From().Address.String(), ErrSRTPRequired)
}

// refuseForSRTP answers an INVITE refused by srtpRefusal: 488 Not
// Acceptable Here, with a Warning (RFC 3261 section 20.43) that says
// why. The call is never shown.
func (p *Phone) refuseForSRTP(d *diago.DialogServerSession, why error) {
	host := strings.Trim(d.InviteRequest.Recipient.Host, "[]")
	if host == "" {
		host = "console"
	}
	warning := sip.NewHeader("Warning", `399 `+host+` "SRTP (SDES AES_CM_128_HMAC_SHA1_80) is required"`)
	if err := d.Respond(sip.StatusNotAcceptableHere, "Not Acceptable Here", nil, warning); err != nil {
		p.log.Debug("488 failed", "error", err)
	}
	p.log.Warn("call refused", "error", why)
}

// srtpAnswered says whether a call the console placed over TLS may go
// on: ErrSRTPRequired when the account requires SRTP and the answer's SDP
// has no key (diago then falls back to plain RTP).
func (p *Phone) srtpAnswered(d *diago.DialogClientSession) error {
	if p.cfg.Account.SRTP != SRTPRequired || d == nil || d.InviteResponse == nil ||
		!strings.EqualFold(d.InviteRequest.Transport(), "tls") {
		return nil
	}
	if sdesKeyed(d.InviteResponse.Body()) {
		return nil
	}
	return fmt.Errorf("sip: answer from %s: %w", d.InviteRequest.Recipient.String(), ErrSRTPRequired)
}

// plainTwin is, for the TLS transport t of an SRTPOffered account, the
// same transport without SRTP (ID plainTLS), added after t so that diago
// picks t for everything but the calls placed again in plain RTP
// (inviteInPlain). The console serves the listener itself: the twin only
// configures diago's dialogs.
func (a *Account) plainTwin(t diago.Transport) (diago.Transport, bool) {
	if a.SRTP != SRTPOffered || t.MediaSRTP == 0 {
		return diago.Transport{}, false
	}
	t.ID, t.MediaSRTP = plainTLS, 0
	return t, true
}

// srtpOfferRefused reports whether err is the far end refusing the SRTP
// offer of d (488 Not Acceptable Here) on an account that only offers
// SRTP: the call is then placed again in plain RTP.
func (p *Phone) srtpOfferRefused(d *diago.DialogClientSession, err error) bool {
	if p.cfg.Account.SRTP != SRTPOffered || d == nil || !strings.EqualFold(d.InviteRequest.Transport(), "tls") {
		return false
	}
	res := responseOf(err)
	return res != nil && res.StatusCode == sip.StatusNotAcceptableHere
}

// inviteInPlain places call c to uri again, without SRTP, after the far
// end refused the SRTP offer of dialog first: a new dialog on the plainTLS
// transport, with a new Call-ID and From tag (the first INVITE's
// transaction is over; its dialog is closed once the new one exists). It
// returns the dialog to close at the end, first when none could be made.
func (p *Phone) inviteInPlain(ctx context.Context, c *call, first *diago.DialogClientSession, uri sip.Uri,
	invite diago.InviteClientOptions) (*diago.DialogClientSession, *diago.DialogMedia, error) {
	d, err := p.dg.NewDialog(uri, diago.NewDialogOptions{Transport: "tls", TransportID: plainTLS})
	if err != nil {
		return first, nil, fmt.Errorf("placing the call again without SRTP: %w", err)
	}
	if err := first.Close(); err != nil {
		p.log.Debug("closing the refused dialog", "call", c.id, "error", err)
	}
	callID := sip.CallIDHeader(sip.GenerateTagN(24))
	hdrs := slices.Clone(invite.Headers)
	for i, h := range hdrs {
		switch h.(type) {
		case *sip.FromHeader:
			hdrs[i] = p.fromHeader("", "")
		case *sip.CallIDHeader:
			hdrs[i] = &callID
		}
	}
	invite.Headers = hdrs
	p.mu.Lock()
	delete(p.byCallID, c.sipCallID)
	c.cli = d
	c.sipCallID = string(callID)
	p.byCallID[c.sipCallID] = c
	p.mu.Unlock()
	p.log.Info("SRTP offer refused (488): placing the call again in plain RTP", "call", c.id)
	m, err := d.Invite(ctx, invite)
	return d, m, err
}
