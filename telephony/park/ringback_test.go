package park_test

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony/park"
)

func shortTimes(o *park.Options) {
	o.ParkTime = 300 * time.Millisecond
	o.RingbackTime = 700 * time.Millisecond
}

// TestRingbackAnswered: at the park time the parker is rung with the
// caller's identity and X-Park-Orbit; answering bridges it to the caller.
func TestRingbackAnswered(t *testing.T) {
	f := startPark(t, shortTimes)
	got := make(chan *sip.Request, 1)
	heard := make(chan struct{}, 1)
	parker := newAgent(t, "console", func(d *diago.DialogServerSession) {
		got <- d.InviteRequest
		dm, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			return
		}
		m := siptest.StartMedia(t, dm, 1000)
		hears(t, m, 440)
		heard <- struct{}{}
		<-d.Context().Done()
	})
	dc := parkAlice(t, f.uri("park-708"), sip.NewHeader("Referred-By", "<"+parker.AOR()+">"))
	mc := siptest.StartMedia(t, dc, 440)
	var req *sip.Request
	select {
	case req = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("parker never rung back")
	}
	if h := req.GetHeader("X-Park-Orbit"); h == nil || h.Value() != "708" {
		t.Fatalf("ring-back X-Park-Orbit = %v", h)
	}
	if from := req.From(); from.DisplayName != "Alice" || !strings.Contains(from.Address.String(), "alice") {
		t.Fatalf("ring-back From = %s, want the caller", from.Value())
	}
	hears(t, mc, 1000) // the caller hears the parker
	// and the parker the caller; the test ends only after the parker's
	// check did, which fails the test from its handler otherwise.
	siptest.Recv(t, "the parker hearing the caller", heard)
	f.log.wait(t, "rang back", "orbit", "708", "answered", "true")
	if st, _ := f.svc.Orbit(708); st.Occupied {
		t.Fatal("orbit still occupied after the parker answered the ring-back")
	}
}

// TestRingbackUnansweredReturnsToOrbit: nobody answers, the caller is back
// on its orbit hearing music, never got a BYE, and is rung back again.
func TestRingbackUnansweredReturnsToOrbit(t *testing.T) {
	f := startPark(t, shortTimes)
	var rings atomic.Int32
	parker := newAgent(t, "console", func(d *diago.DialogServerSession) {
		rings.Add(1)
		_ = d.Ringing()
		<-d.Context().Done() // rings until cancelled
	})
	dc := parkAlice(t, f.uri("park-709"), sip.NewHeader("Referred-By", "<"+parker.AOR()+">"))
	mc := siptest.StartMedia(t, dc, 440)
	f.log.wait(t, "rang back", "orbit", "709", "answered", "false")
	f.log.wait(t, "returned", "orbit", "709")
	// Rung back a second time a park time later.
	f.log.Until(t, "a second ring-back", func(r []map[string]string) bool { return countEvents(r, "rang back", 709) >= 2 })
	if rings.Load() < 2 {
		t.Fatalf("%d ring-back INVITEs for two ring-backs", rings.Load())
	}
	if dc.Context().Err() != nil {
		t.Fatal("the caller was hung up")
	}
	if st, _ := f.svc.Orbit(709); !st.Occupied {
		t.Fatal("the caller is not back on its orbit")
	}
	if rms := tone.RMS(mc.WaitAudio(t, mc.Len(), window)); rms < 0.01 {
		t.Fatalf("the caller hears silence after the ring-back (rms %.4f)", rms)
	}
}

// TestRingbackFallsBack: the parker does not answer, the fallback does.
func TestRingbackFallsBack(t *testing.T) {
	parker := newAgent(t, "console", func(d *diago.DialogServerSession) {
		_ = d.Respond(486, "Busy Here", nil)
	})
	answered := make(chan struct{}, 1)
	operator := newAgent(t, "operator", func(d *diago.DialogServerSession) {
		if _, err := d.Answer(diago.AnswerOptions{}); err != nil {
			return
		}
		answered <- struct{}{}
		<-d.Context().Done()
	})
	f := startPark(t, func(o *park.Options) {
		shortTimes(o)
		o.Fallback = operator.AOR()
	})
	dc := parkAlice(t, f.uri("park-711"), sip.NewHeader("Referred-By", "<"+parker.AOR()+">"))
	select {
	case <-answered:
	case <-time.After(siptest.WaitFor):
		t.Fatal("fallback never rung")
	}
	f.log.wait(t, "rang back", "orbit", "711", "answered", "false")
	f.log.wait(t, "fell back", "orbit", "711", "answered", "true")
	if dc.Context().Err() != nil {
		t.Fatal("the caller was hung up")
	}
}

// TestRingbackParkerUnreachable: a parker that does not exist costs the
// caller nothing.
func TestRingbackParkerUnreachable(t *testing.T) {
	f := startPark(t, shortTimes)
	dc := parkAlice(t, f.uri("park-712"), sip.NewHeader("Referred-By", "<sip:nobody@127.0.0.1:9>"))
	f.log.wait(t, "returned", "orbit", "712")
	if dc.Context().Err() != nil {
		t.Fatal("the caller was hung up")
	}
}

// TestCallerHangsUpDuringRingback: the ring-back is cancelled.
func TestCallerHangsUpDuringRingback(t *testing.T) {
	f := startPark(t, func(o *park.Options) {
		o.ParkTime = 200 * time.Millisecond
		o.RingbackTime = 10 * time.Second
	})
	ringing := make(chan struct{}, 1)
	parker := newAgent(t, "console", func(d *diago.DialogServerSession) {
		_ = d.Ringing()
		ringing <- struct{}{}
		<-d.Context().Done()
	})
	dc := parkAlice(t, f.uri("park-713"), sip.NewHeader("Referred-By", "<"+parker.AOR()+">"))
	<-ringing
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = dc.Hangup(ctx)
	f.log.wait(t, "gave up", "orbit", "713")
	f.log.wait(t, "rang back", "orbit", "713", "answered", "false")
}

// TestShutdownDrains: new parks are refused, parked calls ring back their
// parker, and Shutdown returns once they are picked up and done.
func TestShutdownDrains(t *testing.T) {
	f := startPark(t, nil) // park time one hour: only the shutdown rings back
	parker := newAgent(t, "console", func(d *diago.DialogServerSession) {
		if _, err := d.Answer(diago.AnswerOptions{}); err != nil {
			return
		}
		time.Sleep(300 * time.Millisecond) // talk a little, then hang up
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Hangup(ctx)
	})
	parkAlice(t, f.uri("park-716"), sip.NewHeader("Referred-By", "<"+parker.AOR()+">"))
	f.log.wait(t, "parked", "orbit", "716")
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() { done <- f.svc.Shutdown(ctx) }()
	f.log.wait(t, "rang back", "orbit", "716", "answered", "true")
	if err := <-done; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}

// TestShutdownDuringRingbackRingsAgain: a drain that begins while a call
// rings back its parker rings it back again once that ring-back goes
// unanswered, within the drain, instead of leaving the call on its orbit
// unrung until the drain ends and hangs it up (issue 14). The parker
// answers the second ring and the drain ends with nobody hung up.
func TestShutdownDuringRingbackRingsAgain(t *testing.T) {
	f := startPark(t, func(o *park.Options) {
		o.ParkTime = 300 * time.Millisecond
		o.RingbackTime = 1500 * time.Millisecond
	})
	var rings atomic.Int32
	ringing := make(chan struct{}, 1)
	parker := newAgent(t, "console", func(d *diago.DialogServerSession) {
		if rings.Add(1) == 1 {
			_ = d.Ringing()
			ringing <- struct{}{}
			<-d.Context().Done() // unanswered until the service cancels it
			return
		}
		if _, err := d.Answer(diago.AnswerOptions{}); err != nil {
			return
		}
		time.Sleep(300 * time.Millisecond) // talk a little, then hang up
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = d.Hangup(ctx)
	})
	parkAlice(t, f.uri("park-715"), sip.NewHeader("Referred-By", "<"+parker.AOR()+">"))
	siptest.Recv(t, "the first ring-back", ringing)
	done := make(chan error, 1)
	ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
	defer cancel()
	go func() { done <- f.svc.Shutdown(ctx) }()
	f.log.wait(t, "rang back", "orbit", "715", "answered", "false")
	f.log.wait(t, "rang back", "orbit", "715", "answered", "true")
	if err := siptest.Recv(t, "the drain", done); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if n := rings.Load(); n != 2 {
		t.Fatalf("the parker was rung %d times, want 2", n)
	}
}

func TestShutdownRefusesNewParks(t *testing.T) {
	f := startPark(t, nil)
	parkAlice(t, f.uri("park-717"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.svc.Shutdown(ctx) }()
	// Nobody to ring back: the call stays, and new parks are refused.
	deadline := time.Now().Add(siptest.WaitFor)
	for {
		late := newAgent(t, "late", nil)
		_, err := late.Call(t, f.uri("park"))
		if siptest.Status(err) == 503 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("park during drain: %v, want 503", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("shutdown cut short by its context reported no error")
	}
}

func TestOptionsHealth(t *testing.T) {
	f := startPark(t, nil)
	res := rawRequest(t, f, "OPTIONS sip:park@"+f.h+" SIP/2.0\r\n")
	if !strings.HasPrefix(res, "SIP/2.0 200") || !strings.Contains(res, "SUBSCRIBE") {
		t.Fatalf("OPTIONS answered %q", firstLine(res))
	}
}

// TestMalformedSIP: garbage and broken requests get an error answer or
// none, and the service keeps working.
func TestMalformedSIP(t *testing.T) {
	f := startPark(t, nil)
	conn, err := net.Dial("udp", f.svc.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, junk := range []string{"\x00\x01garbage", "INVITE\r\n\r\n", "INVITE sip:park@x SIP/2.0\r\nVia: nonsense\r\n\r\n"} {
		_, _ = conn.Write([]byte(junk))
	}
	// An INVITE with an SDP that offers no G.711 is refused with 488.
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n"
	res := rawRequest(t, f, "INVITE sip:park@"+f.h+" SIP/2.0\r\nContact: <sip:x@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n", body)
	if !strings.HasPrefix(res, "SIP/2.0 488") {
		t.Fatalf("INVITE without a common codec answered %q, want 488", firstLine(res))
	}
	res = rawRequest(t, f, "INVITE sip:park@"+f.h+" SIP/2.0\r\nContact: <sip:x@127.0.0.1:9>\r\n")
	if !strings.HasPrefix(res, "SIP/2.0 488") {
		t.Fatalf("INVITE without SDP answered %q, want 488", firstLine(res))
	}
	f.log.wait(t, "refused", "reason", "sdp: no common audio codec (PCMU/PCMA)")
	// Still serving.
	a := newAgent(t, "alice", nil)
	if _, err := a.Call(t, f.uri("park")); err != nil {
		t.Fatalf("park after malformed traffic: %v", err)
	}
	if f.svc.Parked() != 1 {
		t.Fatalf("%d calls parked, want 1", f.svc.Parked())
	}
}

// TestVideoAnsweredWithPortZero: a video offer is declined, audio kept.
func TestVideoAnsweredWithPortZero(t *testing.T) {
	f := startPark(t, nil)
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n" +
		"m=audio 4002 RTP/AVP 8 0 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\n" +
		"m=video 4004 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n"
	res := rawRequest(t, f, "INVITE sip:park-718@"+f.h+" SIP/2.0\r\nContact: <sip:x@127.0.0.1:9>\r\nContent-Type: application/sdp\r\n", body)
	if !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("INVITE with video answered %q", firstLine(res))
	}
	if !strings.Contains(res, "m=video 0 ") {
		t.Fatalf("video not declined with port 0:\n%s", res)
	}
	if !strings.Contains(res, "m=audio ") || strings.Contains(res, "m=audio 0 ") || !strings.Contains(res, "a=rtpmap:8 PCMA/8000") {
		t.Fatalf("audio not answered with the caller's first codec:\n%s", res)
	}
	if !strings.Contains(res, "X-Park-Orbit: 718") {
		t.Fatalf("no X-Park-Orbit:\n%s", res)
	}
}
