package audio

import (
	"math"
	"sync/atomic"
	"unsafe"
)

// maxChunk is the most samples a callback handles in one pass (100 ms
// at 48 kHz); longer callbacks are processed in chunks.
const maxChunk = streamRate / 10

// engine is the state the headset streams' data callbacks work on: the
// playback callback (render) and the capture callback (capture), each on
// its own device thread. Each owns its fields without atomics (render:
// acc, beep*, the ports' jitter buffers and upsamplers; capture: inBuf
// and the producer side of the ports' capture rings); everything shared
// with other goroutines is an atomic or a lock-free ring. Neither ever
// allocates, blocks or locks.
//
// Playback and capture are two streams rather than one miniaudio duplex
// stream: on PulseAudio a duplex stream is clocked by its capture side
// and glitches whenever the two devices' clocks disagree.
type engine struct {
	ports atomic.Pointer[[]*Port] // replaced whole on open/close

	muted   atomic.Bool
	gain    atomic.Uint32 // float32 bits
	beepReq atomic.Uint32 // Beep increments; the callback starts a beep

	inRMS, inPeak, outRMS, outPeak atomic.Uint32 // float32 bits

	callbacks atomic.Uint64 // data callbacks run
	frames    atomic.Uint64 // samples played
	capFrames atomic.Uint64 // samples captured

	// Test hooks: when set, the callback takes its input from inject
	// instead of the device and copies its output into tap.
	inject atomic.Pointer[sampleRing]
	tap    atomic.Pointer[sampleRing]

	// Callback-owned.
	acc      []int32
	inBuf    []int16
	beep     []int16
	beepSeen uint32
	beepPos  int
}

func newEngine(Options) *engine {
	e := &engine{
		acc:   make([]int32, maxChunk),
		inBuf: make([]int16, maxChunk),
		beep:  renderBeep(),
	}
	e.beepPos = len(e.beep)
	e.setGain(1)
	e.ports.Store(new([]*Port))
	return e
}

func (e *engine) setGain(v float64) {
	e.gain.Store(math.Float32bits(float32(math.Max(0, math.Min(4, v)))))
}

func (e *engine) volume() float64 { return float64(math.Float32frombits(e.gain.Load())) }

func (e *engine) levels() (in, out Level) {
	f := func(a *atomic.Uint32) float64 { return float64(math.Float32frombits(a.Load())) }
	return Level{RMS: f(&e.inRMS), Peak: f(&e.inPeak)}, Level{RMS: f(&e.outRMS), Peak: f(&e.outPeak)}
}

func (e *engine) clearLevels() {
	e.inRMS.Store(0)
	e.inPeak.Store(0)
	e.outRMS.Store(0)
	e.outPeak.Store(0)
}

// samples views a device buffer of 16-bit samples without copying.
func samples(b []byte) []int16 {
	if len(b) < 2 {
		return nil
	}
	return unsafe.Slice((*int16)(unsafe.Pointer(&b[0])), len(b)/2)
}

// playData is the headset playback stream's malgo data callback.
func (e *engine) playData(out, _ []byte, frames uint32) {
	o := samples(out)
	for off := 0; off < len(o); off += maxChunk {
		e.render(o[off:min(len(o), off+maxChunk)])
	}
	e.callbacks.Add(1)
}

// capData is the microphone capture stream's malgo data callback.
func (e *engine) capData(_, in []byte, frames uint32) {
	i := samples(in)
	for off := 0; off < len(i); off += maxChunk {
		e.capture(i[off:min(len(i), off+maxChunk)])
	}
	e.callbacks.Add(1)
}

// capture hands the microphone's samples to every port (silence while
// muted) and updates the input meter.
func (e *engine) capture(in []int16) {
	n := len(in)
	if r := e.inject.Load(); r != nil {
		in = e.inBuf[:n]
		k := r.read(in)
		clear(in[k:])
	}
	rms, peak := measure(in)
	e.inRMS.Store(math.Float32bits(rms))
	e.inPeak.Store(math.Float32bits(peak))
	muted := e.muted.Load()
	for _, p := range *e.ports.Load() {
		if muted {
			p.cap.writeZeros(n)
		} else {
			p.cap.write(in)
		}
	}
	e.capFrames.Add(uint64(n))
}

// render mixes the ports' playback and the beep into out, applies the
// volume and updates the output meter.
func (e *engine) render(out []int16) {
	n := len(out)
	acc := e.acc[:n]
	clear(acc)
	for _, p := range *e.ports.Load() {
		p.render(acc)
	}
	if req := e.beepReq.Load(); req != e.beepSeen {
		e.beepSeen, e.beepPos = req, 0
	}
	if e.beepPos < len(e.beep) {
		b := e.beep[e.beepPos:min(len(e.beep), e.beepPos+n)]
		for i, v := range b {
			acc[i] += int32(v)
		}
		e.beepPos += len(b)
	}
	g := math.Float32frombits(e.gain.Load())
	for i, v := range acc {
		out[i] = sat16(float32(v) * g)
	}
	rms, peak := measure(out)
	e.outRMS.Store(math.Float32bits(rms))
	e.outPeak.Store(math.Float32bits(peak))
	if t := e.tap.Load(); t != nil {
		t.write(out)
	}
	e.frames.Add(uint64(n))
}

// measure returns the RMS and peak level of s as fractions of full scale.
func measure(s []int16) (rms, peak float32) {
	if len(s) == 0 {
		return 0, 0
	}
	var sum float64
	var m int32
	for _, v := range s {
		x := int32(v)
		sum += float64(x * x)
		if x < 0 {
			x = -x
		}
		m = max(m, x)
	}
	return float32(math.Sqrt(sum/float64(len(s))) / 32768), float32(m) / 32768
}
