package main

import (
	"errors"
	"flag"
	"strings"
	"time"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/directory"
)

// directoryFlags are the flags of the People pane's directory.
type directoryFlags struct {
	contacts, ldapURL, ldapCA, ldapBindDN, ldapPasswordFile *string
	ldapBaseDN, ldapFilter, refresh                         *string
	ldapStartTLS                                            *bool
	presence, campOn                                        *string
}

func declareDirectoryFlags(fs *flag.FlagSet) directoryFlags {
	return directoryFlags{
		contacts:         fs.String("contacts", "", "comma-separated contacts `files` for the People pane: CSV with a header row, or vCard (.vcf)"),
		ldapURL:          fs.String("ldap-url", "", "LDAP directory for the People pane: `URL` ldap://host or ldaps://host"),
		ldapStartTLS:     fs.Bool("ldap-starttls", false, "upgrade an ldap:// connection with StartTLS"),
		ldapCA:           fs.String("ldap-ca", "", "PEM `file` of the CAs that sign the LDAP server's certificate (default: the system's CAs)"),
		ldapBindDN:       fs.String("ldap-bind-dn", "", "`DN` to bind as (none: anonymous)"),
		ldapPasswordFile: fs.String("ldap-password-file", "", "`file` holding the bind password (or set "+app.LDAPPasswordEnv+"; never a flag's value)"),
		ldapBaseDN:       fs.String("ldap-base-dn", "", "`DN` where the search for people starts, e.g. dc=example,dc=com"),
		ldapFilter:       fs.String("ldap-filter", "", "LDAP `filter` selecting the people (default: inetOrgPerson, or enabled Active Directory users)"),
		refresh:          fs.String("directory-refresh", directory.DefaultRefresh.String(), "how often the directory is read again (`duration`)"),
		presence:         fs.String("presence-server", "", "`host[:port]` where the colleagues' busy lamps are subscribed by extension (RFC 4235; default: the PBX of the park lamps)"),
		campOn:           fs.String("camp-on", directory.DefaultCampOn.String(), "how long a call waits for a busy colleague before it comes back (`duration`)"),
	}
}

// parse lays the directory flags given over the settings s.
func (f directoryFlags) parse(set map[string]bool, s *app.Settings) error {
	if set["directory-refresh"] {
		refresh, err := time.ParseDuration(*f.refresh)
		if err != nil || refresh <= 0 {
			return flagErr("directory-refresh", *f.refresh, errors.New("not a positive duration like 15m"))
		}
		s.DirectoryRefresh = refresh
	}
	str := func(name string, dst, v *string) {
		if set[name] {
			*dst = strings.TrimSpace(*v)
		}
	}
	if set["camp-on"] {
		d, err := time.ParseDuration(*f.campOn)
		if err != nil || d <= 0 {
			return flagErr("camp-on", *f.campOn, errors.New("not a positive duration like 60s"))
		}
		s.CampOn = d
	}
	str("presence-server", &s.PresenceServer, f.presence)
	str("contacts", &s.ContactsFiles, f.contacts)
	str("ldap-url", &s.LDAPURL, f.ldapURL)
	str("ldap-ca", &s.LDAPCAFile, f.ldapCA)
	str("ldap-bind-dn", &s.LDAPBindDN, f.ldapBindDN)
	str("ldap-password-file", &s.LDAPPasswordFile, f.ldapPasswordFile)
	str("ldap-base-dn", &s.LDAPBaseDN, f.ldapBaseDN)
	str("ldap-filter", &s.LDAPFilter, f.ldapFilter)
	if set["ldap-starttls"] {
		s.LDAPStartTLS = *f.ldapStartTLS
	}
	return nil
}
