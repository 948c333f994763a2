package audio

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/gen2brain/malgo"
)

// Tone frequencies, for tests and for anyone describing the sounds.
const (
	BeepHz = 880.0 // call-waiting beep
	RingHz = 784.0 // the ringtone's first note (G5); the second is E5
	ringE5 = 659.26
)

// Ring cadence: "ding-dong, ding-dong", then quiet, every 4 s.
const (
	ringCycle = 4 * streamRate
)

// renderBeep returns the call-waiting beep at 48 kHz: two 120 ms beeps
// of 880 Hz, 100 ms apart, at -14 dBFS with 5 ms ramps.
func renderBeep() []int16 {
	const beep, gap = streamRate * 12 / 100, streamRate / 10
	out := make([]int16, 2*beep+gap)
	for _, start := range []int{0, beep + gap} {
		for i := 0; i < beep; i++ {
			env := math.Min(1, math.Min(float64(i), float64(beep-1-i))/(streamRate*0.005))
			out[start+i] = int16(0.2 * 32767 * env * math.Sin(2*math.Pi*BeepHz*float64(i)/streamRate))
		}
	}
	return out
}

// renderRing returns one 4 s cycle of the ringtone at 48 kHz: two soft
// chime notes (G5, E5) twice, each a sine with two quieter overtones, a
// 5 ms attack and an exponential decay, then 2.2 s of quiet.
func renderRing() []int16 {
	buf := make([]float64, ringCycle)
	note := func(at float64, hz float64) {
		start := int(at * streamRate)
		length := int(0.7 * streamRate)
		for i := 0; i < length && start+i < len(buf); i++ {
			t := float64(i) / streamRate
			env := math.Min(1, t/0.005) * math.Exp(-t/0.18)
			v := math.Sin(2*math.Pi*hz*t) + 0.25*math.Sin(2*math.Pi*2*hz*t) + 0.08*math.Sin(2*math.Pi*3*hz*t)
			buf[start+i] += 0.3 * env * v / 1.33
		}
	}
	note(0, RingHz)
	note(0.45, ringE5)
	note(1.2, RingHz)
	note(1.65, ringE5)
	out := make([]int16, len(buf))
	for i, v := range buf {
		out[i] = int16(math.Max(-1, math.Min(1, v)) * 32767)
	}
	return out
}

var ringTone = sync.OnceValue(renderRing)

// ringer is the ring device's playback stream. Its callback copies the
// ringtone cyclically; stopping is an atomic flag it sees at its next
// period, so the tone stops at once and the device is released after.
type ringer struct {
	dev   *malgo.Device
	tone  []int16
	pos   int // callback-owned
	stop  atomic.Bool
	gain  atomic.Uint32 // float32 bits
	users int           // Ring calls not yet stopped; Device.mu
	tap   atomic.Pointer[sampleRing]
	done  atomic.Uint64 // samples played
}

func (r *ringer) data(out, _ []byte, frames uint32) {
	o := samples(out)
	if r.stop.Load() {
		clear(o)
		return
	}
	g := math.Float32frombits(r.gain.Load())
	for i := range o {
		o[i] = sat16(float32(r.tone[r.pos]) * g)
		r.pos++
		if r.pos == len(r.tone) {
			r.pos = 0
		}
	}
	if t := r.tap.Load(); t != nil {
		t.write(o)
	}
	r.done.Add(uint64(len(o)))
}

// Ring plays the ringtone on the ring device until ctx ends or stop is
// called, whichever comes first; stop silences it at once (within one
// device period) and returns when the device is released. Several calls
// ringing at once share one ringtone: it stops when the last stops.
// While a call is live, use Beep instead.
func (d *Device) Ring(ctx context.Context) (stop func(), err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil, ErrClosed
	}
	if d.ring == nil {
		r, err := d.openRinger()
		if err != nil {
			return nil, err
		}
		d.ring = r
	}
	r := d.ring
	r.users++
	var once sync.Once
	done := make(chan struct{})
	release := func() {
		once.Do(func() {
			d.mu.Lock()
			defer d.mu.Unlock()
			r.users--
			if r.users == 0 && d.ring == r {
				r.stop.Store(true) // silent from the next period on
				d.ring = nil
				release(r.dev)
			}
			close(done)
		})
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		select {
		case <-ctx.Done():
			release()
		case <-d.ctx.Done():
			release()
		case <-done:
		}
	}()
	return release, nil
}

// Ringing reports whether the ringtone is playing.
func (d *Device) Ringing() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.ring != nil
}

// SetRingVolume sets the ringtone's volume (1 unchanged, up to 4).
func (d *Device) SetRingVolume(v float64) {
	d.ringGain.Store(math.Float32bits(float32(math.Max(0, math.Min(4, v)))))
}

// openRinger opens and starts the ring device. d.mu held.
func (d *Device) openRinger() (*ringer, error) {
	r := &ringer{tone: ringTone()}
	r.gain.Store(d.ringGain.Load())
	if t := d.ringTap.Load(); t != nil {
		r.tap.Store(t)
	}
	id, ok := d.lookup(malgo.Playback, d.ringID)
	if !ok {
		d.emit(Event{Kind: EventFallback, Device: d.ringID})
		d.ringID = ""
	}
	cfg := malgo.DefaultDeviceConfig(malgo.Playback)
	cfg.SampleRate = streamRate
	cfg.PeriodSizeInMilliseconds = uint32(d.opts.Period.Milliseconds())
	cfg.Periods = uint32(d.opts.Periods)
	cfg.Playback.Format, cfg.Playback.Channels = malgo.FormatS16, 1
	cfg.Pulse.StreamNamePlayback = "Switchboard ringtone"
	var pin runtime.Pinner
	defer pin.Unpin()
	if d.ringID != "" {
		pin.Pin(&id)
		cfg.Playback.DeviceID = unsafe.Pointer(&id)
	}
	dev, err := malgo.InitDevice(d.mctx.Context, cfg, malgo.DeviceCallbacks{Data: r.data})
	if err != nil {
		return nil, fmt.Errorf("open ring device: %w", err)
	}
	if dev.SampleRate() != streamRate || dev.PlaybackFormat() != malgo.FormatS16 || dev.PlaybackChannels() != 1 {
		dev.Uninit()
		return nil, fmt.Errorf("open ring device: miniaudio did not give 48 kHz 16-bit mono")
	}
	r.dev = dev
	if err := dev.Start(); err != nil {
		dev.Uninit()
		return nil, fmt.Errorf("start ring device: %w", err)
	}
	return r, nil
}
