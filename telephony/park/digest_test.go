package park

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"
)

// digestRequest is an INVITE for uri from 127.0.0.1, signed with a
// challenge's nonce, count nc, for signedURI (the digest uri).
func digestRequest(t *testing.T, uri, signedURI, nonce string, nc int, password string) *sip.Request {
	t.Helper()
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.INVITE, u)
	req.SetSource("127.0.0.1:5000")
	chal := &digest.Challenge{Realm: "realm", Nonce: nonce, Algorithm: "MD5", QOP: []string{"auth"}}
	cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: signedURI, Username: "park", Password: password, Count: nc, Cnonce: "0a4f113b"})
	if err != nil {
		t.Fatal(err)
	}
	req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
	return req
}

// challengeOf parses a 401 verdict's challenge.
func challengeOf(t *testing.T, v verdict) *digest.Challenge {
	t.Helper()
	if v.code != sip.StatusUnauthorized || v.challenge == nil {
		t.Fatalf("verdict %+v, want a 401 challenge", v)
	}
	c, err := digest.ParseChallenge(v.challenge.Value())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// A nonce is good for nonceLife; after that the same credentials get a
// new challenge with stale=true, never a 403.
func TestDigestNonceExpires(t *testing.T) {
	g := newGuard(DefaultAllow(), "park", "pw", "realm")
	t0 := time.Now()
	n := g.nonce(t0)
	const uri = "sip:park@127.0.0.1:5070"
	if v := g.judge(digestRequest(t, uri, uri, n, 1, "pw"), t0.Add(nonceLife-time.Second)); v.code != 0 {
		t.Fatalf("a nonce used within its life: %+v", v)
	}
	if nonceLife > time.Minute {
		t.Fatalf("nonces live %v, more than a minute", nonceLife)
	}
	v := g.judge(digestRequest(t, uri, uri, n, 2, "pw"), t0.Add(nonceLife+time.Second))
	if c := challengeOf(t, v); !c.Stale || c.Nonce == n {
		t.Fatalf("an expired nonce: challenge %+v, want stale=true and a new nonce", c)
	}
	// A nonce from the future (the clock stepped back) is stale too.
	if c := challengeOf(t, g.judge(digestRequest(t, uri, uri, g.nonce(t0.Add(time.Hour)), 1, "pw"), t0)); !c.Stale {
		t.Fatalf("a nonce from the future: %+v, want stale", c)
	}
}

// Every challenge has its own nonce, even two in the same millisecond:
// two clients both answering with nc=1 are both admitted.
func TestDigestNoncesUnique(t *testing.T) {
	g := newGuard(DefaultAllow(), "park", "pw", "realm")
	now := time.Now()
	a, b := g.nonce(now), g.nonce(now)
	if a == b {
		t.Fatalf("two challenges share nonce %s", a)
	}
	const uri = "sip:park@h"
	for _, n := range []string{a, b} {
		if v := g.judge(digestRequest(t, uri, uri, n, 1, "pw"), now); v.code != 0 {
			t.Fatalf("nc=1 on nonce %s: %+v", n, v)
		}
	}
}

// The nonce count must grow: the same count again, or a lower one, is a
// replay (401 stale); a higher one on the same nonce is admitted.
func TestDigestNonceCountGrows(t *testing.T) {
	g := newGuard(DefaultAllow(), "park", "pw", "realm")
	now := time.Now()
	n := g.nonce(now)
	const uri = "sip:park@h"
	for _, tc := range []struct {
		nc    int
		admit bool
	}{{1, true}, {1, false}, {3, true}, {2, false}, {3, false}, {4, true}} {
		v := g.judge(digestRequest(t, uri, uri, n, tc.nc, "pw"), now)
		if tc.admit != (v.code == 0) {
			t.Fatalf("nc=%d: %+v, admitted want %v", tc.nc, v, tc.admit)
		}
		if !tc.admit {
			if c := challengeOf(t, v); !c.Stale || !strings.Contains(v.why, "replay") {
				t.Fatalf("nc=%d replayed: %+v %+v, want a stale challenge logged as a replay", tc.nc, c, v)
			}
		}
	}
}

// The digest uri must name the Request-URI; sipgo's form (without URI
// parameters) is accepted, other parameters or another user, host or
// port are refused as not allowed.
func TestDigestURIMustMatch(t *testing.T) {
	g := newGuard(DefaultAllow(), "park", "pw", "realm")
	now := time.Now()
	const ruri = "sip:701@127.0.0.1:5070;token=abc"
	for _, tc := range []struct {
		signed string
		ok     bool
	}{
		{ruri, true},
		{"sip:701@127.0.0.1:5070", true},
		{"SIP:701@127.0.0.1:5070;token=abc", true},
		{"sip:701@127.0.0.1:5070;token=xyz", false},
		{"sip:park-701@127.0.0.1:5070", false},
		{"sip:702@127.0.0.1:5070", false},
		{"sip:701@127.0.0.1:5071", false},
		{"sip:701@127.0.0.1", false},
		{"sip:701@127.0.0.2:5070", false},
		{"not a uri", false},
	} {
		v := g.judge(digestRequest(t, ruri, tc.signed, g.nonce(now), 1, "pw"), now)
		if tc.ok != (v.code == 0) {
			t.Errorf("uri %q for %s: %+v", tc.signed, ruri, v)
		}
		if !tc.ok && (v.code != sip.StatusForbidden || !strings.Contains(v.why, "uri")) {
			t.Errorf("uri %q for %s: %+v, want 403 naming the uri", tc.signed, ruri, v)
		}
	}
}

// Only qop=auth with MD5 is taken: credentials without qop (RFC 2069,
// no nonce count) are refused.
func TestDigestNeedsQopAuth(t *testing.T) {
	g := newGuard(DefaultAllow(), "park", "pw", "realm")
	now := time.Now()
	const uri = "sip:park@h"
	n := g.nonce(now)
	chal := &digest.Challenge{Realm: "realm", Nonce: n, Algorithm: "MD5"}
	cred, err := digest.Digest(chal, digest.Options{Method: "INVITE", URI: uri, Username: "park", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	req := digestRequest(t, uri, uri, n, 1, "pw")
	req.ReplaceHeader(sip.NewHeader("Authorization", cred.String()))
	if v := g.judge(req, now); v.code != sip.StatusForbidden {
		t.Fatalf("digest without qop: %+v, want 403", v)
	}
}

// The nonce counts are bounded: a flood of authenticated requests keeps
// at most maxNonceCounts, and a nonce whose count was dropped to make
// room is stale, never taken again as new.
func TestDigestNonceCountsBounded(t *testing.T) {
	g := newGuard(DefaultAllow(), "park", "pw", "realm")
	now := time.Now()
	first := g.nonce(now)
	if !g.countUp(first, now, 1, now) {
		t.Fatal("first count refused")
	}
	for i := 1; i <= maxNonceCounts+10; i++ {
		at := now.Add(time.Duration(i) * time.Millisecond)
		if !g.countUp(g.nonce(at), at, 1, now) {
			t.Fatalf("count %d refused", i)
		}
	}
	g.mu.Lock()
	n := len(g.counts)
	g.mu.Unlock()
	if n > maxNonceCounts {
		t.Fatalf("%d nonce counts kept, bound %d", n, maxNonceCounts)
	}
	if g.countUp(first, now, 2, now) {
		t.Fatal("a nonce whose count was dropped was taken again")
	}
	// Expired nonces leave the table at the next sweep.
	later := now.Add(nonceLife + time.Minute)
	if !g.countUp(g.nonce(later), later, 1, later) {
		t.Fatal("a fresh nonce refused after the flood")
	}
	g.mu.Lock()
	n = len(g.counts)
	g.mu.Unlock()
	if n != 1 {
		t.Fatalf("%d nonce counts kept after all but one expired", n)
	}
}

func TestSameToken(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{{"abc", "abc", true}, {"abc", "abd", false}, {"abc", "abcd", false}, {"", "", true}, {"abc", "", false}} {
		if got := sameToken(tc.a, tc.b); got != tc.want {
			t.Errorf("sameToken(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}
