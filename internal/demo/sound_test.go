package demo

import (
	"slices"
	"testing"

	"github.com/switchboard/switchboard/internal/tone"
)

// windows cuts pcm into 100 ms windows and returns their RMS levels.
func windows(pcm []int16) []float64 {
	var out []float64
	for at := 0; at+800 <= len(pcm); at += 800 {
		out = append(out, tone.RMS(pcm[at:at+800]))
	}
	return out
}

func TestVoiceSoundsLikeTalk(t *testing.T) {
	v := Voice(1, 200, 10)
	if len(v) != 80000 {
		t.Fatalf("%d samples, want 10 s at 8 kHz", len(v))
	}
	if p := tone.Peak(v); p < 0.4 || p > 0.46 {
		t.Errorf("peak %.2f of full scale, want 0.45", p)
	}
	// Talk has pauses and louder stretches: some windows near silence,
	// many well above it.
	var quiet, loud int
	for _, l := range windows(v) {
		switch {
		case l < 0.005:
			quiet++
		case l > 0.03:
			loud++
		}
	}
	if quiet < 5 || loud < 40 {
		t.Errorf("%d quiet and %d loud windows of 100: not like talk", quiet, loud)
	}
	if !slices.Equal(v, Voice(1, 200, 10)) {
		t.Error("the same seed gave another voice")
	}
	if slices.Equal(v, Voice(2, 200, 10)) {
		t.Error("another seed gave the same voice")
	}
}

func TestMelodyAndTone(t *testing.T) {
	m := Melody(5, 330, 9.6)
	if len(m) != 76800 || tone.Peak(m) < 0.35 {
		t.Errorf("melody: %d samples, peak %.2f", len(m), tone.Peak(m))
	}
	for i, l := range windows(m) {
		if l < 0.005 {
			t.Errorf("melody silent at %d ms", i*100)
			break
		}
	}
	s := Tone(440, 1)
	if _, ok := tone.Detect(s[:1600], 440, SampleRate); !ok {
		t.Error("Tone(440) is not 440 Hz")
	}
}

func TestRoster(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range Roster() {
		if c.Name == "" || c.Number == "" || c.Sound == nil || seen[c.Number] {
			t.Errorf("caller %+v", c)
		}
		seen[c.Number] = true
	}
	if len(seen) < 8 {
		t.Errorf("%d callers", len(seen))
	}
}

func TestNewChecksOptions(t *testing.T) {
	if _, err := New(Options{Console: "not a uri"}); err == nil {
		t.Error("a console that is not a SIP URI was accepted")
	}
	if _, err := New(Options{Console: "sip:console@127.0.0.1:5060", Host: "localhost"}); err == nil {
		t.Error("a host name was accepted")
	}
	d, err := New(Options{Console: "sip:console@127.0.0.1:5060"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Dial(Roster()[0]); err == nil {
		t.Error("Dial before Start worked")
	}
	d.Close()
}
