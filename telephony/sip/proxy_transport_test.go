package sip

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
)

// TestOutboundProxyChoosesTransport: requests routed through an outbound
// proxy take the transport the proxy's URI names (it is their next hop),
// whatever the destination says; a proxy that names none leaves the
// choice to the destination and the account, as without a proxy; and
// requests in a dialog (no proxy) keep the destination's.
func TestOutboundProxyChoosesTransport(t *testing.T) {
	for _, tc := range []struct {
		name, proxy, aor, registrar, target string
		want, inDialog                      string
	}{
		{"no proxy", "", "", "", "sip:bob@192.0.2.10", "udp", "udp"},
		{"sips: proxy", "sips:proxy.example", "", "", "sip:bob@192.0.2.10", "tls", "udp"},
		{"transport=tls proxy", "sip:10.0.0.1:5061;transport=tls", "", "", "sip:bob@192.0.2.10", "tls", "udp"},
		{"TLS proxy over a target that names udp", "sips:proxy.example", "", "", "sip:bob@192.0.2.10;transport=udp", "tls", "udp"},
		{"transport=TLS in capitals", "sip:proxy.example;transport=TLS", "", "", "sip:bob@192.0.2.10", "tls", "udp"},
		{"TCP proxy", "sip:proxy.example;transport=tcp", "", "", "sip:bob@192.0.2.10", "tcp", "udp"},
		{"plain proxy leaves the target's transport", "proxy.example:5060", "", "", "sip:bob@192.0.2.10;transport=tcp", "tcp", "tcp"},
		{"TLS proxy, UDP account", "sips:proxy.example", "sip:rec@pbx.example", "sip:pbx.example", "sip:700@pbx.example", "tls", "udp"},
		{"plain proxy, TCP account", "proxy.example", "sip:rec@pbx.example", "sip:pbx.example;transport=tcp", "sip:700@pbx.example", "tcp", "tcp"},
		{"TCP proxy, TLS account", "sip:proxy.example;transport=tcp", "sip:rec@pbx.example", "sips:pbx.example", "sip:700@pbx.example", "tcp", "tls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(Config{
				Listen:  []Listener{{Transport: "udp", Addr: "127.0.0.1:0"}, {Transport: "tcp", Addr: "127.0.0.1:0"}},
				Account: Account{AOR: tc.aor, Registrar: tc.registrar, OutboundProxy: tc.proxy},
				Audio:   &siptest.ToneDevice{},
			})
			if err != nil {
				t.Fatal(err)
			}
			// What Start would listen on: Validate adds a TLS listener
			// for a TLS proxy or registrar.
			for _, l := range p.cfg.Listen {
				p.net.clients[l.Transport] = nil
			}
			var u sip.Uri
			if err := sip.ParseUri(tc.target, &u); err != nil {
				t.Fatal(err)
			}
			if got := p.net.routedTransport(u); got != tc.want {
				t.Errorf("routed through %q: %s, want %s (listening on %v)", tc.proxy, got, tc.want, p.cfg.Listen)
			}
			if got := p.net.transportFor(u); got != tc.inDialog {
				t.Errorf("in a dialog: %s, want %s", got, tc.inDialog)
			}
		})
	}
}

// TestTLSProxyAccountValidation: TLS files go with a TLS outbound proxy,
// with or without an AOR, and are still refused where nothing uses TLS.
func TestTLSProxyAccountValidation(t *testing.T) {
	_, ca := proxyCert(t, t.TempDir())
	for _, tc := range []struct {
		name string
		acc  Account
		want string // "" for valid
	}{
		{"sips: proxy, no AOR, CA", Account{OutboundProxy: "sips:127.0.0.1:5061", CAFile: ca}, ""},
		{"transport=tls proxy, UDP registrar, CA", Account{AOR: "sip:r@pbx.example", OutboundProxy: "sip:127.0.0.1:5061;transport=tls", CAFile: ca}, ""},
		{"plain proxy, no AOR, CA", Account{OutboundProxy: "127.0.0.1:5060", CAFile: ca}, "TLS files need an AOR"},
		{"plain proxy, UDP registrar, CA", Account{AOR: "sip:r@pbx.example", OutboundProxy: "127.0.0.1:5060", CAFile: ca}, "does not use TLS (sips: or ;transport=tls)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{Listen: []Listener{{Transport: "udp", Addr: "127.0.0.1:0"}}, Account: tc.acc, Audio: &siptest.ToneDevice{}}
			err := cfg.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Fatal(err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("error %v, want %q", err, tc.want)
			case tc.want == "" && (cfg.Account.tls == nil || cfg.Account.tls.RootCAs == nil || len(cfg.Listen) != 2 || cfg.Listen[1].Transport != "tls"):
				t.Fatalf("TLS proxy account: client TLS %v, listeners %+v", cfg.Account.tls, cfg.Listen)
			}
		})
	}
}

// proxyCert makes a throwaway certificate for 127.0.0.1 (selfSigned, as
// the console's own TLS listener uses) and writes it to dir as PEM, the
// CA file that trusts it.
func proxyCert(t *testing.T, dir string) (tls.Certificate, string) {
	t.Helper()
	cert, err := selfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "proxy.pem")
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, file
}

// TestTLSOutboundProxyLoopback: a console whose account's registrar is
// plain sip: but whose outbound proxy is sips: registers and calls over
// TLS through a sipgo server standing in as the proxy (its certificate
// checked against a throwaway CA): the proxy sees REGISTER and INVITE
// arrive over TLS, with its Route and the console's TLS Contact.
func TestTLSOutboundProxyLoopback(t *testing.T) {
	cert, caFile := proxyCert(t, t.TempDir())
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("proxy"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	var seen siptest.Log[*sip.Request]
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		seen.Add(req)
		ok := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		ok.AppendHeader(sip.NewHeader("Expires", "60"))
		_ = tx.Respond(ok)
	})
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		seen.Add(req)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusBusyHere, "Busy Here", nil))
	})
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ServeTLS(ln)
	}()
	t.Cleanup(func() {
		ua.Close()
		_ = ln.Close()
		<-served
	})

	proxy := "sips:" + ln.Addr().String()
	p, err := New(Config{
		User:   "desk",
		Listen: []Listener{{Transport: "udp", Addr: "127.0.0.1:0"}},
		Account: Account{AOR: "sip:desk@pbx.invalid", Registrar: "sip:pbx.invalid", Password: "unused",
			OutboundProxy: proxy, CAFile: caFile},
		Audio:  &siptest.ToneDevice{},
		Logger: siptest.Logger("SIPTEST_LOG", "desk"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var events siptest.Log[telephony.Event]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case ev := <-p.Events():
				events.Add(ev)
			case <-ctx.Done():
				return
			}
		}
	}()
	sctx, scancel := context.WithTimeout(context.Background(), siptest.WaitFor)
	defer scancel()
	if err := p.Start(sctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = p.Close()
		cancel()
		<-done
	})

	overTLS := func(req *sip.Request) {
		t.Helper()
		via := req.Via()
		ct := req.Contact()
		switch {
		case !strings.EqualFold(req.Transport(), "tls"):
			t.Errorf("%s arrived over %s", req.Method, req.Transport())
		case via == nil || !strings.EqualFold(via.Transport, "tls"):
			t.Errorf("%s Via %v", req.Method, via)
		case req.Route() == nil || req.Route().Address.Scheme != "sips":
			t.Errorf("%s Route %v", req.Method, req.Route())
		case ct == nil || ct.Address.Port != int(p.Addr("tls").Port()):
			t.Errorf("%s Contact %v, want the TLS listener's port %d", req.Method, ct, p.Addr("tls").Port())
		}
	}
	reg := seen.Wait(t, "REGISTER at the proxy", func(r *sip.Request) bool { return r.Method == sip.REGISTER })
	overTLS(reg)
	events.Wait(t, "registered", func(e telephony.Event) bool {
		r, ok := e.(telephony.RegistrationChanged)
		return ok && r.State == telephony.RegistrationRegistered
	})

	id, err := p.Dial(ctx, "sip:someone@192.0.2.10")
	if err != nil {
		t.Fatal(err)
	}
	inv := seen.Wait(t, "INVITE at the proxy", func(r *sip.Request) bool { return r.Method == sip.INVITE })
	overTLS(inv)
	if inv.Recipient.Host != "192.0.2.10" {
		t.Errorf("INVITE %s, want the callee in the Request-URI", inv.Recipient.String())
	}
	events.Wait(t, "call busy", func(e telephony.Event) bool {
		c, ok := e.(telephony.CallChanged)
		return ok && c.Call.ID == id && c.Call.State == telephony.StateEnded && c.Call.End == telephony.EndBusy
	})
}
