package audio

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard/switchboard/telephony"
)

// Capture keeps at most this much unread audio; older audio is dropped
// so that a reader that paused does not lag behind the microphone.
const captureBacklog = 3 * streamRate / 50 // 60 ms

// stallAfter is how long Capture waits for the device before it sends
// silence at the call's pace instead (device gone, switching, stalled).
const stallAfter = 120 * time.Millisecond

// Port is one call's audio on a Device: Play feeds the headset through
// the jitter buffer, Capture reads the microphone in 20 ms frames. It
// implements telephony.AudioPort.
//
// Play and Capture may each be called from its own goroutine (the call's
// receive and send loops); neither ever waits for the audio callback's
// locks, since it takes none.
type Port struct {
	dev  *Device
	rate int
	n    int // samples per frame at the port's rate
	m    int // streamRate / rate

	closed atomic.Bool
	done   chan struct{}

	// Play side (producer of q).
	playMu sync.Mutex
	q      *frameQueue

	// Callback side (consumer of q, producer of cap).
	jb  *jitterBuffer
	up  *upsampler
	tmp []int16

	// Capture side (consumer of cap).
	capMu    sync.Mutex
	cap      *sampleRing
	down     *downsampler
	capBuf   []int16
	timer    *time.Timer
	seen     uint64    // device progress last seen
	seenAt   time.Time // when it last moved
	due      time.Time // free-running: when the next silent frame is due
	capDrops atomic.Uint64
	silent   atomic.Uint64
	stats    jitterCounters
}

var _ telephony.AudioPort = (*Port)(nil)

func newPort(d *Device, rate int) *Port {
	n := rate / 50
	m := streamRate / rate
	p := &Port{
		dev:    d,
		rate:   rate,
		n:      n,
		m:      m,
		done:   make(chan struct{}),
		q:      newFrameQueue(16, n),
		up:     newUpsampler(m),
		tmp:    make([]int16, maxChunk/m+2),
		cap:    newSampleRing(streamRate / 5), // 200 ms
		down:   newDownsampler(m, n*m),
		capBuf: make([]int16, n*m),
		timer:  time.NewTimer(time.Hour),
	}
	p.timer.Stop()
	p.jb = newJitterBuffer(rate, &p.stats)
	p.seenAt = time.Now()
	return p
}

// SampleRate returns the port's rate.
func (p *Port) SampleRate() int { return p.rate }

// Play queues a frame received from the call. It copies f.PCM, never
// blocks, and drops the frame (counted in Stats().Overflows) when the
// device is not taking audio.
func (p *Port) Play(f telephony.Frame) {
	if p.closed.Load() {
		return
	}
	p.playMu.Lock()
	ok := p.q.push(f)
	p.playMu.Unlock()
	if !ok {
		p.stats.over.Add(1)
	}
}

// render runs on the audio callback: it moves queued frames into the
// jitter buffer and adds len(acc) samples at 48 kHz to acc.
func (p *Port) render(acc []int32) {
	for f := p.q.peek(); f != nil; f = p.q.peek() {
		p.jb.push(f.seq, f.pcm)
		p.q.pop()
	}
	in := p.tmp[:p.up.need(len(acc))]
	p.jb.read(in)
	p.up.add(acc, in)
}

// ErrShortBuffer is returned by Capture when pcm cannot hold a frame.
var ErrShortBuffer = errors.New("audio: capture buffer shorter than a 20 ms frame")

// Capture fills pcm[:SampleRate()/50] with the next 20 ms from the
// microphone, waiting until they have been captured. While the device is
// stalled or gone it returns silence at the call's pace instead, so the
// call's RTP stream goes on. It returns ErrClosed once the port or its
// Device is closed.
func (p *Port) Capture(pcm []int16) error {
	if len(pcm) < p.n {
		return ErrShortBuffer
	}
	pcm = pcm[:p.n]
	p.capMu.Lock()
	defer p.capMu.Unlock()
	need := p.n * p.m
	for {
		if p.closed.Load() {
			return ErrClosed
		}
		avail := p.cap.len()
		if avail > need+captureBacklog {
			p.capDrops.Add(uint64(p.cap.discard(avail - need)))
			avail = need
		}
		if avail >= need {
			p.cap.read(p.capBuf)
			p.down.process(pcm, p.capBuf)
			p.due = time.Time{}
			return nil
		}
		now := time.Now()
		if f := p.dev.eng.capFrames.Load(); f != p.seen {
			p.seen, p.seenAt = f, now
		}
		var wait time.Duration
		if now.Sub(p.seenAt) > stallAfter {
			// The device is not running: keep the call's pace alone.
			if p.due.IsZero() {
				p.due = now
			}
			if !now.Before(p.due) {
				p.due = p.due.Add(telephony.FrameDuration)
				if now.Sub(p.due) > telephony.FrameDuration {
					p.due = now // fell behind: do not burst
				}
				clear(pcm)
				p.silent.Add(1)
				return nil
			}
			wait = p.due.Sub(now)
		} else {
			// Sleep until the missing samples should have arrived.
			wait = time.Duration(need-avail)*time.Second/streamRate + 500*time.Microsecond
			wait = min(max(wait, time.Millisecond), telephony.FrameDuration)
		}
		p.timer.Reset(wait)
		select {
		case <-p.timer.C:
		case <-p.done:
			p.timer.Stop()
			return ErrClosed
		}
	}
}

// Stats returns the jitter buffer's counters.
func (p *Port) Stats() JitterStats { return p.stats.snapshot() }

// CaptureStats returns how many captured samples (at 48 kHz) were
// dropped because Capture was not called in time, and how many silent
// frames Capture made up while the device was not running.
func (p *Port) CaptureStats() (droppedSamples, silentFrames uint64) {
	return p.capDrops.Load(), p.silent.Load()
}

func (p *Port) markClosed() {
	if p.closed.CompareAndSwap(false, true) {
		close(p.done)
	}
}

// Close ends the port: Capture returns ErrClosed, Play does nothing. The
// headset stream stops after the Device's linger time if no other port
// is open.
func (p *Port) Close() error {
	if p.closed.Load() {
		return nil
	}
	p.markClosed()
	p.dev.removePort(p)
	return nil
}
