package park

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// ParseAllow parses a comma-separated list of CIDRs or bare addresses.
func ParseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if !strings.Contains(f, "/") {
			a, err := netip.ParseAddr(f)
			if err != nil {
				return nil, fmt.Errorf("allow %q: not a CIDR or address", f)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("allow %q: not a CIDR: %w", f, err)
		}
		out = append(out, p.Masked())
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("allow %q: no CIDR given", s)
	}
	return out, nil
}

// DefaultAllow is the loopback ranges, IPv4 and IPv6.
func DefaultAllow() []netip.Prefix {
	return []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
}

// guard decides whether a request's source may use the service.
type guard struct {
	allow    []netip.Prefix
	user     string
	password string
	realm    string
	secret   [32]byte
}

func newGuard(allow []netip.Prefix, user, password, realm string) *guard {
	g := &guard{allow: allow, user: user, password: password, realm: realm}
	_, _ = rand.Read(g.secret[:])
	return g
}

func (g *guard) allowed(source string) bool {
	ap, err := netip.ParseAddrPort(source)
	if err != nil {
		return false
	}
	a := ap.Addr().Unmap()
	for _, p := range g.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// nonce is a timestamp signed with the guard's secret, so no nonce table
// is kept: any nonce we made in the last five minutes verifies.
func (g *guard) nonce(now time.Time) string {
	return g.nonceAt(strconv.FormatInt(now.Unix(), 16))
}

func (g *guard) nonceFresh(n string, now time.Time) bool {
	ts, _, ok := strings.Cut(n, ".")
	if !ok || !hmac.Equal([]byte(g.nonceAt(ts)), []byte(n)) {
		return false
	}
	sec, err := strconv.ParseInt(ts, 16, 64)
	if err != nil {
		return false
	}
	age := now.Sub(time.Unix(sec, 0))
	return age >= -time.Minute && age <= 5*time.Minute
}

func (g *guard) nonceAt(ts string) string {
	m := hmac.New(sha256.New, g.secret[:])
	m.Write([]byte(ts))
	return ts + "." + hex.EncodeToString(m.Sum(nil)[:12])
}

// check returns 0 when req may proceed, else the status to answer with
// and, for 401, the challenge header.
func (g *guard) check(req *sip.Request) (int, sip.Header) {
	if !g.allowed(req.Source()) {
		return sip.StatusForbidden, nil
	}
	if g.password == "" {
		return 0, nil
	}
	now := time.Now()
	challenge := func(stale bool) (int, sip.Header) {
		chal := digest.Challenge{Realm: g.realm, Nonce: g.nonce(now), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
		return sip.StatusUnauthorized, sip.NewHeader("WWW-Authenticate", chal.String())
	}
	h := req.GetHeader("Authorization")
	if h == nil {
		return challenge(false)
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil || cred.Username != g.user || cred.Realm != g.realm {
		return sip.StatusForbidden, nil
	}
	if !g.nonceFresh(cred.Nonce, now) {
		return challenge(true)
	}
	var qop []string
	if cred.QOP != "" {
		qop = []string{cred.QOP}
	}
	want, err := digest.Digest(&digest.Challenge{Realm: g.realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, Opaque: cred.Opaque, QOP: qop},
		digest.Options{Method: string(req.Method), URI: cred.URI, Username: g.user, Password: g.password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil || subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) != 1 {
		return sip.StatusForbidden, nil
	}
	return 0, nil
}
