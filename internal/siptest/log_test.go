package siptest

import (
	"sync"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/tone"
)

func TestLogWaitFindsAnItemAddedBeforeOrAfter(t *testing.T) {
	var l Log[int]
	l.Add(1, 2)
	if got := l.Wait(t, "an even item", func(v int) bool { return v%2 == 0 }); got != 2 {
		t.Fatalf("Wait = %d, want 2 (already added)", got)
	}
	var wg sync.WaitGroup
	wg.Go(func() { l.Add(3, 40) })
	if got := l.Wait(t, "an item over 10", func(v int) bool { return v > 10 }); got != 40 {
		t.Fatalf("Wait = %d, want 40 (added later)", got)
	}
	wg.Wait()
	if got := l.All(); len(got) != 4 || l.Len() != 4 {
		t.Fatalf("All = %v, Len = %d", got, l.Len())
	}
}

func TestLogAwaitWakesOnEveryAddAndGivesUp(t *testing.T) {
	var l Log[string]
	var wg sync.WaitGroup
	wg.Go(func() {
		for _, s := range []string{"a", "b", "c"} {
			l.Add(s)
		}
	})
	if !l.Await(WaitFor, func(items []string) bool { return len(items) == 3 }) {
		t.Fatal("Await missed the third item")
	}
	wg.Wait()
	if l.Await(time.Millisecond, func(items []string) bool { return len(items) > 3 }) {
		t.Fatal("Await reported a condition that never held")
	}
}

func TestRecordingWaitToneHearsAToneArriving(t *testing.T) {
	var r Recording
	r.Add(sine(1000, Rate)...)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { // a 440 Hz stream, 20 ms at a time, until heard
		g := tone.Sine(440, Rate, 0.3)
		for {
			select {
			case <-stop:
				return
			default:
			}
			frame := make([]int16, Rate/50)
			g.Fill(frame)
			r.Add(frame...)
			time.Sleep(time.Millisecond)
		}
	})
	r.WaitTone(t, "the recording", 440)
	close(stop)
	wg.Wait()
	if last := r.Last(Rate / 5); !Dominant(last, 440) || Dominant(last, 1000) {
		t.Fatal("Dominant disagrees with what was recorded last")
	}
	if pcm := r.WaitAudio(t, 0, Rate); !Dominant(pcm, 1000) {
		t.Fatal("WaitAudio from 0 lost the first second")
	}
}

// sine is n samples of a sine of freq.
func sine(freq float64, n int) []int16 {
	out := make([]int16, n)
	tone.Sine(freq, Rate, 0.3).Fill(out)
	return out
}
