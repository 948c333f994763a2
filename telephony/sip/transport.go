// Transports: where the console's requests go. The listeners and their
// ports, the clients that send from them, the transport a request to a
// URI takes (its own, the PBX's, the outbound proxy's), the console's
// From, and the dial targets a receptionist types. Set up by Start, read
// only afterwards: no lock.

package sip

import (
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/freeport"
)

// transports is where the console's requests go: a client per
// listener's transport (sending from its socket), the Contact and
// address of each, and the outbound proxy's Route. Start fills it before
// the phone runs; it is only read afterwards.
type transports struct {
	account *Account
	listen  []Listener
	log     *slog.Logger
	clients map[string]*sipgo.Client // by transport, for requests outside dialogs
	contact map[string]sip.ContactHeader
	addrs   map[string]netip.AddrPort
	route   *sip.RouteHeader // the outbound proxy's, or nil
}

// resolvePorts gives listeners with port 0 a free port: one port free
// for UDP and TCP where both ask for it on one host, so the console has
// a single address.
func resolvePorts(ls []Listener) ([]Listener, error) {
	out := slices.Clone(ls)
	chosen := map[string]int{} // host -> port for udp/tcp
	for i := range out {
		ap, _ := parseHostPort(out[i].Addr)
		if ap.Port() != 0 {
			continue
		}
		host := ap.Addr().String()
		if out[i].Transport != "tls" {
			if port, ok := chosen[host]; ok {
				out[i].Addr = net.JoinHostPort(host, strconv.Itoa(port))
				continue
			}
		}
		port, err := freeport.UDPAndTCP(ap.Addr())
		if err != nil {
			return nil, fmt.Errorf("no free port on %s: %w", host, err)
		}
		if out[i].Transport != "tls" {
			chosen[host] = port
		}
		out[i].Addr = net.JoinHostPort(host, strconv.Itoa(port))
	}
	return out, nil
}

// advertised is the host a listener puts in Contact.
func advertised(l Listener) string {
	if l.Advertise != "" {
		return l.Advertise
	}
	ap, _ := parseHostPort(l.Addr)
	if ap.Addr().IsUnspecified() {
		if ip, _, err := sip.ResolveInterfacesIP("ip4", nil); err == nil {
			return ip.String()
		}
	}
	return ap.Addr().String()
}

// newClient makes a sipgo client that sends from the listener's socket
// (UDP) so that answers and NOTIFYs come back to it.
func newClient(ua *sipgo.UserAgent, l Listener, ap netip.AddrPort, log *slog.Logger) (*sipgo.Client, error) {
	opts := []sipgo.ClientOption{sipgo.WithClientNAT(), sipgo.WithClientLogger(log), sipgo.WithClientHostname(advertised(l))}
	if l.Transport == "udp" && !ap.Addr().IsUnspecified() {
		opts = append(opts, sipgo.WithClientConnectionAddr(ap.String()))
	}
	if l.Advertise != "" {
		opts = append(opts, sipgo.WithClientPort(int(ap.Port())))
	}
	return sipgo.NewClient(ua, opts...)
}

// clientFor returns the client for a request to u, and its transport;
// routed says the request goes through the outbound proxy, when there
// is one (see routedTransport).
func (ts *transports) clientFor(u sip.Uri, routed bool) (*sipgo.Client, string) {
	t := ts.transportFor(u)
	if routed {
		t = ts.routedTransport(u)
	}
	return ts.clients[t], t
}

// routedTransport picks the transport of a request to u that goes
// through the outbound proxy when one is configured (a request outside
// a dialog, with the proxy's preloaded Route): the proxy is its next
// hop, so the transport the proxy's URI names wins (sips: or
// ;transport=tls: TLS); else, or without a proxy, as transportFor.
func (ts *transports) routedTransport(u sip.Uri) string {
	if ts.route != nil {
		if t := transportOf(ts.route.Address); t != "" {
			if _, ok := ts.clients[t]; ok {
				return t
			}
			ts.log.Warn("no listener for the outbound proxy's transport", "transport", t, "proxy", ts.route.Address.String())
		}
	}
	return ts.transportFor(u)
}

// transportFor picks the transport of a request to u: its transport
// parameter when we listen on it, else UDP (or whatever we have).
func (ts *transports) transportFor(u sip.Uri) string {
	want := "udp"
	if u.Scheme == "sips" {
		want = "tls"
	}
	if u.UriParams != nil {
		if t, ok := u.UriParams.Get("transport"); ok && t != "" {
			want = strings.ToLower(t)
		}
	}
	if t := ts.account.pbxTransport(u); t != "" {
		want = t // the PBX of a TCP or TLS account
	}
	if _, ok := ts.clients[want]; ok {
		return want
	}
	for _, l := range ts.listen {
		return l.Transport
	}
	return "udp"
}

// parseTarget turns a number, user@host or SIP URI into a SIP URI; a bare
// number goes to the account's domain.
func (p *Phone) parseTarget(target string) (sip.Uri, error) {
	t := strings.TrimSpace(target)
	var u sip.Uri
	switch {
	case t == "":
		return u, fmt.Errorf("sip: dial %q: %w", target, ErrBadTarget)
	case strings.HasPrefix(t, "sip:") || strings.HasPrefix(t, "sips:"):
	case strings.Contains(t, "@"):
		t = "sip:" + t
	default:
		for _, r := range t {
			if !strings.ContainsRune("0123456789*#+", r) {
				return u, fmt.Errorf("sip: dial %q: %w", target, ErrBadTarget)
			}
		}
		if p.cfg.Account.AOR == "" {
			return u, fmt.Errorf("sip: dial %q: a number needs an account's domain: %w", target, ErrBadTarget)
		}
		t = "sip:" + t + "@" + p.aor.HostPort()
	}
	if err := sip.ParseUri(t, &u); err != nil || u.Host == "" {
		return u, fmt.Errorf("sip: dial %q: %w", target, ErrBadTarget)
	}
	return u, nil
}

// fromHeader is our From: the console's AOR and display name, or the
// given identity (a relay park speaks for its caller).
func (p *Phone) fromHeader(name, uri string) *sip.FromHeader {
	from := &sip.FromHeader{DisplayName: p.cfg.DisplayName, Address: *p.aor.Clone(), Params: sip.NewParams()}
	if uri != "" {
		var u sip.Uri
		if err := sip.ParseUri(uri, &u); err == nil {
			from.DisplayName, from.Address = name, u
		}
	}
	from.Params.Add("tag", sip.GenerateTagN(16))
	return from
}
