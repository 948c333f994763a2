package sip

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

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
	maxOrbits              = 10000
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
	// TLS is the server and client configuration of a "tls" listener,
	// with its certificate. Required for "tls".
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
	// outside a dialog is routed through (a preloaded Route).
	OutboundProxy string
	// Expiry is the registration lifetime asked for (DefaultRegisterExpiry).
	Expiry time.Duration
	// RetryInterval is the wait before registering again after a
	// failure (DefaultRegisterRetry).
	RetryInterval time.Duration
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
	// First and Last bound the lot, the orbit numbers (e.g. 701-720).
	First, Last int
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
// at hostPort (PARK-PROTOCOL.md, "Addresses") with the lot first-last.
func ServiceTemplates(hostPort string, first, last int) ParkConfig {
	h := "@" + hostPort
	return ParkConfig{
		ParkAny:      "sip:park" + h,
		ParkOrbit:    "sip:park-{orbit}" + h,
		Retrieve:     "sip:{orbit}" + h,
		SafeRetrieve: "sip:{orbit}" + h + ";token={token}",
		Lamp:         "sip:{orbit}" + h,
		Health:       "sip:park" + h,
		First:        first,
		Last:         last,
	}
}

// Enabled reports whether a park service is configured.
func (pc ParkConfig) Enabled() bool { return pc.ParkAny != "" || pc.Retrieve != "" || pc.Lamp != "" }

// Contains reports whether orbit n is in the lot.
func (pc ParkConfig) Contains(n int) bool { return n >= pc.First && n <= pc.Last }

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
		return nil
	}
	var u sip.Uri
	if err := sip.ParseUri(a.AOR, &u); err != nil || u.Host == "" || u.User == "" || (u.Scheme != "sip" && u.Scheme != "sips") {
		return fmt.Errorf("account: AOR %q is not a SIP URI with user and host", a.AOR)
	}
	if a.Username == "" {
		a.Username = u.User
	}
	if a.Registrar == "" {
		a.Registrar = "sip:" + u.HostPort()
	}
	var r sip.Uri
	if err := sip.ParseUri(a.Registrar, &r); err != nil || r.Host == "" {
		return fmt.Errorf("account: registrar %q is not a SIP URI", a.Registrar)
	}
	if a.OutboundProxy != "" {
		if _, err := proxyRoute(a.OutboundProxy); err != nil {
			return fmt.Errorf("account: outbound proxy %q: %w", a.OutboundProxy, err)
		}
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
	switch {
	case pc.First <= 0 || pc.Last <= 0:
		errs = append(errs, fmt.Errorf("park: orbit range %d-%d: orbits must be positive numbers", pc.First, pc.Last))
	case pc.Last < pc.First:
		errs = append(errs, fmt.Errorf("park: orbit range %d-%d is reversed", pc.First, pc.Last))
	case pc.Last-pc.First >= maxOrbits:
		errs = append(errs, fmt.Errorf("park: orbit range %d-%d: more than %d orbits", pc.First, pc.Last, maxOrbits))
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
