package app

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"fyne.io/fyne/v2"

	"github.com/switchboard/switchboard/telephony"
)

// Park service modes of Settings.ParkMode.
const (
	// ParkEmbedded runs the park service inside the console, listening
	// on Settings.ParkService.
	ParkEmbedded = "embedded"
	// ParkService uses a Switchboard park service (cmd/parkd) at
	// Settings.ParkService.
	ParkService = "service"
	// ParkTemplates uses another PBX's park by the URI templates.
	ParkTemplates = "templates"
	// ParkOff turns parking off: no grid.
	ParkOff = "off"
)

// SRTP modes of Settings.SRTP (telephony/sip's SRTPMode by name).
const (
	SRTPOff      = ""
	SRTPOffered  = "offered"
	SRTPRequired = "required"
)

// Defaults of Settings.
const (
	DefaultListen      = "127.0.0.1:5060"
	DefaultParkService = "127.0.0.1:5070"
	// MaxOrbits is the largest lot the grid shows.
	MaxOrbits = 200
)

// Settings is what the receptionist configures in the settings dialog;
// it persists in Fyne's preferences. cmd/attendant merges it with its
// flags (a flag given wins) into the user agent's configuration.
type Settings struct {
	// DisplayName is put in From of the calls the console places.
	DisplayName string
	// Listen is the SIP address, UDP and TCP on one port.
	Listen string
	// AccountAOR, when set, registers the console to a PBX; Username and
	// Password answer its digest challenges; Registrar and
	// OutboundProxy are optional.
	AccountAOR, Username, Password, Registrar, OutboundProxy string
	// TLSCAFile, TLSCertFile and TLSKeyFile are the TLS files of an
	// account whose registrar is sips: or has ;transport=tls: the PEM
	// file of the CA that signs the PBX's certificate (empty: the
	// system's roots), and an optional client certificate and its key
	// (both or neither). The user agent reads and checks them at start.
	TLSCAFile, TLSCertFile, TLSKeyFile string
	// SRTP is whether a TLS account's calls encrypt their audio (SRTP
	// keyed by SDES): SRTPOff ("", the default), SRTPOffered or
	// SRTPRequired. It needs a TLS account.
	SRTP string
	// ParkMode is ParkEmbedded, ParkService, ParkTemplates or ParkOff.
	ParkMode string
	// ParkService is host:port of the park service: where the embedded
	// one listens, or where a Switchboard park service runs.
	ParkService string
	// The URI templates of another PBX's park ("{orbit}" is the orbit
	// number, "{token}" the park's token), for ParkTemplates.
	ParkAny, ParkOrbit, ParkRetrieve, ParkSafeRetrieve, ParkLamp string
	// ParkDirected, with ParkTemplates and a ParkOrbit template, parks
	// on the orbit the receptionist chose (a slot dropped on, P's next
	// free). Off (the default), every park of a PBX lot goes to ParkAny
	// and the PBX picks the orbit, which the lamps then tell: Asterisk
	// parks a directed park onto a busy slot on another one, silently.
	ParkDirected bool
	// Orbits is the lot (telephony.DefaultLot).
	Orbits telephony.Lot
	// Playback and Capture are the headset's device IDs, RingDevice the
	// ringtone's ("" for the system default).
	Playback, Capture, RingDevice string
	// ContactsFiles are the People pane's contacts files (CSV or vCard),
	// comma-separated.
	ContactsFiles string
	// The People pane's LDAP directory (off when LDAPURL is empty): see
	// directory.LDAPOptions. The bind password is read from
	// LDAPPasswordFile, else from $SWITCHBOARD_LDAP_PASSWORD, never kept
	// here.
	LDAPURL, LDAPCAFile, LDAPBindDN, LDAPPasswordFile, LDAPBaseDN, LDAPFilter string
	// LDAPStartTLS upgrades an ldap:// connection with StartTLS.
	LDAPStartTLS bool
	// DirectoryRefresh is how often the directory is read again (0:
	// directory.DefaultRefresh).
	DirectoryRefresh time.Duration
	// PresenceServer is host[:port] where the colleagues' lamps are
	// subscribed by extension (empty: the PBX of the park lamps).
	PresenceServer string
	// CampOn is how long a call waits for a busy colleague before it
	// comes back to the receptionist (0: directory.DefaultCampOn).
	CampOn time.Duration
}

// DefaultSettings are the settings of a console nobody configured: SIP
// on 127.0.0.1:5060 and the embedded park service on 127.0.0.1:5070 with
// orbits 701-720 (DESIGN.md, "Defaults that make it run anywhere").
func DefaultSettings() Settings {
	return Settings{
		Listen:      DefaultListen,
		ParkMode:    ParkEmbedded,
		ParkService: DefaultParkService,
		Orbits:      telephony.DefaultLot,
	}
}

// Preference keys.
const (
	keyDisplayName   = "sip.display_name"
	keyListen        = "sip.listen"
	keyAOR           = "account.aor"
	keyUsername      = "account.username"
	keyPassword      = "account.password"
	keyRegistrar     = "account.registrar"
	keyOutbound      = "account.outbound_proxy"
	keyTLSCA         = "account.tls_ca_file"
	keyTLSCert       = "account.tls_cert_file"
	keyTLSKey        = "account.tls_key_file"
	keySRTP          = "account.srtp"
	keyParkMode      = "park.mode"
	keyParkService   = "park.service"
	keyParkAny       = "park.any"
	keyParkOrbit     = "park.orbit"
	keyParkRetrieve  = "park.retrieve"
	keyParkSafe      = "park.safe_retrieve"
	keyParkLamp      = "park.lamp"
	keyParkDirected  = "park.directed"
	keyFirstOrbit    = "park.first"
	keyLastOrbit     = "park.last"
	keyPlayback      = "audio.playback"
	keyCapture       = "audio.capture"
	keyRingDevice    = "audio.ring"
	keySettingsSaved = "settings.saved"
	keyContacts      = "directory.contacts"
	keyLDAPURL       = "directory.ldap_url"
	keyLDAPCA        = "directory.ldap_ca_file"
	keyLDAPBindDN    = "directory.ldap_bind_dn"
	keyLDAPPassFile  = "directory.ldap_password_file"
	keyLDAPBaseDN    = "directory.ldap_base_dn"
	keyLDAPFilter    = "directory.ldap_filter"
	keyLDAPStartTLS  = "directory.ldap_starttls"
	keyDirRefresh    = "directory.refresh_seconds"
	keyPresence      = "directory.presence_server"
	keyCampOn        = "directory.camp_on_seconds"
)

// LoadSettings reads the settings from p; what was never saved has its
// default.
func LoadSettings(p fyne.Preferences) Settings {
	d := DefaultSettings()
	return Settings{
		DisplayName:      p.StringWithFallback(keyDisplayName, d.DisplayName),
		Listen:           p.StringWithFallback(keyListen, d.Listen),
		AccountAOR:       p.String(keyAOR),
		Username:         p.String(keyUsername),
		Password:         p.String(keyPassword),
		Registrar:        p.String(keyRegistrar),
		OutboundProxy:    p.String(keyOutbound),
		TLSCAFile:        p.String(keyTLSCA),
		TLSCertFile:      p.String(keyTLSCert),
		TLSKeyFile:       p.String(keyTLSKey),
		SRTP:             p.String(keySRTP),
		ParkMode:         p.StringWithFallback(keyParkMode, d.ParkMode),
		ParkService:      p.StringWithFallback(keyParkService, d.ParkService),
		ParkAny:          p.String(keyParkAny),
		ParkOrbit:        p.String(keyParkOrbit),
		ParkRetrieve:     p.String(keyParkRetrieve),
		ParkSafeRetrieve: p.String(keyParkSafe),
		ParkLamp:         p.String(keyParkLamp),
		ParkDirected:     p.Bool(keyParkDirected),
		Orbits: telephony.Lot{
			First: p.IntWithFallback(keyFirstOrbit, d.Orbits.First),
			Last:  p.IntWithFallback(keyLastOrbit, d.Orbits.Last),
		},
		Playback:   p.String(keyPlayback),
		Capture:    p.String(keyCapture),
		RingDevice: p.String(keyRingDevice),

		ContactsFiles:    p.String(keyContacts),
		LDAPURL:          p.String(keyLDAPURL),
		LDAPCAFile:       p.String(keyLDAPCA),
		LDAPBindDN:       p.String(keyLDAPBindDN),
		LDAPPasswordFile: p.String(keyLDAPPassFile),
		LDAPBaseDN:       p.String(keyLDAPBaseDN),
		LDAPFilter:       p.String(keyLDAPFilter),
		LDAPStartTLS:     p.Bool(keyLDAPStartTLS),
		DirectoryRefresh: time.Duration(p.Int(keyDirRefresh)) * time.Second,
		PresenceServer:   p.String(keyPresence),
		CampOn:           time.Duration(p.Int(keyCampOn)) * time.Second,
	}
}

// Saved reports whether settings were ever saved in p.
func Saved(p fyne.Preferences) bool { return p.Bool(keySettingsSaved) }

// Save writes s to p. The password is kept in the preferences file in
// clear, like the rest: the file is the user's own.
func (s Settings) Save(p fyne.Preferences) {
	p.SetString(keyDisplayName, s.DisplayName)
	p.SetString(keyListen, s.Listen)
	p.SetString(keyAOR, s.AccountAOR)
	p.SetString(keyUsername, s.Username)
	p.SetString(keyPassword, s.Password)
	p.SetString(keyRegistrar, s.Registrar)
	p.SetString(keyOutbound, s.OutboundProxy)
	p.SetString(keyTLSCA, s.TLSCAFile)
	p.SetString(keyTLSCert, s.TLSCertFile)
	p.SetString(keyTLSKey, s.TLSKeyFile)
	p.SetString(keySRTP, s.SRTP)
	p.SetString(keyParkMode, s.ParkMode)
	p.SetString(keyParkService, s.ParkService)
	p.SetString(keyParkAny, s.ParkAny)
	p.SetString(keyParkOrbit, s.ParkOrbit)
	p.SetString(keyParkRetrieve, s.ParkRetrieve)
	p.SetString(keyParkSafe, s.ParkSafeRetrieve)
	p.SetString(keyParkLamp, s.ParkLamp)
	p.SetBool(keyParkDirected, s.ParkDirected)
	p.SetInt(keyFirstOrbit, s.Orbits.First)
	p.SetInt(keyLastOrbit, s.Orbits.Last)
	p.SetString(keyPlayback, s.Playback)
	p.SetString(keyCapture, s.Capture)
	p.SetString(keyRingDevice, s.RingDevice)
	p.SetString(keyContacts, s.ContactsFiles)
	p.SetString(keyLDAPURL, s.LDAPURL)
	p.SetString(keyLDAPCA, s.LDAPCAFile)
	p.SetString(keyLDAPBindDN, s.LDAPBindDN)
	p.SetString(keyLDAPPassFile, s.LDAPPasswordFile)
	p.SetString(keyLDAPBaseDN, s.LDAPBaseDN)
	p.SetString(keyLDAPFilter, s.LDAPFilter)
	p.SetBool(keyLDAPStartTLS, s.LDAPStartTLS)
	p.SetInt(keyDirRefresh, int(s.DirectoryRefresh/time.Second))
	p.SetString(keyPresence, s.PresenceServer)
	p.SetInt(keyCampOn, int(s.CampOn/time.Second))
	p.SetBool(keySettingsSaved, true)
}

// Validate checks what the settings dialog can check by itself; the
// user agent checks the rest (URI syntax) when it starts. The error
// names every field that is wrong.
func (s Settings) Validate() error {
	var errs []error
	if err := checkHostPort(s.Listen); err != nil {
		errs = append(errs, fmt.Errorf("listen address %q: %w", s.Listen, err))
	}
	if s.AccountAOR == "" && (s.Password != "" || s.Registrar != "") {
		errs = append(errs, errors.New("account: a password or registrar needs an address (AOR)"))
	}
	if s.AccountAOR != "" && !strings.HasPrefix(s.AccountAOR, "sip:") && !strings.HasPrefix(s.AccountAOR, "sips:") {
		errs = append(errs, fmt.Errorf("account address %q: must start with sip: (sip:reception@pbx.example)", s.AccountAOR))
	}
	if tlsFiles := s.TLSCAFile != "" || s.TLSCertFile != "" || s.TLSKeyFile != ""; tlsFiles && s.AccountAOR == "" {
		errs = append(errs, errors.New("account: TLS files need an address (AOR) and a TLS registrar"))
	} else if tlsFiles && !s.usesTLS() {
		errs = append(errs, errors.New("account: TLS files need a TLS registrar or outbound proxy (sips:pbx.example or sip:pbx.example;transport=tls)"))
	}
	switch s.SRTP {
	case SRTPOff:
	case SRTPOffered, SRTPRequired:
		if !s.usesTLS() {
			errs = append(errs, fmt.Errorf("account: SRTP %s needs a TLS registrar or outbound proxy (sips:pbx.example or sip:pbx.example;transport=tls): its keys travel in the SDP", s.SRTP))
		}
	default:
		errs = append(errs, fmt.Errorf("SRTP %q: must be off, offered or required", s.SRTP))
	}
	if (s.TLSCertFile == "") != (s.TLSKeyFile == "") {
		errs = append(errs, errors.New("account: a TLS client certificate needs both its certificate and its key file"))
	}
	switch s.ParkMode {
	case ParkEmbedded, ParkService:
		if err := checkHostPort(s.ParkService); err != nil {
			errs = append(errs, fmt.Errorf("park service %q: %w", s.ParkService, err))
		}
	case ParkTemplates:
		if s.ParkAny == "" || s.ParkRetrieve == "" || s.ParkLamp == "" {
			errs = append(errs, errors.New("park templates: park, retrieve and lamp URIs are required"))
		}
		for name, t := range map[string]string{"retrieve": s.ParkRetrieve, "lamp": s.ParkLamp} {
			if t != "" && !strings.Contains(t, "{orbit}") {
				errs = append(errs, fmt.Errorf("park templates: the %s URI %q has no {orbit}", name, t))
			}
		}
	case ParkOff:
	default:
		errs = append(errs, fmt.Errorf("park mode %q: must be embedded, service, templates or off", s.ParkMode))
	}
	if _, err := s.Directory(); err != nil {
		errs = append(errs, err)
	}
	if s.ParkMode != ParkOff {
		if err := s.Orbits.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("orbits %s: %w", s.Orbits, err))
		} else if s.Orbits.Size() > MaxOrbits {
			errs = append(errs, fmt.Errorf("orbits %s: more than %d orbits", s.Orbits, MaxOrbits))
		}
	}
	return errors.Join(errs...)
}

// usesTLS reports whether the account reaches its PBX over TLS, as the
// user agent decides it: its registrar (by default the AOR's host) or its
// outbound proxy is sips: or has ;transport=tls.
func (s Settings) usesTLS() bool {
	reg := s.Registrar
	if reg == "" {
		reg = s.AccountAOR
	}
	for _, u := range []string{reg, s.OutboundProxy} {
		u = strings.ToLower(u)
		if strings.HasPrefix(u, "sips:") || strings.Contains(u, ";transport=tls") {
			return true
		}
	}
	return false
}

// checkHostPort checks an IP:port address (port 0 picks a free one).
func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return errors.New("not host:port")
	}
	if net.ParseIP(host) == nil {
		return errors.New("the host must be an IP address")
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return errors.New("bad port")
	}
	return nil
}
