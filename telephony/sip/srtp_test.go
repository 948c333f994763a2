package sip_test

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/internal/wav"
	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// tlsBaresip is Debian's baresip with SIP over TLS (its certificate
// signed by a test CA) and its srtp module, recording what it hears.
type tlsBaresip struct {
	*baresip.Baresip
	tlsAddr string // host:port of its TLS listener
	sndDir  string // where its sndfile module writes what it hears and sends
}

// startTLSBaresip starts baresip with a certificate for 127.0.0.1 from
// ca; mediaenc is the account's media encryption ("srtp-mand": SDES
// SRTP, RTP/SAVP, or none, "": plain RTP). Modules srtp and sndfile and
// the certificate go in through baresip.Options.ExtraConfig.
func startTLSBaresip(t *testing.T, ca *testCA, mediaenc string, toneHz int) *tlsBaresip {
	t.Helper()
	siptest.NeedPeer(t, "baresip")
	dir := t.TempDir()
	certFile, keyFile := ca.issue(t, dir, "baresip", "127.0.0.1")
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	both := filepath.Join(dir, "baresip-cert-and-key.pem")
	writeFile(t, both, string(certPEM)+string(keyPEM))
	snd := filepath.Join(dir, "snd")
	if err := os.Mkdir(snd, 0o755); err != nil {
		t.Fatal(err)
	}
	params := ""
	if mediaenc != "" {
		params = ";mediaenc=" + mediaenc
	}
	b := siptest.StartBaresip(t, baresip.Options{Dir: filepath.Join(dir, "conf"), Display: "Bare Sip",
		ToneHz: toneHz, AccountParams: params, ExtraConfig: []string{
			"module\tsrtp.so",
			"module\tsndfile.so",
			"snd_path\t" + snd,
			"sip_certificate\t" + both,
		}})
	host, port, _ := net.SplitHostPort(b.SIPAddr)
	p, _ := strconv.Atoi(port)
	// baresip listens for TLS one port above its SIP port.
	return &tlsBaresip{Baresip: b, tlsAddr: net.JoinHostPort(host, strconv.Itoa(p+1)), sndDir: snd}
}

// srtpPair starts baresip over TLS (mediaenc as startTLSBaresip takes
// it, sending 440 Hz) and a console sending 1000 Hz whose TLS account,
// SRTP mode as given, has baresip as its registrar.
func srtpPair(t *testing.T, mediaenc string, mode sbsip.SRTPMode) (*console, *tlsBaresip) {
	t.Helper()
	ca := newTestCA(t, t.TempDir(), "pbx-ca")
	b := startTLSBaresip(t, ca, mediaenc, 440)
	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) { c.Account = srtpAccount(b, ca, mode) })
	return a, b
}

// dialBaresip has console a call b, which accepts; it returns the
// call's ID once the console shows it active.
func dialBaresip(t *testing.T, a *console, b *tlsBaresip) telephony.CallID {
	t.Helper()
	id, err := a.Dial(ctxT(t), "sip:baresip@"+b.tlsAddr+";transport=tls")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitType(ctxT(t), "CALL_INCOMING", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Command(ctxT(t), "accept", ""); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, id, telephony.StateActive)
	return id
}

// dialConsole has b call console a over TLS.
func (b *tlsBaresip) dialConsole(t *testing.T, a *console) {
	t.Helper()
	if err := b.Dial(ctxT(t), "sip:desk@"+a.Addr("tls").String()+";transport=tls"); err != nil {
		t.Fatal(err)
	}
}

// hangUpHeard has console a hang up call id, waits until baresip's call
// closed, and checks that its recording rec heard the console's 1000 Hz.
func (b *tlsBaresip) hangUpHeard(t *testing.T, a *console, id telephony.CallID, rec string) {
	t.Helper()
	if err := a.Hangup(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitType(ctxT(t), "CALL_CLOSED", ""); err != nil {
		t.Fatal(err)
	}
	heard(t, rec, 1000)
}

// srtpAccount is a console's TLS account whose registrar is b (baresip
// refuses the REGISTER: the calls go straight to and from it).
func srtpAccount(b *tlsBaresip, ca *testCA, mode sbsip.SRTPMode) sbsip.Account {
	acc := tlsAccount("desk", b.tlsAddr, ca.file)
	acc.RetryInterval = time.Hour
	acc.SRTP = mode
	return acc
}

// recording is baresip's recording of what it hears on its call
// (sndfile's "-dec" file), once it holds a second of audio.
func (b *tlsBaresip) recording(t *testing.T) string {
	t.Helper()
	var file string
	var last error
	pollSRTP(t, "a second of baresip's recording of what it hears", func() bool {
		files, _ := filepath.Glob(filepath.Join(b.sndDir, "*-dec.wav"))
		if len(files) != 1 {
			last = fmt.Errorf("recordings %q", files)
			return false
		}
		raw, err := os.ReadFile(files[0])
		if err != nil || len(raw) < 44 {
			last = fmt.Errorf("%d bytes (%v)", len(raw), err)
			return false
		}
		// The canonical header libsndfile writes: channels at 22, rate
		// at 24; the data sizes are filled in when the call ends.
		channels := int(binary.LittleEndian.Uint16(raw[22:]))
		rate := int(binary.LittleEndian.Uint32(raw[24:]))
		last = fmt.Errorf("%d bytes of %d Hz, %d channels", len(raw), rate, channels)
		file = files[0]
		return len(raw) >= 44+2*channels*rate
	}, &last)
	return file
}

// heard checks, once baresip's call ended, that freq dominates the last
// half second of its recording.
func heard(t *testing.T, file string, freq float64) {
	t.Helper()
	var a *wav.Audio
	var last error
	pollSRTP(t, "baresip's recording closed", func() bool {
		a, last = wav.ReadFile(file)
		return last == nil && a.Duration() >= time.Second
	}, &last)
	mono := make([]int16, 0, a.Frames())
	for i := 0; i < len(a.Samples); i += a.Channels {
		mono = append(mono, a.Samples[i])
	}
	win := mono[len(mono)-a.SampleRate/2:]
	if level, ok := tone.Detect(win, freq, float64(a.SampleRate)); !ok {
		t.Fatalf("baresip heard no %v Hz (level %.3f, %d Hz, %s)", freq, level, a.SampleRate, a.Duration())
	}
}

// srtpOn waits until baresip says its call's audio is encrypted
// (CALL_MENC, "0,audio,AES_CM_128_HMAC_SHA1_80").
func (b *tlsBaresip) srtpOn(t *testing.T) {
	t.Helper()
	ev, err := b.WaitType(ctxT(t), "CALL_MENC", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.Param, "audio,AES_CM_128_HMAC_SHA1_80") {
		t.Fatalf("baresip's media encryption: %q", ev.Param)
	}
}

// TestSRTPConsoleCallsBaresip: a console whose TLS account requires SRTP
// calls baresip over TLS with SRTP mandatory (RTP/SAVP, SDES); each
// hears the other's tone through the encryption.
func TestSRTPConsoleCallsBaresip(t *testing.T) {
	a, b := srtpPair(t, "srtp-mand", sbsip.SRTPRequired)
	id := dialBaresip(t, a, b)
	b.srtpOn(t)
	a.hears(t, 440)
	rec := b.recording(t)
	b.hangUpHeard(t, a, id, rec)
}

// TestSRTPBaresipCallsConsole: baresip calls a console that offers SRTP,
// over TLS with SRTP mandatory; the console answers with its own key and
// each hears the other.
func TestSRTPBaresipCallsConsole(t *testing.T) {
	a, b := srtpPair(t, "srtp-mand", sbsip.SRTPOffered)
	b.dialConsole(t, a)
	call := answered(t, a)
	b.srtpOn(t)
	a.hears(t, 440)
	rec := b.recording(t)
	b.hangUpHeard(t, a, call.ID, rec)
}

// TestSRTPRequiredRefusesPlainOffer: baresip without SRTP calls a console
// whose account requires it: 488 Not Acceptable Here, and the console
// never shows the call.
func TestSRTPRequiredRefusesPlainOffer(t *testing.T) {
	a, b := srtpPair(t, "", sbsip.SRTPRequired)
	b.dialConsole(t, a)
	ev, err := b.WaitType(ctxT(t), "CALL_CLOSED", "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(ev.Param, "488") {
		t.Fatalf("baresip's call closed with %q, want 488", ev.Param)
	}
	for _, e := range a.events.All() {
		if _, ok := e.(telephony.CallChanged); ok {
			t.Fatalf("the refused call was shown: %+v", e)
		}
	}
}

// pollSRTP checks cond every 20 ms until it holds, for at most waitFor;
// *why, when given, says what was last seen.
func pollSRTP(t *testing.T, what string, cond func() bool, why *error) {
	t.Helper()
	for deadline := time.Now().Add(waitFor); !cond(); {
		if time.Now().After(deadline) {
			if why != nil {
				t.Fatalf("%s: not within %s (%v)", what, waitFor, *why)
			}
			t.Fatalf("%s: not within %s", what, waitFor)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSRTPCallToPlainPeerRefused: a console whose account requires SRTP
// offers it (RTP/SAVP) to baresip, which has none: baresip refuses the
// offer (488) and the call ends failed, never live with plain audio.
func TestSRTPCallToPlainPeerRefused(t *testing.T) {
	a, b := srtpPair(t, "", sbsip.SRTPRequired)
	id, err := a.Dial(ctxT(t), "sip:baresip@"+b.tlsAddr+";transport=tls")
	if err != nil {
		t.Fatal(err)
	}
	got := a.waitState(t, id, telephony.StateEnded)
	if got.End != telephony.EndFailed || !strings.Contains(got.Reason, "488") {
		t.Fatalf("ended: %+v, want failed with 488", got)
	}
	for _, e := range a.events.All() {
		if cc, ok := e.(telephony.CallChanged); ok && cc.Call.State == telephony.StateActive {
			t.Fatalf("the call went live: %+v", cc.Call)
		}
	}
}

// TestSRTPOfferedTakesPlainCall: a console that offers SRTP takes a call
// from baresip without it, in plain RTP.
func TestSRTPOfferedTakesPlainCall(t *testing.T) {
	a, b := srtpPair(t, "", sbsip.SRTPOffered)
	b.dialConsole(t, a)
	answered(t, a)
	a.hears(t, 440)
}

// TestSRTPOfferedCallToPlainPeer: a console that only offers SRTP calls
// baresip, which has none: baresip refuses the SRTP offer (488), the
// console places the call again in plain RTP, and each hears the other.
func TestSRTPOfferedCallToPlainPeer(t *testing.T) {
	a, b := srtpPair(t, "", sbsip.SRTPOffered)
	id := dialBaresip(t, a, b)
	a.hears(t, 440)
	rec := b.recording(t)
	b.hangUpHeard(t, a, id, rec)
	for _, e := range b.Events() {
		if e.Type == "CALL_MENC" {
			t.Fatalf("baresip, without SRTP, reported media encryption: %s", e.Raw)
		}
	}
}

// TestSRTPHoldAndResume: an SRTP call with baresip put on hold and
// resumed (re-INVITEs with the same keys) carries audio again.
func TestSRTPHoldAndResume(t *testing.T) {
	a, b := srtpPair(t, "srtp-mand", sbsip.SRTPRequired)
	b.dialConsole(t, a)
	call := answered(t, a)
	b.srtpOn(t)
	a.hears(t, 440)
	if err := a.Hold(ctxT(t), call.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateHeld)
	if err := a.Resume(ctxT(t), call.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, call.ID, telephony.StateActive)
	a.hears(t, 440)
}

// TestSRTPRequiredHangsUpPlainAnswer: a far end over TLS that answers a
// required SRTP offer in plain RTP (RTP/AVP, no key: diago would fall
// back to plain audio) is hung up at once; the call ends for want of
// usable audio, saying SRTP.
func TestSRTPRequiredHangsUpPlainAnswer(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, dir, "pbx-ca")
	certFile, keyFile := ca.issue(t, dir, "plain", "127.0.0.1")
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	port := freeTCPPort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("plain"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	offers := make(chan string, 1)
	byes := make(chan struct{}, 1)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		offers <- string(req.Body())
		sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
			"m=audio 40000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n" +
			"a=fmtp:101 0-16\r\na=sendrecv\r\n"
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", []byte(sdp))
		if _, ok := res.To().Params.Get("tag"); !ok {
			res.To().Params.Add("tag", "plain")
		}
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		contact := sip.Uri{Scheme: "sip", User: "plain", Host: "127.0.0.1", Port: port, UriParams: sip.NewParams()}
		contact.UriParams.Add("transport", "tls")
		res.AppendHeader(&sip.ContactHeader{Address: contact})
		_ = tx.Respond(res)
	})
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
		select {
		case byes <- struct{}{}:
		default:
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ListenAndServeTLS(ctx, "tcp", addr, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}})
	}()
	t.Cleanup(func() { cancel(); <-served; ua.Close() })
	pollSRTP(t, "the plain peer listens", func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
		}
		return err == nil
	}, nil)

	a := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		acc := tlsAccount("desk", addr, ca.file)
		acc.RetryInterval, acc.SRTP = time.Hour, sbsip.SRTPRequired
		c.Account = acc
	})
	id, err := a.Dial(ctxT(t), "sip:plain@"+addr+";transport=tls")
	if err != nil {
		t.Fatal(err)
	}
	if offer := siptest.Recv(t, "the INVITE", offers); !strings.Contains(offer, "RTP/SAVP") || !strings.Contains(offer, "a=crypto:") {
		t.Fatalf("the offer has no SRTP:\n%s", offer)
	}
	got := a.waitState(t, id, telephony.StateEnded)
	if got.End != telephony.EndNoAudio || !strings.Contains(got.Reason, "SRTP") {
		t.Fatalf("ended %+v, want no usable audio for want of SRTP", got)
	}
	siptest.Recv(t, "the console's BYE", byes)
	for _, e := range a.events.All() {
		if cc, ok := e.(telephony.CallChanged); ok && cc.Call.State == telephony.StateActive {
			t.Fatalf("the call went live in plain RTP: %+v", cc.Call)
		}
	}
}
