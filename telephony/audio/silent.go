package audio

import (
	"context"
	"sync"
	"time"

	"github.com/switchboard/switchboard/telephony"
)

// Silent is an AudioDevice with no sound device behind it: its ports
// discard what they play and capture silence at the call's pace. Use it
// when Open fails so that calls can still be answered, parked and
// transferred while the window says audio is unavailable.
type Silent struct {
	ctx context.Context
}

var _ telephony.AudioDevice = Silent{}

// NewSilent returns a Silent device whose ports end when ctx does.
func NewSilent(ctx context.Context) Silent { return Silent{ctx: ctx} }

// OpenPort opens a silent port.
func (s Silent) OpenPort(sampleRate int) (telephony.AudioPort, error) {
	if sampleRate <= 0 || sampleRate%50 != 0 {
		return nil, ErrShortBuffer
	}
	ctx, cancel := context.WithCancel(s.ctx)
	return &silentPort{n: sampleRate / 50, ctx: ctx, cancel: cancel}, nil
}

type silentPort struct {
	n      int
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	due    time.Time
}

func (p *silentPort) Play(telephony.Frame) {}

func (p *silentPort) Capture(pcm []int16) error {
	if len(pcm) < p.n {
		return ErrShortBuffer
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
	if p.due.IsZero() || now.Sub(p.due) > telephony.FrameDuration {
		p.due = now
	}
	t := time.NewTimer(p.due.Sub(now))
	defer t.Stop()
	select {
	case <-p.ctx.Done():
		return ErrClosed
	case <-t.C:
	}
	p.due = p.due.Add(telephony.FrameDuration)
	clear(pcm[:p.n])
	return nil
}

func (p *silentPort) Close() error {
	p.cancel()
	return nil
}
