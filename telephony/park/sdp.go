package park

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// RTP payload types the service speaks. G.711 only: the music is encoded once
// per codec, and relaying between two G.711 legs needs no decoder. The
// static numbers also name the law (a leg's codec); the number a peer
// uses for it on the wire may be a dynamic one (format.pt).
const (
	ptPCMU uint8 = 0
	ptPCMA uint8 = 8
)

// ringEventPT is the telephone-event payload type of our own offers.
const ringEventPT uint8 = 101

// format is one G.711 payload format of an SDP: the number it is sent
// under and the law it names (ptPCMU or ptPCMA). RFC 3264: the answer
// uses the offer's number, and RTP to a peer carries the peer's number.
type format struct {
	pt    uint8 // payload type number, static (0, 8) or dynamic (96-127)
	codec uint8 // the law: ptPCMU or ptPCMA
}

// mediaLine is one m= line of an offer, kept so the answer can mirror it.
type mediaLine struct {
	kind   string // audio, video, ...
	proto  string
	format string // first format, echoed in a rejected (port 0) answer line
}

// offer is what the service needs from a peer's SDP.
type offer struct {
	addr       netip.AddrPort // where the peer wants audio
	codec      uint8          // chosen G.711 law (ptPCMU or ptPCMA)
	pt         uint8          // the number the SDP gives the chosen law
	g711       []format       // every G.711 format offered, in order
	eventPT    uint8          // telephone-event/8000 payload type, 0 when absent
	direction  string         // sendrecv, sendonly, recvonly, inactive
	lines      []mediaLine
	audioIndex int
}

// mediaError is why the service cannot serve an SDP: it names the fault
// for the Warning of the 488 (RFC 3261 §20.43, with its warn-code) and
// the log, and is never parsed by anyone.
type mediaError struct {
	code int    // warn-code: 3xx for SDP faults, 399 for the rest
	text string // names the fault; may quote the peer's SDP
}

func (e *mediaError) Error() string { return "sdp: " + e.text }

// RFC 3261 §20.43 warn-codes the media refusals use.
const (
	warnNetwork   = 300 // incompatible network protocol
	warnFamily    = 301 // incompatible network address formats
	warnMediaType = 304 // media type not available
	warnFormat    = 305 // incompatible media format
	warnParam     = 307 // session description parameter not understood
	warnMulticast = 330 // multicast not available
	warnMisc      = 399
)

func mediaFault(code int, format string, args ...any) error {
	return &mediaError{code: code, text: fmt.Sprintf(format, args...)}
}

var errNoCodec error = &mediaError{code: warnFormat, text: "no common audio codec (PCMU/PCMA)"}

// warning is the Warning header naming err's fault: its warn-code and
// text, made a safe quoted-string (no quotes, backslashes or controls,
// at most 160 bytes, since the text may quote the peer's SDP).
func warning(err error) sip.Header {
	code := warnMisc
	var me *mediaError
	if errors.As(err, &me) {
		code = me.code
	}
	text := strings.Map(func(r rune) rune {
		switch {
		case r == '"':
			return '\''
		case r == '\\' || r < 0x20 || r == 0x7f:
			return -1
		}
		return r
	}, err.Error())
	if len(text) > 160 {
		text = strings.ToValidUTF8(text[:160], "")
	}
	return sip.NewHeader("Warning", strconv.Itoa(code)+` park "`+text+`"`)
}

// maxMediaLines is the most m= lines an SDP the service answers may have.
const maxMediaLines = 16

// parseOffer reads an SDP offer or answer and picks the audio codec,
// preferring the peer's order between PCMU and PCMA. The audio is the
// first audio line with a port (RFC 3264: port 0 rejects a stream). Its
// connection address must be one the service could send to whoever it
// is: unicast, specified, not a broadcast (checkMediaAddr); the service's
// own limits (address family, local broadcasts) are engine.acceptable's.
func parseOffer(body []byte) (offer, error) {
	var o offer
	o.audioIndex = -1
	o.direction = "sendrecv"
	if bytes.IndexByte(body, 0) >= 0 {
		return o, mediaFault(warnParam, "NUL byte in the SDP") // RFC 4566 text never holds one
	}
	var sessionAddr, audioAddr netip.Addr
	var audioPort int
	var audioFormats []string
	rtpmap := map[string]string{}
	inAudio, zeroAudio := false, false
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if len(line) < 2 || line[1] != '=' {
			continue
		}
		key, val := line[0], line[2:]
		switch key {
		case 'm':
			f := strings.Fields(val)
			if len(f) < 3 {
				return o, mediaFault(warnParam, "malformed media line %q", line)
			}
			ml := mediaLine{kind: f[0], proto: f[2]}
			if len(f) > 3 {
				ml.format = f[3]
			}
			inAudio = false
			if len(o.lines) == maxMediaLines {
				// The answer mirrors every line: a few hundred would
				// make it larger than any datagram.
				return o, mediaFault(warnParam, "more than %d media lines", maxMediaLines)
			}
			if f[0] == "audio" && o.audioIndex < 0 {
				port, err := strconv.Atoi(strings.SplitN(f[1], "/", 2)[0])
				if err != nil || port < 0 || port > 65535 {
					return o, mediaFault(warnParam, "bad audio port in %q", line)
				}
				if port == 0 {
					zeroAudio = true // rejected stream: look for another
				} else {
					audioPort = port
					audioFormats = f[3:]
					o.audioIndex = len(o.lines)
					inAudio = true
				}
			}
			o.lines = append(o.lines, ml)
		case 'c':
			a, err := parseConnection(val)
			if err != nil {
				return o, err
			}
			switch {
			case len(o.lines) == 0:
				sessionAddr = a
			case inAudio:
				audioAddr = a
			}
		case 'a':
			if len(o.lines) > 0 && !inAudio {
				continue
			}
			switch {
			case val == "sendrecv" || val == "sendonly" || val == "recvonly" || val == "inactive":
				o.direction = val
			case strings.HasPrefix(val, "rtpmap:"):
				f := strings.Fields(strings.TrimPrefix(val, "rtpmap:"))
				if len(f) == 2 {
					rtpmap[f[0]] = strings.ToLower(f[1])
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return o, mediaFault(warnParam, "unreadable: %v", err)
	}
	if o.audioIndex < 0 {
		if zeroAudio {
			return o, mediaFault(warnMediaType, "audio line with port 0 (stream rejected)")
		}
		return o, mediaFault(warnMediaType, "no audio media line")
	}
	if !audioAddr.IsValid() {
		audioAddr = sessionAddr
	}
	if !audioAddr.IsValid() {
		return o, mediaFault(warnParam, "no connection address for audio (c= line missing)")
	}
	if err := checkMediaAddr(audioAddr.Unmap()); err != nil {
		return o, err
	}
	o.addr = netip.AddrPortFrom(audioAddr.Unmap(), uint16(audioPort))
	for _, f := range audioFormats {
		n, err := strconv.Atoi(f)
		if err != nil || n < 0 || n > 127 {
			continue
		}
		pt := uint8(n)
		name := rtpmap[f]
		switch {
		case pt == ptPCMU || (pt > 95 && strings.HasPrefix(name, "pcmu/8000")):
			o.g711 = append(o.g711, format{pt: pt, codec: ptPCMU})
		case pt == ptPCMA || (pt > 95 && strings.HasPrefix(name, "pcma/8000")):
			o.g711 = append(o.g711, format{pt: pt, codec: ptPCMA})
		case pt > 95 && o.eventPT == 0 && strings.HasPrefix(name, "telephone-event/8000"):
			o.eventPT = pt
		}
	}
	if len(o.g711) == 0 {
		return o, errNoCodec
	}
	o.codec, o.pt = o.g711[0].codec, o.g711[0].pt
	return o, nil
}

// parseConnection reads the value of a c= line, "IN IP4 addr" or
// "IN IP6 addr" (RFC 4566 §5.7; a multicast address may carry /ttl and
// /count, kept for checkMediaAddr to refuse). Host names are not
// resolved: the service sends only to addresses.
func parseConnection(val string) (netip.Addr, error) {
	f := strings.Fields(val)
	if len(f) != 3 {
		return netip.Addr{}, mediaFault(warnParam, "malformed connection line %q", "c="+val)
	}
	if f[0] != "IN" {
		return netip.Addr{}, mediaFault(warnNetwork, "connection line network type %q is not IN", f[0])
	}
	a, err := netip.ParseAddr(strings.SplitN(f[2], "/", 2)[0])
	if err != nil {
		return a, mediaFault(warnParam, "bad connection address %q (not an IP address)", f[2])
	}
	switch {
	case f[1] == "IP4" && a.Is4(), f[1] == "IP6" && a.Is6():
		return a.WithZone(""), nil
	case f[1] == "IP4" || f[1] == "IP6":
		return a, mediaFault(warnParam, "bad connection address %q: not an %s address", f[2], f[1])
	}
	return a, mediaFault(warnFamily, "connection line address type %q is not IP4 or IP6", f[1])
}

// limitedBroadcast is 255.255.255.255, a broadcast on every network.
var limitedBroadcast = netip.AddrFrom4([4]byte{255, 255, 255, 255})

// checkMediaAddr refuses a media address that is not one host: a
// multicast group, a broadcast, or the unspecified address (0.0.0.0/8,
// "this network", and ::), which the kernel would send to this host.
func checkMediaAddr(a netip.Addr) error {
	switch {
	case a.IsMulticast():
		return mediaFault(warnMulticast, "multicast media address %s", a)
	case a == limitedBroadcast:
		return mediaFault(warnMisc, "broadcast media address %s", a)
	case a.IsUnspecified() || (a.Is4() && a.As4()[0] == 0):
		return mediaFault(warnMisc, "unspecified media address %s", a)
	}
	return nil
}

// prefer makes codec the chosen law when the SDP offers it under any
// number; false when it does not.
func (o *offer) prefer(codec uint8) bool {
	for _, f := range o.g711 {
		if f.codec == codec {
			o.codec, o.pt = f.codec, f.pt
			return true
		}
	}
	return false
}

// answerDirection is the direction we answer with for a peer's direction.
func answerDirection(peer string) string {
	switch peer {
	case "sendonly":
		return "recvonly"
	case "recvonly":
		return "sendonly"
	case "inactive":
		return "inactive"
	}
	return "sendrecv"
}

// holdDirection is the direction we answer a parking offer with. Music
// on hold is a hold (RFC 3264 §6.1): to a sendrecv or recvonly offer we
// answer sendonly, so the parked phone stops sending RTP the service
// would only drop. A sendonly offer (the caller holds us) is answered
// recvonly and an inactive one inactive, as RFC 3264 §6.1 requires;
// then we send nothing, as before.
func holdDirection(peer string) string {
	switch peer {
	case "sendonly":
		return "recvonly"
	case "inactive":
		return "inactive"
	}
	return "sendonly"
}

// sdpParams describes our side of a session.
type sdpParams struct {
	sessionID uint64
	version   uint64
	addr      netip.AddrPort
	formats   []format // in preference order
	eventPT   uint8    // 0: none
	direction string
	lines     []mediaLine // the offer's lines to mirror; nil for an offer of ours
	audioIdx  int
}

func codecName(pt uint8) string {
	if pt == ptPCMA {
		return "PCMA/8000"
	}
	return "PCMU/8000"
}

// buildSDP writes our offer or answer. In an answer every offered m-line
// is mirrored in order; all but the first audio line are rejected with port 0.
func buildSDP(p sdpParams) []byte {
	var b bytes.Buffer
	ip := p.addr.Addr().String()
	family := "IP4"
	if p.addr.Addr().Is6() {
		family = "IP6"
	}
	fmt.Fprintf(&b, "v=0\r\no=switchboard-park %d %d IN %s %s\r\ns=Switchboard park\r\nc=IN %s %s\r\nt=0 0\r\n",
		p.sessionID, p.version, family, ip, family, ip)
	lines := p.lines
	audioIdx := p.audioIdx
	if lines == nil {
		lines = []mediaLine{{kind: "audio", proto: "RTP/AVP"}}
		audioIdx = 0
	}
	for i, ml := range lines {
		if i != audioIdx {
			f := ml.format
			if f == "" {
				f = "0"
			}
			fmt.Fprintf(&b, "m=%s 0 %s %s\r\n", ml.kind, ml.proto, f)
			continue
		}
		b.WriteString("m=audio ")
		b.WriteString(strconv.Itoa(int(p.addr.Port())))
		b.WriteString(" RTP/AVP")
		for _, f := range p.formats {
			b.WriteString(" " + strconv.Itoa(int(f.pt)))
		}
		if p.eventPT != 0 {
			b.WriteString(" " + strconv.Itoa(int(p.eventPT)))
		}
		b.WriteString("\r\n")
		for _, f := range p.formats {
			fmt.Fprintf(&b, "a=rtpmap:%d %s\r\n", f.pt, codecName(f.codec))
		}
		if p.eventPT != 0 {
			fmt.Fprintf(&b, "a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-16\r\n", p.eventPT, p.eventPT)
		}
		dir := p.direction
		if dir == "" {
			dir = "sendrecv"
		}
		b.WriteString("a=ptime:20\r\na=" + dir + "\r\n")
	}
	// The SDP lives as long as the call (a 200 OK's body in the dialog),
	// so it leaves the buffer, which grew by doubling, for an array of its
	// own size: ~200 bytes less per parked call (issue 17).
	out := make([]byte, b.Len())
	copy(out, b.Bytes())
	return out
}

// readOffer parses a peer's SDP (an offer, or an answer to ours) and
// checks that the service can and may send its media where it says
// (engine.acceptable); any error is a *mediaError for refuseMedia.
func (s *Service) readOffer(body []byte) (offer, error) {
	o, err := parseOffer(body)
	if err != nil {
		return o, err
	}
	return o, s.media.acceptable(o)
}

// readOfferPreferring is readOffer choosing the law codec, under
// whatever number it is offered; errNoCodec when it is absent.
func (s *Service) readOfferPreferring(body []byte, codec uint8) (offer, error) {
	o, err := s.readOffer(body)
	if err != nil {
		return o, err
	}
	if !o.prefer(codec) {
		return o, errNoCodec
	}
	return o, nil
}

// refuseMedia answers an INVITE or re-INVITE whose SDP readOffer
// refused: 488 with X-Park-Reason unacceptable-media and a Warning that
// names the fault (PARK-PROTOCOL.md). A dialog keeps the media it had.
func (s *Service) refuseMedia(req *sip.Request, tx sip.ServerTransaction, err error) {
	s.event("refused", nil, "reason", err.Error(), "uri", req.Recipient.String(), "source", req.Source())
	s.reply(req, tx, sip.StatusNotAcceptableHere, "Not Acceptable Here", ReasonUnacceptableMedia.header(), warning(err))
}
