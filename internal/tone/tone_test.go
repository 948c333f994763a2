package tone

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// sine returns n samples of a sine from a fresh Generator.
func sine(freq, rate, amp float64, n int) []int16 {
	buf := make([]int16, n)
	Sine(freq, rate, amp).Fill(buf)
	return buf
}

// noise returns n samples of deterministic Gaussian noise with the given RMS
// level (a fraction of full scale).
func noise(seed uint64, rms float64, n int) []int16 {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	buf := make([]int16, n)
	for i := range buf {
		buf[i] = saturate(r.NormFloat64() * rms * FullScale)
	}
	return buf
}

// mix adds the sample slices together, saturating.
func mix(parts ...[]int16) []int16 {
	out := make([]int16, len(parts[0]))
	for _, p := range parts {
		for i := range out {
			out[i] = saturate(float64(out[i]) + float64(p[i]))
		}
	}
	return out
}

// ulawEncode is a straightforward G.711 µ-law encoder (ITU-T G.711, with
// the usual 0x84 bias), written here so the tests need no codec module.
func ulawEncode(s int16) byte {
	const bias, clip = 0x84, 32635
	v := int(s)
	var sign int
	if v < 0 {
		sign, v = 0x80, -v
	}
	v = min(v, clip) + bias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

func ulawDecode(u byte) int16 {
	u = ^u
	exp := int(u>>4) & 7
	v := ((int(u&0x0f) << 3) + 0x84) << exp
	v -= 0x84
	if u&0x80 != 0 {
		v = -v
	}
	return int16(v)
}

// alawEncode is a straightforward G.711 A-law encoder.
func alawEncode(s int16) byte {
	v := int(s) >> 3 // 13-bit
	mask := 0xd5
	if v < 0 {
		mask, v = 0x55, -v-1
	}
	seg := 0
	for end := 0x1f; seg < 8 && v > end; end = end<<1 | 1 {
		seg++
	}
	if seg >= 8 {
		return byte(0x7f ^ mask)
	}
	a := seg << 4
	if seg < 2 {
		a |= (v >> 1) & 0x0f
	} else {
		a |= (v >> seg) & 0x0f
	}
	return byte(a ^ mask)
}

func alawDecode(a byte) int16 {
	a ^= 0x55
	t := int(a&0x0f) << 4
	seg := int(a&0x70) >> 4
	switch seg {
	case 0:
		t += 8
	case 1:
		t += 0x108
	default:
		t += 0x108
		t <<= seg - 1
	}
	if a&0x80 == 0 {
		t = -t
	}
	return int16(t)
}

func ulaw(in []int16) []int16 {
	out := make([]int16, len(in))
	for i, s := range in {
		out[i] = ulawDecode(ulawEncode(s))
	}
	return out
}

func alaw(in []int16) []int16 {
	out := make([]int16, len(in))
	for i, s := range in {
		out[i] = alawDecode(alawEncode(s))
	}
	return out
}

func TestG711Helpers(t *testing.T) {
	// The test codecs must be faithful for the G.711 detection cases to
	// mean anything: known code points and a bounded round-trip error.
	cases := []struct {
		name string
		enc  func(int16) byte
		dec  func(byte) int16
		in   int16
		code byte
	}{
		{"ulaw zero", ulawEncode, ulawDecode, 0, 0xff},
		{"ulaw max", ulawEncode, ulawDecode, 32767, 0x80},
		{"ulaw min", ulawEncode, ulawDecode, -32768, 0x00},
		{"alaw zero", alawEncode, alawDecode, 0, 0xd5},
		{"alaw max", alawEncode, alawDecode, 32767, 0xaa},
		{"alaw min", alawEncode, alawDecode, -32768, 0x2a},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.enc(c.in); got != c.code {
				t.Errorf("encode(%d) = %#02x, want %#02x", c.in, got, c.code)
			}
		})
	}
	for _, c := range []struct {
		name string
		f    func([]int16) []int16
	}{{"ulaw", ulaw}, {"alaw", alaw}} {
		t.Run(c.name+" round trip", func(t *testing.T) {
			for v := -32768; v <= 32767; v += 7 {
				got := c.f([]int16{int16(v)})[0]
				// Half a quantisation step is at most 1/32 of the
				// segment start, so the relative error stays under 4 %
				// above the linear region.
				if d := math.Abs(float64(got) - float64(v)); d > 16 && d > 0.04*math.Abs(float64(v)) {
					t.Fatalf("%d -> %d", v, got)
				}
			}
		})
	}
}

func TestSineAmplitudeAndFrequency(t *testing.T) {
	cases := []struct {
		name       string
		freq, rate float64
		amp        float64
		wantPeak   float64 // as a fraction of full scale
	}{
		{"1k at 8k full scale", 1000, 8000, 1, 32767.0 / FullScale},
		{"440 at 8k half", 440, 8000, 0.5, 0.5 * 32767 / FullScale},
		{"1k at 48k quarter", 1000, 48000, 0.25, 0.25 * 32767 / FullScale},
		{"clamped above one", 400, 8000, 3, 32767.0 / FullScale},
		{"clamped below zero", 400, 8000, -1, 0},
		{"zero amplitude", 400, 8000, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			buf := sine(c.freq, c.rate, c.amp, int(c.rate)) // one second
			if got := Peak(buf); math.Abs(got-c.wantPeak) > 0.002 {
				t.Errorf("peak = %.4f, want %.4f", got, c.wantPeak)
			}
			if got, want := RMS(buf), c.wantPeak/math.Sqrt2; math.Abs(got-want) > 0.002 {
				t.Errorf("rms = %.4f, want %.4f", got, want)
			}
			if c.wantPeak == 0 {
				return
			}
			// Count upward zero crossings over one second.
			var ups int
			for i := 1; i < len(buf); i++ {
				if buf[i-1] < 0 && buf[i] >= 0 {
					ups++
				}
			}
			if math.Abs(float64(ups)-c.freq) > 1 {
				t.Errorf("%d upward zero crossings in 1 s, want %v", ups, c.freq)
			}
			if buf[0] != 0 {
				t.Errorf("first sample = %d, want 0", buf[0])
			}
		})
	}
}

func TestSinePhaseContinuesAcrossFills(t *testing.T) {
	for _, c := range []struct {
		name   string
		freq   float64
		rate   float64
		chunks []int
	}{
		{"20ms frames", 1000, 8000, []int{160, 160, 160, 160}},
		{"odd sizes", 437.3, 8000, []int{1, 7, 160, 33, 0, 999}},
		{"48k frames", 997, 48000, []int{960, 960, 480}},
		{"above nyquist wraps", 9000, 8000, []int{5, 50, 500}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var total int
			for _, n := range c.chunks {
				total += n
			}
			want := sine(c.freq, c.rate, 0.8, total)
			g := Sine(c.freq, c.rate, 0.8)
			var got []int16
			for _, n := range c.chunks {
				buf := make([]int16, n)
				g.Fill(buf)
				got = append(got, buf...)
			}
			if !slices.Equal(got, want) {
				t.Fatal("chunked fill differs from a single fill")
			}
			g2 := Sine(c.freq, c.rate, 0.8)
			for i, w := range want {
				if s := g2.Next(); s != w {
					t.Fatalf("Next #%d = %d, want %d", i, s, w)
				}
			}
		})
	}
}

func TestGeneratorZeroValueAndAdd(t *testing.T) {
	var g Generator
	buf := []int16{1, 2, 3}
	g.Fill(buf)
	if !slices.Equal(buf, []int16{0, 0, 0}) {
		t.Errorf("zero Generator filled %v, want silence", buf)
	}

	// Add saturates instead of wrapping.
	loud := []int16{32000, 32000, -32000, -32000, 0}
	want := make([]int16, len(loud))
	Sine(2000, 8000, 1).Fill(want) // 0, 32767, 0, -32767, 0
	Sine(2000, 8000, 1).Add(loud)
	if !slices.Equal(loud, []int16{32000, 32767, -32000, -32768, 0}) {
		t.Errorf("Add = %v (tone %v)", loud, want)
	}

	// Two half-scale tones added make the sum of both.
	a := sine(500, 8000, 0.25, 800)
	b := slices.Clone(a)
	Sine(1500, 8000, 0.25).Add(b)
	if got := Goertzel(b, 1500, 8000); math.Abs(got-0.25) > 0.01 {
		t.Errorf("added tone reads %.3f, want 0.25", got)
	}
	if got := Goertzel(b, 500, 8000); math.Abs(got-0.25) > 0.01 {
		t.Errorf("original tone reads %.3f, want 0.25", got)
	}
}

func TestRMSAndPeak(t *testing.T) {
	square := make([]int16, 800)
	for i := range square {
		square[i] = math.MaxInt16
		if i%2 == 1 {
			square[i] = math.MinInt16
		}
	}
	cases := []struct {
		name     string
		in       []int16
		rms      float64
		peak     float64
		tolerace float64
	}{
		{"nil", nil, 0, 0, 0},
		{"silence", make([]int16, 160), 0, 0, 0},
		{"full-scale square", square, 1, 1, 1e-4},
		{"full-scale sine", sine(1000, 8000, 1, 8000), 1 / math.Sqrt2, 1, 1e-3},
		{"constant", []int16{-16384, -16384}, 0.5, 0.5, 0},
		{"single min", []int16{math.MinInt16}, 1, 1, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := RMS(c.in); math.Abs(got-c.rms) > c.tolerace {
				t.Errorf("RMS = %v, want %v", got, c.rms)
			}
			if got := Peak(c.in); math.Abs(got-c.peak) > c.tolerace {
				t.Errorf("Peak = %v, want %v", got, c.peak)
			}
		})
	}
}

func TestDBFS(t *testing.T) {
	cases := []struct {
		level, want float64
	}{
		{1, 0},
		{0.5, -6.0206},
		{0.1, -20},
		{0.001, -60},
		{1 / math.Sqrt2, -3.0103},
		{2, 6.0206},
		{0, math.Inf(-1)},
		{-0.5, math.Inf(-1)},
	}
	for _, c := range cases {
		got := DBFS(c.level)
		if math.IsInf(c.want, -1) {
			if !math.IsInf(got, -1) {
				t.Errorf("DBFS(%v) = %v, want -Inf", c.level, got)
			}
			continue
		}
		if math.Abs(got-c.want) > 1e-3 {
			t.Errorf("DBFS(%v) = %v, want %v", c.level, got, c.want)
		}
	}
	if got := DBFS(RMS(sine(1000, 8000, 1, 8000))); math.Abs(got+3.01) > 0.01 {
		t.Errorf("full-scale sine = %.3f dBFS, want -3.01", got)
	}
}

func TestGoertzel(t *testing.T) {
	phased := func(freq, rate, amp, phase float64, n int) []int16 {
		buf := make([]int16, n)
		for i := range buf {
			buf[i] = int16(math.Round(amp * math.MaxInt16 * math.Sin(2*math.Pi*freq*float64(i)/rate+phase)))
		}
		return buf
	}
	cases := []struct {
		name    string
		in      []int16
		freq    float64
		rate    float64
		want    float64
		within  float64
		atMost  bool // want is an upper bound
		comment string
	}{
		{name: "full scale on frequency", in: sine(1000, 8000, 1, 160), freq: 1000, rate: 8000, want: 1, within: 0.01},
		{name: "half scale", in: sine(1000, 8000, 0.5, 160), freq: 1000, rate: 8000, want: 0.5, within: 0.01},
		{name: "quarter scale off bin", in: sine(437, 8000, 0.25, 160), freq: 437, rate: 8000, want: 0.25, within: 0.005},
		{name: "phase independent", in: phased(1000, 8000, 0.5, 1.234, 160), freq: 1000, rate: 8000, want: 0.5, within: 0.01},
		{name: "cosine phase", in: phased(697, 8000, 0.5, math.Pi/2, 205), freq: 697, rate: 8000, want: 0.5, within: 0.01},
		{name: "low tone short frame", in: sine(300, 8000, 0.5, 160), freq: 300, rate: 8000, want: 0.5, within: 0.02},
		{name: "48 kHz", in: sine(1000, 48000, 0.7, 960), freq: 1000, rate: 48000, want: 0.7, within: 0.01},
		{name: "16 kHz long", in: sine(3150, 16000, 0.1, 16000), freq: 3150, rate: 16000, want: 0.1, within: 0.001},
		{name: "other tone 200 Hz away", in: sine(1200, 8000, 1, 160), freq: 1000, rate: 8000, want: 0.03, atMost: true},
		{name: "other tone far away", in: sine(440, 8000, 1, 800), freq: 2000, rate: 8000, want: 0.001, atMost: true},
		{name: "silence", in: make([]int16, 160), freq: 1000, rate: 8000, want: 0, within: 0},
		{name: "too short", in: []int16{1000}, freq: 1000, rate: 8000, want: 0, within: 0},
		{name: "bad rate", in: sine(1000, 8000, 1, 160), freq: 1000, rate: 0, want: 0, within: 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := Goertzel(c.in, c.freq, c.rate)
			if c.atMost {
				if got > c.want {
					t.Errorf("Goertzel = %.5f, want at most %.5f", got, c.want)
				}
				return
			}
			if math.Abs(got-c.want) > c.within {
				t.Errorf("Goertzel = %.5f, want %.5f ± %v", got, c.want, c.within)
			}
		})
	}
}

func TestDetect(t *testing.T) {
	const rate = 8000
	const n = 160 // 20 ms
	tone1k := sine(1000, rate, 0.5, n)
	cases := []struct {
		name      string
		in        []int16
		freq      float64
		dominant  bool
		level     float64 // expected Goertzel level, checked when > 0
		levelTol  float64 // tolerance for level
		minShare  float64
		maxShare  float64
		shareNote string
	}{
		{name: "pure tone", in: tone1k, freq: 1000, dominant: true, level: 0.5, levelTol: 0.01, minShare: 0.97, maxShare: 1},
		{name: "quiet tone -40 dBFS", in: sine(1000, rate, 0.01, n), freq: 1000, dominant: true, level: 0.01, levelTol: 0.001, minShare: 0.9, maxShare: 1},
		{name: "tone below floor", in: sine(1000, rate, 0.0005, n), freq: 1000, dominant: false, minShare: 0, maxShare: 1},
		{name: "tone + noise 20 dB SNR", in: mix(tone1k, noise(1, 0.5/math.Sqrt2/10, n)), freq: 1000, dominant: true, level: 0.5, levelTol: 0.03, minShare: 0.9, maxShare: 1},
		{name: "tone + noise 6 dB SNR", in: mix(tone1k, noise(2, 0.5/math.Sqrt2/2, n)), freq: 1000, dominant: true, minShare: 0.6, maxShare: 1},
		{name: "noise only", in: noise(3, 0.3, n), freq: 1000, dominant: false, minShare: 0, maxShare: 0.2},
		{name: "tone buried 6 dB under noise", in: mix(sine(1000, rate, 0.1, n), noise(4, 0.1/math.Sqrt2*2, n)), freq: 1000, dominant: false, minShare: 0, maxShare: 0.45},
		{name: "different tone 440", in: sine(440, rate, 0.5, n), freq: 1000, dominant: false, minShare: 0, maxShare: 0.01},
		{name: "different tone 1200", in: sine(1200, rate, 0.5, n), freq: 1000, dominant: false, minShare: 0, maxShare: 0.01},
		{name: "different tone 1100 long frame", in: sine(1100, rate, 0.5, 800), freq: 1000, dominant: false, minShare: 0, maxShare: 0.01},
		{name: "tone under a louder tone", in: mix(sine(1000, rate, 0.2, n), sine(2000, rate, 0.5, n)), freq: 1000, dominant: false, level: 0.2, levelTol: 0.01, minShare: 0.1, maxShare: 0.2},
		{name: "louder of two tones", in: mix(sine(1000, rate, 0.5, n), sine(2000, rate, 0.2, n)), freq: 1000, dominant: true, level: 0.5, levelTol: 0.01, minShare: 0.8, maxShare: 0.9},
		{name: "silence", in: make([]int16, n), freq: 1000, dominant: false, minShare: 0, maxShare: 0},
		{name: "empty", in: nil, freq: 1000, dominant: false, minShare: 0, maxShare: 0},
		{name: "ulaw coded tone", in: ulaw(tone1k), freq: 1000, dominant: true, level: 0.5, levelTol: 0.02, minShare: 0.95, maxShare: 1},
		{name: "ulaw coded quiet tone", in: ulaw(sine(1000, rate, 0.02, n)), freq: 1000, dominant: true, level: 0.02, levelTol: 0.002, minShare: 0.9, maxShare: 1},
		{name: "alaw coded tone", in: alaw(sine(697, rate, 0.3, n)), freq: 697, dominant: true, level: 0.3, levelTol: 0.01, minShare: 0.95, maxShare: 1},
		{name: "ulaw coded tone + noise", in: ulaw(mix(tone1k, noise(5, 0.05, n))), freq: 1000, dominant: true, minShare: 0.8, maxShare: 1},
		{name: "ulaw coded other tone", in: ulaw(sine(1633, rate, 0.5, n)), freq: 1000, dominant: false, minShare: 0, maxShare: 0.01},
		{name: "clipped tone", in: sine(1000, rate, 1, n), freq: 1000, dominant: true, level: 1, levelTol: 0.01, minShare: 0.97, maxShare: 1},
		{name: "48 kHz tone", in: sine(1000, 48000, 0.5, 960), freq: 1000, dominant: true, level: 0.5, levelTol: 0.01, minShare: 0.97, maxShare: 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := float64(rate)
			if len(c.in) == 960 {
				r = 48000
			}
			level, dominant := Detect(c.in, c.freq, r)
			if dominant != c.dominant {
				t.Errorf("dominant = %v, want %v (level %.4f, rms %.4f, share %.3f)",
					dominant, c.dominant, level, RMS(c.in), Share(c.in, c.freq, r))
			}
			if want := Goertzel(c.in, c.freq, r); level != want {
				t.Errorf("level = %v, Goertzel = %v", level, want)
			}
			if c.level > 0 && math.Abs(level-c.level) > c.levelTol {
				t.Errorf("level = %.4f, want %.4f ± %v", level, c.level, c.levelTol)
			}
			if s := Share(c.in, c.freq, r); s < c.minShare || s > c.maxShare {
				t.Errorf("Share = %.4f, want in [%v, %v]", s, c.minShare, c.maxShare)
			}
		})
	}
}

func TestDetectFramesOfAStream(t *testing.T) {
	// A tone that starts half way through a stream is detected in every
	// 20 ms frame that holds only tone, and in none that holds only noise.
	const rate, n = 8000, 160
	stream := noise(9, 0.01, 40*n)
	Sine(1400, rate, 0.3).Add(stream[20*n:])
	for f := 0; f < 40; f++ {
		_, dominant := Detect(stream[f*n:(f+1)*n], 1400, rate)
		if want := f >= 20; dominant != want {
			t.Errorf("frame %d: dominant = %v, want %v", f, dominant, want)
		}
	}
}

func TestPCMBytes(t *testing.T) {
	cases := []struct {
		name    string
		samples []int16
		bytes   []byte
	}{
		{"empty", []int16{}, []byte{}},
		{"zero", []int16{0}, []byte{0, 0}},
		{"one", []int16{1}, []byte{1, 0}},
		{"minus one", []int16{-1}, []byte{0xff, 0xff}},
		{"max", []int16{math.MaxInt16}, []byte{0xff, 0x7f}},
		{"min", []int16{math.MinInt16}, []byte{0x00, 0x80}},
		{"several", []int16{0x1234, -0x1234, 256}, []byte{0x34, 0x12, 0xcc, 0xed, 0x00, 0x01}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := PCMBytes(c.samples); !bytes.Equal(got, c.bytes) {
				t.Errorf("PCMBytes = %x, want %x", got, c.bytes)
			}
			if got := Samples(c.bytes); !slices.Equal(got, c.samples) {
				t.Errorf("Samples = %v, want %v", got, c.samples)
			}
			prefix := []byte{9, 9, 9}
			if got := AppendPCMBytes(slices.Clone(prefix), c.samples); !bytes.Equal(got, append(prefix, c.bytes...)) {
				t.Errorf("AppendPCMBytes = %x", got)
			}
			sp := []int16{7}
			if got := AppendSamples(slices.Clone(sp), c.bytes); !slices.Equal(got, append(sp, c.samples...)) {
				t.Errorf("AppendSamples = %v", got)
			}
		})
	}

	t.Run("odd trailing byte ignored", func(t *testing.T) {
		if got := Samples([]byte{1, 0, 2}); !slices.Equal(got, []int16{1}) {
			t.Errorf("Samples = %v, want [1]", got)
		}
		if got := Samples([]byte{5}); len(got) != 0 {
			t.Errorf("Samples = %v, want empty", got)
		}
	})

	t.Run("round trip every value", func(t *testing.T) {
		all := make([]int16, 0, 65536)
		for v := math.MinInt16; v <= math.MaxInt16; v++ {
			all = append(all, int16(v))
		}
		if got := Samples(PCMBytes(all)); !slices.Equal(got, all) {
			t.Error("round trip changed samples")
		}
	})
}

func BenchmarkGoertzel20ms(b *testing.B) {
	buf := sine(1000, 8000, 0.5, 160)
	for b.Loop() {
		Goertzel(buf, 1000, 8000)
	}
}

func BenchmarkFill20ms(b *testing.B) {
	g := Sine(1000, 8000, 0.5)
	buf := make([]int16, 160)
	for b.Loop() {
		g.Fill(buf)
	}
}
