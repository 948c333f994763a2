//go:build linux

package audio

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	diagoaudio "github.com/emiago/diago/audio"
	"github.com/gen2brain/malgo"

	"github.com/switchboard/switchboard/internal/needpeer"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony"
)

// A real sound server: a private PulseAudio daemon with null sinks
// (sb_sink: the headset; sb_alt: a second headset; sb_ring: the ring
// device) whose monitors parecord records, and a 600 Hz "microphone"
// (module-sine into mic_sink, remapped as the source mic600). See
// shared/STACK-NOTES.md for why it is built this way.

const pulseScript = `
load-module module-native-protocol-unix auth-anonymous=1 socket=%[1]s/native
load-module module-null-sink sink_name=sb_sink rate=48000 channels=1
load-module module-null-sink sink_name=sb_ring rate=48000 channels=1
load-module module-null-sink sink_name=mic_sink rate=48000 channels=1
load-module module-sine sink=mic_sink frequency=600
load-module module-remap-source master=mic_sink.monitor source_name=mic600
load-module module-null-source source_name=silence rate=48000 channels=1
load-module module-loopback source=silence sink=sb_sink latency_msec=20 source_dont_move=true sink_dont_move=true
load-module module-loopback source=silence sink=sb_ring latency_msec=20 source_dont_move=true sink_dont_move=true
load-module module-loopback source=silence sink=mic_sink latency_msec=20 source_dont_move=true sink_dont_move=true
set-default-sink sb_sink
set-default-source mic600
`

type pulseServer struct {
	env    []string // for pactl, parecord
	server string
}

// startPulse starts a private PulseAudio daemon for the test and points
// this process (and so malgo) at it with PULSE_SERVER. Without
// pulseaudio installed the test is skipped, or fails under CI=true.
func startPulse(t testing.TB) *pulseServer {
	t.Helper()
	needpeer.Program(t, "pulseaudio", "pactl", "parecord")
	base, err := os.MkdirTemp("", "sbpa")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	run, home := filepath.Join(base, "run"), filepath.Join(base, "home")
	for _, d := range []string{run, home} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(base, "sb.pa")
	if err := os.WriteFile(script, fmt.Appendf(nil, pulseScript, run), 0o600); err != nil {
		t.Fatal(err)
	}
	ps := &pulseServer{server: "unix:" + filepath.Join(run, "native")}
	ps.env = append(os.Environ(), "XDG_RUNTIME_DIR="+run, "HOME="+home, "PULSE_SERVER="+ps.server)
	logFile := filepath.Join(base, "pa.log")
	cmd := exec.Command("pulseaudio", "-n", "-F", script, "--daemonize=no", "--exit-idle-time=-1",
		"--disallow-exit", "--log-target=file:"+logFile)
	cmd.Env = ps.env
	// If the test binary dies (a timeout), the daemon dies with it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
		if t.Failed() {
			if b, err := os.ReadFile(logFile); err == nil {
				t.Logf("pulseaudio log:\n%s", lastLines(string(b), 40))
			}
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for {
		if _, err := ps.pactl("info"); err == nil {
			break
		}
		select {
		case err := <-exited:
			b, _ := os.ReadFile(logFile)
			t.Fatalf("pulseaudio exited: %v\n%s", err, lastLines(string(b), 40))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("pulseaudio did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// malgo's PulseAudio backend reads PULSE_SERVER (as root it cannot
	// autospawn); t.Setenv restores it after the test.
	t.Setenv("PULSE_SERVER", ps.server)
	ps.warmUp(t, "sb_sink")
	ps.warmUp(t, "sb_ring")
	return ps
}

// warmUp waits until fresh streams run steadily on sink (and on the
// microphone): for about two seconds after a null sink and its loopback
// are loaded, a new stream may get no callbacks at all.
func (ps *pulseServer) warmUp(t testing.TB, sink string) {
	t.Helper()
	mctx, err := malgo.InitContext([]malgo.Backend{malgo.BackendPulseaudio}, malgo.ContextConfig{}, nil)
	if err != nil {
		t.Fatalf("malgo on PulseAudio: %v", err)
	}
	defer func() { _ = mctx.Uninit(); mctx.Free() }()
	d := &Device{mctx: mctx}
	pid, ok := d.lookup(malgo.Playback, sink)
	if !ok {
		t.Fatalf("no sink %s", sink)
	}
	for deadline := time.Now().Add(20 * time.Second); ; {
		var n atomic.Int64
		count := func(_, _ []byte, _ uint32) { n.Add(1) }
		d.opts.Period, d.opts.Periods = 10*time.Millisecond, 2
		play, err := d.initDevice(malgo.Playback, sink, pid, count, "warm-up")
		if err != nil {
			t.Fatal(err)
		}
		capt, err := d.initDevice(malgo.Capture, "", malgo.DeviceID{}, count, "warm-up")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = play.Start(), capt.Start()
		time.Sleep(300 * time.Millisecond)
		release(play)
		release(capt)
		if n.Load() >= 2*20 { // 200 ms of the 300 ms, both ways
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("PulseAudio streams on %s never ran steadily", sink)
		}
	}
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func (ps *pulseServer) pactl(args ...string) (string, error) {
	cmd := exec.Command("pactl", args...)
	cmd.Env = ps.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("pactl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

// recorder records a sink's monitor with parecord from the moment it
// starts.
type recorder struct {
	cmd *exec.Cmd
	out io.ReadCloser
}

func (ps *pulseServer) record(t *testing.T, source string) *recorder {
	t.Helper()
	cmd := exec.Command("parecord", "--raw", "--device="+source, "--rate=48000", "--channels=1",
		"--format=s16le", "--latency-msec=100")
	cmd.Env = ps.env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	r := &recorder{cmd: cmd, out: out}
	t.Cleanup(r.stop)
	return r
}

// next returns the next d of recorded audio (it waits for it to be
// recorded: audio time, not a wall-clock check).
func (r *recorder) next(t *testing.T, d time.Duration) []int16 {
	t.Helper()
	b := make([]byte, 2*int(d.Seconds()*streamRate))
	if _, err := io.ReadFull(r.out, b); err != nil {
		t.Fatalf("parecord: %v", err)
	}
	return tone.Samples(b)
}

// listen records source for d, after 200 ms for the recording to
// settle.
func (ps *pulseServer) listen(t *testing.T, source string, d time.Duration) []int16 {
	t.Helper()
	r := ps.record(t, source)
	defer r.stop()
	r.next(t, 200*time.Millisecond)
	return r.next(t, d)
}

// checkSink records source until a tone at hz starts (within 4 s of
// audio) and then checks that it plays at amp (inWindows: the audio
// that arrived carries it at amp ± 15%). This proves the audio reaches
// the device at the right frequency and level. A loaded CI machine is
// forgiven its gaps: there PulseAudio's null sinks sometimes render in
// bursts and leave silence in what any client plays (glitch rates are
// the benchmark's business).
func (ps *pulseServer) checkSink(t *testing.T, what, source string, hz, amp float64) {
	t.Helper()
	r := ps.record(t, source)
	defer r.stop()
	started := false
	for range 80 {
		if _, ok := tone.Detect(r.next(t, 50*time.Millisecond), hz, streamRate); ok {
			started = true
			break
		}
	}
	if !started {
		t.Errorf("%s: no %.0f Hz on %s", what, hz, source)
		return
	}
	inWindows(t, what, func() []int16 { return r.next(t, time.Second) }, hz, streamRate, amp)
}

// inWindows takes audio from next (about a second a call) until what
// arrived of it carries the tone at hz (at amp ± 15%, or any clear level
// for amp 0) in at least half a second of 100 ms windows (arrivedTone):
// up to eight calls. Each verdict looks at all the audio taken so far.
func inWindows(t *testing.T, what string, next func() []int16, hz float64, rate int, amp float64) {
	t.Helper()
	var all []int16
	for try := 1; ; try++ {
		all = append(all, next()...)
		v := arrivedTone(all, hz, rate, amp, 5)
		if v.ok {
			return
		}
		if try == 8 {
			t.Errorf("%s: want %.0f Hz at %.2f: %v", what, hz, amp, v)
			return
		}
		t.Logf("%s: after %d s: %v; more", what, try, v)
	}
}

// addSink loads another null sink (a second headset) with its
// keep-alive loopback, and returns a function that unloads it (unplugs
// the headset); the test's end unloads it too.
func (ps *pulseServer) addSink(t *testing.T, name string) (unplug func()) {
	t.Helper()
	idx, err := ps.pactl("load-module", "module-null-sink", "sink_name="+name, "rate=48000", "channels=1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ps.pactl("load-module", "module-loopback", "source=silence", "sink="+name, "latency_msec=20",
		"source_dont_move=true", "sink_dont_move=true"); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	unplug = func() {
		once.Do(func() {
			if _, err := ps.pactl("unload-module", idx); err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(unplug)
	ps.warmUp(t, name)
	return unplug
}

func (r *recorder) stop() {
	if r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
	}
}

// callLoop runs a call on a port until the returned stop is called: it
// plays a 440 Hz tone (frames paced by Capture, so by the device) and
// keeps what Capture returned.
type callLoop struct {
	mu   sync.Mutex
	sent []int16
	stop func()
}

func runCall(t *testing.T, d *Device, rate int) *callLoop {
	t.Helper()
	p := newCall(t, d, rate).port
	gen := tone.Sine(callHz, float64(rate), callAmp)
	ctx, cancel := context.WithCancel(context.Background())
	cl := &callLoop{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		frame, out := make([]int16, rate/50), make([]int16, rate/50)
		for seq := uint16(0); ctx.Err() == nil; seq++ {
			if err := p.Capture(out); err != nil {
				return
			}
			cl.mu.Lock()
			cl.sent = append(cl.sent, out...)
			cl.mu.Unlock()
			gen.Fill(frame)
			p.Play(telephony.Frame{Seq: seq, Timestamp: uint32(seq) * uint32(rate/50), PCM: frame})
		}
	}()
	var once sync.Once
	cl.stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(cl.stop)
	return cl
}

// g711RoundTrip encodes pcm (8 kHz) with diago's G.711 encoder in 20 ms
// RTP payloads, as the console sends it, and decodes it as the far end
// does.
func g711RoundTrip(t *testing.T, pt uint8, pcm []int16) []int16 {
	t.Helper()
	var payloads packetWriter
	enc, err := diagoaudio.NewPCMEncoderWriter(pt, &payloads)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+160 <= len(pcm); i += 160 {
		if _, err := enc.Write(tone.PCMBytes(pcm[i : i+160])); err != nil {
			t.Fatal(err)
		}
	}
	dec, err := diagoaudio.NewPCMDecoder(pt)
	if err != nil {
		t.Fatal(err)
	}
	var out []int16
	buf := make([]byte, 320)
	for _, p := range payloads {
		if len(p) != 160 {
			t.Fatalf("payload of %d bytes, want 160", len(p))
		}
		n, err := dec.DecoderTo(buf, p)
		if err != nil {
			t.Fatal(err)
		}
		out = tone.AppendSamples(out, buf[:n])
	}
	return out
}

type packetWriter [][]byte

func (w *packetWriter) Write(p []byte) (int, error) {
	*w = append(*w, bytes.Clone(p))
	return len(p), nil
}

func (cl *callLoop) take() []int16 {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	s := cl.sent
	cl.sent = nil
	return s
}

func TestPulseAudio(t *testing.T) {
	ps := startPulse(t)

	t.Run("devices listed by name", func(t *testing.T) {
		d := openDevice(t, BackendPulseAudio, Options{})
		play, capt, err := d.Devices()
		if err != nil {
			t.Fatal(err)
		}
		has := func(list []DeviceInfo, id string) bool {
			for _, x := range list {
				if x.ID == id {
					return true
				}
			}
			return false
		}
		if !has(play, "sb_sink") || !has(play, "sb_ring") || !has(capt, "mic600") {
			t.Fatalf("playback %+v\ncapture %+v", play, capt)
		}
	})

	t.Run("call tone reaches the sink, microphone leaves in G.711", func(t *testing.T) {
		d := openDevice(t, BackendPulseAudio, Options{Playback: "sb_sink", Capture: "mic600"})
		cl := runCall(t, d, 8000)
		ps.checkSink(t, "sink monitor", "sb_sink.monitor", callHz, callAmp)

		// What leaves the console is G.711: encode as the call does,
		// decode as the far end does.
		for _, pt := range []uint8{0, 8} {
			cl.take()
			inWindows(t, fmt.Sprintf("microphone in payload type %d", pt), func() []int16 {
				waitFor(t, "a second of captured audio", func() bool {
					cl.mu.Lock()
					defer cl.mu.Unlock()
					return len(cl.sent) >= 8000
				})
				return g711RoundTrip(t, pt, cl.take()[:8000])
			}, micHz, 8000, 0)
		}
	})

	t.Run("switching the headset during a call", func(t *testing.T) {
		ps.addSink(t, "sb_alt")
		d := openDevice(t, BackendPulseAudio, Options{Playback: "sb_sink", Capture: "mic600"})
		cl := runCall(t, d, 8000)
		ps.checkSink(t, "sb_sink before", "sb_sink.monitor", callHz, callAmp)
		if err := d.SetDevices("sb_alt", "mic600"); err != nil {
			t.Fatal(err)
		}
		ps.checkSink(t, "sb_alt after", "sb_alt.monitor", callHz, callAmp)
		if lvl := tone.RMS(ps.listen(t, "sb_sink.monitor", 500*time.Millisecond)); lvl > 0.001 {
			t.Errorf("sb_sink still plays %.3f after the switch", lvl)
		}
		cl.take()
		waitFor(t, "capture to go on", func() bool {
			cl.mu.Lock()
			defer cl.mu.Unlock()
			return len(cl.sent) >= 4000
		})
	})

	t.Run("unplugged headset falls back to the default device", func(t *testing.T) {
		unplug := ps.addSink(t, "sb_usb")
		d := openDevice(t, BackendPulseAudio, Options{Playback: "sb_usb", Capture: "mic600", Watch: 50 * time.Millisecond})
		cl := runCall(t, d, 8000)
		ps.checkSink(t, "sb_usb before", "sb_usb.monitor", callHz, callAmp)
		unplug()
		var ev Event
		waitFor(t, "the fallback event", func() bool {
			select {
			case ev = <-d.Events():
				return ev.Kind == EventFallback
			default:
				return false
			}
		})
		if ev.Device != "sb_usb" {
			t.Errorf("fallback event %+v, want sb_usb", ev)
		}
		if p, _, running := d.CurrentDevices(); p != "" || !running {
			t.Errorf("now on %q (running %v), want the default device", p, running)
		}
		// The default sink is sb_sink: the call goes on there.
		ps.checkSink(t, "default sink after the fallback", "sb_sink.monitor", callHz, callAmp)
		cl.take()
		waitFor(t, "capture to go on", func() bool {
			cl.mu.Lock()
			defer cl.mu.Unlock()
			return len(cl.sent) >= 4000
		})
	})

	t.Run("a real call over RTP", func(t *testing.T) { testRealCall(t, ps) })

	t.Run("a gone sink's info is an error, not a crash", func(t *testing.T) { testInfoOfAGoneSink(t, ps) })

	t.Run("ringtone on the ring device, stopped at once", func(t *testing.T) {
		d := openDevice(t, BackendPulseAudio, Options{Playback: "sb_sink", Capture: "mic600", Ring: "sb_ring"})
		ring := ps.record(t, "sb_ring.monitor")
		ring.next(t, 100*time.Millisecond)
		stop, err := d.Ring(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// The first note (G5) comes within 4 s of recorded audio: at
		// once on an idle machine, but a loaded one starts a PulseAudio
		// stream late (audio time, not a wall-clock bound).
		found := false
		for i := 0; i < 100 && !found; i++ {
			lvl, ok := tone.Detect(ring.next(t, 40*time.Millisecond), RingHz, streamRate)
			found = ok && lvl > 0.1
		}
		ring.stop()
		if !found {
			t.Fatal("no ringtone on sb_ring")
		}
		if lvl := tone.RMS(ps.listen(t, "sb_sink.monitor", 500*time.Millisecond)); lvl > 0.001 {
			t.Errorf("the ringtone also plays on the headset (%.3f)", lvl)
		}
		stop()
		if lvl := tone.RMS(ps.listen(t, "sb_ring.monitor", 2*time.Second)); lvl > 0.001 {
			t.Errorf("ring device still plays %.3f after stop", lvl)
		}
	})
}
