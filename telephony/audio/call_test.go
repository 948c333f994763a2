//go:build linux

package audio

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	diagoaudio "github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"

	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony"
)

// bridgeCall connects a call's media to an audio port the way the
// console does: decoded RTP frames (with their sequence numbers and
// timestamps) to Play, Capture to encoded RTP. It returns when the call
// ends; its send goroutine ends with it.
func bridgeCall(ctx context.Context, dev telephony.AudioDevice, dm *diago.DialogMedia, ports chan<- *Port) error {
	codec := media.CodecAudioFromSession(dm.MediaSession())
	port, err := dev.OpenPort(int(codec.SampleRate))
	if err != nil {
		return err
	}
	if p, ok := port.(*Port); ok && ports != nil {
		ports <- p
	}
	r, err := dm.AudioReader()
	if err != nil {
		return err
	}
	w, err := dm.AudioWriter()
	if err != nil {
		return err
	}
	dec, err := diagoaudio.NewPCMDecoderReader(codec.PayloadType, r)
	if err != nil {
		return err
	}
	enc, err := diagoaudio.NewPCMEncoderWriter(codec.PayloadType, w)
	if err != nil {
		return err
	}
	n := int(codec.SampleRate) / 50
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Add(2)
	go func() { // the call ends: stop the receive loop
		defer wg.Done()
		select {
		case <-ctx.Done():
			_ = dm.Close()
		case <-done:
		}
	}()
	go func() { // the send loop, paced by the microphone
		defer wg.Done()
		pcm, b := make([]int16, n), make([]byte, 0, 2*n)
		for port.Capture(pcm) == nil {
			if _, err := enc.Write(tone.AppendPCMBytes(b[:0], pcm)); err != nil {
				return
			}
		}
	}()
	b, pcm := make([]byte, 2*n), make([]int16, 0, n)
	for {
		k, err := dec.Read(b)
		if err != nil {
			break
		}
		if k == 0 {
			continue // on hold
		}
		// PacketHeader belongs to the packet just read (same goroutine).
		h := dm.RTPPacketReader.PacketHeader
		port.Play(telephony.Frame{Seq: h.SequenceNumber, Timestamp: h.Timestamp, PCM: tone.AppendSamples(pcm[:0], b[:k])})
	}
	err = port.Close() // ends the send loop
	close(done)
	wg.Wait()
	return err
}

// newAgent starts a diago user agent on loopback (siptest.NewAgent) that
// logs warnings to the test; serve takes its incoming calls.
func newAgent(t *testing.T, name string, serve func(d *diago.DialogServerSession)) *siptest.Agent {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return siptest.NewAgent(t, name, siptest.AgentOptions{Logger: quiet, Handler: serve})
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// testRealCall: a caller (a diago user agent on loopback) sends a 440 Hz
// tone over RTP to a small console user agent whose audio goes through
// a Port on PulseAudio; the tone must come out of the sink, and the
// microphone's 600 Hz must come back to the caller in RTP.
func testRealCall(t *testing.T, ps *pulseServer) {
	dev := openDevice(t, BackendPulseAudio, Options{Playback: "sb_sink", Capture: "mic600"})
	ports := make(chan *Port, 1)
	bridged := make(chan error, 1)
	console := newAgent(t, "console", func(d *diago.DialogServerSession) {
		m, err := d.Answer(diago.AnswerOptions{})
		if err != nil {
			bridged <- err
			return
		}
		bridged <- bridgeCall(d.Context(), dev, m, ports) // blocks for the call
	})
	caller := newAgent(t, "caller", nil)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	call, callMedia, err := caller.DG.Invite(ctx, console.URI(), diago.InviteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	codec := media.CodecAudioFromSession(callMedia.MediaSession())
	if codec.SampleRate != 8000 {
		t.Fatalf("negotiated %s, want G.711", codec.String())
	}
	port := <-ports

	// The caller speaks: a 440 Hz tone, one RTP packet every 20 ms.
	w, err := callMedia.AudioWriter()
	if err != nil {
		t.Fatal(err)
	}
	enc, err := diagoaudio.NewPCMEncoderWriter(codec.PayloadType, w)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		gen := tone.Sine(callHz, 8000, callAmp)
		pcm := make([]int16, 160)
		tick := time.NewTicker(telephony.FrameDuration)
		defer tick.Stop()
		for {
			select {
			case <-call.Context().Done():
				return
			case <-tick.C:
			}
			gen.Fill(pcm)
			if _, err := enc.Write(tone.PCMBytes(pcm)); err != nil {
				return
			}
		}
	}()
	// The caller listens.
	var mu sync.Mutex
	var heard []int16
	r, err := callMedia.AudioReader()
	if err != nil {
		t.Fatal(err)
	}
	dec, err := diagoaudio.NewPCMDecoderReader(codec.PayloadType, r)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		defer wg.Done()
		b := make([]byte, 320)
		for {
			k, err := dec.Read(b)
			if err != nil {
				return
			}
			mu.Lock()
			heard = tone.AppendSamples(heard, b[:k])
			mu.Unlock()
		}
	}()

	ps.checkSink(t, "the call's tone on the sink", "sb_sink.monitor", callHz, callAmp)
	// The caller hears the microphone's 600 Hz (any clear level: the
	// sine's level is PulseAudio's business).
	taken := 0
	inWindows(t, "the microphone at the caller", func() []int16 {
		waitFor(t, "a second of the console's audio at the caller", func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(heard) >= taken+8000
		})
		mu.Lock()
		defer mu.Unlock()
		w := heard[taken : taken+8000]
		taken += 8000
		return w
	}, micHz, 8000, 0)
	t.Logf("console jitter buffer: %+v", port.Stats())

	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	_ = call.Close() // ends the caller's RTP loops
	if err := <-bridged; err != nil && !errors.Is(err, ErrClosed) {
		t.Errorf("console bridge: %v", err)
	}
	wg.Wait()
	// The sink's check saw at least half a second of the caller's tone
	// (five 100 ms windows): the port played at least those 25 frames.
	// How many more depends on how long the checks took, not on the code.
	if st := port.Stats(); st.Played < 25 {
		t.Errorf("jitter buffer after the call: %+v, want at least 25 frames played", st)
	}
}
