package telephony

import (
	"net/url"
	"strings"
)

// SameParty reports whether two SIP addresses name the same user at the
// same host, whatever their schemes (sip:, sips:), ports, passwords,
// parameters, headers and display names: `"Bob" <sip:bob@pbx:5060>`
// and sips:bob@PBX;transport=tls are the same party, and so are sip:pbx
// and sip:pbx:5060 (no user at one host). User parts compare exactly
// once unescaped, hosts without regard to case. An address without a
// host ("", sip:bob@, a tel: URI) is nobody's: the same as no other.
func SameParty(a, b string) bool {
	ua, ha := party(a)
	ub, hb := party(b)
	return ha != "" && ua == ub && strings.EqualFold(ha, hb)
}

// party splits a SIP address into its user and host parts, without the
// password, port, parameters or headers. The user part is unescaped.
func party(uri string) (user, host string) {
	s := strings.TrimSpace(uri)
	if i := strings.IndexByte(s, '<'); i >= 0 {
		s = strings.TrimSuffix(s[i+1:], ">")
	}
	schemed := false
	for _, scheme := range []string{"sip:", "sips:"} {
		if rest, ok := strings.CutPrefix(s, scheme); ok {
			s, schemed = rest, true
		}
	}
	// Only the user part may hold ';' or '?'; nothing after it holds '@'.
	user, host, ok := strings.Cut(s, "@")
	switch {
	case !ok && !schemed:
		return "", "" // no SIP address: "pbx", tel:+15551234
	case !ok:
		user, host = "", s // sip:pbx
	}
	user, _, _ = strings.Cut(user, ":") // user:password
	if u, err := url.PathUnescape(user); err == nil {
		user = u
	}
	if i := strings.IndexAny(host, ";?>"); i >= 0 {
		host = host[:i]
	}
	if strings.HasPrefix(host, "[") {
		if i := strings.IndexByte(host, ']'); i >= 0 {
			return user, host[:i+1]
		}
		return user, host
	}
	host, _, _ = strings.Cut(host, ":")
	return user, host
}
