package audio

import "math"

// streamRate is the rate of every stream this package opens on a sound
// device; miniaudio converts it to the device's own rate when they
// differ. Ports at 8, 16, 24 or 48 kHz convert to it by a whole factor.
const streamRate = 48000

// firTaps is the FIR length at 48 kHz: a group delay of about 1 ms each
// way; each of the factor polyphase branches has firTaps/factor taps.
const firTaps = 96

// lowpass returns a windowed-sinc (Blackman) low-pass FIR of firTaps
// taps for 48 kHz with its edge just below the port's Nyquist
// frequency, scaled to a DC gain of gain.
func lowpass(factor int, gain float64) []float32 {
	l := firTaps
	fc := 0.45 / float64(factor) // cycles per sample at 48 kHz
	h := make([]float64, l)
	var sum float64
	for i := range h {
		x := float64(i) - float64(l-1)/2
		s := 2 * fc
		if x != 0 {
			s = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(l-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/float64(l-1))
		h[i] = s * w
		sum += h[i]
	}
	out := make([]float32, l)
	for i := range h {
		out[i] = float32(h[i] / sum * gain)
	}
	return out
}

// upsampler raises a port's audio to 48 kHz by a whole factor with a
// polyphase FIR. It runs on the audio callback: no allocation after
// creation.
type upsampler struct {
	m      int
	phases [][]float32 // phases[p][j] = h[p + m·j]
	hist   []float32   // the last taps inputs, twice over (see add)
	taps   int         // per phase
	at     int
	phase  int // phase of the next output sample

	consumed int // input samples taken so far (tests)
}

func newUpsampler(m int) *upsampler {
	t := firTaps / m
	u := &upsampler{m: m, taps: t, hist: make([]float32, 2*t)}
	h := lowpass(m, float64(m))
	u.phases = make([][]float32, m)
	for p := range u.phases {
		u.phases[p] = make([]float32, t)
		for j := range u.phases[p] {
			u.phases[p][j] = h[p+m*j]
		}
	}
	return u
}

// need returns how many input samples producing n outputs consumes.
func (u *upsampler) need(n int) int {
	if u.m == 1 {
		return n
	}
	return (u.phase+n+u.m-1)/u.m - (u.phase+u.m-1)/u.m
}

// add produces len(out) samples from in (exactly need(len(out)) of them)
// and adds them to out.
func (u *upsampler) add(out []int32, in []int16) {
	u.consumed += len(in)
	if u.m == 1 {
		for i, v := range in {
			out[i] += int32(v)
		}
		return
	}
	k := 0
	for i := range out {
		if u.phase == 0 {
			// hist holds the window twice so that hist[at:at+taps] is
			// always the newest-first window without wrapping.
			u.at--
			if u.at < 0 {
				u.at = u.taps - 1
			}
			v := float32(in[k])
			k++
			u.hist[u.at] = v
			u.hist[u.at+u.taps] = v
		}
		w := u.hist[u.at : u.at+u.taps]
		c := u.phases[u.phase]
		var acc float32
		for j := range c {
			acc += c[j] * w[j]
		}
		out[i] += int32(acc)
		u.phase++
		if u.phase == u.m {
			u.phase = 0
		}
	}
}

// downsampler lowers 48 kHz audio to a port's rate by a whole factor:
// low-pass FIR, then keep every m-th sample. It runs in Capture.
type downsampler struct {
	m   int
	h   []float32 // reversed: h[0] weighs the oldest input
	buf []float32 // len(h)-1 samples of history, then the new block
}

func newDownsampler(m, block int) *downsampler {
	h := lowpass(m, 1)
	for i, j := 0, len(h)-1; i < j; i, j = i+1, j-1 {
		h[i], h[j] = h[j], h[i]
	}
	return &downsampler{m: m, h: h, buf: make([]float32, len(h)-1+block)}
}

// process turns in (m·len(out) samples) into out.
func (d *downsampler) process(out, in []int16) {
	if d.m == 1 {
		copy(out, in)
		return
	}
	hl := len(d.h) - 1
	for i, v := range in {
		d.buf[hl+i] = float32(v)
	}
	for i := range out {
		// Output i ends at input m·i + m-1.
		w := d.buf[d.m*i+d.m-1 : d.m*i+d.m-1+len(d.h)]
		var acc float32
		for j, c := range d.h {
			acc += c * w[j]
		}
		out[i] = sat16(acc)
	}
	copy(d.buf, d.buf[len(in):len(in)+hl])
}
