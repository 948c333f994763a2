package assets

import (
	"math"
	"sync"
)

// MusicOnHoldSampleRate is the sample rate of MusicOnHold in Hz.
const MusicOnHoldSampleRate = 8000

// MusicOnHold returns the default music on hold: a calm, synthesised loop
// of 21.6 seconds at 8000 Hz, 16-bit, mono.
//
// The piece is a slow I–vi–IV–V progression in E♭ major (E♭maj7, Cm7,
// A♭maj7, B♭), two bars per chord at about 89 beats per minute, played on
// a soft electric-piano voice built from decaying harmonics: gently struck
// chords, an eighth-note arpeggio above them and a quiet walking bass, with
// a little room reverb. Every partial stays below 3.3 kHz, so the whole
// sound fits the telephone band, and the bass sits an octave up where a
// handset can reproduce it. It peaks at −6 dBFS with an RMS level near
// −20 dBFS.
//
// The loop is rendered circularly: notes and reverb that ring past the end
// continue at the start, so playing it back to back has no seam or click.
//
// The loop is rendered once, on first use, and every call returns the same
// slice. Callers must not modify it; copy it first if they need to.
func MusicOnHold() []int16 {
	return musicOnHold()
}

var musicOnHold = sync.OnceValue(renderMusicOnHold)

// Arrangement. Times are in eighth notes of eighthLen samples; the loop is
// four chords of two 4/4 bars each.
const (
	mohRate        = MusicOnHoldSampleRate
	eighthLen      = 2700 // 0.3375 s: about 89 beats per minute
	eighthsPerBar  = 8
	barsPerChord   = 2
	eighthsPerLoop = 4 * barsPerChord * eighthsPerBar
	loopLen        = eighthsPerLoop * eighthLen // 172800 samples, 21.6 s

	maxPartialHz = 3300.0 // keep every partial inside the telephone band
	peakLevel    = 0.5    // −6 dBFS
)

// mohChord is one chord of the progression, as MIDI note numbers.
type mohChord struct {
	voicing  []float64 // struck chord, low to high
	arpeggio []float64 // five tones the arpeggio walks over, low to high
	root     float64   // bass root
	approach float64   // bass note leading into the next chord
}

var progression = []mohChord{
	{ // E♭maj7
		voicing:  []float64{63, 67, 70, 74},
		arpeggio: []float64{70, 74, 75, 79, 82},
		root:     51, approach: 50,
	},
	{ // Cm7
		voicing:  []float64{63, 67, 70, 72},
		arpeggio: []float64{70, 72, 75, 79, 82},
		root:     48, approach: 46,
	},
	{ // A♭maj7
		voicing:  []float64{63, 67, 72, 75},
		arpeggio: []float64{68, 72, 75, 79, 80},
		root:     44, approach: 48,
	},
	{ // B♭ (add 9)
		voicing:  []float64{65, 70, 74, 77},
		arpeggio: []float64{70, 72, 74, 77, 82},
		root:     46, approach: 50,
	},
}

// arpPattern picks, for each eighth of a chord's two bars, an index into
// the chord's arpeggio tones; -1 is a rest.
var arpPattern = [barsPerChord * eighthsPerBar]int{
	0, 2, 1, 3, 2, 4, 3, 1,
	0, 2, 1, 3, 4, -1, 3, -1,
}

// timbre describes an additive voice: harmonic k (1-based) has amplitude
// amps[k-1] and decays with time constant decay[k-1] seconds.
type timbre struct {
	amps    []float64
	decay   []float64
	attack  float64 // seconds, raised-cosine rise
	release float64 // seconds, raised-cosine fall after the note ends
	detune  float64 // relative detune of a second, quieter fundamental (chorus)
	chorus  float64 // amplitude of that second fundamental
}

var (
	// Electric piano: a round fundamental, a second harmonic that gives
	// the "tine" colour and quickly fading upper harmonics.
	pianoTimbre = timbre{
		amps:    []float64{1, 0.32, 0.12, 0.07, 0.035, 0.015},
		decay:   []float64{2.4, 1.1, 0.55, 0.3, 0.15, 0.1},
		attack:  0.006,
		release: 0.25,
		detune:  0.0017,
		chorus:  0.35,
	}
	// A lighter, shorter voice for the arpeggio.
	arpTimbre = timbre{
		amps:    []float64{1, 0.28, 0.08, 0.04},
		decay:   []float64{1.0, 0.45, 0.2, 0.1},
		attack:  0.004,
		release: 0.2,
		detune:  0.0012,
		chorus:  0.25,
	}
	// Round bass: harmonics carry it into the telephone band.
	bassTimbre = timbre{
		amps:    []float64{0.6, 0.7, 0.45, 0.25, 0.12, 0.06},
		decay:   []float64{1.6, 1.0, 0.6, 0.4, 0.25, 0.15},
		attack:  0.012,
		release: 0.08,
	}
)

// note is one struck note.
type note struct {
	start  int     // first sample, may be anywhere in the loop
	length int     // samples before the release begins
	midi   float64 // pitch
	vel    float64 // velocity 0..1: loudness and brightness
	t      *timbre
}

func midiHz(m float64) float64 { return 440 * math.Pow(2, (m-69)/12) }

// jitter returns a small, fixed timing offset in samples (up to ±n) for
// note i of voice v, so the parts do not sound machine-stamped.
func jitter(v, i, n int) int {
	h := uint32(v*7919+i*104729) * 2654435761
	return int(h>>16)%(2*n+1) - n
}

// arrangement lists every note of the loop.
func arrangement() []note {
	var notes []note
	for c, ch := range progression {
		base := c * barsPerChord * eighthsPerBar * eighthLen
		// Chords: struck on each downbeat, softer on the second bar,
		// strummed slightly from the bottom up.
		for bar := range barsPerChord {
			vel := 0.75
			if bar == 1 {
				vel = 0.55
			}
			at := base + bar*eighthsPerBar*eighthLen
			for k, m := range ch.voicing {
				notes = append(notes, note{
					start:  at + k*110 + jitter(1, c*16+bar*4+k, 20),
					length: eighthsPerBar*eighthLen - 1200,
					midi:   m, vel: vel * (1 - 0.06*float64(k)), t: &pianoTimbre,
				})
			}
		}
		// Arpeggio: eighth notes that ring over each other.
		for e, idx := range arpPattern {
			if idx < 0 {
				continue
			}
			vel := 0.42
			switch {
			case e%eighthsPerBar == 0:
				vel = 0.55
			case e%2 == 1:
				vel = 0.36
			}
			notes = append(notes, note{
				start:  base + e*eighthLen + jitter(2, c*16+e, 40),
				length: 2 * eighthLen,
				midi:   ch.arpeggio[idx], vel: vel, t: &arpTimbre,
			})
		}
		// Bass: root on each bar, a pickup on the and-of-three, and an
		// approach note into the next chord.
		bass := []struct {
			at, dur int
			midi    float64
			vel     float64
		}{
			{0, 5, ch.root, 0.8},
			{6, 2, ch.root, 0.5},
			{8, 5, ch.root, 0.7},
			{14, 2, ch.approach, 0.55},
		}
		for i, b := range bass {
			notes = append(notes, note{
				start:  base + b.at*eighthLen + jitter(3, c*4+i, 25),
				length: b.dur*eighthLen - 300,
				midi:   b.midi, vel: b.vel, t: &bassTimbre,
			})
		}
	}
	return notes
}

// voiceGain balances the three parts.
func voiceGain(t *timbre) float64 {
	switch t {
	case &arpTimbre:
		return 0.55
	case &bassTimbre:
		return 0.6
	}
	return 0.45
}

// renderNote adds n into the circular buffer buf.
func renderNote(buf []float64, n note) {
	const fs = float64(mohRate)
	t := n.t
	f0 := midiHz(n.midi)
	gain := n.vel * voiceGain(t)
	attack := max(1, int(t.attack*fs))
	release := max(1, int(t.release*fs))
	total := n.length + release

	type partial struct {
		c, s   float64 // phasor
		dc, ds float64 // per-sample rotation
		a, d   float64 // amplitude and per-sample decay factor
	}
	var ps []partial
	add := func(freq, amp, tau float64) {
		if freq >= maxPartialHz || amp == 0 {
			return
		}
		w := 2 * math.Pi * freq / fs
		ps = append(ps, partial{c: 1, dc: math.Cos(w), ds: math.Sin(w), a: amp, d: math.Exp(-1 / (tau * fs))})
	}
	for k, amp := range t.amps {
		// Softer notes are darker: upper harmonics scale with velocity.
		bright := math.Pow(0.55+0.45*n.vel, float64(k))
		// Low notes ring longer, high notes shorter.
		tau := t.decay[k] * math.Pow(2, -(n.midi-60)/24)
		add(f0*float64(k+1), amp*bright, tau)
	}
	if t.chorus > 0 {
		add(f0*(1+t.detune), t.chorus, t.decay[0]*math.Pow(2, -(n.midi-60)/24))
	}

	start := ((n.start % loopLen) + loopLen) % loopLen
	for i := range total {
		var v float64
		for j := range ps {
			p := &ps[j]
			v += p.a * p.s
			p.c, p.s = p.c*p.dc-p.s*p.ds, p.c*p.ds+p.s*p.dc
			p.a *= p.d
		}
		env := 1.0
		if i < attack {
			env = 0.5 - 0.5*math.Cos(math.Pi*float64(i)/float64(attack))
		}
		if r := i - n.length; r >= 0 {
			env *= 0.5 + 0.5*math.Cos(math.Pi*float64(r)/float64(release))
		}
		buf[(start+i)%loopLen] += gain * env * v
	}
}

// reverb runs a small Schroeder reverberator (four damped combs in
// parallel, two all-passes in series) over the loop circularly: the loop is
// fed through twice and the second pass kept, so the tail of the end rings
// into the start exactly as it would when the loop repeats.
func reverb(dry []float64, wet float64) []float64 {
	combDelays := []int{347, 419, 491, 563}
	const feedback, damp = 0.74, 0.35
	apDelays := []int{113, 37}
	const apGain = 0.5

	type comb struct {
		line []float64
		pos  int
		lp   float64
	}
	combs := make([]comb, len(combDelays))
	for i, d := range combDelays {
		combs[i].line = make([]float64, d)
	}
	type allpass struct {
		line []float64
		pos  int
	}
	aps := make([]allpass, len(apDelays))
	for i, d := range apDelays {
		aps[i].line = make([]float64, d)
	}

	out := make([]float64, len(dry))
	for pass := range 2 {
		for i, x := range dry {
			var y float64
			for k := range combs {
				c := &combs[k]
				o := c.line[c.pos]
				c.lp = o*(1-damp) + c.lp*damp
				c.line[c.pos] = x + c.lp*feedback
				c.pos = (c.pos + 1) % len(c.line)
				y += o
			}
			y /= float64(len(combs))
			for k := range aps {
				a := &aps[k]
				o := a.line[a.pos]
				a.line[a.pos] = y + o*apGain
				a.pos = (a.pos + 1) % len(a.line)
				y = o - y*apGain
			}
			if pass == 1 {
				out[i] = x + wet*y
			}
		}
	}
	return out
}

// level is a gentle look-ahead compressor for the loop: above a threshold
// at 40 % of the loop's peak it reduces the level 2:1, with a gain that
// moves smoothly over about 40 ms so it adds no audible distortion and
// nothing outside the telephone band. It takes the edge off chord strikes so
// the quiet passages stay audible on a handset. It works circularly, like
// the rest of the rendering, so the loop seam is untouched.
func level(x []float64) []float64 {
	const (
		threshold = 0.4 // of the peak
		ratio     = 2.0
		window    = 160 // samples either side: 20 ms look-ahead and hold
	)
	n := len(x)
	var peak float64
	for _, v := range x {
		peak = max(peak, math.Abs(v))
	}
	if peak == 0 {
		return x
	}
	// Gain wanted at each sample from its own magnitude.
	want := make([]float64, n)
	for i, v := range x {
		e := math.Abs(v) / (threshold * peak)
		want[i] = 1
		if e > 1 {
			want[i] = math.Pow(e, 1/ratio-1)
		}
	}
	// The gain at each sample is the smallest wanted gain within the
	// window around it (so it drops before a peak arrives), then smoothed
	// twice with a moving average of the same width.
	g := slidingMin(want, window)
	for range 2 {
		g = movingAverage(g, window)
	}
	out := make([]float64, n)
	for i, v := range x {
		out[i] = v * g[i]
	}
	return out
}

// slidingMin returns, for each i, the minimum of x over the circular window
// [i-w, i+w], using a monotonic deque.
func slidingMin(x []float64, w int) []float64 {
	n := len(x)
	out := make([]float64, n)
	dq := make([]int, 0, 2*w+1) // indices into the unrolled sequence
	at := func(j int) float64 { return x[((j%n)+n)%n] }
	for j := -2 * w; j < n; j++ {
		for len(dq) > 0 && at(dq[len(dq)-1]) >= at(j+w) {
			dq = dq[:len(dq)-1]
		}
		dq = append(dq, j+w)
		for dq[0] < j-w {
			dq = dq[1:]
		}
		if j >= 0 {
			out[j] = at(dq[0])
		}
	}
	return out
}

// movingAverage returns the circular moving average of x over [i-w, i+w].
func movingAverage(x []float64, w int) []float64 {
	n := len(x)
	at := func(j int) float64 { return x[((j%n)+n)%n] }
	var sum float64
	for j := -w; j <= w; j++ {
		sum += at(j)
	}
	out := make([]float64, n)
	for i := range n {
		out[i] = sum / float64(2*w+1)
		sum += at(i+w+1) - at(i-w)
	}
	return out
}

// renderMusicOnHold synthesises the loop.
func renderMusicOnHold() []int16 {
	buf := make([]float64, loopLen)
	for _, n := range arrangement() {
		renderNote(buf, n)
	}
	buf = reverb(buf, 0.4)
	buf = level(buf)

	var peak float64
	for _, v := range buf {
		peak = max(peak, math.Abs(v))
	}
	scale := peakLevel * 32768 / peak
	out := make([]int16, loopLen)
	for i, v := range buf {
		out[i] = int16(math.Round(v * scale))
	}
	return out
}
