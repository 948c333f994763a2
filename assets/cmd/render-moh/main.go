// Command render-moh writes Switchboard's built-in music on hold to a WAV
// file (8000 Hz, 16-bit, mono) so it can be listened to or handed to
// another park service.
//
// Usage:
//
//	go run ./assets/cmd/render-moh out.wav
package main

import (
	"fmt"
	"os"

	"github.com/switchboard/switchboard/assets"
	"github.com/switchboard/switchboard/internal/wav"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: render-moh out.wav")
		os.Exit(2)
	}
	a := &wav.Audio{
		SampleRate:    assets.MusicOnHoldSampleRate,
		Channels:      1,
		BitsPerSample: 16,
		Samples:       assets.MusicOnHold(),
	}
	if err := wav.WriteFile(os.Args[1], a); err != nil {
		fmt.Fprintln(os.Stderr, "render-moh:", err)
		os.Exit(1)
	}
}
