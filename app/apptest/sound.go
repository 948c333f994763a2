package apptest

import (
	"context"
	"sync"

	"github.com/switchboard/switchboard/app"
)

var _ app.Sound = (*Sound)(nil)

// Sound is a sound device that plays nothing and counts what it was
// asked: ringtones started and stopped, beeps, device choices.
type Sound struct {
	// Playback and Capture are the devices it lists.
	Playback, Capture []app.AudioDevice

	mu              sync.Mutex
	ringing         bool
	rings, beeps    int
	play, capt, rng string
}

// Ring starts the (silent) ringtone.
func (s *Sound) Ring(ctx context.Context) (func(), error) {
	s.mu.Lock()
	s.ringing = true
	s.rings++
	s.mu.Unlock()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			s.mu.Lock()
			s.ringing = false
			s.mu.Unlock()
		})
	}
	return stop, nil
}

// Beep counts a beep.
func (s *Sound) Beep() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.beeps++
	return true
}

// Devices returns Playback and Capture.
func (s *Sound) Devices() (playback, capture []app.AudioDevice, err error) {
	return s.Playback, s.Capture, nil
}

// SetDevices records the headset chosen.
func (s *Sound) SetDevices(playback, capture string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.play, s.capt = playback, capture
	return nil
}

// SetRingDevice records the ring device chosen.
func (s *Sound) SetRingDevice(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rng = id
	return nil
}

// Ringing reports whether the ringtone plays, and how many times it
// started.
func (s *Sound) Ringing() (on bool, started int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ringing, s.rings
}

// Beeps returns how many beeps were asked.
func (s *Sound) Beeps() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.beeps
}

// Chosen returns the devices last chosen: headset speaker, microphone
// and ring device.
func (s *Sound) Chosen() (playback, capture, ring string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.play, s.capt, s.rng
}
