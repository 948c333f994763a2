package audio

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/tone"
)

// The jitter buffer's clock is its reader: each tick of these tests is
// one 10 ms device period (80 samples at 8 kHz). Frames that arrive at
// a tick are pushed before that tick's read, as the audio callback does.

type arrival struct {
	tick int
	seq  uint16
}

// steady returns frames first..last arriving every 20 ms, frame k at
// tick 2k+lag.
func steady(first, last, lag int) []arrival {
	var a []arrival
	for k := first; k <= last; k++ {
		a = append(a, arrival{2*k + lag, uint16(k)})
	}
	return a
}

func without(a []arrival, seqs ...uint16) []arrival {
	return slices.DeleteFunc(slices.Clone(a), func(x arrival) bool { return slices.Contains(seqs, x.seq) })
}

// moved changes the arrival tick of seq.
func moved(a []arrival, seq uint16, tick int) []arrival {
	a = without(a, seq)
	a = append(a, arrival{tick, seq})
	slices.SortStableFunc(a, func(x, y arrival) int { return x.tick - y.tick })
	return a
}

func sorted(a []arrival) []arrival {
	slices.SortStableFunc(a, func(x, y arrival) int { return x.tick - y.tick })
	return a
}

func marker(seq uint16) int16 { return 10000 + int16(seq) }

type jbRun struct {
	trace []string
	stats JitterStats
	out   []int16
}

// runJitter plays the arrivals through a jitter buffer for ticks device
// periods. Each frame is a constant marker (or a 440 Hz sine with
// sine=true) so that the output shows what played.
func runJitter(t *testing.T, arrivals []arrival, ticks, target int, sine bool, stalls ...int) jbRun {
	t.Helper()
	var stats jitterCounters
	j := newJitterBuffer(8000, &stats)
	j.target = target
	var r jbRun
	j.trace = func(what jbDecision, seq uint16) {
		switch what {
		case jbPlayed:
			r.trace = append(r.trace, fmt.Sprint(seq))
		case jbConcealed:
			r.trace = append(r.trace, "C")
		case jbSkipped:
			r.trace = append(r.trace, fmt.Sprintf("x%d", seq))
		case jbSilent:
			if len(r.trace) == 0 || r.trace[len(r.trace)-1] != "-" {
				r.trace = append(r.trace, "-")
			}
		}
	}
	frame := make([]int16, 160)
	out := make([]int16, 80)
	next := 0
	for tick := 0; tick < ticks; tick++ {
		for ; next < len(arrivals) && arrivals[next].tick <= tick; next++ {
			seq := arrivals[next].seq
			if sine {
				g := tone.Sine(440, 8000, 0.5)
				for i := 0; i < int(seq)*160; i++ { // phase as if continuous
					g.Next()
				}
				g.Fill(frame)
			} else {
				for i := range frame {
					frame[i] = marker(seq)
				}
			}
			j.push(seq, frame)
		}
		if slices.Contains(stalls, tick) {
			continue // the device lost this period: nothing was read
		}
		j.read(out)
		r.out = append(r.out, out...)
	}
	r.stats = stats.snapshot()
	return r
}

func TestJitterBufferTable(t *testing.T) {
	type want struct {
		trace                                             string // played sequence, space separated
		target                                            time.Duration
		played, concealed, lost, late, underruns, dropped uint64
	}
	tests := []struct {
		name     string
		arrivals []arrival
		ticks    int
		target   int // initial target in frames
		want     want
	}{
		{
			name:     "in order, on time: plays everything at 20 ms",
			arrivals: steady(0, 9, 0),
			ticks:    20,
			target:   1,
			want:     want{trace: "0 1 2 3 4 5 6 7 8 9", target: 20 * time.Millisecond, played: 10},
		},
		{
			name:     "waits for audio: silence until the first frame",
			arrivals: steady(0, 3, 5),
			ticks:    13,
			target:   1,
			want:     want{trace: "- 0 1 2 3", target: 20 * time.Millisecond, played: 4},
		},
		{
			name:     "reordered within the buffer: put back in order",
			arrivals: moved(moved(steady(0, 9, 0), 5, 12), 6, 10),
			ticks:    24,
			target:   3,
			want:     want{trace: "- 0 1 2 3 4 5 6 7 8 9", target: 60 * time.Millisecond, played: 10},
		},
		{
			name:     "reordered beyond the buffer: concealed, then discarded as late",
			arrivals: moved(moved(steady(0, 9, 0), 5, 12), 6, 10),
			ticks:    22,
			target:   1,
			// 5 is due at tick 10 and missing while 6 is there: lost,
			// concealed. It comes at tick 12: late, so the buffer grows by
			// a frame (one more concealment) and the target to 40 ms.
			want: want{trace: "0 1 2 3 4 C C 6 7 8 9", target: 40 * time.Millisecond, played: 9, concealed: 2, lost: 1, late: 1},
		},
		{
			name:     "lost packet: concealed once, the target stays",
			arrivals: without(steady(0, 11, 0), 7),
			ticks:    24,
			target:   1,
			// At 7's turn nothing is buffered (8 comes 20 ms later): a
			// concealment frame plays and the target grows; when 8 comes
			// without 7, 7 was lost, not late: the growth is undone.
			want: want{trace: "0 1 2 3 4 5 6 C 8 9 10 11", target: 20 * time.Millisecond, played: 11, concealed: 1, lost: 1, underruns: 1},
		},
		{
			name:     "late packets: the delay grows by a frame, nothing lost",
			arrivals: append(steady(0, 9, 0), steady(10, 19, 2)...),
			ticks:    42,
			target:   1,
			want:     want{trace: "0 1 2 3 4 5 6 7 8 9 C 10 11 12 13 14 15 16 17 18 19", target: 40 * time.Millisecond, played: 20, concealed: 1, underruns: 1},
		},
		{
			name:     "duplicate: played once",
			arrivals: sorted(append(steady(0, 5, 0), arrival{5, 2}, arrival{6, 3}, arrival{6, 4})),
			ticks:    12,
			target:   1,
			// 2 comes again after it played, 4 twice before it plays.
			want: want{trace: "0 1 2 3 4 5", target: 20 * time.Millisecond, played: 6, dropped: 3},
		},
		{
			name:     "backlog at start: old audio dropped down to the target",
			arrivals: []arrival{{0, 0}, {0, 1}, {0, 2}, {0, 3}, {2, 4}, {4, 5}},
			ticks:    6,
			target:   1,
			want:     want{trace: "3 4 5", target: 20 * time.Millisecond, played: 3, dropped: 3},
		},
		{
			name:     "stream stops (hold): fade out, then silence; resumes at once, target unchanged",
			arrivals: append(steady(0, 4, 0), steady(20, 22, 0)...),
			ticks:    46,
			target:   1,
			// 5 concealment frames (100 ms), then idle; the restart plays
			// the first new frame as it comes.
			want: want{trace: "0 1 2 3 4 C C C C C - 20 21 22", target: 20 * time.Millisecond, played: 8, concealed: 5, underruns: 1},
		},
		{
			name:     "sequence jump: resynchronised",
			arrivals: append(steady(0, 3, 0), arrival{8, 1000}, arrival{10, 1001}),
			ticks:    12,
			target:   1,
			want:     want{trace: "0 1 2 3 1000 1001", target: 20 * time.Millisecond, played: 6},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runJitter(t, tt.arrivals, tt.ticks, tt.target, false)
			got := strings.Join(r.trace, " ")
			if got != tt.want.trace {
				t.Errorf("played %q\n          want %q", got, tt.want.trace)
			}
			s := r.stats
			gotW := want{trace: tt.want.trace, target: s.Target, played: s.Played, concealed: s.Concealed, lost: s.Lost, late: s.Late, underruns: s.Underruns, dropped: s.Dropped}
			if gotW != tt.want {
				t.Errorf("stats %+v\n want %+v", gotW, tt.want)
			}
		})
	}
}

func TestJitterBufferResyncCounted(t *testing.T) {
	r := runJitter(t, append(steady(0, 3, 0), arrival{8, 1000}), 10, 1, false)
	if r.stats.Resyncs != 1 {
		t.Fatalf("resyncs %d, want 1", r.stats.Resyncs)
	}
}

// After a delay step the buffer holds 40 ms; once the network is calm
// for 3 s it shrinks back to 20 ms by dropping one frame with a
// crossfade, and holds 20 ms after.
func TestJitterBufferShrinksWhenCalm(t *testing.T) {
	// Frames 10.. arrive 20 ms late, then the path speeds up again:
	// from frame 30 on they come on the old schedule.
	arr := append(steady(0, 9, 0), steady(10, 29, 2)...)
	arr = append(arr, steady(30, 400, 0)...)
	r := runJitter(t, arr, 2*400, 1, false)
	s := r.stats
	if s.Target != 20*time.Millisecond {
		t.Errorf("target %v after calm, want 20ms", s.Target)
	}
	if s.Dropped != 1 {
		t.Errorf("dropped %d frames, want 1 (the shrink)", s.Dropped)
	}
	if s.Lost != 0 || s.Late != 0 {
		t.Errorf("lost %d late %d, want 0", s.Lost, s.Late)
	}
	skip := slices.IndexFunc(r.trace, func(s string) bool { return strings.HasPrefix(s, "x") })
	if skip < 0 {
		t.Fatalf("no frame skipped: %v", r.trace)
	}
	// After the skip the buffer holds one frame: frame k plays at tick
	// 2k, the tick it arrives.
	last := r.trace[len(r.trace)-1]
	if last != "399" {
		t.Errorf("last frame played %s at the end, want 399 (20 ms behind arrival)", last)
	}
}

// When the device loses time (here 100 ms without a callback, as after
// an underrun on a sound server), frames pile up; the buffer sheds the
// excess within a second instead of keeping the extra delay.
func TestJitterBufferShedsBacklog(t *testing.T) {
	r := runJitter(t, steady(0, 99, 0), 202, 1, false, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49)
	s := r.stats
	if s.Dropped != 4 || s.Lost != 0 || s.Concealed != 0 {
		t.Errorf("stats %+v: want 4 frames dropped (5 piled up, one kept as margin), none lost", s)
	}
	// At the end frame 99, which arrived at tick 198, is playing with
	// one frame of margin: it started at tick 200.
	if last := r.trace[len(r.trace)-1]; last != "99" {
		t.Errorf("last played %s, want 99", last)
	}
	if s.Buffered > 20*time.Millisecond {
		t.Errorf("still %v buffered at the end", s.Buffered)
	}
}

// Repeated lateness grows the target to at most 100 ms.
func TestJitterBufferTargetCapped(t *testing.T) {
	var arr []arrival
	lag := 0
	for k := 0; k < 60; k++ {
		if k%5 == 0 {
			lag += 2 // every 100 ms the path slows by another 20 ms
		}
		arr = append(arr, arrival{2*k + lag, uint16(k)})
	}
	r := runJitter(t, arr, 200, 1, false)
	if r.stats.Target != 100*time.Millisecond {
		t.Fatalf("target %v, want the 100 ms cap", r.stats.Target)
	}
}

// A lost frame in a tone is concealed without a click: the output stays
// a clean 440 Hz sine through the gap (no jump bigger than the sine's
// own steepest step, most of the energy at 440 Hz), where silence would
// click.
func TestJitterBufferConcealsWithoutClick(t *testing.T) {
	arr := without(steady(0, 30, 0), 12)
	r := runJitter(t, arr, 60, 1, true)
	if r.stats.Concealed != 1 || r.stats.Lost != 1 {
		t.Fatalf("concealed %d lost %d, want 1 and 1", r.stats.Concealed, r.stats.Lost)
	}
	// Frame 12 plays from tick 24: samples 24·80 … 26·80; look at 10..16.
	seg := r.out[20*80 : 32*80]
	maxStep := 0.5 * 32767 * 2 * math.Pi * 440 / 8000 // steepest slope of the sine
	for i := 1; i < len(seg); i++ {
		if d := math.Abs(float64(seg[i]) - float64(seg[i-1])); d > 1.3*maxStep {
			t.Fatalf("click at sample %d: step %.0f, a clean sine steps at most %.0f", i, d, maxStep)
		}
	}
	gap := r.out[24*80 : 26*80]
	if share := tone.Share(gap, 440, 8000); share < 0.9 {
		t.Errorf("concealed frame carries %.2f of its energy at 440 Hz, want ≥ 0.9", share)
	}
	if lvl := tone.RMS(gap); lvl < 0.25 {
		t.Errorf("concealed frame level %.3f, want close to the tone's 0.35", lvl)
	}

	// The same gap filled with silence would click.
	silent := slices.Clone(seg)
	clear(silent[4*80 : 6*80])
	worst := 0.0
	for i := 1; i < len(silent); i++ {
		worst = math.Max(worst, math.Abs(float64(silent[i])-float64(silent[i-1])))
	}
	if worst <= 1.3*maxStep {
		t.Logf("note: silence at this phase happens not to click (step %.0f)", worst)
	}
}
