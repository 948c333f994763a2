package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/app"
)

func TestParseConfigDirectory(t *testing.T) {
	dir := t.TempDir()
	pw := filepath.Join(dir, "ldap.pw")
	if err := os.WriteFile(pw, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := parseConfig(nil, app.DefaultSettings())
	if err != nil || c.directory != nil {
		t.Fatalf("no directory flags: directory %+v, error %v; want none", c.directory, err)
	}
	// A contacts file missing now is not fatal: the window says so.
	c, err = parseConfig([]string{"-contacts", "a.csv, b.vcf", "-directory-refresh", "5m"}, app.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	if d := c.directory; d == nil || !reflect.DeepEqual(d.Files, []string{"a.csv", "b.vcf"}) || d.Refresh != 5*time.Minute {
		t.Fatalf("directory %+v", c.directory)
	}
	c, err = parseConfig([]string{"-ldap-url", "ldaps://ldap.example.com", "-ldap-base-dn", "dc=example,dc=com",
		"-ldap-bind-dn", "cn=reader,dc=example,dc=com", "-ldap-password-file", pw}, app.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	if l := c.directory.LDAP; l.URL != "ldaps://ldap.example.com" || l.Password != "s3cret" || l.BaseDN != "dc=example,dc=com" {
		t.Fatalf("LDAP %+v", l)
	}
	t.Setenv(app.LDAPPasswordEnv, "fromenv")
	c, err = parseConfig([]string{"-ldap-url", "ldap://ldap", "-ldap-base-dn", "dc=x", "-ldap-bind-dn", "cn=r,dc=x"}, app.DefaultSettings())
	if err != nil || c.directory.LDAP.Password != "fromenv" {
		t.Fatalf("password from %s: %+v, %v", app.LDAPPasswordEnv, c.directory, err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-directory-refresh", "never"}, "-directory-refresh never: not a positive duration"},
		{[]string{"-ldap-url", "http://ldap", "-ldap-base-dn", "dc=x"}, "must start with ldap:// or ldaps://"},
		{[]string{"-ldap-url", "ldap://ldap"}, "the search needs a base DN"},
		{[]string{"-ldap-url", "ldap://ldap", "-ldap-base-dn", "dc=x", "-ldap-filter", "(cn=x"}, "is not an LDAP filter"},
		{[]string{"-ldap-url", "ldaps://ldap", "-ldap-base-dn", "dc=x", "-ldap-starttls"}, "StartTLS is for ldap:// URLs"},
		{[]string{"-ldap-base-dn", "dc=x"}, "the LDAP settings need a server URL"},
		{[]string{"-ldap-url", "ldap://ldap", "-ldap-base-dn", "dc=x", "-ldap-password-file", filepath.Join(dir, "none")}, "LDAP password file"},
	} {
		_, err := parseConfig(tc.args, app.DefaultSettings())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
