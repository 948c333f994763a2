package directory

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/go-ldap/ldap/v3"
)

// FetchLDAP reads every person the options select from the LDAP server,
// with a paged search (RFC 2696) so that a server's size limit below the
// directory's size does not cut it short. The whole read is bounded by
// the options' Timeout and by ctx. Errors are *Error with the reason:
// unreachable, timeout, TLS, bad credentials, bad filter or search.
func FetchLDAP(ctx context.Context, o LDAPOptions) ([]Contact, error) {
	o = Options{LDAP: o}.withDefaults().LDAP
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if u, err := url.Parse(o.URL); err == nil {
		tlsConf.ServerName = u.Hostname()
	}
	if o.CAFile != "" {
		pool, err := loadCAs(o.CAFile)
		if err != nil {
			return nil, &Error{Reason: ReasonConfig, Op: "LDAP CA file", Err: err}
		}
		tlsConf.RootCAs = pool
	}
	dialer := &net.Dialer{Timeout: o.Timeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	conn, err := ldap.DialURL(o.URL, ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(tlsConf))
	if err != nil {
		return nil, ldapError(ctx, "connect", err)
	}
	defer conn.Close()
	// Closing the connection ends whatever request waits on it when ctx
	// is done (the client has no context of its own). The client's own
	// request timeout stays off: its error would not say "timeout".
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	if o.StartTLS {
		if err := conn.StartTLS(tlsConf); err != nil {
			return nil, ldapError(ctx, "StartTLS", err)
		}
	}
	if o.BindDN != "" {
		if err := conn.Bind(o.BindDN, o.Password); err != nil {
			return nil, ldapError(ctx, "bind", err)
		}
	}
	a := o.Attributes
	var attrs []string
	for _, l := range [][]string{a.Name, a.Extension, a.URI, a.Department, a.Mobile, a.Email} {
		attrs = append(attrs, l...)
	}
	req := ldap.NewSearchRequest(o.BaseDN, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases,
		0, 0, false, o.Filter, attrs, nil)
	res, err := conn.SearchWithPaging(req, o.PageSize)
	if err != nil {
		return nil, ldapError(ctx, "search", err)
	}
	out := make([]Contact, 0, len(res.Entries))
	for _, e := range res.Entries {
		c := Contact{
			Source:     SourceLDAP,
			Name:       first(e, a.Name),
			Extension:  first(e, a.Extension),
			URI:        normaliseURI(first(e, a.URI)),
			Department: first(e, a.Department),
			Mobile:     first(e, a.Mobile),
			Email:      first(e, a.Email),
		}
		if c.Name != "" || c.Extension != "" || c.URI != "" {
			out = append(out, c)
		}
	}
	if len(out) == 0 && len(res.Entries) > 0 {
		return nil, &Error{Reason: ReasonSearch, Op: "search",
			Err: fmt.Errorf("%d entries found but none has a name, extension or URI attribute (%s)", len(res.Entries), strings.Join(attrs, ", "))}
	}
	return out, nil
}

// first is the first non-empty value of the first of attrs that e has.
func first(e *ldap.Entry, attrs []string) string {
	for _, a := range attrs {
		for _, v := range e.GetEqualFoldAttributeValues(a) {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	return ""
}
