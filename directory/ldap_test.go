package directory

import (
	"context"
	"errors"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"
)

// readerOptions reads the test directory as the reader over plain LDAP.
func readerOptions(s *slapdServer) LDAPOptions {
	return LDAPOptions{URL: s.url, BindDN: readerDN, Password: readerPW, BaseDN: testBase}
}

func byExt(cs []Contact) map[string]Contact {
	m := make(map[string]Contact, len(cs))
	for _, c := range cs {
		m[c.Extension] = c
	}
	return m
}

// checkPeople checks that cs is the whole test directory: every person and
// the enabled Active Directory users, with their fields mapped.
func checkPeople(t *testing.T, cs []Contact) {
	t.Helper()
	if want := nPeople + nADUsers - nDisabledA; len(cs) != want {
		t.Fatalf("read %d contacts, want %d", len(cs), want)
	}
	m := byExt(cs)
	for _, i := range []int{0, 1, 3, 150, nPeople - 1} {
		name, ext, mobile, dept := testPerson(i)
		if i%3 == 0 {
			name += " (display)" // displayName is preferred to cn
		}
		want := Contact{Name: name, Extension: ext, Mobile: mobile, Department: dept, Email: "p" + strconv.Itoa(i) + "@example.com", Source: SourceLDAP}
		if got := m[ext]; got != want {
			t.Errorf("person %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	// Active Directory: ipPhone before telephoneNumber, department, the
	// SIP address; disabled accounts are left out by the default filter.
	if got, want := m["5007"], (Contact{Name: "Ádám Doe 7", Extension: "5007", URI: "sip:ad7@pbx.example", Department: "Facilities", Source: SourceLDAP}); got != want {
		t.Errorf("AD user:\n got %+v\nwant %+v", got, want)
	}
	if _, ok := m["5000"]; ok {
		t.Error("a disabled AD account was read")
	}
	if got := NewIndex(cs).Search("jurgen gross", 0); len(got) == 0 || !strings.HasPrefix(got[0].Name, "Jürgen Groß") {
		t.Errorf("search for jurgen gross in LDAP contacts: %+v", got)
	}
}

func TestLDAPPagedSearch(t *testing.T) {
	s := testSlapd(t)
	// Without paging the server's size limit cuts the search short.
	conn, err := ldap.DialURL(s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.Bind(readerDN, readerPW); err != nil {
		t.Fatal(err)
	}
	_, err = conn.Search(ldap.NewSearchRequest(testBase, ldap.ScopeWholeSubtree, ldap.NeverDerefAliases, 0, 0, false, DefaultFilter, []string{"cn"}, nil))
	if !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Fatalf("an unpaged search gave %v, want size limit exceeded (the test needs paging)", err)
	}

	for _, pageSize := range []uint32{0, 37} {
		o := readerOptions(s)
		o.PageSize = pageSize
		cs, err := FetchLDAP(context.Background(), o)
		if err != nil {
			t.Fatalf("page size %d: %v", pageSize, err)
		}
		checkPeople(t, cs)
	}
}

func TestLDAPS(t *testing.T) {
	s := testSlapd(t)
	o := readerOptions(s)
	o.URL, o.CAFile = s.ldapsURL, s.caFile
	cs, err := FetchLDAP(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkPeople(t, cs)

	o.CAFile = s.otherCA
	_, err = FetchLDAP(context.Background(), o)
	if ReasonOf(err) != ReasonTLS {
		t.Errorf("LDAPS with an untrusted certificate: %v (reason %v), want ReasonTLS", err, ReasonOf(err))
	}
}

func TestStartTLS(t *testing.T) {
	s := testSlapd(t)
	// The TLS-only reader sees nobody without TLS...
	o := LDAPOptions{URL: s.url, BindDN: tlsOnlyDN, Password: tlsOnlyPW, BaseDN: testBase}
	cs, err := FetchLDAP(context.Background(), o)
	if len(cs) != 0 || (err != nil && ReasonOf(err) != ReasonSearch) {
		t.Fatalf("without TLS the TLS-only reader read %d contacts (%v), want none", len(cs), err)
	}
	// ...and everybody after StartTLS.
	o.StartTLS, o.CAFile = true, s.caFile
	cs, err = FetchLDAP(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	checkPeople(t, cs)

	o.CAFile = s.otherCA
	_, err = FetchLDAP(context.Background(), o)
	if ReasonOf(err) != ReasonTLS {
		t.Errorf("StartTLS with an untrusted certificate: %v (reason %v), want ReasonTLS", err, ReasonOf(err))
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// silentServer accepts connections and never answers.
func silentServer(t *testing.T) string {
	addr, _ := silentServerAccepting(t)
	return addr
}

// silentServerAccepting is silentServer, with a channel that receives
// once for each connection accepted.
func silentServerAccepting(t *testing.T) (string, <-chan struct{}) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	accepted := make(chan struct{}, 16)
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
			select {
			case accepted <- struct{}{}:
			default:
			}
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String(), accepted
}

func TestLDAPFailures(t *testing.T) {
	s := testSlapd(t)
	for _, tc := range []struct {
		name   string
		change func(*LDAPOptions)
		want   Reason
	}{
		{"bad password", func(o *LDAPOptions) { o.Password = "wrong" }, ReasonBadCredentials},
		{"unknown bind DN", func(o *LDAPOptions) { o.BindDN = "cn=nobody,dc=example,dc=com" }, ReasonBadCredentials},
		{"unreachable", func(o *LDAPOptions) { o.URL = "ldap://" + closedPort(t) }, ReasonUnreachable},
		{"silent server", func(o *LDAPOptions) { o.URL = "ldap://" + silentServer(t); o.Timeout = 300 * time.Millisecond }, ReasonTimeout},
		{"bad filter", func(o *LDAPOptions) { o.Filter = "(cn=Eva" }, ReasonBadFilter},
		{"no such base", func(o *LDAPOptions) { o.BaseDN = "ou=Nowhere,dc=example,dc=com" }, ReasonSearch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := readerOptions(s)
			tc.change(&o)
			cs, err := FetchLDAP(context.Background(), o)
			var e *Error
			if !errors.As(err, &e) || e.Reason != tc.want {
				t.Fatalf("got %d contacts, error %v (reason %v), want reason %v", len(cs), err, ReasonOf(err), tc.want)
			}
			if e.Err == nil || e.Op == "" {
				t.Errorf("error %v lacks its operation or cause", err)
			}
		})
	}
}

func TestLDAPAttributeMapping(t *testing.T) {
	s := testSlapd(t)
	o := readerOptions(s)
	o.BaseDN = "ou=People," + testBase
	o.Filter = "(uid=p7)"
	o.Attributes = Attributes{Name: []string{"sn"}, Extension: []string{"uid"}, URI: []string{"mail"}}
	cs, err := FetchLDAP(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	name, _, mobile, dept := testPerson(7)
	// The fields not mapped keep their defaults (mobile, ou, mail).
	want := Contact{Name: strings.Fields(name)[1], Extension: "p7", URI: "sip:p7@example.com", Department: dept, Mobile: mobile, Email: "p7@example.com", Source: SourceLDAP}
	if len(cs) != 1 || cs[0] != want {
		t.Errorf("got %+v\nwant %+v", cs, want)
	}
}
