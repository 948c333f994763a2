// Registration: the account's REGISTER, kept fresh and retried with
// back-off (registrar), and the registration state it publishes.

package sip

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
)

// registrar keeps the console registered: REGISTER with digest auth,
// refreshed before it expires, again after a failure, and removed at the
// end. diago's Register gives up on some failures and reports no state,
// so this is its own small loop on the phone's client.
type registrar struct {
	p         *Phone
	uri       sip.Uri
	callID    string
	fromTag   string
	cseq      uint32
	state     telephony.RegistrationState
	reason    string
	transport string
}

func newRegistrar(p *Phone) *registrar {
	r := &registrar{p: p, callID: "reg-" + sip.GenerateTagN(20), fromTag: sip.GenerateTagN(16)}
	_ = sip.ParseUri(p.cfg.Account.Registrar, &r.uri)
	r.transport = p.net.routedTransport(r.uri)
	return r
}

func (r *registrar) set(st telephony.RegistrationState, reason string) {
	if r.state == st && r.reason == reason {
		return
	}
	r.state, r.reason = st, reason
	r.p.log.Info("registration", "state", st.String(), "reason", reason, "registrar", r.uri.String())
	r.p.emit(telephony.RegistrationChanged{State: st, Reason: reason})
}

// run registers until ctx ends, then unregisters.
func (r *registrar) run(ctx context.Context) {
	acc := r.p.cfg.Account
	r.set(telephony.RegistrationRegistering, "")
	for {
		granted, err := r.register(ctx, acc.Expiry)
		if ctx.Err() != nil {
			break
		}
		var wait time.Duration
		if err != nil {
			r.set(telephony.RegistrationFailed, err.Error())
			wait = acc.RetryInterval
		} else {
			r.set(telephony.RegistrationRegistered, "")
			// Refresh well before expiry: at half the granted time.
			wait = max(granted/2, minimumRefreshInterval)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
			if err != nil {
				r.set(telephony.RegistrationRegistering, "retrying: "+err.Error())
			}
			continue
		}
		break
	}
	if r.state == telephony.RegistrationRegistered {
		uctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if _, err := r.register(uctx, 0); err != nil {
			r.p.log.Debug("unregister", "error", err)
		}
		cancel()
	}
}

// register sends one REGISTER for expiry (0 unregisters) and returns the
// expiry the registrar granted.
func (r *registrar) register(ctx context.Context, expiry time.Duration) (time.Duration, error) {
	p := r.p
	r.cseq++
	req := sip.NewRequest(sip.REGISTER, r.uri)
	from := sip.FromHeader{DisplayName: p.cfg.DisplayName, Address: *p.aor.Clone(), Params: sip.NewParams()}
	from.Params.Add("tag", r.fromTag)
	to := sip.ToHeader{Address: *p.aor.Clone(), Params: sip.NewParams()}
	callID := sip.CallIDHeader(r.callID)
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER})
	maxFwd := sip.MaxForwardsHeader(70)
	req.AppendHeader(&maxFwd)
	ct := p.net.contact[r.transport]
	req.AppendHeader(&ct)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expiry/time.Second))))
	req.AppendHeader(sip.NewHeader("Allow", "INVITE, ACK, CANCEL, BYE, OPTIONS, REFER, NOTIFY, INFO"))
	if p.net.route != nil {
		req.AppendHeader(sip.HeaderClone(p.net.route))
	}
	req.SetTransport(strings.ToUpper(r.transport))
	// A registrar that does not answer within half the expiry (8 s at
	// most) counts as down.
	rctx, cancel := context.WithTimeout(ctx, min(8*time.Second, max(p.cfg.Account.Expiry/2, time.Second)))
	defer cancel()
	res, err := p.cfg.Account.do(rctx, p.net.clients[r.transport], req)
	if cs := req.CSeq(); cs != nil && cs.SeqNo > r.cseq {
		r.cseq = cs.SeqNo // digest auth sent it again
	}
	if err != nil {
		if r.transport == "tls" {
			if cause, detail := tlsCause(err); cause != "" {
				return 0, fmt.Errorf("registrar %s: TLS: %s: %w", r.uri.HostPort(), cause, detail)
			}
		}
		if rctx.Err() != nil {
			return 0, fmt.Errorf("registrar %s does not answer", r.uri.HostPort())
		}
		return 0, fmt.Errorf("registrar %s: %w", r.uri.HostPort(), err)
	}
	if !res.IsSuccess() {
		switch res.StatusCode {
		case sip.StatusUnauthorized, sip.StatusProxyAuthRequired, sip.StatusForbidden:
			return 0, fmt.Errorf("registrar refused the credentials (%s)", strings.TrimPrefix(res.StartLine(), "SIP/2.0 "))
		}
		return 0, fmt.Errorf("registrar refused: %s", strings.TrimPrefix(res.StartLine(), "SIP/2.0 "))
	}
	granted := expiry
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil {
			granted = time.Duration(n) * time.Second
		}
	}
	// A Contact of ours in the answer carries the registrar's own expiry.
	for _, h := range res.GetHeaders("Contact") {
		var u sip.Uri
		params := sip.NewParams()
		if _, err := sip.ParseAddressValue(h.Value(), &u, &params); err != nil {
			continue
		}
		if u.Port == ct.Address.Port && strings.EqualFold(u.Host, ct.Address.Host) {
			if v, ok := params.Get("expires"); ok {
				if n, err := strconv.Atoi(v); err == nil {
					granted = time.Duration(n) * time.Second
				}
			}
		}
	}
	if expiry > 0 && granted <= 0 {
		return 0, fmt.Errorf("registrar granted no time")
	}
	return granted, nil
}

// tlsCause names, for the receptionist's IT, why a TLS connection to the
// PBX failed, with the error that says it most precisely (the x509 check,
// the alert, the refused connection); "" when err is not a TLS failure
// the console can name.
func tlsCause(err error) (string, error) {
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
		record   tls.RecordHeaderError
		op       *net.OpError
	)
	switch {
	case errors.As(err, &unknown):
		return "the PBX's certificate is not signed by a trusted certificate authority (set the CA file to the PBX's CA)", unknown
	case errors.As(err, &hostname):
		return fmt.Sprintf("the PBX's certificate does not name %s (certificate name mismatch)", hostname.Host), hostname
	case errors.As(err, &invalid):
		return "the PBX's certificate is not valid (expired, not yet valid or not for a server)", invalid
	case errors.As(err, &record):
		return "the PBX does not speak TLS on this port", record
	case errors.As(err, &op) && op.Op == "remote error":
		// A TLS alert from the PBX: it rejected us (a client
		// certificate it wants, no common version or cipher).
		return "the PBX refused the TLS handshake", op
	case errors.Is(err, syscall.ECONNREFUSED):
		return "the PBX refused the connection (nothing listens for TLS there)", syscall.ECONNREFUSED
	case errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET):
		return "the PBX closed the connection during the TLS handshake", err
	}
	return "", err
}
