package directory

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// testBase is the test directory's suffix.
const testBase = "dc=example,dc=com"

// The test directory's bind identities.
const (
	readerDN   = "cn=reader,dc=example,dc=com"
	readerPW   = "reader-secret"
	tlsOnlyDN  = "cn=tlsreader,dc=example,dc=com"
	tlsOnlyPW  = "tls-secret"
	nPeople    = 300 // inetOrgPerson entries under ou=People
	nADUsers   = 20  // Active Directory style user entries under ou=AD
	nDisabledA = 5   // of which disabled (userAccountControl 514)
	sizeLimit  = 100 // the server's size limit, below the total
)

// slapdServer is a running Debian slapd with the test directory.
type slapdServer struct {
	dir      string
	url      string // ldap://127.0.0.1:port
	ldapsURL string // ldaps://127.0.0.1:port
	caFile   string // the CA that signed the server's certificate
	otherCA  string // a CA that did not
	cmd      *exec.Cmd
	exited   chan struct{}
	stderr   bytes.Buffer
}

var (
	slapdOnce sync.Once
	slapd     *slapdServer
	slapdErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if slapd != nil {
		slapd.stop()
	}
	os.Exit(code)
}

// testSlapd returns the package's slapd, started at the first call. It
// skips the test when slapd is not installed, unless CI=true.
func testSlapd(t *testing.T) *slapdServer {
	t.Helper()
	for _, bin := range []string{"slapd", "slapadd"} {
		if _, err := os.Stat(slapdBin(bin)); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("directory: %s is not installed (apt-get install slapd ldap-utils), and CI=true", bin)
			}
			t.Skipf("directory: %s is not installed (apt-get install slapd ldap-utils)", bin)
		}
	}
	slapdOnce.Do(func() { slapd, slapdErr = startSlapd() })
	if slapdErr != nil {
		t.Fatalf("starting slapd: %v", slapdErr)
	}
	return slapd
}

func slapdBin(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return "/usr/sbin/" + name
}

// freePort is a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func startSlapd() (_ *slapdServer, err error) {
	dir, err := os.MkdirTemp("", "directory-slapd-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	s := &slapdServer{dir: dir, exited: make(chan struct{})}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		return nil, err
	}
	s.caFile = filepath.Join(dir, "ca.pem")
	s.otherCA = filepath.Join(dir, "other-ca.pem")
	if err := writeTestPKI(dir, s.caFile, s.otherCA); err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(slapdConf(dir)), 0o600); err != nil {
		return nil, err
	}
	ldif := filepath.Join(dir, "people.ldif")
	if err := os.WriteFile(ldif, []byte(testLDIF()), 0o600); err != nil {
		return nil, err
	}
	// -s: the Active Directory users carry only what a console reads, not
	// every attribute msuser.schema requires (security descriptors...).
	if out, err := exec.Command(slapdBin("slapadd"), "-s", "-f", conf, "-l", ldif).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("slapadd: %w: %s", err, out)
	}
	p1, err := freePort()
	if err != nil {
		return nil, err
	}
	p2, err := freePort()
	if err != nil {
		return nil, err
	}
	s.url = fmt.Sprintf("ldap://127.0.0.1:%d", p1)
	s.ldapsURL = fmt.Sprintf("ldaps://127.0.0.1:%d", p2)
	// -d keeps slapd in the foreground, a child this process stops.
	s.cmd = exec.Command(slapdBin("slapd"), "-f", conf, "-h", s.url+"/ "+s.ldapsURL+"/", "-d", "0")
	s.cmd.Stderr = &s.stderr
	s.cmd.Stdout = &s.stderr
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("slapd: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for _, addr := range []string{fmt.Sprintf("127.0.0.1:%d", p1), fmt.Sprintf("127.0.0.1:%d", p2)} {
		for {
			c, err := net.DialTimeout("tcp", addr, time.Second)
			if err == nil {
				c.Close()
				break
			}
			select {
			case <-s.exited:
				return nil, fmt.Errorf("slapd exited: %s", s.stderr.String())
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				s.stop()
				return nil, fmt.Errorf("slapd does not listen on %s after 30 s: %s", addr, s.stderr.String())
			}
		}
	}
	return s, nil
}

func (s *slapdServer) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	os.RemoveAll(s.dir)
}

func slapdConf(dir string) string {
	return strings.ReplaceAll(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
include /etc/ldap/schema/msuser.schema
# Skype for Business's SIP address attribute, on an auxiliary class
# that also allows what the test's Active Directory users carry.
attributetype ( 1.3.6.1.4.1.32473.1.1 NAME 'msRTCSIP-PrimaryUserAddress'
	EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch
	SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
objectclass ( 1.3.6.1.4.1.32473.2.1 NAME 'switchboardTestSIPUser' AUXILIARY
	MAY ( msRTCSIP-PrimaryUserAddress $ ipPhone $ department $ objectCategory $ userAccountControl $ displayName $ telephoneNumber ) )
pidfile DIR/slapd.pid
argsfile DIR/slapd.args
modulepath /usr/lib/ldap
moduleload back_mdb
TLSCACertificateFile DIR/ca.pem
TLSCertificateFile DIR/server.pem
TLSCertificateKeyFile DIR/server.key

database mdb
maxsize 104857600
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw admin-secret
directory DIR/db
# Below the directory's size, so that only a paged search reads it all.
sizelimit size.soft=100 size.hard=100 size.prtotal=unlimited
access to attrs=userPassword
	by anonymous auth
	by * none
# The TLS-only reader reads people only over TLS (proves StartTLS ran).
access to dn.subtree="dc=example,dc=com"
	by dn.exact="cn=tlsreader,dc=example,dc=com" ssf=128 read
	by dn.exact="cn=tlsreader,dc=example,dc=com" none
	by * read
`, "DIR", dir)
}

// ldifValue writes attr: value, base64 when value is not plain ASCII.
func ldifValue(b *strings.Builder, attr, value string) {
	plain := utf8.ValidString(value)
	for i := 0; i < len(value); i++ {
		if value[i] >= 0x80 {
			plain = false
		}
	}
	if plain {
		fmt.Fprintf(b, "%s: %s\n", attr, value)
	} else {
		fmt.Fprintf(b, "%s:: %s\n", attr, base64.StdEncoding.EncodeToString([]byte(value)))
	}
}

var (
	testFirst = []string{"Eva", "Bob", "Jürgen", "Søren", "Zoë", "Anna", "Łukasz", "François", "Mia", "Ólafur", "Priya", "José"}
	testLast  = []string{"Novák", "Chen", "Groß", "Ørsted", "Dvořák", "Smith", "Kowalski", "Müller", "Lee", "García", "Nakamura", "O'Brien", "Petrović", "Okafor", "Brontë", "Ivanova", "Ahmed", "Walsh", "Rossi", "Kim", "Silva", "Berg", "Costa", "Hughes", "Novak"}
	testDept  = []string{"Accounts", "Sales", "Support", "Logistics", "Geschäftsführung", "Marketing"}
)

// testPerson is the i-th generated person: full name, extension, mobile,
// department.
func testPerson(i int) (name, ext, mobile, dept string) {
	name = testFirst[i%len(testFirst)] + " " + testLast[(i/len(testFirst))%len(testLast)]
	return name, fmt.Sprintf("%d", 2000+i), fmt.Sprintf("+44 7700 %06d", i), testDept[i%len(testDept)]
}

func testLDIF() string {
	var b strings.Builder
	b.WriteString("dn: dc=example,dc=com\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n")
	b.WriteString("dn: ou=People,dc=example,dc=com\nobjectClass: organizationalUnit\nou: People\n\n")
	b.WriteString("dn: ou=AD,dc=example,dc=com\nobjectClass: organizationalUnit\nou: AD\n\n")
	for _, r := range []struct{ dn, cn, pw string }{{readerDN, "reader", readerPW}, {tlsOnlyDN, "tlsreader", tlsOnlyPW}} {
		fmt.Fprintf(&b, "dn: %s\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: %s\nuserPassword: %s\n\n", r.dn, r.cn, r.pw)
	}
	for i := 0; i < nPeople; i++ {
		name, ext, mobile, dept := testPerson(i)
		fmt.Fprintf(&b, "dn: uid=p%d,ou=People,dc=example,dc=com\nobjectClass: inetOrgPerson\nuid: p%d\n", i, i)
		ldifValue(&b, "cn", name)
		ldifValue(&b, "sn", strings.Fields(name)[1])
		if i%3 == 0 {
			ldifValue(&b, "displayName", name+" (display)")
		}
		fmt.Fprintf(&b, "telephoneNumber: %s\nmobile: %s\nmail: p%d@example.com\n", ext, mobile, i)
		ldifValue(&b, "ou", dept)
		b.WriteString("\n")
	}
	for i := 0; i < nADUsers; i++ {
		uac := 512
		if i < nDisabledA {
			uac = 514
		}
		fmt.Fprintf(&b, "dn: cn=ad%d,ou=AD,dc=example,dc=com\nobjectClass: user\nobjectClass: switchboardTestSIPUser\ncn: ad%d\n", i, i)
		ldifValue(&b, "displayName", fmt.Sprintf("Ádám Doe %d", i))
		fmt.Fprintf(&b, "userAccountControl: %d\nipPhone: %d\ntelephoneNumber: +44 20 7946 %04d\ndepartment: Facilities\nmsRTCSIP-PrimaryUserAddress: sip:ad%d@pbx.example\n\n", uac, 5000+i, i, i)
	}
	return b.String()
}

// writeTestPKI writes a test CA, a server certificate it signs for
// 127.0.0.1, and a second CA that signs nothing.
func writeTestPKI(dir, caFile, otherCA string) error {
	newCA := func(cn string) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, nil, nil, err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
		if err != nil {
			return nil, nil, nil, err
		}
		cert, err := x509.ParseCertificate(der)
		return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), err
	}
	ca, caKey, caPEM, err := newCA("directory test CA")
	if err != nil {
		return err
	}
	_, _, otherPEM, err := newCA("another CA")
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	for path, data := range map[string][]byte{
		caFile:                           caPEM,
		otherCA:                          otherPEM,
		filepath.Join(dir, "server.pem"): pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		filepath.Join(dir, "server.key"): pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			return err
		}
	}
	return nil
}
