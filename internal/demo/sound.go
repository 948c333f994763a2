package demo

import (
	"math"
	"math/rand/v2"
)

// SampleRate is the rate of every sound here: G.711's 8 kHz.
const SampleRate = 8000

// vowel formants (Hz) of a few vowels, from the usual tables of adult
// speech: F1, F2, F3.
var vowels = [][3]float64{
	{730, 1090, 2440}, // a
	{530, 1840, 2480}, // e
	{270, 2290, 3010}, // i
	{570, 840, 2410},  // o
	{300, 870, 2240},  // u
	{660, 1720, 2410}, // æ
	{520, 1190, 2390}, // ʌ
}

// Voice renders seconds of speech-like babble: phrases of syllables,
// each a vowel sung on a glottal source whose harmonics are shaped by
// the vowel's formants, with a falling pitch around f0 (120 Hz for a
// low voice, 220 for a high one), short noisy consonants between some
// syllables and pauses between phrases. No words, but a listener hears
// someone talking. The same seed gives the same sound.
func Voice(seed uint64, f0, seconds float64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 0x5b0a4d))
	n := int(seconds * SampleRate)
	out := make([]float64, n)
	pos := int(0.15 * SampleRate)
	for pos < n {
		syllables := 3 + rng.IntN(7)
		phraseLen := 0
		start := pos
		for s := 0; s < syllables && pos < n; s++ {
			dur := int((0.11 + 0.15*rng.Float64()) * SampleRate)
			if rng.Float64() < 0.45 {
				// A consonant: a burst of hiss before the vowel.
				cl := int((0.03 + 0.05*rng.Float64()) * SampleRate)
				hiss(out, pos, cl, 0.08+0.1*rng.Float64(), rng)
				pos += cl
			}
			// Pitch falls across the phrase and wobbles a little.
			progress := float64(pos-start) / float64(max(1, phraseLen+int(0.2*SampleRate*float64(syllables))))
			pitch := f0 * (1.12 - 0.25*progress) * (1 + 0.06*(rng.Float64()-0.5))
			from := vowels[rng.IntN(len(vowels))]
			to := vowels[rng.IntN(len(vowels))]
			sing(out, pos, dur, pitch, from, to, 0.55+0.35*rng.Float64())
			pos += dur
			phraseLen = pos - start
		}
		pos += int((0.25 + 0.45*rng.Float64()) * SampleRate)
	}
	return normalise(out, 0.45)
}

// sing adds a syllable: harmonics of pitch up to 3.4 kHz, each weighted
// by the formant envelope gliding from one vowel to another.
func sing(out []float64, at, dur int, pitch float64, from, to [3]float64, level float64) {
	phase := 0.0
	for i := 0; i < dur && at+i < len(out); i++ {
		t := float64(i) / float64(dur)
		env := math.Min(1, float64(i)/(0.015*SampleRate)) * math.Min(1, float64(dur-i)/(0.04*SampleRate))
		var f [3]float64
		for k := range f {
			f[k] = from[k] + (to[k]-from[k])*t
		}
		p := pitch * (1 - 0.05*t)
		phase += 2 * math.Pi * p / SampleRate
		sum := 0.0
		for h := 1; float64(h)*p < 3400; h++ {
			fh := float64(h) * p
			a := 0.0
			for k, fk := range f {
				bw := 80.0 + 40*float64(k)
				d := (fh - fk) / bw
				a += 1 / (1 + d*d) / float64(k+1)
			}
			sum += a / math.Sqrt(float64(h)) * math.Sin(float64(h)*phase)
		}
		out[at+i] += level * env * sum
	}
}

// hiss adds a burst of high, noisy sound (a consonant).
func hiss(out []float64, at, dur int, level float64, rng *rand.Rand) {
	prev := 0.0
	for i := 0; i < dur && at+i < len(out); i++ {
		env := math.Sin(math.Pi * float64(i) / float64(dur))
		x := rng.Float64()*2 - 1
		out[at+i] += level * env * (x - prev) // first difference: brighter
		prev = x
	}
}

// Melody renders a loop of seconds of a plucked tune on a pentatonic
// scale from root (Hz), with a soft fifth under each bar: a caller with
// music playing in the background. The same seed gives the same tune.
func Melody(seed uint64, root, seconds float64) []int16 {
	rng := rand.New(rand.NewPCG(seed, 0x3e1d))
	n := int(seconds * SampleRate)
	out := make([]float64, n)
	scale := []float64{0, 2, 4, 7, 9, 12, 14, 16}
	beat := int(0.3 * SampleRate)
	step := 3
	for at, b := 0, 0; at < n; at, b = at+beat, b+1 {
		step += rng.IntN(5) - 2
		step = max(0, min(len(scale)-1, step))
		pluck(out, at, 3*beat, root*math.Pow(2, scale[step]/12), 0.5)
		if b%4 == 0 {
			pluck(out, at, 4*beat, root/2, 0.3)
			pluck(out, at, 4*beat, root*0.75, 0.2)
		}
	}
	return normalise(out, 0.4)
}

// pluck adds a decaying note with a few harmonics, wrapping around the
// end so that the loop has no seam.
func pluck(out []float64, at, dur int, freq, level float64) {
	for i := 0; i < dur; i++ {
		t := float64(i) / SampleRate
		v := 0.0
		for h := 1; h <= 5 && float64(h)*freq < 3400; h++ {
			v += math.Exp(-t*(3+1.5*float64(h))) / float64(h) * math.Sin(2*math.Pi*freq*float64(h)*t)
		}
		attack := math.Min(1, float64(i)/40)
		out[(at+i)%len(out)] += level * attack * v
	}
}

// Tone renders seconds of a sine at freq Hz (for tests: a caller whose
// audio is easy to recognise).
func Tone(freq, seconds float64) []int16 {
	n := int(seconds * SampleRate)
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Sin(2 * math.Pi * freq * float64(i) / SampleRate)
	}
	return normalise(out, 0.3)
}

// normalise scales to the given peak (fraction of full scale) and
// converts to 16-bit samples.
func normalise(in []float64, peak float64) []int16 {
	m := 0.0
	for _, v := range in {
		m = math.Max(m, math.Abs(v))
	}
	out := make([]int16, len(in))
	if m == 0 {
		return out
	}
	g := peak * 32767 / m
	for i, v := range in {
		out[i] = int16(math.Round(v * g))
	}
	return out
}
