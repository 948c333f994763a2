package park

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
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

var errNoCodec = errors.New("sdp: no common audio codec (PCMU/PCMA)")

// parseOffer reads an SDP offer or answer and picks the audio codec,
// preferring the peer's order between PCMU and PCMA.
func parseOffer(body []byte) (offer, error) {
	var o offer
	o.audioIndex = -1
	o.direction = "sendrecv"
	var sessionAddr, audioAddr netip.Addr
	var audioPort int
	var audioFormats []string
	rtpmap := map[string]string{}
	inAudio := false
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
				return o, fmt.Errorf("sdp: malformed media line %q", line)
			}
			ml := mediaLine{kind: f[0], proto: f[2]}
			if len(f) > 3 {
				ml.format = f[3]
			}
			inAudio = false
			if f[0] == "audio" && o.audioIndex < 0 {
				port, err := strconv.Atoi(strings.SplitN(f[1], "/", 2)[0])
				if err != nil || port < 0 || port > 65535 {
					return o, fmt.Errorf("sdp: bad audio port in %q", line)
				}
				audioPort = port
				audioFormats = f[3:]
				o.audioIndex = len(o.lines)
				inAudio = true
			}
			o.lines = append(o.lines, ml)
		case 'c':
			f := strings.Fields(val)
			if len(f) < 3 {
				return o, fmt.Errorf("sdp: malformed connection line %q", line)
			}
			a, err := netip.ParseAddr(strings.SplitN(f[2], "/", 2)[0])
			if err != nil {
				return o, fmt.Errorf("sdp: bad connection address %q: %w", f[2], err)
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
		return o, fmt.Errorf("sdp: %w", err)
	}
	if o.audioIndex < 0 {
		return o, errors.New("sdp: no audio media line")
	}
	if !audioAddr.IsValid() {
		audioAddr = sessionAddr
	}
	if !audioAddr.IsValid() {
		return o, errors.New("sdp: no connection address for audio")
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
	return b.Bytes()
}
