package sip_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// kamailioTLSModule is where Debian's kamailio-tls-modules puts the TLS
// module.
const kamailioTLSModule = "/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so"

// testCA is a throwaway certificate authority.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	file string // its certificate, PEM
}

// newTestCA makes a CA named name and writes its certificate to dir.
func newTestCA(t *testing.T, dir, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	ca := &testCA{cert: cert, key: key, file: filepath.Join(dir, name+".pem")}
	writePEM(t, ca.file, "CERTIFICATE", der)
	return ca
}

// issue writes a server certificate for hosts (IP addresses or names)
// signed by ca, and its key, to dir; it returns the two files.
func (ca *testCA) issue(t *testing.T, dir, name string, hosts ...string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: hosts[0]},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "PRIVATE KEY", keyDER)
	return certFile, keyFile
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// kamailioTLSConfig is a loopback registrar and proxy on TLS only:
// REGISTER with digest auth (any user, one password, the user must be
// the AOR's), then calls to registered users are relayed to their
// contacts, record-routed. Like testdata/kamailio.cfg, with TLS.
const kamailioTLSConfig = `#!KAMAILIO
debug=2
log_stderror=yes
children=2
tcp_children=2
auto_aliases=no
enable_tls=yes
listen=tls:127.0.0.1:{PORT}
alias="127.0.0.1:{PORT}"

loadpath "/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "tls.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"

modparam("tls", "config", "{TLSCFG}")
modparam("usrloc", "db_mode", 0)
modparam("registrar", "max_expires", 3600)
modparam("registrar", "min_expires", 2)

request_route {
	if (!mf_process_maxfwd_header("10")) {
		sl_send_reply("483", "Too Many Hops");
		exit;
	}
	if (has_totag()) {
		if (loose_route()) {
			t_relay();
			exit;
		}
		if (is_method("ACK")) {
			if (t_check_trans()) {
				t_relay();
			}
			exit;
		}
		sl_send_reply("404", "Not here");
		exit;
	}
	if (is_method("CANCEL")) {
		if (t_check_trans()) {
			t_relay();
		}
		exit;
	}
	if (is_method("REGISTER")) {
		if ($au != $tU || !pv_www_authenticate("$td", "{PASSWORD}", "0")) {
			www_challenge("$td", "0");
			exit;
		}
		if (!save("location")) {
			sl_reply_error();
		}
		exit;
	}
	if (is_method("INVITE|SUBSCRIBE")) {
		record_route();
	}
	if (!lookup("location")) {
		sl_send_reply("404", "Not Found");
		exit;
	}
	xlog("L_INFO", "routing $rm from $fu to $ru over $pr\n");
	t_relay();
}
`

// kamailioTLSServerConfig is the TLS module's configuration: the server
// certificate, no client certificate asked of the consoles, and (as
// kamailio does by default) no check of the consoles' certificates when
// kamailio connects to them.
const kamailioTLSServerConfig = `[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = {KEY}
certificate = {CERT}

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
`

// kamailioTLS is a running kamailio on TLS.
type kamailioTLS struct {
	addr string        // host:port of its TLS listener
	log  func() string // what it logged so far
}

// startKamailioTLS runs Debian's kamailio with its TLS module on a free
// loopback port, presenting certFile and keyFile. Without kamailio or the
// module the test is skipped, except in CI.
func startKamailioTLS(t *testing.T, password, certFile, keyFile string) *kamailioTLS {
	t.Helper()
	bin := siptest.NeedPeer(t, "kamailio")
	if _, err := os.Stat(kamailioTLSModule); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("kamailio's TLS module is required in CI (Debian package kamailio-tls-modules): %v", err)
		}
		t.Skipf("kamailio's TLS module is not installed (Debian package kamailio-tls-modules): %v", err)
	}
	port := freeTCPPort(t)
	dir := t.TempDir()
	tlsCfg := filepath.Join(dir, "tls.cfg")
	writeFile(t, tlsCfg, strings.NewReplacer("{KEY}", keyFile, "{CERT}", certFile).Replace(kamailioTLSServerConfig))
	cfg := filepath.Join(dir, "kamailio.cfg")
	writeFile(t, cfg, strings.NewReplacer("{PORT}", strconv.Itoa(port), "{TLSCFG}", tlsCfg, "{PASSWORD}", password).Replace(kamailioTLSConfig))

	var mu sync.Mutex
	out := &strings.Builder{}
	cmd := exec.Command(bin, "-f", cfg, "-DD", "-E", "-m", "64", "-M", "8", "-P", filepath.Join(dir, "k.pid"), "-Y", dir)
	w := &lockedWriter{mu: &mu, b: out}
	cmd.Stdout, cmd.Stderr = w, w
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	log := func() string { mu.Lock(); defer mu.Unlock(); return out.String() }
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
		}
		if t.Failed() {
			t.Logf("kamailio log:\n%s", log())
		}
	})
	// Ready when its TLS port takes connections.
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(waitFor); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return &kamailioTLS{addr: addr, log: log}
		}
		select {
		case <-exited:
			t.Fatalf("kamailio exited:\n%s", log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("kamailio never listened on %s:\n%s", addr, log())
		}
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}

// freeTCPPort returns a TCP port free on 127.0.0.1 a moment ago.
func freeTCPPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// tlsAccount is a console's account on the TLS registrar at addr.
func tlsAccount(user, addr, caFile string) sbsip.Account {
	return sbsip.Account{
		AOR:       "sip:" + user + "@" + addr,
		Registrar: "sip:" + addr + ";transport=tls",
		Password:  "s3cret",
		CAFile:    caFile,
		Expiry:    time.Minute,
	}
}

// tlsFailure waits for the registration to fail over TLS with a reason
// that says want.
func (c *console) tlsFailure(t *testing.T, want string) {
	t.Helper()
	got := c.waitRegistration(t, telephony.RegistrationFailed)
	if !strings.Contains(got.Reason, "TLS: ") || !strings.Contains(got.Reason, want) {
		t.Fatalf("reason %q, want TLS and %q", got.Reason, want)
	}
	t.Logf("reason: %s", got.Reason)
}

// TestKamailioTLS: two consoles register to kamailio over TLS with digest
// auth, the server's certificate checked against a private CA (one
// console names TLS with ;transport=tls, the other with a sips: AOR);
// the first calls the second through kamailio, over TLS both ways, and
// each hears the other's tone.
func TestKamailioTLS(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "pbx-ca")
	cert, key := ca.issue(t, dir, "pbx", "127.0.0.1", "localhost")
	kam := startKamailioTLS(t, "s3cret", cert, key)
	k := kam.addr

	a := newConsole(t, "desk-a", 1000, func(c *sbsip.Config) { c.Account = tlsAccount("desk-a", k, ca.file) })
	b := newConsole(t, "desk-b", 1200, func(c *sbsip.Config) {
		c.Account = sbsip.Account{AOR: "sips:desk-b@" + k, Password: "s3cret", CAFile: ca.file, Expiry: time.Minute}
	})
	a.waitRegistration(t, telephony.RegistrationRegistered)
	b.waitRegistration(t, telephony.RegistrationRegistered)
	if !a.Addr("tls").IsValid() || !b.Addr("tls").IsValid() {
		t.Fatalf("no TLS listener: a %s, b %s", a.Addr("tls"), b.Addr("tls"))
	}

	// The PBX's address without a transport: the account's TLS applies.
	id, err := a.Dial(ctxT(t), "sip:desk-b@"+k)
	if err != nil {
		t.Fatal(err)
	}
	in := b.waitRinging(t)
	if err := b.Answer(ctxT(t), in.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, id, telephony.StateActive)
	b.waitState(t, in.ID, telephony.StateActive)
	a.hears(t, 1200)
	b.hears(t, 1000)
	// kamailio listens on TLS only; it relayed the INVITE to b's TLS
	// contact.
	relayed := fmt.Sprintf("routing INVITE from sip:desk-a@%s to sip:desk-b@%s;transport=tls over tls", k, b.Addr("tls"))
	if !strings.Contains(kam.log(), relayed) {
		t.Fatalf("kamailio did not log %q", relayed)
	}
	if err := a.Hangup(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	b.waitState(t, in.ID, telephony.StateEnded)
}

// TestKamailioTLSRefusedCertificate: a server certificate the console
// cannot trust fails the registration with a reason that names the
// problem, retried later; the console closes at once.
func TestKamailioTLSRefusedCertificate(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "pbx-ca")
	other := newTestCA(t, dir, "other-ca")
	for _, tc := range []struct {
		name  string
		hosts []string // the server certificate's names
		trust string   // the console's CA file
		want  string
	}{
		{"unknown authority", []string{"127.0.0.1", "localhost"}, other.file, "not signed by a trusted certificate authority"},
		{"name mismatch", []string{"pbx.example"}, ca.file, "does not name 127.0.0.1 (certificate name mismatch)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cert, key := ca.issue(t, dir, strings.ReplaceAll(tc.name, " ", "-"), tc.hosts...)
			k := startKamailioTLS(t, "s3cret", cert, key).addr
			acc := tlsAccount("desk", k, tc.trust)
			acc.RetryInterval = time.Hour
			a := newConsole(t, "desk", 1000, func(c *sbsip.Config) { c.Account = acc })
			a.tlsFailure(t, tc.want)
			closed := make(chan error, 1)
			go func() { closed <- a.Close() }()
			if err := siptest.Recv(t, "Close", closed); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestTLSRegistrarNotThere: no TLS at the registrar's address (nothing
// listening, or a peer that does not speak TLS) is said so.
func TestTLSRegistrarNotThere(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "pbx-ca")
	plain, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := plain.Accept()
			if err != nil {
				return
			}
			_, _ = c.Write([]byte("SIP/2.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
			c.Close()
		}
	})
	t.Cleanup(func() { plain.Close(); wg.Wait() })
	closed := freeTCPPort(t)
	for _, tc := range []struct{ name, addr, want string }{
		{"refused", "127.0.0.1:" + strconv.Itoa(closed), "refused the connection"},
		{"not TLS", plain.Addr().String(), "does not speak TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			acc := tlsAccount("desk", tc.addr, ca.file)
			acc.RetryInterval = time.Hour
			newConsole(t, "desk", 1000, func(c *sbsip.Config) { c.Account = acc }).tlsFailure(t, tc.want)
		})
	}
}

// TestTLSAccountValidation: the account's TLS fields are checked before
// anything starts, each with its reason, and a TLS account gets a TLS
// listener of its own.
func TestTLSAccountValidation(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "pbx-ca")
	cert, key := ca.issue(t, dir, "client", "desk.example")
	junk := filepath.Join(dir, "junk.pem")
	writeFile(t, junk, "not a certificate\n")
	unreadable := filepath.Join(dir, "unreadable.pem")
	writeFile(t, unreadable, "")
	if err := os.Chmod(unreadable, 0); err != nil {
		t.Fatal(err)
	}
	const tlsReg = "sips:pbx.example"
	for _, tc := range []struct {
		name string
		acc  sbsip.Account
		want string // "" is valid
	}{
		{"system roots", sbsip.Account{AOR: "sip:r@pbx.example", Registrar: tlsReg}, ""},
		{"CA file", sbsip.Account{AOR: "sip:r@pbx.example", Registrar: tlsReg, CAFile: ca.file}, ""},
		{"client certificate", sbsip.Account{AOR: "sip:r@pbx.example", Registrar: tlsReg, CAFile: ca.file, CertFile: cert, KeyFile: key}, ""},
		{"transport=tls", sbsip.Account{AOR: "sip:r@pbx.example", Registrar: "sip:pbx.example;transport=TLS", CAFile: ca.file}, ""},
		{"sips AOR", sbsip.Account{AOR: "sips:r@pbx.example", CAFile: ca.file}, ""},
		{"no CA file", sbsip.Account{AOR: "sip:r@pbx.example", Registrar: tlsReg, CAFile: filepath.Join(dir, "missing.pem")}, "CA file: open " + filepath.Join(dir, "missing.pem") + ": no such file"},
		{"not PEM", sbsip.Account{AOR: "sip:r@pbx.example", Registrar: tlsReg, CAFile: junk}, "no PEM certificate in it"},
		{"certificate without key", sbsip.Account{AOR: "sip:r@pbx.example", Registrar: tlsReg, CertFile: cert}, "needs both its certificate and its key file"},
		{"key of another certificate", sbsip.Account{AOR: "sip:r@pbx.example", Registrar: tlsReg, CertFile: ca.file, KeyFile: key}, "client certificate " + ca.file},
		{"TLS files without TLS", sbsip.Account{AOR: "sip:r@pbx.example", CAFile: ca.file}, "does not use TLS (sips: or ;transport=tls)"},
		{"TLS files without account", sbsip.Account{CAFile: ca.file}, "TLS files need an AOR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := sbsip.Config{Audio: &siptest.ToneDevice{Freq: 1000}, Account: tc.acc}
			err := c.Validate()
			if tc.want != "" {
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Validate() = %v, want an error with %q", err, tc.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var tlsListeners int
			for _, l := range c.Listen {
				if l.Transport == "tls" {
					tlsListeners++
					if l.TLS == nil || len(l.TLS.Certificates) != 1 || l.Addr != "127.0.0.1:0" {
						t.Fatalf("TLS listener %+v", l)
					}
				}
			}
			if tlsListeners != 1 {
				t.Fatalf("%d TLS listeners in %+v", tlsListeners, c.Listen)
			}
			if err := c.Validate(); err != nil || len(c.Listen) != 3 {
				t.Fatalf("validated twice: %v, %d listeners", err, len(c.Listen))
			}
			if strings.HasPrefix(tc.acc.AOR, "sips:") && c.Account.Registrar != "sips:pbx.example" {
				t.Fatalf("registrar of a sips: AOR = %q", c.Account.Registrar)
			}
		})
	}
	// A file the console may not read (root reads everything).
	if os.Geteuid() != 0 {
		c := sbsip.Config{Audio: &siptest.ToneDevice{Freq: 1000}, Account: sbsip.Account{AOR: "sip:r@pbx.example", Registrar: tlsReg, CAFile: unreadable}}
		if err := c.Validate(); !errors.Is(err, os.ErrPermission) {
			t.Fatalf("unreadable CA file: %v", err)
		}
	}
}
