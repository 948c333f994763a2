package directory

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// proxy forwards TCP connections to a server until it is shut, after
// which its address refuses connections: a server that went away.
type proxy struct {
	l     net.Listener
	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{l: l}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(s, c); s.Close() }()
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	t.Cleanup(p.shut)
	return p
}

func (p *proxy) url() string { return "ldap://" + p.l.Addr().String() }

func (p *proxy) shut() {
	p.l.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func TestDirectoryCacheStandsInForLDAP(t *testing.T) {
	s := testSlapd(t)
	px := newProxy(t, strings.TrimPrefix(s.url, "ldap://"))
	cache := filepath.Join(t.TempDir(), "cache", "directory.json")
	o := Options{Files: []string{"testdata/people.csv"}, CachePath: cache, LDAP: readerOptions(s)}
	o.LDAP.URL = px.url()

	d, err := New(o, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if st := d.Status(); st.State != StateEmpty {
		t.Errorf("before the first refresh: %+v", st)
	}
	if err := d.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	fresh := d.Status()
	if fresh.State != StateFresh || fresh.Reason != ReasonNone || fresh.FromCache || fresh.Err != nil || !fresh.Since.Equal(fresh.Checked) {
		t.Errorf("after reading LDAP: %+v", fresh)
	}
	// The file's Eva Novák has extension 2104, like LDAP's person 104:
	// one contact, LDAP's name, the file's SIP URI filling the gap.
	name104, _, _, _ := testPerson(104)
	got := d.Search("2104", 0)
	if len(got) != 1 || got[0].Name != name104 || got[0].URI != "sip:eva@pbx.example" || got[0].Source != SourceLDAP {
		t.Errorf("2104 after the merge: %+v", got)
	}
	if len(d.Search("jurgen@pbx", 0)) != 1 {
		t.Error("the file's own contact is missing")
	}
	total := fresh.Contacts
	if want := nPeople + nADUsers - nDisabledA + 1; total != want {
		t.Errorf("%d contacts, want %d", total, want)
	}
	if _, err := os.Stat(cache); err != nil {
		t.Fatalf("no cache saved: %v", err)
	}

	// The server goes away.
	px.shut()

	// The running directory keeps what it read, stale since then.
	err = d.Refresh(context.Background())
	st := d.Status()
	if ReasonOf(err) != ReasonUnreachable || st.State != StateStale || st.Reason != ReasonUnreachable ||
		ReasonOf(st.Err) != ReasonUnreachable || st.FromCache ||
		!st.Since.Equal(fresh.Since) || !st.Checked.After(fresh.Checked) || st.Contacts != total {
		t.Errorf("running directory, server gone: err %v, status %+v", err, st)
	}

	// A console started now shows the cached directory, stale since it
	// was read.
	var updates []Status
	d2, err := New(o, nil, func(st Status) { updates = append(updates, st) })
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.Refresh(context.Background()); ReasonOf(err) != ReasonUnreachable {
		t.Errorf("refresh error %v, want unreachable", err)
	}
	st = d2.Status()
	if st.State != StateStale || st.Reason != ReasonUnreachable || !st.FromCache || !st.Since.Equal(fresh.Since) || st.Contacts != total {
		t.Errorf("started with the server gone: %+v (fresh was %+v)", st, fresh)
	}
	if len(updates) != 1 || updates[0].State != StateStale {
		t.Errorf("onUpdate got %+v", updates)
	}
	if got := d2.Search("novak", 0); len(got) == 0 {
		t.Error("the cached directory is not searchable")
	}

	// Without a cache there is nothing to show for LDAP: failed, and the
	// file's contacts are still there.
	o.CachePath = filepath.Join(t.TempDir(), "none.json")
	d3, err := New(o, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = d3.Refresh(context.Background())
	st = d3.Status()
	if st.State != StateFailed || st.Reason != ReasonUnreachable || st.FromCache || st.Contacts != 3 {
		t.Errorf("no cache: %+v", st)
	}
}

func TestDirectoryBadCredentialsUsesCache(t *testing.T) {
	s := testSlapd(t)
	cache := filepath.Join(t.TempDir(), "directory.json")
	o := Options{CachePath: cache, LDAP: readerOptions(s)}
	d, err := New(o, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	o.LDAP.Password = "changed"
	d2, err := New(o, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = d2.Refresh(context.Background())
	st := d2.Status()
	if st.State != StateStale || st.Reason != ReasonBadCredentials || !st.FromCache || st.Contacts != nPeople+nADUsers-nDisabledA {
		t.Errorf("bad credentials: %+v", st)
	}
	// Settings made invalid since (a filter that does not compile, a URL
	// of another scheme): the directory is still made, each refresh says
	// what is wrong without connecting, and the cache stands in.
	for _, tc := range []struct {
		change func(*LDAPOptions)
		want   Reason
	}{
		{func(l *LDAPOptions) { l.Password = readerPW; l.Filter = "(cn=Eva" }, ReasonBadFilter},
		{func(l *LDAPOptions) { l.Password = readerPW; l.URL = strings.Replace(l.URL, "ldap:", "http:", 1) }, ReasonConfig},
	} {
		bad := o
		tc.change(&bad.LDAP)
		d4, err := New(bad, nil, nil)
		if ReasonOf(err) != tc.want || d4 == nil {
			t.Fatalf("New: %v, %v", d4, err)
		}
		if err := d4.Refresh(context.Background()); ReasonOf(err) != tc.want {
			t.Errorf("refresh with invalid options: %v, want %v", err, tc.want)
		}
		// The cache's URL and base DN are those of bad (unchanged by the
		// filter); another URL has no cache.
		st := d4.Status()
		if tc.want == ReasonBadFilter && (st.State != StateStale || st.Reason != ReasonBadFilter || !st.FromCache || st.Contacts != nPeople+nADUsers-nDisabledA) {
			t.Errorf("bad filter: %+v", st)
		}
		if tc.want == ReasonConfig && (st.State != StateFailed || st.Reason != ReasonConfig) {
			t.Errorf("bad URL: %+v", st)
		}
	}

	// A cache of another directory is not used.
	o.LDAP.BaseDN = "ou=People,dc=example,dc=com"
	d3, err := New(o, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = d3.Refresh(context.Background())
	if st := d3.Status(); st.State != StateFailed || st.Contacts != 0 {
		t.Errorf("cache of another base DN: %+v", st)
	}
}

func TestDirectoryFileFailsKeepsLastRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(p, []byte("name,extension\nEva Novák,2104\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := New(Options{Files: []string{p}, CachePath: filepath.Join(dir, "c.json")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := d.Status()
	if err := os.WriteFile(p, []byte("\"broken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	err = d.Refresh(context.Background())
	st := d.Status()
	if ReasonOf(err) != ReasonFile || st.State != StateStale || st.Reason != ReasonFile || !st.Since.Equal(first.Since) || st.Contacts != 1 {
		t.Errorf("broken file: err %v, status %+v", err, st)
	}
}

func TestRefresherEndsWithItsContext(t *testing.T) {
	dir := t.TempDir()
	updates := make(chan Status, 16)
	d, err := New(Options{Files: []string{"testdata/people.vcf"}, CachePath: filepath.Join(dir, "c.json"), Refresh: time.Hour},
		nil, func(st Status) { updates <- st })
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := d.Start(ctx)
	select {
	case st := <-updates:
		if st.State != StateFresh || st.Contacts != 3 {
			t.Errorf("first refresh: %+v", st)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no refresh in 30 s")
	}
	cancel()
	select {
	case <-r.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the refresher did not end with its context")
	}
}

func TestValidate(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	ok := LDAPOptions{URL: "ldaps://ldap.example.com", BaseDN: "dc=example,dc=com"}
	if err := (Options{LDAP: ok, Files: []string{"testdata/people.csv"}}).Validate(); err != nil {
		t.Errorf("valid options: %v", err)
	}
	if err := (Options{}).Validate(); err != nil {
		t.Errorf("no sources: %v", err)
	}
	for _, tc := range []struct {
		name   string
		o      Options
		expect []string
	}{
		{"bad scheme", Options{LDAP: LDAPOptions{URL: "http://ldap.example.com", BaseDN: "dc=x"}}, []string{"LDAP URL", "ldap:// or ldaps://"}},
		{"not a URL", Options{LDAP: LDAPOptions{URL: "ldap://[::1", BaseDN: "dc=x"}}, []string{"LDAP URL", "not a URL"}},
		{"no host", Options{LDAP: LDAPOptions{URL: "ldap://", BaseDN: "dc=x"}}, []string{"names no server"}},
		{"missing base", Options{LDAP: LDAPOptions{URL: "ldap://h"}}, []string{"LDAP base DN", "missing"}},
		{"bad base", Options{LDAP: LDAPOptions{URL: "ldap://h", BaseDN: "nonsense"}}, []string{"LDAP base DN", "not a DN"}},
		{"ldaps and StartTLS", Options{LDAP: LDAPOptions{URL: "ldaps://h", BaseDN: "dc=x", StartTLS: true}}, []string{"StartTLS is for ldap://"}},
		{"password without DN", Options{LDAP: LDAPOptions{URL: "ldap://h", BaseDN: "dc=x", Password: "p"}}, []string{"bind DN", "no bind DN"}},
		{"bad filter", Options{LDAP: LDAPOptions{URL: "ldap://h", BaseDN: "dc=x", Filter: "(cn=a"}}, []string{"LDAP filter", "not an LDAP filter"}},
		{"unreadable CA", Options{LDAP: LDAPOptions{URL: "ldap://h", BaseDN: "dc=x", CAFile: filepath.Join(dir, "missing.pem")}}, []string{"LDAP CA file", "cannot read CA file"}},
		{"CA not PEM", Options{LDAP: LDAPOptions{URL: "ldap://h", BaseDN: "dc=x", CAFile: notPEM}}, []string{"no PEM certificate"}},
		{"LDAP settings without URL", Options{LDAP: LDAPOptions{BaseDN: "dc=x"}}, []string{"LDAP URL", "missing"}},
		{"missing file", Options{Files: []string{filepath.Join(dir, "gone.csv")}}, []string{"contacts file", "gone.csv"}},
		{"negative refresh", Options{Refresh: -time.Second}, []string{"refresh interval"}},
		{"two problems", Options{LDAP: LDAPOptions{URL: "ftp://h"}}, []string{"LDAP URL", "LDAP base DN"}},
	} {
		err := tc.o.Validate()
		want := ReasonConfig
		if tc.name == "bad filter" {
			want = ReasonBadFilter
		}
		if ReasonOf(err) != want {
			t.Errorf("%s: %v, want a %v error", tc.name, err, want)
			continue
		}
		for _, s := range tc.expect {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: %q does not say %q", tc.name, err, s)
			}
		}
		if d, nerr := New(tc.o, nil, nil); nerr == nil || nerr.Error() != err.Error() || d == nil {
			t.Errorf("%s: New gave %v, %v; want a directory and the error", tc.name, d, nerr)
		}
	}
}

func TestRefresherEndsWhileLDAPHangs(t *testing.T) {
	dir := t.TempDir()
	addr, accepted := silentServerAccepting(t)
	o := Options{
		Files:     []string{"testdata/people.vcf"},
		CachePath: filepath.Join(dir, "c.json"),
		LDAP:      LDAPOptions{URL: "ldap://" + addr, BaseDN: testBase, Timeout: time.Hour},
	}
	d, err := New(o, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := d.Start(ctx)
	select {
	case <-accepted:
	case <-time.After(30 * time.Second):
		t.Fatal("the refresh did not connect")
	}
	// The refresh waits on a server that never answers; cancelling ends
	// it and the goroutine, and the status does not call that a failure.
	cancel()
	select {
	case <-r.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("the refresher did not end while LDAP hung")
	}
	if st := d.Status(); st.State != StateEmpty {
		t.Errorf("status after a cancelled refresh: %+v", st)
	}
}

func TestDirectoryConcurrentUse(t *testing.T) {
	d, err := New(Options{Files: []string{"testdata/people.csv", "testdata/people.vcf"}, CachePath: filepath.Join(t.TempDir(), "c.json")}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				if g%2 == 0 {
					if err := d.Refresh(context.Background()); err != nil {
						t.Error(err)
						return
					}
				} else {
					d.Search("s", 10)
					d.Status()
				}
			}
		}()
	}
	wg.Wait()
	if st := d.Status(); st.State != StateFresh || st.Contacts != 6 {
		t.Errorf("after concurrent refreshes: %+v", st)
	}
}
