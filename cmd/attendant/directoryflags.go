package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/switchboard/switchboard/directory"
)

// ldapPasswordEnv holds the LDAP bind password when -ldap-password-file
// is not given: a password is never a flag's value (ps shows those).
const ldapPasswordEnv = "SWITCHBOARD_LDAP_PASSWORD"

// directoryFlags are the flags of the People pane's directory.
type directoryFlags struct {
	contacts, ldapURL, ldapCA, ldapBindDN, ldapPasswordFile *string
	ldapBaseDN, ldapFilter, refresh                         *string
	ldapStartTLS                                            *bool
}

func declareDirectoryFlags(fs *flag.FlagSet) directoryFlags {
	return directoryFlags{
		contacts:         fs.String("contacts", "", "comma-separated contacts `files` for the People pane: CSV with a header row, or vCard (.vcf)"),
		ldapURL:          fs.String("ldap-url", "", "LDAP directory for the People pane: `URL` ldap://host or ldaps://host"),
		ldapStartTLS:     fs.Bool("ldap-starttls", false, "upgrade an ldap:// connection with StartTLS"),
		ldapCA:           fs.String("ldap-ca", "", "PEM `file` of the CAs that sign the LDAP server's certificate (default: the system's CAs)"),
		ldapBindDN:       fs.String("ldap-bind-dn", "", "`DN` to bind as (none: anonymous)"),
		ldapPasswordFile: fs.String("ldap-password-file", "", "`file` holding the bind password (or set "+ldapPasswordEnv+")"),
		ldapBaseDN:       fs.String("ldap-base-dn", "", "`DN` where the search for people starts, e.g. dc=example,dc=com"),
		ldapFilter:       fs.String("ldap-filter", "", "LDAP `filter` selecting the people (default: inetOrgPerson, or enabled Active Directory users)"),
		refresh:          fs.String("directory-refresh", directory.DefaultRefresh.String(), "how often the directory is read again (`duration`)"),
	}
}

// parse returns the directory's options, nil when neither contacts files
// nor LDAP are given. LDAP settings that cannot work are an error; a
// contacts file that cannot be read now is not (the window says so, and
// reads it again at each refresh).
func (f directoryFlags) parse(set map[string]bool) (*directory.Options, error) {
	refresh, err := time.ParseDuration(*f.refresh)
	if err != nil || refresh <= 0 {
		return nil, flagErr("directory-refresh", *f.refresh, errors.New("not a positive duration like 15m"))
	}
	var files []string
	for _, p := range strings.Split(*f.contacts, ",") {
		if p = strings.TrimSpace(p); p != "" {
			files = append(files, p)
		}
	}
	l := directory.LDAPOptions{
		URL:      strings.TrimSpace(*f.ldapURL),
		StartTLS: *f.ldapStartTLS,
		CAFile:   strings.TrimSpace(*f.ldapCA),
		BindDN:   strings.TrimSpace(*f.ldapBindDN),
		BaseDN:   strings.TrimSpace(*f.ldapBaseDN),
		Filter:   strings.TrimSpace(*f.ldapFilter),
	}
	if p := strings.TrimSpace(*f.ldapPasswordFile); p != "" {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, flagErr("ldap-password-file", p, err)
		}
		l.Password = strings.TrimRight(string(b), "\r\n")
	} else if l.URL != "" {
		l.Password = os.Getenv(ldapPasswordEnv)
	}
	ldapSet := false
	for _, n := range []string{"ldap-url", "ldap-starttls", "ldap-ca", "ldap-bind-dn", "ldap-password-file", "ldap-base-dn", "ldap-filter"} {
		ldapSet = ldapSet || set[n]
	}
	if len(files) == 0 && !ldapSet {
		return nil, nil
	}
	o := &directory.Options{Files: files, LDAP: l, Refresh: refresh}
	if ldapSet {
		var errs []error
		for _, e := range unjoin(o.Validate()) {
			var de *directory.Error
			if errors.As(e, &de) && de.Op == "contacts file" {
				continue
			}
			errs = append(errs, e)
		}
		if len(errs) > 0 {
			return nil, fmt.Errorf("directory: %w", errors.Join(errs...))
		}
	}
	return o, nil
}

// unjoin splits an errors.Join into its errors.
func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
