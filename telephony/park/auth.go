package park

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// whyNotAllowed is the logged reason of a source outside the allowlist.
const whyNotAllowed = "source not allowed"

// Digest nonces (RFC 7616 §3.3, RFC 2617 §3.2.1).
const (
	// nonceLife is how long a nonce the service made is good for; an
	// older one gets a new challenge with stale=true.
	nonceLife = 30 * time.Second
	// maxNonceCounts bounds the nonce counts remembered: when a flood of
	// authenticated requests fills the table, the oldest entries are
	// dropped and every nonce issued up to them is taken as stale.
	maxNonceCounts = 4096
)

// guard decides whether a request's source may use the service: the
// allowlist, then digest authentication (qop=auth, MD5) of requests
// outside a dialog when a password is set.
type guard struct {
	allow    []netip.Prefix
	user     string
	password string
	realm    string
	secret   [32]byte

	mu     sync.Mutex
	counts map[string]nonceCount // highest nc taken per nonce, until it expires
	floor  time.Time             // nonces issued up to here lost their count: stale
	swept  time.Time             // when counts was last rid of expired nonces
}

// nonceCount is the highest nonce count taken with one nonce.
type nonceCount struct {
	nc     int
	issued time.Time
}

func newGuard(allow []netip.Prefix, user, password, realm string) *guard {
	g := &guard{allow: allow, user: user, password: password, realm: realm, counts: make(map[string]nonceCount)}
	_, _ = rand.Read(g.secret[:])
	return g
}

func (g *guard) allowed(source string) bool {
	a, ok := sourceAddr(source)
	if !ok {
		return false
	}
	for _, p := range g.allow {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// sourceAddr is the IP address of a request's source (host:port).
func sourceAddr(source string) (netip.Addr, bool) {
	ap, err := netip.ParseAddrPort(source)
	if err != nil {
		return netip.Addr{}, false
	}
	return ap.Addr().Unmap(), true
}

// nonce is the issue time (Unix milliseconds) and 64 random bits, signed
// with the guard's secret: nonces are checked without a table, and no two
// challenges share one, so every client's first nonce count (1) is new.
func (g *guard) nonce(now time.Time) string {
	var r [8]byte
	_, _ = rand.Read(r[:])
	body := strconv.FormatInt(now.UnixMilli(), 16) + "." + hex.EncodeToString(r[:])
	return body + "." + g.sign(body)
}

func (g *guard) sign(body string) string {
	m := hmac.New(sha256.New, g.secret[:])
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// nonceIssued is when the guard made nonce n; false if it did not.
func (g *guard) nonceIssued(n string) (time.Time, bool) {
	i := strings.LastIndexByte(n, '.')
	if i < 0 || !hmac.Equal([]byte(g.sign(n[:i])), []byte(n[i+1:])) {
		return time.Time{}, false
	}
	ts, _, _ := strings.Cut(n, ".")
	ms, err := strconv.ParseInt(ts, 16, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(ms), true
}

// verdict is the guard's answer to one request: code 0 admits it, else
// the status to answer with, X-Park-Reason: not-allowed in any case.
type verdict struct {
	code      int
	why       string     // logged as a refusal, and the 403's Warning; "" for a plain challenge
	challenge sip.Header // WWW-Authenticate of a 401
	kv        []any      // more to log
}

func refusal(why string, kv ...any) verdict {
	return verdict{code: sip.StatusForbidden, why: why, kv: kv}
}

// check is judge now, as the status to answer (0: admitted) and the
// challenge of a 401.
func (g *guard) check(req *sip.Request) (int, sip.Header) {
	v := g.judge(req, time.Now())
	return v.code, v.challenge
}

// judge admits req at now or says how to answer it.
func (g *guard) judge(req *sip.Request, now time.Time) verdict {
	if !g.allowed(req.Source()) {
		return refusal(whyNotAllowed)
	}
	if g.password == "" {
		return verdict{}
	}
	h := req.GetHeader("Authorization")
	if h == nil {
		return g.challenge(now, false, "")
	}
	cred, err := digest.ParseCredentials(h.Value())
	if err != nil {
		return refusal("malformed digest credentials")
	}
	if subtle.ConstantTimeCompare([]byte(cred.Username), []byte(g.user)) != 1 || cred.Realm != g.realm {
		return refusal("unknown digest user or realm")
	}
	if alg := strings.ToUpper(cred.Algorithm); alg != "" && alg != "MD5" {
		return refusal("digest algorithm not offered")
	}
	if cred.QOP != "auth" || cred.Cnonce == "" || cred.Nc < 1 {
		return refusal("digest without qop=auth")
	}
	issued, ok := g.nonceIssued(cred.Nonce)
	if !ok {
		// Not ours (or made before a restart): challenge afresh.
		return g.challenge(now, false, "")
	}
	if age := now.Sub(issued); age < 0 || age > nonceLife {
		return g.challenge(now, true, "")
	}
	if !sameResource(cred.URI, &req.Recipient) {
		return refusal("digest uri does not match the Request-URI", "digest_uri", cred.URI, "request_uri", req.Recipient.String())
	}
	want, err := digest.Digest(&digest.Challenge{Realm: g.realm, Nonce: cred.Nonce, Algorithm: cred.Algorithm, QOP: []string{"auth"}},
		digest.Options{Method: string(req.Method), URI: cred.URI, Username: g.user, Password: g.password, Cnonce: cred.Cnonce, Count: cred.Nc})
	if err != nil || subtle.ConstantTimeCompare([]byte(want.Response), []byte(cred.Response)) != 1 {
		return refusal("wrong digest credentials")
	}
	if !g.countUp(cred.Nonce, issued, cred.Nc, now) {
		return g.challenge(now, true, "digest nonce count did not grow (a replay)")
	}
	return verdict{}
}

// challenge is a 401 with a new nonce; why, when set, logs it as a
// refusal.
func (g *guard) challenge(now time.Time, stale bool, why string) verdict {
	chal := digest.Challenge{Realm: g.realm, Nonce: g.nonce(now), Algorithm: "MD5", QOP: []string{"auth"}, Stale: stale}
	return verdict{code: sip.StatusUnauthorized, why: why, challenge: sip.NewHeader("WWW-Authenticate", chal.String())}
}

// countUp takes nonce count nc for nonce (issued then) if it is higher
// than every count taken with that nonce before: a replayed request, or
// one whose count was forgotten, is not taken.
func (g *guard) countUp(nonce string, issued time.Time, nc int, now time.Time) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !issued.After(g.floor) {
		return false
	}
	if c, ok := g.counts[nonce]; ok {
		if nc <= c.nc {
			return false
		}
		g.counts[nonce] = nonceCount{nc: nc, issued: issued}
		return true
	}
	if now.Sub(g.swept) > nonceLife || len(g.counts) >= maxNonceCounts {
		g.swept = now
		for n, c := range g.counts {
			if now.Sub(c.issued) > nonceLife {
				delete(g.counts, n)
			}
		}
	}
	for len(g.counts) >= maxNonceCounts {
		oldest := ""
		for n, c := range g.counts {
			if oldest == "" || c.issued.Before(g.counts[oldest].issued) {
				oldest = n
			}
		}
		if t := g.counts[oldest].issued; t.After(g.floor) {
			g.floor = t
		}
		delete(g.counts, oldest)
	}
	if !issued.After(g.floor) {
		return false
	}
	g.counts[nonce] = nonceCount{nc: nc, issued: issued}
	return true
}

// sameResource says whether a digest uri names the Request-URI r (RFC
// 7616 §3.4.6): same scheme, user, host and port, and, when the uri
// carries parameters or headers, the same ones. sipgo's clients sign the
// Request-URI without its parameters.
func sameResource(uri string, r *sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return false
	}
	scheme := func(x *sip.Uri) string {
		if x.Scheme == "" {
			return "sip"
		}
		return strings.ToLower(x.Scheme)
	}
	if scheme(&u) != scheme(r) || u.User != r.User || u.Password != r.Password ||
		!strings.EqualFold(u.Host, r.Host) || u.Port != r.Port {
		return false
	}
	if len(u.UriParams) == 0 && len(u.Headers) == 0 {
		return true
	}
	return sameParams(u.UriParams, r.UriParams) && sameParams(u.Headers, r.Headers)
}

func sameParams(a, b sip.HeaderParams) bool {
	if len(a) != len(b) {
		return false
	}
	for _, kv := range a {
		if v, ok := b.Get(kv.K); !ok || v != kv.V {
			return false
		}
	}
	return true
}

// admitInDialog applies the allowlist to a request inside one of the
// service's dialogs, l (nil when it names none): a source outside the
// allowlist is refused unless it is l's own remote peer. Digest is not
// asked inside a dialog (clients do not sign in-dialog requests).
// false means answered (a refused ACK is dropped).
func (s *Service) admitInDialog(req *sip.Request, tx sip.ServerTransaction, l *sipLeg) bool {
	if s.guard.allowed(req.Source()) || (l != nil && l.fromPeer(req.Source())) {
		return true
	}
	s.refuse(req, tx, refusal(whyNotAllowed))
	return false
}

// admitAny applies the allowlist to a request in a dialog or not: one
// naming a dialog of the service is admitted from that dialog's peer.
func (s *Service) admitAny(req *sip.Request, tx sip.ServerTransaction) bool {
	if s.guard.allowed(req.Source()) {
		return true
	}
	return s.admitInDialog(req, tx, s.lookupInDialog(req))
}

// peerAddrs are the addresses a leg's remote peer sends from: where its
// INVITE (or, for a leg the service called, its answer) came from, its
// Contact, and the proxies on its Record-Route. Hosts that are names,
// not IP addresses, are left out (no DNS on the request path).
func peerAddrs(l *sipLeg) peerSet {
	var out peerSet
	add := func(a netip.Addr) {
		if a.IsValid() && !slices.Contains(out, a.Unmap()) {
			out = append(out, a.Unmap())
		}
	}
	var m sip.Message
	switch uas := l.dialog(); {
	case uas != nil && uas.InviteRequest != nil:
		m = uas.InviteRequest
		if a, ok := sourceAddr(uas.InviteRequest.Source()); ok {
			add(a)
		}
	case l.uac != nil && l.uac.InviteResponse != nil:
		m = l.uac.InviteResponse
		if a, ok := sourceAddr(l.uac.InviteResponse.Source()); ok {
			add(a)
		}
	default:
		return nil
	}
	for _, name := range []string{"Contact", "Record-Route"} {
		for _, h := range m.GetHeaders(name) {
			for _, v := range strings.Split(h.Value(), ",") {
				var u sip.Uri
				if err := sip.ParseUri(uriFromHeader(v), &u); err != nil {
					continue
				}
				if a, err := netip.ParseAddr(strings.Trim(u.Host, "[]")); err == nil {
					add(a)
				}
			}
		}
	}
	return out
}

// peerSet is the addresses of a leg's remote peer.
type peerSet []netip.Addr

// fromPeer says whether source (host:port) is l's remote peer.
func (l *sipLeg) fromPeer(source string) bool {
	a, ok := sourceAddr(source)
	if !ok {
		return false
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Contains(l.peers, a)
}

// refuse answers req as v says (an ACK gets no answer) with
// X-Park-Reason: not-allowed, and logs it with its source when it is a
// refusal rather than a first challenge, at most once per source host
// a minute (sipgate.LogLimiter).
// extra headers go on the answer too.
func (s *Service) refuse(req *sip.Request, tx sip.ServerTransaction, v verdict, extra ...sip.Header) {
	if v.why != "" {
		if ok, unlogged := s.refusalLog.Allow(req.Source()); ok {
			kv := append([]any{"reason", v.why, "source", req.Source(), "method", string(req.Method)}, v.kv...)
			if unlogged > 0 {
				kv = append(kv, "unlogged_since_last", unlogged)
			}
			s.event("refused", nil, kv...)
		}
	}
	if req.Method == sip.ACK {
		return
	}
	hdrs := []sip.Header{ReasonNotAllowed.header()}
	text := "Forbidden"
	if v.code == sip.StatusUnauthorized {
		text = "Unauthorized"
		hdrs = append(hdrs, v.challenge)
	} else if v.why != "" {
		hdrs = append(hdrs, sip.NewHeader("Warning", `399 park "`+v.why+`"`))
	}
	s.reply(req, tx, v.code, text, append(hdrs, extra...)...)
}

// sameToken compares a retrieve's token with a parked call's in
// constant time: the token is the safe retrieve's secret.
func sameToken(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
