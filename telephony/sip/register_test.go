package sip_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// registrarServer is a small digest-authenticating registrar.
type registrarServer struct {
	addr     string
	password string
	down     atomic.Bool // answers nothing while set
	auth     *diago.DigestAuthServer

	mu       sync.Mutex
	binds    []string // contacts of the successful REGISTERs, in order
	expiries []string
}

func startRegistrar(t *testing.T, password string) *registrarServer {
	t.Helper()
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	r := &registrarServer{addr: conn.LocalAddr().String(), password: password, auth: diago.NewDigestServer()}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("registrar"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		if r.down.Load() {
			return
		}
		res, err := r.auth.AuthorizeRequest(req, diago.DigestAuth{Username: "reception", Password: r.password, Realm: "test"})
		if err != nil || res.StatusCode != 200 {
			if res.StatusCode == 401 && err != nil {
				res = sip.NewResponseFromRequest(req, 403, "Forbidden", nil)
			}
			_ = tx.Respond(res)
			return
		}
		exp := "60"
		if h := req.GetHeader("Expires"); h != nil {
			exp = h.Value()
		}
		r.mu.Lock()
		r.binds = append(r.binds, req.Contact().Address.String())
		r.expiries = append(r.expiries, exp)
		r.mu.Unlock()
		ok := sip.NewResponseFromRequest(req, 200, "OK", nil)
		ok.AppendHeader(sip.NewHeader("Expires", exp))
		_ = tx.Respond(ok)
	})
	go func() { _ = srv.ServeUDP(conn) }()
	t.Cleanup(func() {
		ua.Close()
		r.auth.Close()
	})
	return r
}

func (r *registrarServer) registrations() ([]string, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.binds...), append([]string(nil), r.expiries...)
}

func (c *console) waitRegistration(t *testing.T, st telephony.RegistrationState) telephony.RegistrationChanged {
	t.Helper()
	ev := c.waitEvent(t, "registration "+st.String(), func(e telephony.Event) bool {
		r, ok := e.(telephony.RegistrationChanged)
		return ok && r.State == st
	})
	return ev.(telephony.RegistrationChanged)
}

// TestRegistration: digest auth, refresh before expiry, failure shown
// with its reason, re-registration once the registrar answers again,
// and removal at close.
func TestRegistration(t *testing.T) {
	reg := startRegistrar(t, "s3cret")
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		c.Account = sbsip.Account{
			AOR:           "sip:reception@" + reg.addr,
			Password:      "s3cret",
			Expiry:        2 * time.Second,
			RetryInterval: 300 * time.Millisecond,
		}
	})
	a.waitRegistration(t, telephony.RegistrationRegistering)
	a.waitRegistration(t, telephony.RegistrationRegistered)
	binds, _ := reg.registrations()
	if want := "sip:desk@" + a.Addr("udp").String(); !strings.HasPrefix(binds[0], want) {
		t.Fatalf("bound %q, want %s", binds[0], want)
	}
	// Refreshed at half the expiry.
	deadline := time.Now().Add(waitFor)
	for n, _ := reg.registrations(); len(n) < 3; n, _ = reg.registrations() {
		if time.Now().After(deadline) {
			t.Fatalf("no refresh: %d REGISTERs", len(n))
		}
		time.Sleep(50 * time.Millisecond)
	}
	reg.down.Store(true)
	failed := a.waitRegistration(t, telephony.RegistrationFailed)
	if !strings.Contains(failed.Reason, "does not answer") {
		t.Fatalf("failure reason %q", failed.Reason)
	}
	reg.down.Store(false)
	seenFailure := false
	a.waitEvent(t, "registered again", func(e telephony.Event) bool {
		r, ok := e.(telephony.RegistrationChanged)
		if ok && r.State == telephony.RegistrationFailed {
			seenFailure = true
		}
		return ok && r.State == telephony.RegistrationRegistered && seenFailure
	})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	_, exps := reg.registrations()
	if exps[len(exps)-1] != "0" {
		t.Fatalf("last REGISTER had Expires %s, want 0 (unregister)", exps[len(exps)-1])
	}
}

// TestRegistrationWrongPassword: the test registrar answers a wrong
// password with 403 Forbidden (kamailio challenges again instead, see
// TestKamailioWrongPassword).
func TestRegistrationWrongPassword(t *testing.T) {
	wantCredentialsRefused(t, startRegistrar(t, "s3cret").addr)
}

// wantCredentialsRefused registers a console as reception at registrar
// (host:port) with a wrong password: the registration must fail with a
// reason that names the credentials.
func wantCredentialsRefused(t *testing.T, registrar string) {
	t.Helper()
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		c.Account = sbsip.Account{AOR: "sip:reception@" + registrar, Password: "wrong", RetryInterval: time.Hour}
	})
	got := a.waitRegistration(t, telephony.RegistrationFailed)
	if !strings.Contains(got.Reason, "credentials") {
		t.Fatalf("reason %q", got.Reason)
	}
}

// TestOutboundProxyRoute: with an outbound proxy every call goes to it
// first, with the real target in the Request-URI.
func TestOutboundProxyRoute(t *testing.T) {
	got := make(chan *sip.Request, 1)
	proxy := newPeer(t, "proxy", func(d *diago.DialogServerSession) {
		got <- d.InviteRequest
		_ = d.Respond(404, "Not Found", nil)
	})
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		c.Account.OutboundProxy = "127.0.0.1:" + itoa(proxy.Port)
	})
	id, err := a.Dial(context.Background(), "sip:someone@192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	req := siptest.Recv(t, "INVITE at the proxy", got)
	if req.Recipient.Host != "192.0.2.10" || req.Route() == nil {
		t.Fatalf("INVITE %s with Route %v", req.Recipient.String(), req.Route())
	}
	a.waitState(t, id, telephony.StateEnded)
}

func itoa(n int) string { return strconv.Itoa(n) }
