package badsip

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
)

// hdr is one header line of a template; an empty name writes value as
// the raw line.
type hdr struct{ name, value string }

// tmpl is a request to mutate.
type tmpl struct {
	name    string
	method  string // as written in the request line
	ruri    string
	version string
	hdrs    []hdr
	body    string
	// cl is the Content-Length written: "" the body's length, "-" no
	// header at all, else written as is.
	cl string
}

func (t tmpl) clone() tmpl {
	t.hdrs = slices.Clone(t.hdrs)
	return t
}

func (t tmpl) isAck() bool { return t.method == "ACK" }

// bytes renders the request.
func (t tmpl) bytes() []byte {
	var b strings.Builder
	b.WriteString(t.method + " " + t.ruri + " " + t.version + "\r\n")
	for _, h := range t.hdrs {
		if h.name == "" {
			b.WriteString(h.value + "\r\n")
			continue
		}
		b.WriteString(h.name + ": " + h.value + "\r\n")
	}
	switch t.cl {
	case "":
		b.WriteString("Content-Length: " + strconv.Itoa(len(t.body)) + "\r\n")
	case "-":
	default:
		b.WriteString("Content-Length: " + t.cl + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(t.body)
	return []byte(b.String())
}

func (t tmpl) index(name string) int {
	return slices.IndexFunc(t.hdrs, func(h hdr) bool { return strings.EqualFold(h.name, name) })
}

// without removes every header called name.
func (t tmpl) without(name string) tmpl {
	t = t.clone()
	t.hdrs = slices.DeleteFunc(t.hdrs, func(h hdr) bool { return strings.EqualFold(h.name, name) })
	return t
}

// set replaces the value of header name (adds it when absent).
func (t tmpl) set(name, value string) tmpl {
	t = t.clone()
	if i := t.index(name); i >= 0 {
		t.hdrs[i].value = value
		return t
	}
	t.hdrs = append(t.hdrs, hdr{name, value})
	return t
}

// rename writes header name as written (its case, a compact form).
func (t tmpl) rename(name, written string) tmpl {
	t = t.clone()
	if i := t.index(name); i >= 0 {
		t.hdrs[i].name = written
	}
	return t
}

// after inserts h right after header name (at the end when absent).
func (t tmpl) after(name string, hs ...hdr) tmpl {
	t = t.clone()
	i := t.index(name)
	if i < 0 {
		t.hdrs = append(t.hdrs, hs...)
		return t
	}
	t.hdrs = slices.Insert(t.hdrs, i+1, hs...)
	return t
}

func (t tmpl) value(name string) string {
	if i := t.index(name); i >= 0 {
		return t.hdrs[i].value
	}
	return ""
}

func (t tmpl) withBody(ctype, body string) tmpl {
	t = t.without("Content-Type")
	t.body = body
	if ctype != "" {
		t.hdrs = append(t.hdrs, hdr{"Content-Type", ctype})
	}
	return t
}

// The SDP of the templates: audio to the discard port of loopback, so a
// service that plays music to it bothers nobody.
const goodSDP = "v=0\r\no=badsip 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
	"m=audio 9 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=sendrecv\r\n"

const dialogInfo = `<?xml version="1.0"?>` + "\r\n" +
	`<dialog-info xmlns="urn:ietf:params:xml:ns:dialog-info" version="0" state="full" entity="sip:704@127.0.0.1">` +
	`<dialog id="704"><state>confirmed</state></dialog></dialog-info>` + "\r\n"

// base is a request of method to ruri with the mandatory headers;
// dialog adds a To tag (an in-dialog request, of a dialog nobody has).
func base(name, method, ruri string, dialog bool) tmpl {
	to := "<" + ruri + ">"
	if dialog {
		to += ";tag=badsipnosuchdialog"
	}
	return tmpl{
		name: name, method: method, ruri: ruri, version: "SIP/2.0",
		hdrs: []hdr{
			{"Via", "SIP/2.0/{transport} {local};branch=z9hG4bK{branch};rport"},
			{"Max-Forwards", "70"},
			{"From", `"Bad Sip" <sip:badsip@{local}>;tag={tag}`},
			{"To", to},
			{"Call-ID", "{callid}"},
			{"CSeq", "1 " + method},
		},
	}
}

var contact = hdr{"Contact", "<sip:badsip@{local};transport={ltransport}>"}

// templates are the valid requests the corpus mutates, one per kind a
// park service or a console meets.
func templates() []tmpl {
	invite := func(name, user string) tmpl {
		t := base(name, "INVITE", "sip:"+user+"@{hostport}", false)
		t.hdrs = append(t.hdrs, contact, hdr{"Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, NOTIFY, REFER, INFO"})
		return t.withBody("application/sdp", goodSDP)
	}
	sub := base("subscribe-dialog", "SUBSCRIBE", "sip:704@{hostport}", false)
	sub.hdrs = append(sub.hdrs, contact, hdr{"Event", "dialog"}, hdr{"Accept", "application/dialog-info+xml"}, hdr{"Expires", "0"})

	nd := base("notify-dialog", "NOTIFY", "sip:badsip@{hostport}", true)
	nd.hdrs = append(nd.hdrs, contact, hdr{"Event", "dialog"}, hdr{"Subscription-State", "active;expires=600"})
	nd = nd.withBody("application/dialog-info+xml", dialogInfo)

	nr := base("notify-refer", "NOTIFY", "sip:badsip@{hostport}", true)
	nr.hdrs = append(nr.hdrs, contact, hdr{"Event", "refer"}, hdr{"Subscription-State", "terminated;reason=noresource"})
	nr = nr.withBody("message/sipfrag;version=2.0", "SIP/2.0 200 OK\r\n")

	info := base("info", "INFO", "sip:badsip@{hostport}", true)
	info = info.withBody("application/dtmf-relay", "Signal=5\r\nDuration=160\r\n")

	refer := base("refer", "REFER", "sip:park@{hostport}", false)
	refer.hdrs = append(refer.hdrs, contact, hdr{"Refer-To", "<sip:park-705@127.0.0.1:9>"},
		hdr{"Referred-By", "<sip:badsip@{local}>"})

	opts := base("options", "OPTIONS", "sip:park@{hostport}", false)
	opts.hdrs = append(opts.hdrs, hdr{"Accept", "application/sdp"})

	reg := base("register", "REGISTER", "sip:{hostport}", false)
	reg = reg.set("To", `"Bad Sip" <sip:badsip@{hostport}>`)
	reg.hdrs = append(reg.hdrs, contact, hdr{"Expires", "60"})

	msg := base("message", "MESSAGE", "sip:park@{hostport}", false)
	msg = msg.withBody("text/plain;charset=utf-8", "hello from badsip\r\n")

	return []tmpl{
		invite("invite-park", "park"),
		invite("invite-park-702", "park-702"),
		invite("invite-retrieve-703", "703"),
		sub, nd, nr,
		base("bye", "BYE", "sip:badsip@{hostport}", true),
		base("ack", "ACK", "sip:badsip@{hostport}", true),
		base("cancel", "CANCEL", "sip:park@{hostport}", false),
		info, refer, opts, reg, msg,
	}
}

// gen collects the cases.
type gen struct {
	cases []Case
	seen  map[string]bool
}

// add records one case; class is its class on both transports unless
// tcp is given.
func (g *gen) add(name string, data []byte, udp Class, note string, tcp Class, want ...string) {
	if g.seen[name] {
		panic("badsip: two cases named " + name)
	}
	g.seen[name] = true
	if tcp == "" {
		tcp = udp
	}
	if len(data) > maxDatagram {
		udp = Skip
	}
	g.cases = append(g.cases, Case{Name: name, Data: data, UDP: udp, TCP: tcp, Want: want, Note: note})
}

// maxDatagram is about the most a UDP datagram on IPv4 carries once the
// placeholders are filled.
const maxDatagram = 65000

// req adds a mutated template: class applies to both transports, and
// an ACK is never answered.
func (g *gen) req(t tmpl, suffix string, class Class, note string, want ...string) {
	g.reqT(t, suffix, class, class, note, want...)
}

func (g *gen) reqT(t tmpl, suffix string, udp, tcp Class, note string, want ...string) {
	if t.isAck() {
		udp, tcp, want = Any, Any, nil
	}
	name := t.name
	if suffix != "" {
		name += "-" + suffix
	}
	g.add(name, t.bytes(), udp, note, tcp, want...)
}

// mandatory are the headers every request needs (RFC 3261 §8.1.1).
var mandatory = []string{"Via", "From", "To", "Call-ID", "CSeq", "Max-Forwards"}

// Generate makes the corpus.
func Generate() []Case {
	g := &gen{seen: map[string]bool{}}
	rng := rand.New(rand.NewPCG(10, 2026))
	ts := templates()
	byName := map[string]tmpl{}
	for _, t := range ts {
		byName[t.name] = t
	}
	invite := byName["invite-park"]

	// The templates themselves: a service must answer each.
	for _, t := range ts {
		g.req(t, "valid", Reply, "the valid template")
	}

	// Each mandatory header missing, in every template.
	for _, t := range ts {
		for _, h := range mandatory {
			g.req(t.without(h), "missing-"+strings.ToLower(h), Refuse, "no "+h+" header", "400")
		}
	}

	// Duplicated and empty, in the templates a peer most often sends.
	common := []string{"invite-park", "subscribe-dialog", "notify-dialog", "notify-refer", "bye", "info", "refer", "options"}
	for _, name := range common {
		t := byName[name]
		for _, h := range mandatory {
			lh := strings.ToLower(h)
			dupVal := map[string]string{
				"Via":          "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKsecondhop",
				"From":         "<sip:other@192.0.2.1>;tag=other",
				"To":           "<sip:other@192.0.2.1>",
				"Call-ID":      "second-call-id@192.0.2.1",
				"CSeq":         "2 " + t.method,
				"Max-Forwards": "69",
			}[h]
			if h == "Via" {
				// A second Via is a second hop: legal.
				g.req(t.after(h, hdr{h, dupVal}), "dup-via", Reply, "two Via headers (a proxy's)")
			} else {
				g.req(t.after(h, hdr{h, dupVal}), "dup-"+lh, Refuse, "two different "+h+" headers", "400")
			}
			g.req(t.set(h, ""), "empty-"+lh, Refuse, "an empty "+h+" header", "400")
		}
		g.req(t.after("CSeq", hdr{"Content-Length", strconv.Itoa(len(t.body) + 7)}), "dup-content-length",
			Refuse, "two Content-Length headers that disagree", "400")
	}

	// Huge mandatory headers (over 64 KiB: more than a datagram, more
	// than the stream transports' message bound) in INVITE and SUBSCRIBE.
	huge := strings.Repeat("a", 70*1024)
	for _, name := range []string{"invite-park", "subscribe-dialog"} {
		t := byName[name]
		for _, h := range mandatory {
			var v string
			switch h {
			case "Via":
				v = "SIP/2.0/{transport} {local};branch=z9hG4bK{branch};rport;x=" + huge
			case "From":
				v = `"` + huge + `" <sip:badsip@{local}>;tag={tag}`
			case "To":
				v = `"` + huge + `" ` + t.value("To")
			case "Call-ID":
				v = huge
			case "CSeq":
				v = "1" + strings.Repeat("0", 70*1024) + " " + t.method
			case "Max-Forwards":
				v = strings.Repeat("7", 70*1024)
			}
			g.req(t.set(h, v), "huge-"+strings.ToLower(h), Refuse, "a 70 KiB "+h+" header", "400", "413", "513")
		}
	}
	// Big but under the bound: a 40 KiB display name. The answer copies
	// it, so it is larger than an MTU.
	big := strings.Repeat("b", 40*1024)
	for _, name := range []string{"invite-park", "options", "subscribe-dialog"} {
		t := byName[name]
		g.req(t.set("To", `"`+big+`" `+t.value("To")), "big-to-40k", Reply, "a 40 KiB To display name: the answer is larger than an MTU")
	}
	g.add("header-line-never-ends", []byte(strings.TrimSuffix(string(invite.without("Content-Length").bytes()), "\r\n\r\n"+invite.body)+
		"\r\nX-Long: "+strings.Repeat("z", 100*1024)), Any,
		"a header line of 100 KiB with no end (a stream service must close, not buffer for ever)", Refuse)

	// Truncated at every header boundary (no empty line), and in the
	// request line and the body.
	for _, name := range []string{"invite-park", "subscribe-dialog", "notify-dialog", "bye", "options"} {
		t := byName[name]
		full := t.bytes()
		head, _, _ := strings.Cut(string(full), "\r\n\r\n")
		lines := strings.Split(head, "\r\n")
		for i := range lines {
			cut := strings.Join(lines[:i+1], "\r\n") + "\r\n"
			what := "request-line"
			if i > 0 {
				what = strings.ToLower(strings.TrimSpace(strings.SplitN(lines[i], ":", 2)[0]))
			}
			udp := Refuse
			if i == 0 {
				udp = Any // no header to answer with
			}
			g.reqRaw(t, "trunc-after-"+what, []byte(cut), udp, Any, "ends after the "+what+" line, no empty line")
		}
		g.reqRaw(t, "trunc-request-line", []byte(t.method+" sip:pa"), Any, Any, "ends inside the request line")
		if t.body != "" {
			g.reqRaw(t, "trunc-body", full[:len(full)-len(t.body)/2], Refuse, Any, "the body cut in half (Content-Length larger than what came)")
		}
	}

	// Bad Content-Length.
	for _, name := range []string{"invite-park", "message", "options"} {
		t := byName[name]
		n := len(t.body)
		set := func(cl string) tmpl { t2 := t.clone(); t2.cl = cl; return t2 }
		g.req(set("-1"), "cl-negative", Refuse, "Content-Length -1", "400")
		g.req(set("abc"), "cl-nonnumeric", Refuse, "Content-Length abc", "400")
		g.req(set("99999999999999999999"), "cl-huge", Refuse, "Content-Length of 20 digits", "400", "413", "513")
		g.reqT(set(strconv.Itoa(n+100)), "cl-larger", Refuse, Any, "Content-Length 100 more than the body (a stream waits for it)", "400")
		if n > 2 {
			g.reqT(set(strconv.Itoa(n/2)), "cl-smaller", Reply, Any, "Content-Length half the body (UDP: the rest is dropped; a stream reads it as the next message)")
		}
		g.reqT(set("-"), "cl-missing", Reply, Refuse, "no Content-Length (legal on UDP, broken framing on a stream)")
		g.req(set(" 0"+strconv.Itoa(n)+" "), "cl-padded", Reply, "Content-Length with a leading zero and spaces")
	}

	// Bad SDP, in a park on any orbit and on a chosen one.
	sdp := func(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }
	tenK := "v=0\no=x 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n" + strings.Repeat("m=audio 9 RTP/AVP 0\n", 10000)
	twoK := "v=0\no=x 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\n" + strings.Repeat("m=video 9 RTP/AVP 96\n", 2000) + "m=audio 9 RTP/AVP 0\n"
	junk := make([]byte, 600)
	for i := range junk {
		junk[i] = byte(rng.IntN(256))
	}
	badSDP := []struct{ name, body, note string }{
		{"sdp-no-c", sdp("v=0\no=x 1 1 IN IP4 127.0.0.1\ns=-\nt=0 0\nm=audio 9 RTP/AVP 0\n"), "no c= line"},
		{"sdp-multicast", strings.Replace(goodSDP, "c=IN IP4 127.0.0.1", "c=IN IP4 224.0.0.1/127", 1), "audio to multicast 224.0.0.1"},
		{"sdp-unspecified", strings.Replace(goodSDP, "c=IN IP4 127.0.0.1", "c=IN IP4 0.0.0.0", 1), "audio to 0.0.0.0"},
		{"sdp-broadcast", strings.Replace(goodSDP, "c=IN IP4 127.0.0.1", "c=IN IP4 255.255.255.255", 1), "audio to 255.255.255.255"},
		{"sdp-port-0", strings.Replace(goodSDP, "m=audio 9 ", "m=audio 0 ", 1), "the only audio line has port 0"},
		{"sdp-port-70000", strings.Replace(goodSDP, "m=audio 9 ", "m=audio 70000 ", 1), "audio port 70000"},
		{"sdp-ipv6", strings.Replace(goodSDP, "c=IN IP4 127.0.0.1", "c=IN IP6 ::1", 1), "IPv6 media to a service on IPv4"},
		{"sdp-bad-address", strings.Replace(goodSDP, "c=IN IP4 127.0.0.1", "c=IN IP4 999.1.1.1", 1), "c=IN IP4 999.1.1.1"},
		{"sdp-no-codec", strings.Replace(goodSDP, "m=audio 9 RTP/AVP 0 8 101", "m=audio 9 RTP/AVP 18", 1), "G.729 only"},
		{"sdp-no-audio", sdp("v=0\no=x 1 1 IN IP4 127.0.0.1\ns=-\nc=IN IP4 127.0.0.1\nt=0 0\nm=video 9 RTP/AVP 96\n"), "video only"},
		{"sdp-empty", "", "Content-Type application/sdp and no body"},
		{"sdp-binary-junk", string(junk), "600 random bytes as SDP"},
		{"sdp-2000-mlines", sdp(twoK), "2,000 video lines then audio (48 KiB)"},
		{"sdp-10000-mlines", sdp(tenK), "10,000 audio lines (over 64 KiB)"},
		{"sdp-nul", strings.Replace(goodSDP, "s=-", "s=\x00\x00\x00", 1), "NUL bytes in the SDP"},
	}
	for _, name := range []string{"invite-park", "invite-park-702"} {
		t := byName[name]
		for _, b := range badSDP {
			want := []string{"park=488"}
			switch b.name {
			case "sdp-10000-mlines":
				if name != "invite-park" {
					continue
				}
				want = []string{"400", "413", "513"}
			case "sdp-2000-mlines":
				// Over 32 KiB: sipgo reads no more of a datagram.
				want = []string{"park=488", "400", "413", "513"}
			case "sdp-nul":
				want = nil // the s= line says nothing the service reads
			}
			g.req(t.withBody("application/sdp", b.body), b.name, Reply, b.note, want...)
		}
	}

	// Odd Request-URIs.
	ruri := func(u string) tmpl {
		t := invite.clone()
		t.ruri = u
		return t.set("To", "<sip:park@{hostport}>")
	}
	for _, r := range []struct{ name, uri, note string }{
		{"park-0", "sip:park-0@{hostport}", "orbit 0"},
		{"park-0705", "sip:park-0705@{hostport}", "orbit with a leading zero"},
		{"park-plus705", "sip:park-+705@{hostport}", "orbit with a plus sign"},
		{"park-minus1", "sip:park--1@{hostport}", "orbit -1"},
		{"park-721", "sip:park-721@{hostport}", "orbit outside the lot"},
		{"park-huge", "sip:park-99999999999999999999@{hostport}", "orbit of 20 digits"},
		{"retrieve-0", "sip:0@{hostport}", "retrieve orbit 0"},
		{"retrieve-huge", "sip:99999999999999999999@{hostport}", "retrieve an orbit of 20 digits"},
		{"retrieve-0705", "sip:0705@{hostport}", "retrieve with a leading zero"},
		{"retrieve-plus705", "sip:+705@{hostport}", "retrieve with a plus sign"},
		{"park-space", "sip:park%20705@{hostport}", "an escaped space in the user"},
	} {
		g.req(ruri(r.uri), "ruri-"+r.name, Reply, r.note, "park=404")
	}
	for _, r := range []struct {
		name, uri, note string
		class           Class
		want            []string
	}{
		{"sips", "sips:park@{hostport}", "a sips: URI over a plain transport", Reply, nil},
		{"tel", "tel:+15551234", "a tel: URI", Refuse, []string{"400", "416"}},
		{"no-host", "sip:park@", "no host", Refuse, []string{"400"}},
		{"no-user", "sip:{hostport}", "no user part", Reply, []string{"park=404"}},
		{"ipv6", "sip:park@[::1]:{port}", "an IPv6 literal host", Reply, nil},
		{"ipv6-unclosed", "sip:park@[::1:{port}", "an IPv6 literal without its ]", Refuse, []string{"400"}},
		{"garbage", "sip:%%%@@@::;;", "garbage", Refuse, []string{"400"}},
		{"http", "http://{hostport}/park", "an http URI", Refuse, []string{"400", "416"}},
		{"huge-user", "sip:" + strings.Repeat("9", 30*1024) + "@{hostport}", "a 30 KiB user part", Reply, []string{"park=404"}},
		{"params", "sip:park@{hostport};" + strings.Repeat("x=y;", 2000) + "token=t", "2,000 URI parameters", Reply, nil},
		{"headers", "sip:park@{hostport}?Call-ID=evil&To=%3Csip:x@y%3E", "URI headers that name mandatory headers", Reply, nil},
	} {
		t := ruri(r.uri)
		g.req(t, "ruri-"+r.name, r.class, r.note, r.want...)
	}
	emptyURI := invite.clone()
	emptyURI.ruri = ""
	g.req(emptyURI, "ruri-empty", Refuse, "no Request-URI (two spaces)", "400")
	for _, orbit := range []string{"0705", "99999999999999999999", "park"} {
		t := byName["subscribe-dialog"].clone()
		t.ruri = "sip:" + orbit + "@{hostport}"
		g.req(t.set("To", "<"+t.ruri+">"), "ruri-"+orbit, Reply, "a lamp on orbit "+orbit)
	}

	// Odd CSeq.
	for _, name := range []string{"invite-park", "bye", "options", "subscribe-dialog"} {
		t := byName[name]
		other := "BYE"
		if t.method == "BYE" {
			other = "INVITE"
		}
		for _, c := range []struct {
			name, value, note string
			class             Class
		}{
			{"method-mismatch", "1 " + other, "CSeq method " + other, Refuse},
			{"2pow32", "4294967296 " + t.method, "CSeq 2^32", Refuse},
			{"2pow31", "2147483648 " + t.method, "CSeq 2^31 (RFC 3261 wants less)", Any},
			{"negative", "-1 " + t.method, "CSeq -1", Refuse},
			{"no-number", t.method, "CSeq without a number", Refuse},
			{"no-method", "1", "CSeq without a method", Refuse},
			{"garbage", "x\x01y " + t.method, "CSeq of control characters", Refuse},
			{"lowercase", "1 " + strings.ToLower(t.method), "CSeq method in lower case", Refuse},
		} {
			want := []string{"400"}
			if c.class == Any {
				want = nil
			}
			g.req(t.set("CSeq", c.value), "cseq-"+c.name, c.class, c.note, want...)
		}
	}

	// Versions and methods.
	for _, name := range []string{"invite-park", "options", "bye", "subscribe-dialog"} {
		t := byName[name]
		v := t.clone()
		v.version = "SIP/9.9"
		g.req(v, "sip-9.9", Refuse, "SIP/9.9", "505")
		v.version = "SIP/1.0"
		g.req(v, "sip-1.0", Refuse, "SIP/1.0", "505")
		v.version = "sip/2.0"
		g.req(v, "sip-lowercase-version", Reply, "sip/2.0 (case-insensitive, RFC 3261 §7.1)")
		v.version = ""
		g.req(v, "no-version", Refuse, "no SIP version", "400", "505")
		lc := t.set("CSeq", "1 "+strings.ToLower(t.method))
		lc.method = strings.ToLower(t.method)
		g.req(lc, "lowercase-method", Refuse, "the method in lower case (an unknown method)")
	}
	for _, m := range []string{"FOO", "PUBLISH", "PRACK", "UPDATE", "X" + strings.Repeat("Y", 1000)} {
		t := base("method-"+strings.ToLower(m[:min(len(m), 8)]), m, "sip:park@{hostport}", false)
		g.req(t, "", Refuse, "method "+m[:min(len(m), 8)]+" outside a dialog")
	}
	badMethod := base("method-with-nul", "INV\x00ITE", "sip:park@{hostport}", false)
	g.req(badMethod.set("CSeq", "1 INV\x00ITE"), "", Any, "a NUL inside the method")

	// NUL bytes.
	for _, c := range []struct{ name, hdr, value, note string }{
		{"nul-in-to", "To", "<sip:park\x00evil@{hostport}>", "a NUL in the To URI"},
		{"nul-in-from-name", "From", "\"Bad\x00Sip\" <sip:badsip@{local}>;tag={tag}", "a NUL in the From display name"},
		{"nul-in-callid", "Call-ID", "{callid}\x00evil", "a NUL in the Call-ID"},
		{"nul-in-via", "Via", "SIP/2.0/{transport} {local};branch=z9hG4bK{branch}\x00;rport", "a NUL in the Via"},
	} {
		g.req(invite.set(c.hdr, c.value), c.name, Any, c.note)
	}
	nulLine := invite.clone()
	nulLine.ruri = "sip:park\x00@{hostport}"
	g.req(nulLine, "nul-in-request-line", Any, "a NUL in the Request-URI")
	g.add("nul-at-start", append([]byte{0, 0, 0, 0}, invite.bytes()...), Any, "four NULs, then an INVITE", "")
	g.add("nul-only", make([]byte, 1000), Any, "1,000 NULs", "")
	g.add("nul-after-message", append(byName["options"].bytes(), 0, 0, 0, 0), Any, "an OPTIONS, then four NULs", "")

	// Garbage.
	g.add("crlf-only", []byte("\r\n\r\n"), Any, "a CRLF keep-alive", "")
	g.add("crlf-single", []byte("\r\n"), Any, "one CRLF", "")
	g.add("crlf-1k", []byte(strings.Repeat("\r\n", 512)), Any, "1 KiB of CRLFs", "")
	g.add("lf-only-lines", []byte(strings.ReplaceAll(string(byName["options"].bytes()), "\r\n", "\n")), Any, "an OPTIONS with bare LF line ends", "")
	g.add("space-only", []byte(strings.Repeat(" ", 300)), Any, "300 spaces", "")
	g.add("http-get", []byte("GET / HTTP/1.1\r\nHost: {hostport}\r\n\r\n"), Any, "an HTTP request", "")
	g.add("tls-hello", []byte("\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03"+strings.Repeat("\x42", 160)), Any, "a TLS ClientHello on a plain port", "")
	g.add("stun-binding", []byte("\x00\x01\x00\x00\x21\x12\xa4\x42abcdefghijkl"), Any, "a STUN binding request", "")
	g.add("response-stray", []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/{transport} {local};branch=z9hG4bK{branch}\r\n"+
		"From: <sip:x@{local}>;tag=a\r\nTo: <sip:park@{hostport}>;tag=b\r\nCall-ID: {callid}\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"),
		Any, "a 200 to no transaction", "")
	g.add("response-garbage", []byte("SIP/2.0 999999999999 Whatever\r\n\r\n"), Any, "a response with a bad status", "")
	for _, n := range []int{1, 16, 512, 1400, 8000, 60000} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.IntN(256))
		}
		g.add(fmt.Sprintf("random-%d", n), b, Any, fmt.Sprintf("%d random bytes", n), "")
	}
	ascii := make([]byte, 2000)
	for i := range ascii {
		ascii[i] = byte(32 + rng.IntN(95))
	}
	g.add("random-ascii-2000", ascii, Any, "2,000 random printable characters", "")
	start := invite.bytes()
	for i := 0; i < 8; i++ {
		b := slices.Clone(start)
		for j := 0; j < 12; j++ {
			b[rng.IntN(len(b))] = byte(rng.IntN(256))
		}
		g.add(fmt.Sprintf("invite-park-flipped-%d", i), b, Any, "the INVITE with 12 random bytes changed", "")
	}

	// Header folding (obsolete, still legal: RFC 3261 §7.3.1).
	g.req(invite.after("Call-ID", hdr{"Subject", "hello\r\n world"}), "fold-subject", Reply, "a folded Subject")
	g.req(invite.set("To", "\r\n <sip:park@{hostport}>"), "fold-to", Reply, "a folded To")
	g.req(byName["options"].set("From", "\"Bad Sip\"\r\n\t<sip:badsip@{local}>;tag={tag}"), "fold-from", Reply, "a folded From")
	g.req(invite.set("Via", "SIP/2.0/{transport}\r\n {local};branch=z9hG4bK{branch};rport"), "fold-via", Reply, "a folded Via")
	g.req(invite.after("Call-ID", hdr{"", " continuation of nothing"}), "fold-orphan", Any, "a continuation line after Call-ID")

	// UTF-8 junk in display names and users.
	for _, name := range []string{"invite-park", "options", "subscribe-dialog", "message"} {
		t := byName[name]
		for _, c := range []struct{ name, display string }{
			{"utf8-display", "Zoë Ünïcødé 😀 电话"},
			{"utf8-invalid-display", "\xff\xfe\xfd bad"},
			{"utf8-overlong-display", "\xc0\xaf\xe0\x80\xaf"},
			{"utf8-rtl-display", "\u202eevil\u202c"},
			{"utf8-control-display", "a\x01\x02\x1b[31mred"},
		} {
			g.req(t.set("From", `"`+c.display+`" <sip:badsip@{local}>;tag={tag}`), c.name, Reply, "display name "+strconv.Quote(c.display))
		}
		g.req(t.set("From", "\"Bad Sip\" <sip:zoë\xff@{local}>;tag={tag}"), "utf8-from-user", Reply, "UTF-8 and a stray byte in the From user")
		g.req(t.set("From", `"unterminated <sip:badsip@{local}>;tag={tag}`), "from-open-quote", Refuse, "a From display name without its closing quote", "400")
	}

	// Many headers.
	for _, name := range []string{"invite-park", "options", "subscribe-dialog"} {
		t := byName[name]
		var vias []hdr
		for i := 0; i < 999; i++ {
			vias = append(vias, hdr{"Via", fmt.Sprintf("SIP/2.0/UDP 192.0.2.%d:5060;branch=z9hG4bKhop%d", i%250+1, i)})
		}
		g.req(t.after("Via", vias...), "via-1000", Reply, "1,000 Via headers (the answer copies them)")
	}
	var many []hdr
	for i := 0; i < 4000; i++ {
		many = append(many, hdr{"X-Junk", strconv.Itoa(i)})
	}
	g.req(invite.after("Call-ID", many...), "headers-4000", Any, "4,000 extension headers")
	var routes []hdr
	for i := 0; i < 500; i++ {
		routes = append(routes, hdr{"Record-Route", fmt.Sprintf("<sip:192.0.2.%d;lr>", i%250+1)})
	}
	g.req(invite.after("Call-ID", routes...), "record-route-500", Reply, "500 Record-Route headers")
	g.req(invite.set("To", "<sip:park@{hostport}>"+strings.Repeat(";p=q", 3000)), "to-params-3000", Any, "3,000 To parameters")

	// Max-Forwards.
	for _, name := range []string{"invite-park", "options"} {
		t := byName[name]
		g.req(t.set("Max-Forwards", "0"), "mf-0", Reply, "Max-Forwards 0")
		g.req(t.set("Max-Forwards", "-1"), "mf-negative", Refuse, "Max-Forwards -1", "400")
		g.req(t.set("Max-Forwards", "seventy"), "mf-garbage", Refuse, "Max-Forwards seventy", "400")
		g.req(t.set("Max-Forwards", "99999999999"), "mf-huge", Refuse, "Max-Forwards 99999999999", "400")
	}

	// Via.
	for _, name := range []string{"invite-park", "options"} {
		t := byName[name]
		g.req(t.set("Via", "SIP/2.0/{transport} {local}"), "via-no-branch", Reply, "an RFC 2543 Via without branch or rport")
		g.req(t.set("Via", "SIP/3.0/{transport} {local};branch=z9hG4bK{branch};rport"), "via-sip-3", Refuse, "Via SIP/3.0", "400")
		g.req(t.set("Via", "SIP/2.0/{transport} ;branch=z9hG4bK{branch};rport"), "via-no-host", Refuse, "a Via without a host", "400")
		g.req(t.set("Via", "SIP/2.0/FOO {local};branch=z9hG4bK{branch};rport"), "via-unknown-transport", Any, "Via transport FOO")
		g.req(t.set("Via", "SIP/2.0/{transport} [::1]:5060;branch=z9hG4bK{branch};rport"), "via-ipv6", Reply, "an IPv6 Via sent-by (answered to the source)")
		g.req(t.set("Via", "garbage"), "via-garbage", Refuse, "Via: garbage", "400")
	}

	// Forms that are legal: compact and oddly cased names.
	compact := invite.rename("Via", "v").rename("From", "f").rename("To", "t").rename("Call-ID", "i").
		rename("Contact", "m").rename("Content-Type", "c")
	g.req(compact, "compact-headers", Reply, "compact header names")
	odd := invite.rename("Via", "VIA").rename("From", "from").rename("To", "tO").rename("Call-ID", "call-id").rename("CSeq", "CSEQ")
	g.req(odd, "header-name-case", Reply, "header names in odd case")
	g.req(invite.set("Contact", "*"), "contact-star", Any, "Contact: * in an INVITE")
	g.req(invite.set("Contact", "<garbage>"), "contact-garbage", Any, "Contact: <garbage>")
	g.req(invite.without("Contact"), "contact-missing", Any, "an INVITE without Contact")
	g.req(invite.without("Content-Type"), "no-content-type", Reply, "an SDP without Content-Type")
	g.req(invite.set("Content-Type", "application/octet-stream"), "content-type-wrong", Reply, "SDP sent as application/octet-stream")
	g.req(invite.after("Call-ID", hdr{"", "This line has no colon"}), "header-no-colon", Refuse, "a header line without a colon", "400")
	g.req(invite.after("Call-ID", hdr{"Bad Name", "x"}), "header-name-space", Reply, "a header name with a space (an unknown header, tolerated or refused)")
	g.req(byName["info"].withBody("application/dtmf-relay", "Signal=\x00\r\nSignal=99999999999999999999\r\n"), "info-bad-signal", Reply, "DTMF INFO with junk signals")
	g.req(byName["notify-refer"].withBody("message/sipfrag;version=2.0", "SIP/2.0 99999999999999999999 X\r\n"), "sipfrag-huge-code", Reply, "a sipfrag with a 20-digit status")
	g.req(byName["notify-dialog"].withBody("application/dialog-info+xml", "<dialog-info version=\"4294967296\" state=\"full\"><dialog id=\""+strings.Repeat("<", 100)), "dialog-info-broken", Reply, "broken dialog-info XML")
	g.req(byName["subscribe-dialog"].set("Expires", "99999999999999999999"), "expires-huge", Any, "Expires of 20 digits")
	g.req(byName["subscribe-dialog"].set("Event", ""), "event-empty", Refuse, "an empty Event header")
	g.req(byName["subscribe-dialog"].set("Event", "presence"), "event-presence", Refuse, "a presence subscription (unsupported package)")
	g.req(byName["refer"].set("Refer-To", "<garbage"), "refer-to-garbage", Refuse, "a REFER whose Refer-To does not parse")
	g.req(byName["refer"].without("Refer-To"), "refer-to-missing", Refuse, "a REFER without Refer-To")
	return g.cases
}

// reqRaw adds a case whose bytes are given (a truncation of t).
func (g *gen) reqRaw(t tmpl, suffix string, data []byte, udp, tcp Class, note string) {
	if t.isAck() {
		udp, tcp = Any, Any
	}
	g.add(t.name+"-"+suffix, data, udp, note, tcp)
}
