package directory

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// DefaultFilter finds people in OpenLDAP (inetOrgPerson) and Active
// Directory (user objects that are not computers, and not disabled: bit 2
// of userAccountControl, tested with AD's bitwise-and matching rule,
// which OpenLDAP knows too).
const DefaultFilter = "(|(objectClass=inetOrgPerson)(&(objectClass=user)(!(objectClass=computer))(!(userAccountControl:1.2.840.113556.1.4.803:=2))))"

// Defaults for the options left zero.
const (
	DefaultPageSize = 500
	DefaultTimeout  = 10 * time.Second
	DefaultRefresh  = 15 * time.Minute
)

// Attributes maps the contact's fields to LDAP attributes: for each
// field, the first attribute in its list that an entry has is used.
type Attributes struct {
	// Name: default displayName, cn.
	Name []string
	// Extension: default ipPhone (Active Directory), telephoneNumber.
	Extension []string
	// URI: default msRTCSIP-PrimaryUserAddress (Active Directory with
	// Skype for Business or Lync).
	URI []string
	// Department: default department, ou.
	Department []string
	// Mobile: default mobile.
	Mobile []string
	// Email: default mail.
	Email []string
}

// DefaultAttributes is the mapping used for the fields left empty.
var DefaultAttributes = Attributes{
	Name:       []string{"displayName", "cn"},
	Extension:  []string{"ipPhone", "telephoneNumber"},
	URI:        []string{"msRTCSIP-PrimaryUserAddress"},
	Department: []string{"department", "ou"},
	Mobile:     []string{"mobile"},
	Email:      []string{"mail"},
}

// LDAPOptions configure the LDAP source; it is off when URL is empty.
type LDAPOptions struct {
	// URL is the server: ldap://host[:port] or ldaps://host[:port].
	URL string
	// StartTLS upgrades an ldap:// connection to TLS before binding.
	StartTLS bool
	// CAFile is a PEM file of the CAs that sign the server's certificate;
	// empty uses the system's CAs.
	CAFile string
	// BindDN and Password bind before searching; empty binds anonymously.
	BindDN   string
	Password string `json:"-"`
	// BaseDN is where the search starts (required).
	BaseDN string
	// Filter selects the people; empty is DefaultFilter.
	Filter string
	// Attributes maps fields to attributes; empty lists take
	// DefaultAttributes'.
	Attributes Attributes
	// PageSize is the paged search's page (RFC 2696); 0 is
	// DefaultPageSize.
	PageSize uint32
	// Timeout bounds one whole read (connect, bind, search); 0 is
	// DefaultTimeout.
	Timeout time.Duration
}

// Options configure a Directory.
type Options struct {
	// Files are CSV or vCard files of contacts, read at every refresh.
	Files []string
	// LDAP is the LDAP source (off when LDAP.URL is empty).
	LDAP LDAPOptions
	// CachePath is where the last directory read from LDAP is kept;
	// empty is switchboard/directory.json in the user's cache directory.
	CachePath string
	// Refresh is how often the sources are read again; 0 is
	// DefaultRefresh.
	Refresh time.Duration

	// PresenceServer is the host[:port] where the console subscribes to
	// the colleagues' dialog state (RFC 4235) by extension; empty: the
	// PBX of the park lamps (or the account's domain).
	PresenceServer string
	// CampOn is how long a call waits for a busy colleague ("transfer
	// when free") before it comes back to the receptionist; 0 is
	// DefaultCampOn.
	CampOn time.Duration
}

// DefaultCampOn is how long a camp-on waits by default.
const DefaultCampOn = 60 * time.Second

// withDefaults returns o with its zero fields set to the defaults.
func (o Options) withDefaults() Options {
	l := &o.LDAP
	if l.Filter == "" {
		l.Filter = DefaultFilter
	}
	if l.PageSize == 0 {
		l.PageSize = DefaultPageSize
	}
	if l.Timeout == 0 {
		l.Timeout = DefaultTimeout
	}
	a, d := &l.Attributes, DefaultAttributes
	for _, f := range []struct{ dst, def *[]string }{
		{&a.Name, &d.Name}, {&a.Extension, &d.Extension}, {&a.URI, &d.URI},
		{&a.Department, &d.Department}, {&a.Mobile, &d.Mobile}, {&a.Email, &d.Email},
	} {
		if len(*f.dst) == 0 {
			*f.dst = *f.def
		}
	}
	if o.Refresh == 0 {
		o.Refresh = DefaultRefresh
	}
	if o.CachePath == "" {
		if dir, err := os.UserCacheDir(); err == nil {
			o.CachePath = filepath.Join(dir, "switchboard", "directory.json")
		}
	}
	return o
}

// Validate checks the options and says what is wrong with them, every
// problem at once; each is an *Error naming the option, with ReasonConfig
// (ReasonBadFilter for an LDAP filter that does not compile). Files and
// the CA file must be readable now.
func (o Options) Validate() error {
	var errs []error
	for _, f := range o.Files {
		if fh, err := os.Open(f); err != nil {
			errs = append(errs, &Error{Reason: ReasonConfig, Op: "contacts file", Err: fmt.Errorf("cannot read %s: %w", f, err)})
		} else {
			fh.Close()
		}
	}
	if o.Refresh < 0 {
		errs = append(errs, &Error{Reason: ReasonConfig, Op: "refresh interval", Err: fmt.Errorf("must not be negative (%v)", o.Refresh)})
	}
	if o.CampOn < 0 {
		errs = append(errs, &Error{Reason: ReasonConfig, Op: "camp-on wait", Err: fmt.Errorf("must not be negative (%v)", o.CampOn)})
	}
	if h := o.PresenceServer; h != "" && (strings.ContainsAny(h, "@/ ;<>") || strings.HasPrefix(h, "sip:")) {
		errs = append(errs, &Error{Reason: ReasonConfig, Op: "presence server", Err: fmt.Errorf("%q is not a host or host:port", h)})
	}
	if err := o.LDAP.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// validate checks the LDAP options (see Options.Validate).
func (l LDAPOptions) validate() error {
	var errs []error
	bad := func(op, format string, args ...any) {
		errs = append(errs, &Error{Reason: ReasonConfig, Op: op, Err: fmt.Errorf(format, args...)})
	}
	if l.URL == "" {
		if l.BaseDN != "" || l.BindDN != "" || l.StartTLS || l.CAFile != "" {
			bad("LDAP URL", "missing: the LDAP settings need a server URL such as ldaps://ldap.example.com")
		}
		return errors.Join(errs...)
	}
	u, err := url.Parse(l.URL)
	switch {
	case err != nil:
		bad("LDAP URL", "%q is not a URL: %w", l.URL, err)
	case u.Scheme != "ldap" && u.Scheme != "ldaps":
		bad("LDAP URL", "%q must start with ldap:// or ldaps://", l.URL)
	case u.Hostname() == "":
		bad("LDAP URL", "%q names no server", l.URL)
	case u.Scheme == "ldaps" && l.StartTLS:
		bad("LDAP StartTLS", "StartTLS is for ldap:// URLs; %q is already TLS", l.URL)
	}
	if strings.TrimSpace(l.BaseDN) == "" {
		bad("LDAP base DN", "missing: the search needs a base DN such as dc=example,dc=com")
	} else if _, err := ldap.ParseDN(l.BaseDN); err != nil {
		bad("LDAP base DN", "%q is not a DN: %w", l.BaseDN, err)
	}
	if l.BindDN != "" {
		if _, err := ldap.ParseDN(l.BindDN); err != nil {
			bad("LDAP bind DN", "%q is not a DN: %w", l.BindDN, err)
		}
	} else if l.Password != "" {
		bad("LDAP bind DN", "missing: a password is set but no bind DN")
	}
	if l.Filter != "" {
		if _, err := ldap.CompileFilter(l.Filter); err != nil {
			errs = append(errs, &Error{Reason: ReasonBadFilter, Op: "LDAP filter", Err: fmt.Errorf("%q is not an LDAP filter: %w", l.Filter, err)})
		}
	}
	if l.CAFile != "" {
		if _, err := loadCAs(l.CAFile); err != nil {
			bad("LDAP CA file", "%w", err)
		}
	}
	if l.Timeout < 0 {
		bad("LDAP timeout", "must not be negative (%v)", l.Timeout)
	}
	return errors.Join(errs...)
}

// loadCAs reads a PEM file of CA certificates.
func loadCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read CA file: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", path)
	}
	return pool, nil
}
