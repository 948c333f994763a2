package audio_test

import (
	"context"
	"errors"
	"log"

	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/audio"
)

// The console opens the sound device once; without one it still answers
// calls, silently, and says so.
func Example() {
	ctx := context.Background()
	var dev telephony.AudioDevice
	d, err := audio.Open(ctx, audio.Options{Playback: "", Capture: "", Ring: ""})
	switch {
	case errors.Is(err, audio.ErrUnavailable):
		log.Printf("audio unavailable: %v", err) // the window shows a banner
		dev = audio.NewSilent(ctx)
	case err != nil:
		log.Fatal(err)
	default:
		defer d.Close()
		dev = d
		go func() { // device changes for the window (headset unplugged, …)
			for e := range d.Events() {
				log.Print(e)
			}
		}()
	}

	// A call is answered (G.711: 8 kHz).
	port, err := dev.OpenPort(8000)
	if err != nil {
		log.Fatal(err)
	}
	defer port.Close()
	// Receive loop: each decoded RTP packet, with its header's numbers.
	port.Play(telephony.Frame{Seq: 1, Timestamp: 160, PCM: make([]int16, 160)})
	// Send loop: Capture paces it, 20 ms a frame.
	pcm := make([]int16, 160)
	if err := port.Capture(pcm); err != nil {
		log.Print(err)
	}
}

// Ringing stops when the call is answered or gone: tie it to a context
// or call stop.
func ExampleDevice_Ring() {
	d, err := audio.Open(context.Background(), audio.Options{Ring: "alsa_output.usb-speaker"})
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()
	stop, err := d.Ring(context.Background())
	if err != nil {
		log.Print(err) // no ring device: the window still shows the call
		return
	}
	// … the receptionist answers:
	stop()
}
