package siptest

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/audio"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony"
)

// Rate is the sample rate of all the audio here: narrowband telephony.
const Rate = 8000

// Recording is audio as it arrives, 16-bit samples at Rate.
type Recording struct {
	Log[int16]
	ended atomic.Pointer[error]
}

// End records why no more audio will arrive (the reader's error), for a
// failure message that says "the reader ended" rather than "silence".
func (r *Recording) End(err error) {
	r.ended.CompareAndSwap(nil, &err)
}

// endedWhy says how the recording ended, or nothing while it goes on.
func (r *Recording) endedWhy() string {
	if e := r.ended.Load(); e != nil {
		return fmt.Sprintf("; the recording ended: %v", *e)
	}
	return ""
}

// WaitAudio waits until n samples arrived after the first mark and
// returns a copy of them.
func (r *Recording) WaitAudio(t testing.TB, mark, n int) []int16 {
	t.Helper()
	var out []int16
	ok := r.Await(WaitFor, func(pcm []int16) bool {
		if len(pcm)-mark < n {
			return false
		}
		out = append([]int16(nil), pcm[mark:mark+n]...)
		return true
	})
	if !ok {
		t.Fatalf("no audio arrived (have %d samples after %d, want %d)%s", r.Len()-mark, mark, n, r.endedWhy())
	}
	return out
}

// WaitTone waits until freq dominates 200 ms of the audio that arrives
// after the call.
func (r *Recording) WaitTone(t testing.TB, what string, freq float64) {
	t.Helper()
	r.WaitToneLevel(t, what, freq, Rate/5, 0)
}

// WaitToneLevel waits until freq dominates, above level (a fraction of
// full scale), a window of n samples of the audio that arrives after the
// call; the windows looked at overlap by half.
func (r *Recording) WaitToneLevel(t testing.TB, what string, freq float64, n int, level float64) {
	t.Helper()
	start := r.Len()
	mark := start
	ok := r.Await(WaitFor, func(pcm []int16) bool {
		for ; len(pcm)-mark >= n; mark += n / 2 {
			if l, ok := tone.Detect(pcm[mark:mark+n], freq, Rate); ok && l > level {
				return true
			}
		}
		return false
	})
	if !ok {
		pcm, _ := r.view()
		t.Fatalf("%s: %.0f Hz never dominated the audio above %.3f (%d samples arrived since the wait began, %d after the last window looked at)%s; the last windows: %s",
			what, freq, level, len(pcm)-start, len(pcm)-mark, r.endedWhy(), describeWindows(pcm[start:], freq, n, 4))
	}
}

// describeWindows says what the last count windows of n samples of pcm
// held, for a failure message: each one's RMS level, the share of its
// energy at freq, its level at freq, and its strongest frequency (a
// Goertzel scan in 10 Hz steps) with that one's share.
func describeWindows(pcm []int16, freq float64, n, count int) string {
	if len(pcm) < n {
		return fmt.Sprintf("fewer than a window (%d samples, RMS %.4f)", len(pcm), tone.RMS(pcm))
	}
	var b strings.Builder
	for i := count - 1; i >= 0; i-- {
		at := len(pcm) - n - i*n
		if at < 0 {
			continue
		}
		w := pcm[at : at+n]
		best, bestLevel := 0.0, 0.0
		for f := 50.0; f < Rate/2-50; f += 10 {
			if l := tone.Goertzel(w, f, Rate); l > bestLevel {
				best, bestLevel = f, l
			}
		}
		level, _ := tone.Detect(w, freq, Rate)
		fmt.Fprintf(&b, "[at %d: RMS %.4f, peak %.4f, %.0f Hz share %.2f level %.4f, strongest %.0f Hz share %.2f]",
			at, tone.RMS(w), tone.Peak(w), freq, tone.Share(w, freq, Rate), level, best, tone.Share(w, best, Rate))
	}
	return b.String()
}

// Last returns a copy of the last n samples (fewer if fewer arrived).
func (r *Recording) Last(n int) []int16 {
	pcm, _ := r.view()
	return append([]int16(nil), pcm[max(0, len(pcm)-n):]...)
}

// Dominant reports whether freq dominates 200 ms of pcm somewhere in its
// last second.
func Dominant(pcm []int16, freq float64) bool {
	const win = Rate / 5
	for at := len(pcm) - win; at >= 0 && at >= len(pcm)-Rate; at -= win / 4 {
		if _, ok := tone.Detect(pcm[at:at+win], freq, Rate); ok {
			return true
		}
	}
	return false
}

// Session is a diago call's audio, either side of the dialog.
type Session interface {
	AudioReader(opts ...diago.AudioReaderOption) (io.Reader, error)
	AudioWriter(opts ...diago.AudioWriterOption) (io.Writer, error)
	Media() *diago.DialogMedia
}

// Media is one diago call's audio: a sine sender and a recording of what
// arrives, with its DTMF digits apart.
type Media struct {
	Recording
	dtmf    Log[rune]
	stop    chan struct{}
	once    sync.Once
	sending sync.WaitGroup
}

// StartMedia sends a sine of freq (0: silence) on d, 20 ms a packet, and
// records the audio and digits that arrive. The sender stops at Close or
// at the end of the test; the recorder when the call ends.
func StartMedia(t testing.TB, d Session, freq float64) *Media {
	t.Helper()
	var rprops, wprops diago.MediaProps
	if _, err := d.AudioReader(diago.WithAudioReaderMediaProps(&rprops)); err != nil {
		t.Fatal(err)
	}
	w, err := d.AudioWriter(diago.WithAudioWriterMediaProps(&wprops))
	if err != nil {
		t.Fatal(err)
	}
	m := &Media{stop: make(chan struct{})}
	dtmfR, err := d.Media().AudioReaderDTMF()
	if err != nil {
		t.Fatal(err)
	}
	// diago v0.42's AudioReaderDTMF reads the media session without its
	// lock; taking the lock once orders that read before the update of a
	// later re-INVITE (else the race detector flags every retrieve).
	d.Media().MediaSession()
	dtmfR.OnDTMF(func(r rune) error {
		m.dtmf.Add(r)
		return nil
	})
	dec, err := audio.NewPCMDecoderReader(rprops.Codec.PayloadType, dtmfR)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := audio.NewPCMEncoderWriter(wprops.Codec.PayloadType, w)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // ends with the call: its reader fails
		buf := make([]byte, 3200)
		for {
			n, err := dec.Read(buf)
			if err != nil {
				m.End(err)
				return
			}
			if n > 0 {
				m.Add(tone.Samples(buf[:n])...)
			}
		}
	}()
	m.sending.Go(func() {
		g := tone.Sine(freq, Rate, 0.3)
		frame := make([]int16, Rate/50)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-tick.C:
			}
			if freq > 0 {
				g.Fill(frame)
			}
			if _, err := enc.Write(tone.PCMBytes(frame)); err != nil {
				return
			}
		}
	})
	t.Cleanup(func() {
		m.Close()
		m.sending.Wait()
	})
	return m
}

// Close stops sending.
func (m *Media) Close() {
	m.once.Do(func() { close(m.stop) })
}

// Digits returns the DTMF digits received so far.
func (m *Media) Digits() string { return string(m.dtmf.All()) }

// ToneDevice stands in for a console's sound device: every port it opens
// sends a sine of Freq as the microphone, paced like a real one, and what
// the console plays is recorded. The zero value sends silence.
type ToneDevice struct {
	Recording
	Freq float64
}

// OpenPort opens a port at rate, which must be Rate.
func (d *ToneDevice) OpenPort(rate int) (telephony.AudioPort, error) {
	if rate != Rate {
		return nil, fmt.Errorf("siptest: tone device: rate %d, want %d", rate, Rate)
	}
	return &tonePort{d: d, gen: tone.Sine(d.Freq, Rate, 0.3), closed: make(chan struct{}), next: time.Now()}, nil
}

type tonePort struct {
	d      *ToneDevice
	gen    *tone.Generator
	next   time.Time
	once   sync.Once
	closed chan struct{}
}

func (p *tonePort) Play(f telephony.Frame) {
	select {
	case <-p.closed:
	default:
		p.d.Add(f.PCM...)
	}
}

func (p *tonePort) Capture(pcm []int16) error {
	p.next = p.next.Add(telephony.FrameDuration)
	t := time.NewTimer(time.Until(p.next))
	defer t.Stop()
	select {
	case <-p.closed:
		return io.EOF
	case <-t.C:
	}
	p.gen.Fill(pcm)
	return nil
}

func (p *tonePort) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// WaitDigits waits until the DTMF digits received are want.
func (m *Media) WaitDigits(t testing.TB, want string) {
	t.Helper()
	if !m.dtmf.Await(WaitFor, func(got []rune) bool { return string(got) == want }) {
		t.Fatalf("got digits %q, want %s", m.Digits(), want)
	}
}
