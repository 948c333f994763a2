package sip_test

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
)

// dtmfSession is a peer's call whose audio goes out through diago's
// DTMF writer, so that the digits it keys and its tone take turns on the
// one RTP stream (diago's packet writer is not safe for two writers).
type dtmfSession struct {
	siptest.Session
	w *diago.DTMFWriter
}

func (s dtmfSession) AudioWriter(opts ...diago.AudioWriterOption) (io.Writer, error) {
	if _, err := s.Session.AudioWriter(opts...); err != nil {
		return nil, err
	}
	return s.w, nil
}

// keyed returns the digits console c reported for call id so far.
func (c *console) keyed(id telephony.CallID) string {
	var b strings.Builder
	for _, ev := range c.events.All() {
		if d, ok := ev.(telephony.DTMFReceived); ok && d.CallID == id {
			b.WriteRune(d.Digit)
		}
	}
	return b.String()
}

// waitKeyed waits until console c reported want for call id (and fails
// at once on a digit too many or out of order).
func (c *console) waitKeyed(t *testing.T, id telephony.CallID, want string) {
	t.Helper()
	var got string
	c.events.Until(t, c.name+": digits "+want, func([]telephony.Event) bool {
		got = c.keyed(id)
		return len(got) >= len(want)
	})
	if got != want {
		t.Fatalf("%s: digits %q, want %q", c.name, got, want)
	}
}

// TestDTMFReceivedRFC4733: alice keys 1, 5 and # as RFC 4733 events on
// an answered call; the console reports exactly them, in order, while
// alice's tone still reaches its sound device and alice still hears it.
func TestDTMFReceivedRFC4733(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	_, call, d := aliceOn(t, a, false)
	w, err := d.Media().AudioWriterDTMF()
	if err != nil {
		t.Fatal(err)
	}
	m := siptest.StartMedia(t, dtmfSession{Session: d, w: w}, 440)
	m.WaitTone(t, "alice hears the console", 1000)
	a.hears(t, 440)

	for _, digit := range "15#" {
		if err := w.WriteDTMF(digit); err != nil {
			t.Fatal(err)
		}
	}
	a.waitKeyed(t, call.ID, "15#")
	// The digits took no audio from the sound device: the tone still
	// arrives, both ways.
	a.hears(t, 440)
	m.WaitTone(t, "alice still hears the console", 1000)
	if got := a.keyed(call.ID); got != "15#" {
		t.Fatalf("digits %q after the tone, want exactly 15#", got)
	}
	if got, _ := a.Call(call.ID); got.State != telephony.StateActive {
		t.Fatalf("call after the digits = %+v", got)
	}
}

// TestDTMFReceivedSIPInfo: digits sent as SIP INFO (application/dtmf-relay,
// and application/dtmf) are answered 200 and reported in the order they
// came; another INFO is still refused.
func TestDTMFReceivedSIPInfo(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	_, call, d := aliceOn(t, a, false)
	siptest.StartMedia(t, d, 440)
	a.hears(t, 440)
	info := func(ct, body string) int {
		t.Helper()
		req := sip.NewRequest(sip.INFO, d.InviteRequest.Recipient)
		req.AppendHeader(sip.NewHeader("Content-Type", ct))
		req.SetBody([]byte(body))
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		res, err := d.Do(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		return res.StatusCode
	}
	if code := info("application/dtmf-relay", "Signal=7\r\nDuration=160\r\n"); code != 200 {
		t.Fatalf("INFO dtmf-relay answered %d", code)
	}
	if code := info("application/dtmf", "*"); code != 200 {
		t.Fatalf("INFO dtmf answered %d", code)
	}
	if code := info("application/dtmf-relay", "Signal=11\r\n"); code != 200 {
		t.Fatalf("INFO dtmf-relay 11 answered %d", code)
	}
	// Each INFO follows the 200 of the one before, as a phone keys them:
	// the digits arrive in the order keyed (they once raced each other
	// to be reported when the 200 went out first).
	const keyed = "0123456789*#0123456789"
	for _, digit := range keyed {
		if code := info("application/dtmf", string(digit)); code != 200 {
			t.Fatalf("INFO dtmf %c answered %d", digit, code)
		}
	}
	if code := info("application/x-other", "hello"); code < 400 {
		t.Fatalf("INFO of another kind answered %d", code)
	}
	a.waitKeyed(t, call.ID, "7*#"+keyed)
	a.hears(t, 440)
}

// TestBaresipKeysDigits: Debian's baresip keys 4 and 2 on a call the
// console answered (its sndcode command, RFC 4733); the console reports
// them and still hears baresip's tone.
func TestBaresipKeysDigits(t *testing.T) {
	b := siptest.StartBaresip(t, baresip.Options{Display: "Bare Sip"})
	a := newConsole(t, "desk", 1000, nil)
	u := a.uri()
	if err := b.Dial(ctxT(t), u.String()); err != nil {
		t.Fatal(err)
	}
	call := answered(t, a)
	a.hears(t, 440)
	for _, digit := range []string{"4", "2"} {
		if _, err := b.Command(ctxT(t), "sndcode", digit); err != nil {
			t.Fatal(err)
		}
	}
	a.waitKeyed(t, call.ID, "42")
	a.hears(t, 440)
}
