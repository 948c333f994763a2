package audio

import (
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/gen2brain/malgo"
)

// goneChildEnv makes the test binary run TestPulseInfoOfAGoneSinkChild's
// body: the step that crashed, in a process of its own.
const goneChildEnv = "SB_PULSE_GONE_CHILD"

// testInfoOfAGoneSink: asking miniaudio about a sink PulseAudio no longer
// has is an error, not a crash. Every device open asks (ma_device_init
// reads the device's name after connecting its stream), so a headset
// unplugged between the two, as the watchdog reopens on it, crashed the
// console with SIGSEGV: miniaudio 0.11.23's info callbacks took
// PulseAudio's error call (no info, end of list -1) for a sink
// (miniaudio issue 1103; telephony/audio's tests once on CI). Run in a
// child process, so that the crash is this test's failure and not the
// end of the package's tests.
func testInfoOfAGoneSink(t *testing.T, ps *pulseServer) {
	cmd := exec.Command(os.Args[0], "-test.run", "^TestPulseInfoOfAGoneSinkChild$", "-test.v")
	cmd.Env = append(os.Environ(), goneChildEnv+"=1", "PULSE_SERVER="+ps.server)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS: TestPulseInfoOfAGoneSinkChild") {
		t.Fatalf("miniaudio asked about a gone sink: %v\n%s", err, lastLines(string(out), 30))
	}
}

// TestPulseInfoOfAGoneSinkChild is testInfoOfAGoneSink's child.
func TestPulseInfoOfAGoneSinkChild(t *testing.T) {
	if os.Getenv(goneChildEnv) == "" {
		t.Skip("run by TestPulseAudio")
	}
	mctx, err := malgo.InitContext([]malgo.Backend{malgo.BackendPulseaudio}, malgo.ContextConfig{}, nil)
	if err != nil {
		t.Fatalf("malgo on PulseAudio: %v", err)
	}
	defer func() { _ = mctx.Uninit(); mctx.Free() }()
	for _, kind := range []malgo.DeviceType{malgo.Playback, malgo.Capture} {
		var id malgo.DeviceID
		copy(id[:], "sb_gone")
		if info, err := mctx.DeviceInfo(kind, id, malgo.Shared); err == nil {
			t.Errorf("%v info of a sink that is not there: %+v, want an error", kind, info)
		}
	}
}
