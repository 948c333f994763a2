package sip

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/telephony"
)

// Defaults of Config.
const (
	DefaultListen          = "127.0.0.1:5060"
	DefaultUser            = "console"
	DefaultParkTimeout     = 10 * time.Second
	DefaultHealthInterval  = 5 * time.Second
	DefaultLampExpiry      = 10 * time.Minute
	DefaultRegisterExpiry  = 10 * time.Minute
	DefaultRegisterRetry   = 30 * time.Second
	DefaultEventBuffer     = 256
	DefaultLampRetryMax    = 30 * time.Second
	orbitPlaceholder       = "{orbit}"
	minimumRefreshInterval = time.Second
)

// Config is the whole configuration of a Phone. The zero value of a field
// means its default; Validate (called by New) checks it and says what is
// wrong.
type Config struct {
	// User is the user part of the console's own address when no
	// account is configured (DefaultUser).
	User string
	// DisplayName is put in From of the calls the console places.
	DisplayName string
	// Listen lists the SIP listeners ([{udp 127.0.0.1:5060} {tcp
	// 127.0.0.1:5060}] by default). Port 0 picks a free port, the same
	// one for every listener with port 0 on the same host.
	Listen []Listener
	// Account, when its AOR is set, registers the console to a PBX.
	Account Account
	// Park is the call-park service (PARK-PROTOCOL.md); empty templates
	// turn park, retrieve and lamps off.
	Park ParkConfig
	// Audio opens the sound device for the live call. Required.
	Audio telephony.AudioDevice
	// KeptParks, when set, keeps what this console parked and is still
	// parked (orbit, token, caller, for whom) across its restarts: read
	// at Start, so that a retrieve of such a call sends its token (safe
	// retrieve), and written, off the caller's goroutine, as parks begin
	// and end. Nil: a restarted console retrieves with the plain one.
	KeptParks KeptParks
	// EventBuffer is the size of the Events channel (DefaultEventBuffer).
	EventBuffer int
	// Logger receives diagnostics (slog.Default()).
	Logger *slog.Logger
}

// Listener is one SIP listening socket.
type Listener struct {
	// Transport is "udp", "tcp" or "tls".
	Transport string
	// Addr is host:port; the host must be an IP address.
	Addr string
	// Advertise, when set, is the host put in Contact and SDP instead of
	// the listening host (required when it is 0.0.0.0 behind NAT).
	Advertise string
	// TLS is the server configuration of a "tls" listener, with its
	// certificate. Required for "tls". Connections the console opens
	// itself (to the PBX) are checked with the Account's TLS settings.
	TLS *tls.Config
}

// Account is the console's PBX account.
type Account struct {
	// AOR is the address of record, e.g. "sip:reception@pbx.example".
	// Empty: the console does not register.
	AOR string
	// Username and Password answer digest challenges (RFC 2617) of the
	// registrar, the proxy and the park service. Username defaults to
	// the AOR's user.
	Username, Password string
	// Registrar is the URI REGISTER goes to (default: the AOR's host).
	Registrar string
	// OutboundProxy, when set, is a URI or host:port every request
	// outside a dialog is routed through (a preloaded Route). It is the
	// next hop of those requests, so a transport it names is theirs:
	// "sips:proxy.example" or "sip:proxy.example;transport=tls" sends
	// them over TLS (checked as for a TLS registrar, below), ";transport=tcp"
	// over TCP; a proxy that names none leaves the transport to the
	// destination, as without a proxy.
	OutboundProxy string
	// Expiry is the registration lifetime asked for (DefaultRegisterExpiry).
	Expiry time.Duration
	// RetryInterval is the wait before registering again after a
	// failure (DefaultRegisterRetry).
	RetryInterval time.Duration

	// SIP over TLS. The account uses TLS when its registrar URI says so:
	// "sips:pbx.example" or "sip:pbx.example;transport=tls" (an AOR
	// "sips:…" makes the default registrar sips: too). REGISTER, and
	// calls and requests to the registrar's or the AOR's host without a
	// transport of their own, then go over TLS (RFC 3261 section 26.2).
	// A TLS outbound proxy (see OutboundProxy) uses TLS too, with or
	// without an AOR, and the settings below.
	//
	// The PBX's certificate is always verified (TLS 1.2 or later): it
	// must chain to the system's roots, or to CAFile's certificates when
	// CAFile is set, and carry the host the console connects to (the
	// registrar URI's host, an IP address of a registrar given by IP in
	// the certificate's IP SANs). There is no switch to skip the check.
	// A handshake that fails makes the registration fail with the cause
	// (unknown authority, name mismatch, expired, not TLS, refused).
	//
	// The PBX reaches the console over TLS too, for calls and in-dialog
	// requests: when Config.Listen has no "tls" listener, Validate adds
	// one on the first listener's host, port 0 (a free port), with a
	// self-signed certificate made at start; PBXs do not check the
	// certificate of the phones they call (kamailio's default), and a PBX
	// that reuses the console's own connection never sees it. Give a
	// "tls" listener with a real certificate to control it.

	// CAFile names a PEM file of the certificate authorities that sign
	// the PBX's certificate (a private CA). Set, they replace the system's
	// roots; empty, the system's roots are used.
	CAFile string
	// CertFile and KeyFile (PEM, both or neither) are a client certificate
	// the console shows when the PBX asks for one; none is needed
	// otherwise.
	CertFile, KeyFile string
	// SRTP says whether the account's calls over TLS encrypt their audio
	// (SRTP keyed by SDES, RFC 4568): SRTPOff (the default), SRTPOffered
	// or SRTPRequired. Anything but SRTPOff needs a TLS account: SDES
	// keys travel in the SDP, which only TLS hides.
	SRTP SRTPMode

	tls *tls.Config // the client side, built by validate for a TLS account
}

// ParkConfig locates the call-park service by URI templates, in which
// "{orbit}" stands for the orbit number (PARK-PROTOCOL.md,
// "Interworking with another PBX").
type ParkConfig struct {
	// ParkAny parks on the next free orbit, e.g. "sip:park@H".
	ParkAny string
	// ParkOrbit parks on orbit {orbit}, e.g. "sip:park-{orbit}@H"; may be
	// empty: then directed parks are refused and park-any is used.
	ParkOrbit string
	// Retrieve picks up orbit {orbit}, e.g. "sip:{orbit}@H".
	Retrieve string
	// SafeRetrieve picks up orbit {orbit} only if it still holds the call
	// this console parked there; "{token}" stands for the park's token.
	// May be empty: then Retrieve is used.
	SafeRetrieve string
	// Lamp is the busy lamp of orbit {orbit} (SUBSCRIBE Event: dialog).
	Lamp string
	// Health is the URI probed with OPTIONS; empty: ParkAny.
	Health string
	// Orbits is the lot, e.g. 701-720.
	Orbits telephony.Lot
	// Timeout is how long a park may wait for its confirmation
	// (DefaultParkTimeout).
	Timeout time.Duration
	// HealthInterval is the OPTIONS period (DefaultHealthInterval).
	HealthInterval time.Duration
	// LampExpiry is the subscription lifetime asked for (DefaultLampExpiry);
	// subscriptions are refreshed before it runs out.
	LampExpiry time.Duration
	// LampRetryMax caps the back-off between failed subscriptions
	// (DefaultLampRetryMax).
	LampRetryMax time.Duration
}

// ServiceTemplates returns the ParkConfig of a Switchboard park service
// at hostPort (PARK-PROTOCOL.md, "Addresses") with the lot orbits.
func ServiceTemplates(hostPort string, orbits telephony.Lot) ParkConfig {
	h := "@" + hostPort
	return ParkConfig{
		ParkAny:      "sip:park" + h,
		ParkOrbit:    "sip:park-{orbit}" + h,
		Retrieve:     "sip:{orbit}" + h,
		SafeRetrieve: "sip:{orbit}" + h + ";token={token}",
		Lamp:         "sip:{orbit}" + h,
		Health:       "sip:park" + h,
		Orbits:       orbits,
	}
}

// Enabled reports whether a park service is configured.
func (pc ParkConfig) Enabled() bool { return pc.ParkAny != "" || pc.Retrieve != "" || pc.Lamp != "" }

// Validate checks c and fills in defaults; the error says what is wrong.
func (c *Config) Validate() error {
	var errs []error
	if c.User == "" {
		c.User = DefaultUser
	}
	if strings.ContainsAny(c.User, "@:;<> ") {
		errs = append(errs, fmt.Errorf("user %q: not a SIP user part", c.User))
	}
	if len(c.Listen) == 0 {
		c.Listen = []Listener{{Transport: "udp", Addr: DefaultListen}, {Transport: "tcp", Addr: DefaultListen}}
	}
	seen := map[string]bool{}
	for i := range c.Listen {
		l := &c.Listen[i]
		l.Transport = strings.ToLower(l.Transport)
		switch l.Transport {
		case "udp", "tcp":
		case "tls":
			if l.TLS == nil || len(l.TLS.Certificates) == 0 && l.TLS.GetCertificate == nil {
				errs = append(errs, fmt.Errorf("listen tls %s: a certificate is required", l.Addr))
			}
		default:
			errs = append(errs, fmt.Errorf("listen %q: transport must be udp, tcp or tls", l.Transport))
			continue
		}
		if seen[l.Transport] {
			errs = append(errs, fmt.Errorf("listen: more than one %s listener", l.Transport))
		}
		seen[l.Transport] = true
		if _, err := parseHostPort(l.Addr); err != nil {
			errs = append(errs, fmt.Errorf("listen %s %q: %w", l.Transport, l.Addr, err))
		}
		if l.Advertise != "" {
			if _, err := netip.ParseAddr(l.Advertise); err != nil {
				errs = append(errs, fmt.Errorf("listen %s: advertise %q is not an IP address", l.Transport, l.Advertise))
			}
		}
	}
	if err := c.Account.validate(); err != nil {
		errs = append(errs, err)
	} else if err := c.Account.validateSRTP(); err != nil {
		errs = append(errs, err)
	} else if c.Account.tls != nil && !seen["tls"] && len(errs) == 0 {
		l, err := implicitTLSListener(c.Listen[0])
		if err != nil {
			errs = append(errs, err)
		} else {
			c.Listen = append(c.Listen, l)
		}
	}
	if err := c.Park.validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Audio == nil {
		errs = append(errs, errors.New("audio: no audio device"))
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = DefaultEventBuffer
	}
	if c.EventBuffer < 0 {
		errs = append(errs, fmt.Errorf("event buffer %d: must be positive", c.EventBuffer))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if len(errs) > 0 {
		return fmt.Errorf("sip: invalid configuration: %w", errors.Join(errs...))
	}
	return nil
}

func (a *Account) validate() error {
	if a.AOR == "" {
		if a.Registrar != "" || a.Password != "" {
			return errors.New("account: a registrar or password needs an AOR")
		}
		if a.OutboundProxy != "" {
			if _, err := proxyRoute(a.OutboundProxy); err != nil {
				return fmt.Errorf("account: outbound proxy %q: %w", a.OutboundProxy, err)
			}
		}
		return a.validateTLS(nil)
	}
	var u sip.Uri
	if err := sip.ParseUri(a.AOR, &u); err != nil || u.Host == "" || u.User == "" || (u.Scheme != "sip" && u.Scheme != "sips") {
		return fmt.Errorf("account: AOR %q is not a SIP URI with user and host", a.AOR)
	}
	if a.Username == "" {
		a.Username = u.User
	}
	if a.Registrar == "" {
		a.Registrar = u.Scheme + ":" + u.Host
		if u.Port != 0 {
			a.Registrar += ":" + strconv.Itoa(u.Port)
		}
	}
	var r sip.Uri
	if err := sip.ParseUri(a.Registrar, &r); err != nil || r.Host == "" || (r.Scheme != "sip" && r.Scheme != "sips") {
		return fmt.Errorf("account: registrar %q is not a SIP URI", a.Registrar)
	}
	if a.OutboundProxy != "" {
		if _, err := proxyRoute(a.OutboundProxy); err != nil {
			return fmt.Errorf("account: outbound proxy %q: %w", a.OutboundProxy, err)
		}
	}
	if err := a.validateTLS(&r); err != nil {
		return err
	}
	if a.Expiry == 0 {
		a.Expiry = DefaultRegisterExpiry
	}
	if a.Expiry < 2*time.Second {
		return fmt.Errorf("account: expiry %s is too short", a.Expiry)
	}
	if a.RetryInterval == 0 {
		a.RetryInterval = DefaultRegisterRetry
	}
	if a.RetryInterval < 0 {
		return fmt.Errorf("account: retry interval %s must be positive", a.RetryInterval)
	}
	return nil
}

func (pc *ParkConfig) validate() error {
	if !pc.Enabled() && pc.ParkOrbit == "" && pc.SafeRetrieve == "" {
		return nil
	}
	var errs []error
	if err := pc.Orbits.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("park: orbit range %s: %w", pc.Orbits, err))
	}
	check := func(name, tmpl string, needOrbit, required bool) {
		if tmpl == "" {
			if required {
				errs = append(errs, fmt.Errorf("park: %s URI template is required", name))
			}
			return
		}
		has := strings.Contains(tmpl, orbitPlaceholder)
		if needOrbit && !has {
			errs = append(errs, fmt.Errorf("park: %s URI template %q has no {orbit}", name, tmpl))
			return
		}
		if !needOrbit && has {
			errs = append(errs, fmt.Errorf("park: %s URI template %q must not hold {orbit}", name, tmpl))
			return
		}
		if rest := strings.NewReplacer(orbitPlaceholder, "", "{token}", "").Replace(tmpl); strings.ContainsAny(rest, "{}") {
			errs = append(errs, fmt.Errorf("park: %s URI template %q has an unknown placeholder", name, tmpl))
			return
		}
		if _, err := expand(tmpl, 701, "t0ken"); err != nil {
			errs = append(errs, fmt.Errorf("park: %s URI template %q: %w", name, tmpl, err))
		}
	}
	check("park-any", pc.ParkAny, false, true)
	check("park-to-orbit", pc.ParkOrbit, true, false)
	check("retrieve", pc.Retrieve, true, true)
	check("safe-retrieve", pc.SafeRetrieve, true, false)
	check("lamp", pc.Lamp, true, true)
	check("health", pc.Health, false, false)
	if pc.SafeRetrieve != "" && !strings.Contains(pc.SafeRetrieve, "{token}") {
		errs = append(errs, fmt.Errorf("park: safe-retrieve URI template %q has no {token}", pc.SafeRetrieve))
	}
	if pc.Health == "" {
		pc.Health = pc.ParkAny
	}
	if pc.Timeout == 0 {
		pc.Timeout = DefaultParkTimeout
	}
	if pc.HealthInterval == 0 {
		pc.HealthInterval = DefaultHealthInterval
	}
	if pc.LampExpiry == 0 {
		pc.LampExpiry = DefaultLampExpiry
	}
	if pc.LampRetryMax == 0 {
		pc.LampRetryMax = DefaultLampRetryMax
	}
	if pc.Timeout < 0 || pc.HealthInterval < 0 || pc.LampRetryMax < 0 {
		errs = append(errs, errors.New("park: timeouts and intervals must be positive"))
	}
	if pc.LampExpiry > 0 && pc.LampExpiry < 2*time.Second {
		errs = append(errs, fmt.Errorf("park: lamp expiry %s is too short", pc.LampExpiry))
	}
	return errors.Join(errs...)
}

// expand fills a URI template and parses the result.
func expand(tmpl string, orbit int, token string) (sip.Uri, error) {
	s := strings.ReplaceAll(tmpl, orbitPlaceholder, strconv.Itoa(orbit))
	s = strings.ReplaceAll(s, "{token}", token)
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil {
		return u, fmt.Errorf("not a SIP URI: %w", err)
	}
	if u.Host == "" || (u.Scheme != "sip" && u.Scheme != "sips") {
		return u, errors.New("not a SIP URI with a host")
	}
	return u, nil
}

// proxyRoute turns an outbound proxy (URI or host:port) into a loose
// Route header.
func proxyRoute(s string) (*sip.RouteHeader, error) {
	if !strings.HasPrefix(s, "sip:") && !strings.HasPrefix(s, "sips:") {
		s = "sip:" + s
	}
	var u sip.Uri
	if err := sip.ParseUri(s, &u); err != nil || u.Host == "" {
		return nil, errors.New("not a host:port or SIP URI")
	}
	if u.UriParams == nil {
		u.UriParams = sip.NewParams()
	}
	if !u.UriParams.Has("lr") {
		u.UriParams.Add("lr", "")
	}
	return &sip.RouteHeader{Address: u}, nil
}

func parseHostPort(s string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return netip.AddrPort{}, errors.New("not host:port")
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, errors.New("host must be an IP address")
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < 0 || p > 65535 {
		return netip.AddrPort{}, errors.New("bad port")
	}
	return netip.AddrPortFrom(ip, uint16(p)), nil
}

// validateTLS checks the TLS settings of an account whose registrar is r
// (nil: no AOR, no registrar) and builds the client side of its TLS
// connections, when the registrar or the outbound proxy uses TLS.
func (a *Account) validateTLS(r *sip.Uri) error {
	a.tls = nil
	if (r == nil || transportOf(*r) != "tls") && a.proxyTransport() != "tls" {
		switch {
		case a.CAFile == "" && a.CertFile == "" && a.KeyFile == "":
			return nil
		case r == nil:
			return errors.New("account: TLS files need an AOR and a TLS registrar, or a TLS outbound proxy")
		}
		return fmt.Errorf("account: TLS files are set but registrar %q does not use TLS (sips: or ;transport=tls), nor an outbound proxy", a.Registrar)
	}
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.CAFile != "" {
		pem, err := os.ReadFile(a.CAFile)
		if err != nil {
			return fmt.Errorf("account: CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("account: CA file %s: no PEM certificate in it", a.CAFile)
		}
		conf.RootCAs = pool
	}
	switch {
	case a.CertFile != "" && a.KeyFile != "":
		cert, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile)
		if err != nil {
			return fmt.Errorf("account: client certificate %s with key %s: %w", a.CertFile, a.KeyFile, err)
		}
		conf.Certificates = []tls.Certificate{cert}
	case a.CertFile != "" || a.KeyFile != "":
		return errors.New("account: a client certificate needs both its certificate and its key file")
	}
	a.tls = conf
	return nil
}

// transportOf is "tls" for a sips: URI or one with ;transport=tls, else
// the URI's transport parameter in lower case ("" when it has none).
func transportOf(u sip.Uri) string {
	t := ""
	if u.UriParams != nil {
		t, _ = u.UriParams.Get("transport")
	}
	if u.Scheme == "sips" {
		return "tls"
	}
	return strings.ToLower(t)
}

// pbxTransport returns the account's transport for a request to u that
// names no transport of its own and goes to the registrar's or the AOR's
// host: the registrar's transport when it is "tcp" or "tls" (a TLS or TCP
// account talks to its PBX over that transport for calls too, not only for
// REGISTER); "" otherwise.
func (a *Account) pbxTransport(u sip.Uri) string {
	if a.AOR == "" || transportOf(u) != "" {
		return ""
	}
	var aor, reg sip.Uri
	_ = sip.ParseUri(a.AOR, &aor)
	_ = sip.ParseUri(a.Registrar, &reg)
	t := transportOf(reg)
	if t != "tcp" && t != "tls" {
		return ""
	}
	for _, h := range []sip.Uri{reg, aor} {
		if h.Host != "" && strings.EqualFold(h.Host, u.Host) && (h.Port == 0 || u.Port == 0 || h.Port == u.Port) {
			return t
		}
	}
	return ""
}

// proxyTransport is the transport the outbound proxy's URI names ("tls"
// for sips: or ;transport=tls, "tcp", "udp"), or "" when there is no
// proxy or it names none.
func (a *Account) proxyTransport() string {
	if a.OutboundProxy == "" {
		return ""
	}
	r, err := proxyRoute(a.OutboundProxy)
	if err != nil {
		return ""
	}
	return transportOf(r.Address)
}

// implicitTLSListener is the "tls" listener a TLS account needs when none
// is configured: on like's host, a free port, with a self-signed
// certificate for its address (see Account).
func implicitTLSListener(like Listener) (Listener, error) {
	ap, err := parseHostPort(like.Addr)
	if err != nil {
		return Listener{}, fmt.Errorf("listen tls: %w", err)
	}
	host := like.Advertise
	if host == "" {
		host = ap.Addr().String()
	}
	cert, err := selfSigned(host)
	if err != nil {
		return Listener{}, fmt.Errorf("listen tls: %w", err)
	}
	return Listener{
		Transport: "tls",
		Addr:      net.JoinHostPort(ap.Addr().String(), "0"),
		Advertise: like.Advertise,
		TLS:       &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}},
	}, nil
}

// selfSigned makes a throwaway ECDSA P-256 certificate for host (an IP
// address or a name), valid for a year.
func selfSigned(host string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate serial: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Switchboard console " + host},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(365 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	if ip := net.ParseIP(host); ip != nil {
		tmpl.IPAddresses = []net.IP{ip}
	} else {
		tmpl.DNSNames = []string{host}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

// do sends a request outside a dialog, answering a digest challenge with
// the account's credentials.
func (a *Account) do(ctx context.Context, client *sipgo.Client, req *sip.Request) (*sip.Response, error) {
	res, err := client.Do(ctx, req)
	if err != nil {
		return nil, err
	}
	if (res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired) && a.Password != "" {
		return client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: a.Username, Password: a.Password})
	}
	return res, nil
}
