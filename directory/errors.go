package directory

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"

	"github.com/go-ldap/ldap/v3"
)

// Reason says why reading the directory failed (or why an option is bad).
type Reason uint8

const (
	// ReasonNone: nothing went wrong.
	ReasonNone Reason = iota
	// ReasonConfig: the options are invalid (see Options.Validate).
	ReasonConfig
	// ReasonUnreachable: the LDAP server could not be connected to.
	ReasonUnreachable
	// ReasonTimeout: the LDAP server did not answer in time.
	ReasonTimeout
	// ReasonTLS: the TLS handshake failed (certificate not trusted, wrong
	// name, StartTLS refused).
	ReasonTLS
	// ReasonBadCredentials: the bind DN or password was refused.
	ReasonBadCredentials
	// ReasonBadFilter: the search filter is not valid.
	ReasonBadFilter
	// ReasonSearch: the server refused or failed the search (no such base
	// DN, size limit, ...).
	ReasonSearch
	// ReasonFile: a contacts file could not be read or parsed.
	ReasonFile
	// ReasonCache: the cache could not be read or written.
	ReasonCache
	// ReasonNoCache: LDAP failed and there is no cached directory.
	ReasonNoCache
)

// String is a short English description, for logs and the status bar.
func (r Reason) String() string {
	switch r {
	case ReasonNone:
		return "ok"
	case ReasonConfig:
		return "invalid settings"
	case ReasonUnreachable:
		return "LDAP server unreachable"
	case ReasonTimeout:
		return "LDAP server timed out"
	case ReasonTLS:
		return "LDAP TLS failed"
	case ReasonBadCredentials:
		return "LDAP bind refused (bad credentials)"
	case ReasonBadFilter:
		return "bad LDAP filter"
	case ReasonSearch:
		return "LDAP search failed"
	case ReasonFile:
		return "contacts file unreadable"
	case ReasonCache:
		return "directory cache unreadable"
	case ReasonNoCache:
		return "no cached directory"
	}
	return fmt.Sprintf("reason %d", uint8(r))
}

// Error is a failure of the directory, with its typed reason.
type Error struct {
	// Reason classifies the failure.
	Reason Reason
	// Op is what was being done ("bind", "search", "read people.csv").
	Op string
	// Err is the underlying error.
	Err error
}

// Error describes the failure.
func (e *Error) Error() string {
	if e.Err == nil {
		return fmt.Sprintf("directory: %s: %s", e.Op, e.Reason)
	}
	return fmt.Sprintf("directory: %s: %s: %v", e.Op, e.Reason, e.Err)
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// ReasonOf is the reason of err: that of the *Error it wraps,
// ReasonNone for nil.
func ReasonOf(err error) Reason {
	if err == nil {
		return ReasonNone
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ReasonSearch
}

// ldapError classifies an error of the LDAP client during op. ctx is the
// fetch's context: its deadline passing is a timeout, whatever error the
// closed connection gave.
func ldapError(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	var reason Reason
	var ne net.Error
	var ue x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	var ve *tls.CertificateVerificationError
	var re tls.RecordHeaderError
	var ae tls.AlertError
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		reason = ReasonTimeout
	case ctx.Err() != nil:
		return fmt.Errorf("directory: %s: %w", op, ctx.Err())
	case op == "StartTLS":
		// The client reports a failed handshake as a network error
		// without its cause; a refused StartTLS is a result code.
		reason = ReasonTLS
	case errors.As(err, &ue), errors.As(err, &he), errors.As(err, &ci), errors.As(err, &ve),
		errors.As(err, &re), errors.As(err, &ae):
		reason = ReasonTLS
	case ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials),
		ldap.IsErrorWithCode(err, ldap.LDAPResultInappropriateAuthentication):
		reason = ReasonBadCredentials
	case ldap.IsErrorWithCode(err, ldap.ErrorFilterCompile),
		ldap.IsErrorWithCode(err, ldap.ErrorFilterDecompile),
		ldap.IsErrorWithCode(err, ldap.LDAPResultFilterError):
		reason = ReasonBadFilter
	case errors.As(err, &ne) && ne.Timeout():
		reason = ReasonTimeout
	case op == "connect" || ldap.IsErrorWithCode(err, ldap.ErrorNetwork):
		reason = ReasonUnreachable
	default:
		reason = ReasonSearch
	}
	return &Error{Reason: reason, Op: op, Err: err}
}
