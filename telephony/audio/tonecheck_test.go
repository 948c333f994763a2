package audio

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/tone"
)

// The tone checks judge what arrived, not how much of the wall-clock
// time it filled. On a loaded 2-core machine a device's callback, the
// test's call loop or PulseAudio's null sink now and then runs late: the
// headset then plays silence (an underrun, the jitter buffer's fade) or
// a burst of glitches (PulseAudio rewinding), and a stream may start
// late. Those are the benchmarks' business (docs/BENCHMARKS.md counts
// glitches). What a test must prove is that the audio played is the
// right tone at the right level, so:
//
//   - the recording is cut into 10 ms chunks and the silent ones (RMS
//     under tone.DetectFloor, about −60 dBFS) are left out: they are the
//     gaps, before the start and after the end included;
//   - what is left is judged in 100 ms windows by Goertzel (tone.Detect):
//     a window carries the tone when the tone dominates it;
//   - the tone is there when at least minGood windows carry it at amp ±
//     15% (any clear level, above 0.03, for amp 0), and the median level
//     of all the windows it dominates is in that band too. A wrong
//     frequency dominates no window, noise none, a wrong level misses
//     the band; a glitch only costs the windows it touched.
const (
	chunkPerSecond = 100 // 10 ms chunks
	windowChunks   = 10  // 100 ms windows
)

// toneVerdict is what arrivedTone found.
type toneVerdict struct {
	ok      bool
	windows int     // 100 ms windows of arrived audio
	good    int     // windows with the tone at the right level
	median  float64 // median level of the windows the tone dominates
	scores  []float64
	gapMs   int // silence left out
}

func (v toneVerdict) String() string {
	s := make([]string, len(v.scores))
	for i, x := range v.scores {
		s[i] = fmt.Sprintf("%.2f", x)
	}
	return fmt.Sprintf("%d good of %d windows of 100 ms, median level %.3f (%d ms of silence left out); levels where dominant, else 0: [%s]",
		v.good, v.windows, v.median, v.gapMs, strings.Join(s, " "))
}

// arrived returns pcm without its silent 10 ms chunks, and how many ms
// it left out.
func arrived(pcm []int16, rate int) ([]int16, int) {
	chunk := rate / chunkPerSecond
	var out []int16
	gap := 0
	for i := 0; i+chunk <= len(pcm); i += chunk {
		c := pcm[i : i+chunk]
		if tone.RMS(c) < tone.DetectFloor {
			gap += 1000 / chunkPerSecond
			continue
		}
		out = append(out, c...)
	}
	return out, gap
}

// arrivedTone judges whether the audio that arrived in pcm carries the
// tone at hz at amp ± 15% (amp 0: at any clear level) in at least
// minGood windows of 100 ms.
func arrivedTone(pcm []int16, hz float64, rate int, amp float64, minGood int) toneVerdict {
	kept, gap := arrived(pcm, rate)
	v := toneVerdict{gapMs: gap}
	inBand := func(lvl float64) bool {
		if amp == 0 {
			return lvl > 0.03
		}
		return lvl >= amp*0.85 && lvl <= amp*1.15
	}
	win := rate / chunkPerSecond * windowChunks
	var dominant []float64
	for i := 0; i+win <= len(kept); i += win {
		lvl, ok := tone.Detect(kept[i:i+win], hz, float64(rate))
		if !ok {
			lvl = 0
		} else {
			dominant = append(dominant, lvl)
			if inBand(lvl) {
				v.good++
			}
		}
		v.scores = append(v.scores, lvl)
	}
	v.windows = len(v.scores)
	if len(dominant) > 0 {
		slices.Sort(dominant)
		v.median = dominant[len(dominant)/2]
	}
	v.ok = v.good >= minGood && inBand(v.median)
	return v
}

// TestArrivedTone: the check forgives gaps, a late start and glitch
// bursts, and nothing else: a wrong frequency, a wrong level, noise or
// silence fail it.
func TestArrivedTone(t *testing.T) {
	const rate = 8000
	sine := func(hz, amp float64, ms int) []int16 {
		b := make([]int16, rate*ms/1000)
		tone.Sine(hz, rate, amp).Fill(b)
		return b
	}
	silence := func(ms int) []int16 { return make([]int16, rate*ms/1000) }
	noise := func(ms int) []int16 {
		b := make([]int16, rate*ms/1000)
		x := uint32(1)
		for i := range b {
			x ^= x << 13
			x ^= x >> 17
			x ^= x << 5
			b[i] = int16(x>>16) / 4
		}
		return b
	}
	cat := func(parts ...[]int16) []int16 { return slices.Concat(parts...) }
	for _, c := range []struct {
		name string
		pcm  []int16
		want bool
	}{
		{"clean", sine(440, 0.5, 1000), true},
		{"late start and gaps", cat(silence(700), sine(440, 0.5, 300), silence(250), sine(440, 0.5, 400), silence(90), sine(440, 0.5, 200)), true},
		{"glitch bursts", cat(sine(440, 0.5, 300), noise(200), sine(440, 0.5, 300), noise(300), sine(440, 0.5, 200)), true},
		{"too little arrived", cat(silence(2000), sine(440, 0.5, 200)), false},
		{"half the level", sine(440, 0.25, 1000), false},
		{"another frequency", sine(600, 0.5, 1000), false},
		{"noise", noise(1000), false},
		{"silence", silence(1000), false},
		{"mostly too loud", cat(sine(440, 0.5, 500), sine(440, 0.9, 1500)), false},
	} {
		if v := arrivedTone(c.pcm, 440, rate, 0.5, 5); v.ok != c.want {
			t.Errorf("%s: ok %v, want %v: %v", c.name, v.ok, c.want, v)
		}
	}
}
