package app

import (
	"context"
	"sync"
)

// Sound is the local sound device as the window uses it: the ringtone,
// the call-waiting beep and the choice of devices. The calls' own audio
// does not pass through the window: the user agent opens ports on the
// device itself. cmd/attendant adapts telephony/audio's Device to Sound;
// a nil Sound means there is no sound device (the window says so and
// calls still work).
type Sound interface {
	// Ring plays the ringtone until stop is called or ctx ends.
	Ring(ctx context.Context) (stop func(), err error)
	// Beep plays the call-waiting beep into the headset, if it is open.
	Beep() bool
	// Devices lists the playback and capture devices.
	Devices() (playback, capture []AudioDevice, err error)
	// SetDevices chooses the headset ("" for the system default).
	SetDevices(playback, capture string) error
	// SetRingDevice chooses the device the ringtone plays on.
	SetRingDevice(id string) error
}

// AudioDevice describes one playback or capture device.
type AudioDevice struct {
	ID, Name string
	Default  bool
}

// AudioStatus is what the status bar says about the sound device.
type AudioStatus struct {
	// Available is false when there is no usable device.
	Available bool
	// Text says which device is in use, or why there is none.
	Text string
}

// ringer keeps the ringtone going while it is wanted. Its goroutine,
// owned by the console, starts and stops the device's ringtone (which
// may block on the sound system) away from Fyne's goroutine.
type ringer struct {
	sound Sound
	mu    sync.Mutex
	want  bool
	kick  chan struct{}
	onErr func(error)
}

func newRinger(s Sound, onErr func(error)) *ringer {
	return &ringer{sound: s, kick: make(chan struct{}, 1), onErr: onErr}
}

// set asks for the ringtone on or off; it never blocks.
func (r *ringer) set(on bool) {
	r.mu.Lock()
	changed := r.want != on
	r.want = on
	r.mu.Unlock()
	if changed {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

// run follows the wanted state until ctx ends, and leaves the ringtone
// off.
func (r *ringer) run(ctx context.Context) {
	var stop func()
	defer func() {
		if stop != nil {
			stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		r.mu.Lock()
		want := r.want
		r.mu.Unlock()
		switch {
		case want && stop == nil:
			s, err := r.sound.Ring(ctx)
			if err != nil {
				r.onErr(err)
				continue
			}
			stop = s
		case !want && stop != nil:
			stop()
			stop = nil
		}
	}
}
