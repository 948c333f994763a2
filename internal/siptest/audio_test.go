package siptest

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/internal/tone"
)

// TestDescribeWindowsSaysWhatArrived: the failure message of
// WaitToneLevel names the strongest frequency of the last windows and
// their level, so that a wait for one tone that heard another, or
// silence, or nothing at all, says which.
func TestDescribeWindowsSaysWhatArrived(t *testing.T) {
	pcm := make([]int16, Rate)
	tone.Sine(440, Rate, 0.3).Fill(pcm)
	got := describeWindows(pcm, 600, Rate/5, 2)
	if strings.Count(got, "strongest 440 Hz share 1.00") != 2 || !strings.Contains(got, "600 Hz share 0.00") {
		t.Errorf("440 Hz heard while waiting for 600 Hz described as %q", got)
	}
	if got := describeWindows(make([]int16, Rate/5), 600, Rate/5, 4); !strings.Contains(got, "RMS 0.0000") {
		t.Errorf("silence described as %q", got)
	}
	if got := describeWindows(nil, 600, Rate/5, 4); !strings.Contains(got, "0 samples") {
		t.Errorf("nothing described as %q", got)
	}
}
