package audio

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony"
)

// These tests run on miniaudio's null backend: a device that keeps real
// time but makes no sound. The engine's test hooks feed its input (a
// 600 Hz "microphone") and copy its output (what the headset would
// play), so frequency and level can be checked with Goertzel. Pace is
// checked against the device's own sample clock, never the wall clock.

const (
	micHz   = 600.0
	micAmp  = 0.3
	callHz  = 440.0
	callAmp = 0.5
)

// openDevice opens a device on backend alone, quiet unless opts.Logf
// says otherwise, and closes it at the end of the test.
func openDevice(t testing.TB, backend Backend, opts Options) *Device {
	t.Helper()
	opts.Backends = []Backend{backend}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	d, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close() })
	return d
}

// mic fills the device's input with a 600 Hz tone for the given time.
func mic(d *Device, seconds float64) {
	n := int(seconds * streamRate)
	r := newSampleRing(n)
	buf := make([]int16, n)
	tone.Sine(micHz, streamRate, micAmp).Fill(buf)
	r.write(buf)
	d.eng.inject.Store(r)
}

// speaker records what the device plays, up to the given time.
func speaker(d *Device, seconds float64) *sampleRing {
	r := newSampleRing(int(seconds * streamRate))
	d.eng.tap.Store(r)
	return r
}

func drain(r *sampleRing) []int16 {
	out := make([]int16, r.len())
	r.read(out)
	return out
}

// call is a call's two loops in one: each Capture (paced by the device)
// sends a frame, and one frame of the far end's 440 Hz tone is played.
type call struct {
	t     *testing.T
	port  *Port
	rate  int
	gen   *tone.Generator
	seq   uint16
	frame []int16
	out   []int16
	sent  [][]int16 // captured frames, as they would be encoded
	dev   *Device
	// The loudest the device's meters showed while run ran: a meter
	// shows the last device period only, and a loaded machine's periods
	// after the call's last frame are the jitter buffer's fade.
	peakIn, peakOut float64
}

// openPort opens a port at rate on d, closed at the end of the test.
func openPort(t testing.TB, d *Device, rate int) *Port {
	t.Helper()
	p, err := d.OpenPort(rate)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p.(*Port)
}

func newCall(t *testing.T, d *Device, rate int) *call {
	t.Helper()
	return &call{t: t, port: openPort(t, d, rate), rate: rate, gen: tone.Sine(callHz, float64(rate), callAmp),
		frame: make([]int16, rate/50), out: make([]int16, rate/50), dev: d}
}

func (c *call) run(frames int) {
	c.t.Helper()
	for range frames {
		if err := c.port.Capture(c.out); err != nil {
			c.t.Fatal(err)
		}
		c.sent = append(c.sent, append([]int16(nil), c.out...))
		c.gen.Fill(c.frame)
		c.port.Play(telephony.Frame{Seq: c.seq, Timestamp: uint32(c.seq) * uint32(c.rate/50), PCM: c.frame})
		c.seq++
		in, out := c.dev.Levels()
		c.peakIn, c.peakOut = max(c.peakIn, in.Peak), max(c.peakOut, out.Peak)
	}
}

func checkTone(t *testing.T, what string, pcm []int16, hz, rate, amp float64) {
	t.Helper()
	lvl, ok := tone.Detect(pcm, hz, rate)
	if !ok || lvl < amp*0.85 || lvl > amp*1.15 {
		t.Errorf("%s: %.0f Hz at level %.3f (dominant %v), want %.2f", what, hz, lvl, ok, amp)
	}
}

// checkHeard checks what a device played (48 kHz): the audio that
// arrived carries the tone at hz at amp ± 15% in at least 300 ms of it
// (arrivedTone: gaps a loaded machine leaves are not held against it).
func checkHeard(t *testing.T, what string, pcm []int16, hz, amp float64) {
	t.Helper()
	if v := arrivedTone(pcm, hz, streamRate, amp, 3); !v.ok {
		t.Errorf("%s: want %.0f Hz at %.2f: %v", what, hz, amp, v)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a failure bound, not a measurement
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestNullDeviceListing(t *testing.T) {
	d := openDevice(t, BackendNull, Options{})
	play, capt, err := d.Devices()
	if err != nil {
		t.Fatal(err)
	}
	if len(play) != 1 || len(capt) != 1 || !play[0].Default || !capt[0].Default {
		t.Fatalf("devices %+v %+v, want one default of each", play, capt)
	}
	if play[0].Name != "NULL Playback Device" || capt[0].Name != "NULL Capture Device" || play[0].ID == "" {
		t.Fatalf("devices %+v %+v", play, capt)
	}
}

// A closed Device's list is ErrClosed: its sound system is released,
// and listing on it read freed memory.
func TestDevicesAfterClose(t *testing.T) {
	d := openDevice(t, BackendNull, Options{})
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.Devices(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Devices after Close: %v, want ErrClosed", err)
	}
}

func TestCallAudioFlowsBothWays(t *testing.T) {
	for _, rate := range []int{8000, 16000, 48000} {
		t.Run(fmt.Sprintf("%dHz", rate), func(t *testing.T) {
			d := openDevice(t, BackendNull, Options{})
			mic(d, 4)
			spk := speaker(d, 4)
			c := newCall(t, d, rate)
			c.run(10) // warm up: stream start, jitter buffer fill
			f0, q0 := d.eng.capFrames.Load(), c.port.cap.len()
			drop0, silent0 := c.port.CaptureStats()
			c.run(100)
			f1, q1 := d.eng.capFrames.Load(), c.port.cap.len()
			drop1, silent1 := c.port.CaptureStats()
			silent := int(silent1 - silent0)

			// Pace: the frames Capture returned came from the device,
			// and the device's clock accounts for all of them: 960
			// samples for each frame taken, plus any dropped as stale,
			// plus what waits in the ring. A loaded machine may stall the
			// device's thread past stallAfter now and then: Capture then
			// keeps the call's pace with a silent frame, as it must; a
			// few of those are the load's, more would be a fault.
			if silent > 5 {
				t.Errorf("Capture made up %d silent frames of 100 while the device ran", silent)
			}
			// (The counters are read while the device runs: allow one
			// device period between them.)
			if got, want := int(f1-f0), (100-silent)*streamRate/50+int(drop1-drop0)+q1-q0; got < want-480 || got > want+480 {
				t.Errorf("microphone produced %d samples, Capture accounts for %d", got, want)
			}
			// Capture → what the call sends: the microphone's tone.
			var sent []int16
			for _, f := range c.sent[20:] {
				sent = append(sent, f...)
			}
			if v := arrivedTone(sent, micHz, rate, micAmp, 5); !v.ok {
				t.Errorf("sent: want %.0f Hz at %.2f: %v", micHz, micAmp, v)
			}
			// Play → what the headset plays: the caller's tone.
			out := drain(spk)
			checkHeard(t, "played", out[len(out)-streamRate:], callHz, callAmp)

			// The playback device keeps its own clock: it played the
			// frames the microphone paced, in order. A loaded machine
			// may stall the device's thread: Play then cannot queue
			// (Overflows) and those frames are missing at their turn
			// (Lost), the load's and no fault (seen beside two busy
			// loops: 84 played, 10 overflowed, 10 lost). A frame lost
			// that no overflow explains, a late one, or fewer than half
			// played would be a fault; the tone check above judges the
			// audio itself.
			s := c.port.Stats()
			if s.Played < 50 || s.Lost > s.Overflows || s.Late != 0 {
				t.Errorf("jitter stats %+v: want ≥ 50 played, none late, and no frame lost but those the device did not take", s)
			}
			if c.peakIn < micAmp*0.95 || c.peakOut < callAmp*0.9 {
				t.Errorf("meters' peaks during the call: in %.3f, out %.3f; want %.2f and %.2f", c.peakIn, c.peakOut, micAmp, callAmp)
			}
		})
	}
}

func TestMute(t *testing.T) {
	d := openDevice(t, BackendNull, Options{})
	mic(d, 4)
	c := newCall(t, d, 8000)
	c.run(10)
	d.SetMuted(true)
	if !d.Muted() {
		t.Fatal("Muted() false after SetMuted(true)")
	}
	c.run(5) // what was captured before muting drains
	c.sent = nil
	c.run(20)
	for i, f := range c.sent {
		if tone.RMS(f) != 0 {
			t.Fatalf("frame %d while muted has level %.4f, want silence", i, tone.RMS(f))
		}
	}
	if in, _ := d.Levels(); in.Peak < micAmp*0.95 {
		t.Errorf("input meter %.3f while muted, want the microphone's %.2f", in.Peak, micAmp)
	}
	d.SetMuted(false)
	c.run(5)
	c.sent = nil
	c.run(20)
	var sent []int16
	for _, f := range c.sent {
		sent = append(sent, f...)
	}
	checkTone(t, "unmuted", sent, micHz, 8000, micAmp)
}

func TestVolume(t *testing.T) {
	d := openDevice(t, BackendNull, Options{})
	spk := speaker(d, 4)
	c := newCall(t, d, 8000)
	c.run(30)
	full := drain(spk)
	d.SetVolume(0.5)
	if d.Volume() != 0.5 {
		t.Fatalf("Volume %v", d.Volume())
	}
	c.run(5)
	drain(spk)
	c.run(30)
	half := drain(spk)
	checkHeard(t, "full volume", full[len(full)-streamRate/2:], callHz, callAmp)
	checkHeard(t, "half volume", half[len(half)-streamRate/2:], callHz, callAmp/2)
}

func TestBeep(t *testing.T) {
	d := openDevice(t, BackendNull, Options{})
	if d.Beep() {
		t.Fatal("Beep played with no stream running")
	}
	spk := speaker(d, 4)
	openPort(t, d, 8000) // a call
	if !d.Beep() {
		t.Fatal("Beep did not play during a call")
	}
	waitFor(t, "the beep to play", func() bool { return spk.len() >= streamRate/2 })
	first := drain(spk)
	// The first beep: 120 ms of 880 Hz somewhere in the first 0.5 s.
	found := false
	for i := 0; i+streamRate/20 <= len(first) && i < streamRate/2; i += streamRate / 100 {
		if lvl, ok := tone.Detect(first[i:i+streamRate/20], BeepHz, streamRate); ok && lvl > 0.15 {
			found = true
			break
		}
	}
	if !found {
		t.Fatal("no 880 Hz beep in the headset output")
	}
}

func TestRingtoneStartStop(t *testing.T) {
	d := openDevice(t, BackendNull, Options{})
	tap := newSampleRing(4 * streamRate)
	d.ringTap.Store(tap)
	stop, err := d.Ring(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !d.Ringing() {
		t.Fatal("not ringing")
	}
	waitFor(t, "0.4 s of ringtone", func() bool { return tap.len() >= streamRate*4/10 })
	out := drain(tap)
	lvl, ok := tone.Detect(out[streamRate/100:streamRate*11/100], RingHz, streamRate)
	if !ok || lvl < 0.1 {
		t.Errorf("ringtone's first note: %.0f Hz level %.3f dominant %v", RingHz, lvl, ok)
	}
	stop()
	if d.Ringing() {
		t.Fatal("still ringing after stop")
	}
	r := d.ring
	if r != nil {
		t.Fatal("ringer kept after stop")
	}
	n := tap.len()
	time.Sleep(50 * time.Millisecond) // give a stray callback the chance to show itself
	if tap.len() != n {
		t.Fatalf("ringtone went on after stop: %d more samples", tap.len()-n)
	}
	stop() // idempotent

	// Two calls ringing: the tone goes on until both stop; a context
	// ending stops its ringing.
	ctx, cancel := context.WithCancel(context.Background())
	stop1, err := d.Ring(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stop2, err := d.Ring(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	stop2()
	if !d.Ringing() {
		t.Fatal("ringing stopped while another call still rings")
	}
	cancel()
	waitFor(t, "ringing to end with its context", func() bool { return !d.Ringing() })
	stop1()
}

func TestSwitchDevicesDuringCall(t *testing.T) {
	d := openDevice(t, BackendNull, Options{})
	play, capt, _ := d.Devices()
	spk := speaker(d, 8)
	c := newCall(t, d, 8000)
	c.run(20)
	if err := d.SetDevices(play[0].ID, capt[0].ID); err != nil {
		t.Fatal(err)
	}
	if p, cp, running := d.CurrentDevices(); p != play[0].ID || cp != capt[0].ID || !running {
		t.Fatalf("current devices %q %q running %v", p, cp, running)
	}
	drain(spk)
	c.run(50)
	out := drain(spk)
	checkHeard(t, "after the switch", out[len(out)-streamRate/2:], callHz, callAmp)
	if err := d.SetDevices("no-such-device", ""); err == nil {
		t.Fatal("switching to an unknown device succeeded")
	}
	if p, _, _ := d.CurrentDevices(); p != play[0].ID {
		t.Fatalf("a failed switch changed the device to %q", p)
	}
}

func TestDeviceStopRecovers(t *testing.T) {
	d := openDevice(t, BackendNull, Options{Watch: 20 * time.Millisecond})
	spk := speaker(d, 8)
	c := newCall(t, d, 8000)
	c.run(10)
	d.simulateStop() // as miniaudio reports a device that stopped by itself
	var ev Event
	waitFor(t, "a restart event", func() bool {
		select {
		case ev = <-d.Events():
			return true
		default:
			return false
		}
	})
	if ev.Kind != EventRestarted {
		t.Fatalf("event %v, want restarted", ev)
	}
	drain(spk)
	// All that the restarted device played is judged, 1.2 s of it: the
	// last half second alone left 3 windows on a loaded machine, one of
	// them the fade-in and one a glitch (seen in a busy full run).
	c.run(60)
	checkHeard(t, "after the restart", drain(spk), callHz, callAmp)
}

func TestCaptureKeepsPaceWithoutDevice(t *testing.T) {
	d := openDevice(t, BackendNull, Options{Watch: time.Hour})
	c := newCall(t, d, 8000)
	c.run(5)
	d.mu.Lock()
	d.closeStream() // the device is gone and nothing reopens it
	d.mu.Unlock()
	c.run(25) // more than the 16 frames Play can queue
	_, silent := c.port.CaptureStats()
	if silent == 0 {
		t.Fatal("Capture made up no silent frames while the device was gone")
	}
	if s := c.port.Stats(); s.Overflows == 0 {
		t.Errorf("Play queued frames for a device that is gone: %+v", s)
	}
}

func TestPortClose(t *testing.T) {
	d := openDevice(t, BackendNull, Options{Linger: 50 * time.Millisecond, Watch: 10 * time.Millisecond})
	p, err := d.OpenPort(8000)
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		buf := make([]int16, 160)
		for {
			if err := p.Capture(buf); err != nil {
				errc <- err
				return
			}
		}
	}()
	time.Sleep(30 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("Capture after Close: %v, want ErrClosed", err)
	}
	p.Play(telephony.Frame{PCM: make([]int16, 160)}) // harmless
	waitFor(t, "the idle stream to stop", func() bool { _, _, running := d.CurrentDevices(); return !running })
	if _, err := d.OpenPort(44100); err == nil {
		t.Fatal("opened a port at 44.1 kHz")
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.OpenPort(8000); !errors.Is(err, ErrClosed) {
		t.Fatalf("OpenPort after Close: %v", err)
	}
}

func TestNoDeviceGivesClearError(t *testing.T) {
	// No sound system the test machine lacks can start: CoreAudio on
	// Linux, ALSA/PulseAudio on a machine without them behave alike.
	missing := BackendCoreAudio
	if runtime.GOOS == "darwin" {
		missing = BackendWASAPI
	}
	_, err := Open(context.Background(), Options{Backends: []Backend{missing}})
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Open without a sound system: %v, want ErrUnavailable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := NewSilent(ctx)
	p, err := s.OpenPort(8000)
	if err != nil {
		t.Fatal(err)
	}
	buf := []int16{1, 2, 3}
	if err := p.Capture(buf); !errors.Is(err, ErrShortBuffer) {
		t.Fatalf("short buffer: %v", err)
	}
	buf = make([]int16, 160)
	buf[0] = 7
	p.Play(telephony.Frame{PCM: buf})
	if err := p.Capture(buf); err != nil || tone.RMS(buf) != 0 {
		t.Fatalf("silent capture: %v, level %v", err, tone.RMS(buf))
	}
	cancel()
	if err := p.Capture(buf); !errors.Is(err, ErrClosed) {
		t.Fatalf("after the context: %v", err)
	}
	_ = p.Close()
}

// Preview runs the headset without a call, for the settings window's
// meters; the stream stops after the linger time once it ends.
func TestPreviewShowsLevels(t *testing.T) {
	d := openDevice(t, BackendNull, Options{Linger: 20 * time.Millisecond, Watch: 10 * time.Millisecond})
	mic(d, 4)
	ctx, cancel := context.WithCancel(context.Background())
	if err := d.Preview(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the input meter to show the microphone", func() bool {
		in, _ := d.Levels()
		return in.Peak > micAmp*0.95 && in.RMS > micAmp*0.65
	})
	if !d.Beep() {
		t.Error("no beep during a preview")
	}
	cancel()
	waitFor(t, "the stream to stop after the preview", func() bool { _, _, running := d.CurrentDevices(); return !running })
	if in, out := d.Levels(); in != (Level{}) || out != (Level{}) {
		t.Errorf("levels %+v %+v with no stream", in, out)
	}
}

// The real callback path, miniaudio's device thread through malgo's cgo
// trampoline into ours, allocates nothing: with a port playing queued
// frames (then concealing, then idle) and the microphone flowing, a
// second of callbacks leaves the process's allocation count unchanged.
// (Nothing else runs meanwhile: the watchdog is parked.)
func TestDeviceCallbacksDoNotAllocate(t *testing.T) {
	d := openDevice(t, BackendNull, Options{Watch: time.Hour})
	mic(d, 4)
	p := openPort(t, d, 8000)
	waitFor(t, "the stream to run", func() bool { return d.eng.callbacks.Load() > 10 })
	frame := make([]int16, 160)
	tone.Sine(440, 8000, 0.5).Fill(frame)
	for attempt := 1; ; attempt++ {
		for seq := range uint16(16) { // 320 ms to play, then concealment and silence
			p.Play(telephony.Frame{Seq: seq, PCM: frame})
		}
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		c0 := d.eng.callbacks.Load()
		time.Sleep(time.Second)
		c1 := d.eng.callbacks.Load()
		runtime.ReadMemStats(&m1)
		if c1-c0 < 100 {
			t.Fatalf("only %d callbacks ran", c1-c0)
		}
		if n := m1.Mallocs - m0.Mallocs; n == 0 {
			t.Logf("%d callbacks, 0 allocations", c1-c0)
			return
		} else if attempt == 3 {
			t.Fatalf("%d allocations during %d callbacks, want 0", n, c1-c0)
		}
	}
}
