package assets

import (
	"math"
	"math/cmplx"
	"slices"
	"sort"
	"testing"

	"github.com/switchboard/switchboard/internal/tone"
)

const sampleRate = MusicOnHoldSampleRate

// wrap returns n samples of the loop starting at start, wrapping around
// the end as a looping player would.
func wrap(m []int16, start, n int) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = m[(start+i)%len(m)]
	}
	return out
}

func TestMusicOnHoldLength(t *testing.T) {
	m := MusicOnHold()
	secs := float64(len(m)) / sampleRate
	if secs < 16 || secs > 24 {
		t.Errorf("loop is %.2f s, want 16–24 s", secs)
	}
	if len(m)%160 != 0 {
		t.Errorf("loop of %d samples is not a whole number of 20 ms frames", len(m))
	}
}

func TestMusicOnHoldSharedAndDeterministic(t *testing.T) {
	a, b := MusicOnHold(), MusicOnHold()
	if &a[0] != &b[0] || len(a) != len(b) {
		t.Error("MusicOnHold returned different slices on two calls")
	}
	if fresh := renderMusicOnHold(); !slices.Equal(fresh, a) {
		t.Error("rendering again gives different samples")
	}
}

func TestMusicOnHoldLevels(t *testing.T) {
	m := MusicOnHold()
	peak, rms := tone.DBFS(tone.Peak(m)), tone.DBFS(tone.RMS(m))
	if peak < -6.5 || peak > -5.5 {
		t.Errorf("peak = %.2f dBFS, want about -6", peak)
	}
	if rms < -23 || rms > -17 {
		t.Errorf("RMS = %.2f dBFS, want about -20", rms)
	}
	var sum float64
	for _, s := range m {
		sum += float64(s)
	}
	if dc := sum / float64(len(m)) / tone.FullScale; math.Abs(dc) > 0.001 {
		t.Errorf("DC offset %.5f of full scale", dc)
	}
}

func TestMusicOnHoldNeverSilent(t *testing.T) {
	// Every one-second window, including those that span the loop point,
	// carries clearly audible sound and stays inside the level range.
	m := MusicOnHold()
	for start := 0; start < len(m); start += sampleRate / 4 {
		w := wrap(m, start, sampleRate)
		if rms := tone.DBFS(tone.RMS(w)); rms < -30 || rms > -12 {
			t.Errorf("1 s window at %.2f s: RMS %.1f dBFS, want -30..-12", float64(start)/sampleRate, rms)
		}
	}
	// No gaps either: every 100 ms stays well above the noise floor.
	for start := 0; start < len(m); start += sampleRate / 10 {
		w := wrap(m, start, sampleRate/10)
		if rms := tone.DBFS(tone.RMS(w)); rms < -40 {
			t.Errorf("100 ms window at %.2f s: RMS %.1f dBFS", float64(start)/sampleRate, rms)
		}
	}
}

func TestMusicOnHoldLoopSeam(t *testing.T) {
	m := MusicOnHold()
	n := len(m)
	abs := func(v int) int { return max(v, -v) }

	// The step across the loop point is no bigger than ordinary steps
	// inside the loop, in the first and the second difference (a click
	// shows up as a spike in the second difference).
	d1 := make([]int, 0, n)
	d2 := make([]int, 0, n)
	for i := 0; i+2 < n; i++ {
		d1 = append(d1, abs(int(m[i+1])-int(m[i])))
		d2 = append(d2, abs(int(m[i+2])-2*int(m[i+1])+int(m[i])))
	}
	sort.Ints(d1)
	sort.Ints(d2)
	p99 := func(d []int) int { return d[len(d)*99/100] }

	seam1 := abs(int(m[0]) - int(m[n-1]))
	if seam1 > p99(d1) || float64(seam1) > 0.05*tone.FullScale {
		t.Errorf("first-sample jump at the loop point %d, 99th percentile inside the loop %d", seam1, p99(d1))
	}
	for _, k := range []int{n - 2, n - 1} {
		a, b, c := int(m[k%n]), int(m[(k+1)%n]), int(m[(k+2)%n])
		if s := abs(c - 2*b + a); s > p99(d2) {
			t.Errorf("second difference %d at the loop point, 99th percentile inside the loop %d", s, p99(d2))
		}
	}

	// The loop point is a chord change, so the level rises there as the
	// next chord is struck, but by no more than at the chord changes
	// inside the loop: nothing is cut off or doubled at the seam.
	jump := func(at int) float64 {
		return tone.DBFS(tone.RMS(wrap(m, at, 800))) - tone.DBFS(tone.RMS(wrap(m, at+n-800, 800)))
	}
	var inside float64
	for c := 1; c < len(progression); c++ {
		inside = max(inside, jump(c*n/len(progression)))
	}
	if seam := jump(0); seam > inside+3 || seam < -3 {
		t.Errorf("level changes by %.1f dB at the loop point, at most %.1f dB at the chord changes inside", seam, inside)
	}
}

// fft is an in-place iterative radix-2 FFT; len(a) must be a power of two.
func fft(a []complex128) {
	n := len(a)
	for i, j := 1, 0; i < n; i++ {
		bit := n >> 1
		for ; j&bit != 0; bit >>= 1 {
			j ^= bit
		}
		j |= bit
		if i < j {
			a[i], a[j] = a[j], a[i]
		}
	}
	for size := 2; size <= n; size <<= 1 {
		w := cmplx.Exp(complex(0, -2*math.Pi/float64(size)))
		for start := 0; start < n; start += size {
			wk := complex(1, 0)
			for k := range size / 2 {
				u, v := a[start+k], a[start+k+size/2]*wk
				a[start+k], a[start+k+size/2] = u+v, u-v
				wk *= w
			}
		}
	}
}

func TestFFT(t *testing.T) {
	// The helper must be right for the band test to mean anything.
	const n = 64
	a := make([]complex128, n)
	for i := range a {
		a[i] = complex(math.Cos(2*math.Pi*5*float64(i)/n), 0)
	}
	fft(a)
	for k, v := range a {
		want := 0.0
		if k == 5 || k == n-5 {
			want = n / 2
		}
		if math.Abs(cmplx.Abs(v)-want) > 1e-9 {
			t.Errorf("bin %d = %v, want magnitude %v", k, v, want)
		}
	}
}

// powerSpectrum averages Hann-windowed power spectra of the loop (Welch's
// method, windows wrapping around the loop point) and returns power per bin
// of sampleRate/size Hz.
func powerSpectrum(m []int16, size int) []float64 {
	p := make([]float64, size/2+1)
	buf := make([]complex128, size)
	for start := 0; start < len(m); start += size / 2 {
		for i := range buf {
			w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(size))
			buf[i] = complex(w*float64(m[(start+i)%len(m)]), 0)
		}
		fft(buf)
		for k := range p {
			p[k] += real(buf[k])*real(buf[k]) + imag(buf[k])*imag(buf[k])
		}
	}
	return p
}

func TestMusicOnHoldTelephoneBand(t *testing.T) {
	const size = 2048
	p := powerSpectrum(MusicOnHold(), size)
	var low, band, high, total float64
	for k, v := range p {
		f := float64(k) * sampleRate / size
		switch {
		case f < 300:
			low += v
		case f <= 3400:
			band += v
		default:
			high += v
		}
		total += v
	}
	t.Logf("energy: %.1f %% below 300 Hz, %.1f %% in 300–3400 Hz, %.4f %% above", 100*low/total, 100*band/total, 100*high/total)
	if band/total < 0.6 {
		t.Errorf("only %.1f %% of the energy is in the 300–3400 Hz telephone band", 100*band/total)
	}
	if high/total > 1e-4 {
		t.Errorf("%.4f %% of the energy is above 3400 Hz", 100*high/total)
	}
	if low/total > 0.4 {
		t.Errorf("%.1f %% of the energy is below 300 Hz, lost on a handset", 100*low/total)
	}
}

func TestMusicOnHoldIsInKey(t *testing.T) {
	// Over the whole loop, the notes of E♭ major are far stronger than the
	// five notes outside the key, in the octaves the piece lives in.
	m := MusicOnHold()
	inKey := map[int]bool{3: true, 5: true, 7: true, 8: true, 10: true, 0: true, 2: true} // E♭ F G A♭ B♭ C D
	var in, out float64
	var nin, nout int
	for midi := 60; midi <= 84; midi++ {
		f := 440 * math.Pow(2, float64(midi-69)/12)
		var a float64
		for start := 0; start+sampleRate/2 <= len(m); start += sampleRate / 2 {
			a += tone.Goertzel(m[start:start+sampleRate/2], f, sampleRate)
		}
		if inKey[midi%12] {
			in += a
			nin++
		} else {
			out += a
			nout++
		}
	}
	ratio := (in / float64(nin)) / (out / float64(nout))
	if ratio < 4 {
		t.Errorf("in-key notes only %.1f× as strong as out-of-key notes", ratio)
	}
}

func TestMusicOnHoldFollowsTheProgression(t *testing.T) {
	// In the first half of each chord's two bars the bass plays that
	// chord's root, and no other chord's root: the bass is the only part
	// that low, so its fundamentals tell the chords apart.
	m := MusicOnHold()
	hz := func(midi float64) float64 { return 440 * math.Pow(2, (midi-69)/12) }
	chordLen := len(m) / len(progression)
	for c, ch := range progression {
		seg := m[c*chordLen+chordLen/8 : c*chordLen+chordLen/2]
		root := tone.Goertzel(seg, hz(ch.root), sampleRate)
		for o, other := range progression {
			if o == c {
				continue
			}
			if wrong := tone.Goertzel(seg, hz(other.root), sampleRate); root < 5*wrong {
				t.Errorf("chord %d: its root reads %.4f, chord %d's root %.4f", c, root, o, wrong)
			}
		}
	}
}

func TestSlidingMinAndMovingAverage(t *testing.T) {
	x := []float64{5, 3, 8, 1, 9, 2, 7, 4, 6, 0.5, 3}
	for _, w := range []int{0, 1, 2, 4} {
		gotMin, gotAvg := slidingMin(x, w), movingAverage(x, w)
		for i := range x {
			lo, sum := math.Inf(1), 0.0
			for j := i - w; j <= i+w; j++ {
				v := x[((j%len(x))+len(x))%len(x)]
				lo = min(lo, v)
				sum += v
			}
			if gotMin[i] != lo {
				t.Errorf("w=%d: slidingMin[%d] = %v, want %v", w, i, gotMin[i], lo)
			}
			if avg := sum / float64(2*w+1); math.Abs(gotAvg[i]-avg) > 1e-12 {
				t.Errorf("w=%d: movingAverage[%d] = %v, want %v", w, i, gotAvg[i], avg)
			}
		}
	}
}

func TestLevelCompressesPeaksOnly(t *testing.T) {
	// Quiet material passes through unchanged; a loud burst is brought
	// down towards the threshold.
	x := make([]float64, 4000)
	for i := range x {
		x[i] = 0.1 * math.Sin(float64(i)*0.3)
	}
	for i := 2000; i < 2400; i++ {
		x[i] *= 10
	}
	y := level(x)
	if math.Abs(y[500]-x[500]) > 1e-12 {
		t.Errorf("quiet sample changed: %v -> %v", x[500], y[500])
	}
	peak := func(v []float64) float64 {
		var p float64
		for _, s := range v {
			p = max(p, math.Abs(s))
		}
		return p
	}
	if p := peak(y[2000:2400]); p >= 0.9 || p <= 0.4 {
		t.Errorf("burst peak after leveling %.3f, want between threshold and original", p)
	}
	if got := level(make([]float64, 10)); peak(got) != 0 {
		t.Error("silence is not left silent")
	}
}

func BenchmarkRenderMusicOnHold(b *testing.B) {
	for b.Loop() {
		renderMusicOnHold()
	}
}
