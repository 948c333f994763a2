package park

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
)

// The music clock's senders (issue 17). One thread cannot send 100,000
// packets a second on a small machine (docs/BENCHMARKS.md, "The
// machine's floor"), so each tick is built once by the clock and split
// into contiguous shares, one per sender: the clock's own thread sends
// the first share, and each other sender, a goroutine locked to an OS
// thread of its own, sends one more, all at once, each on a descriptor
// of its own of the RTP socket (on Linux a dup: two writers on one Go
// net.UDPConn serialise on its write lock). The clock waits for every
// share before it builds the next tick, so each leg's frames leave one
// per tick and in order. The clock sleeps to absolute deadlines
// (clock_nanosleep TIMER_ABSTIME on Linux), not on Go timers. Nothing
// is allocated per tick or per packet once the buffers have grown to
// the number of legs. Off Linux there is one sender, the clock.

// minShare is the fewest frames a tick gives a sender: a smaller tick
// is sent by fewer senders, since waking a thread costs more than
// sending a batch.
const minShare = batchSize

// maxDefaultSenders caps DefaultSenders: past a handful of threads the
// shares are small and the kernel's per-socket work, not the threads,
// bounds a tick.
const maxDefaultSenders = 8

// DefaultSenders is the number of music senders when
// Options.Senders is 0: one per processor Go may use (GOMAXPROCS), at
// most 8, and 1 where the platform has no parallel sender (off Linux).
func DefaultSenders() int {
	if !parallelSenders {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), maxDefaultSenders))
}

// frame is one music packet of a tick: the leg's buffer, built by the
// tick, and where it goes, copied under the engine's lock (a leg's
// addresses change under the write lock; its buffer is written only by
// the clock).
type frame struct {
	buf  *[rtpHeaderLen + frameSamples]byte
	to   netip.AddrPort
	addr *net.UDPAddr // to, as the portable sender writes it; replaced, never changed
}

// share is the part [lo, hi) of a tick's frames one sender sends.
type share struct{ lo, hi int }

// splitTick splits n frames into shares for at most senders senders,
// each of at least minShare frames (except when n itself is smaller),
// contiguous, in order, sizes differing by at most one. It writes them
// into out (len(out) >= senders) and returns how many it wrote; 0 for
// no frames.
func splitTick(n, senders int, out []share) int {
	if n == 0 {
		return 0
	}
	k := max(1, min(senders, n/minShare))
	lo := 0
	for i := range k {
		size := n / k
		if i < n%k {
			size++
		}
		out[i] = share{lo, lo + size}
		lo += size
	}
	return k
}

// senderPool is the clock's senders: pool[0] is the clock's own; the
// others run on their own locked threads while the pool is open.
type senderPool struct {
	e       *engine
	senders []*sender
	shares  []share
	done    chan struct{} // one token per helper's finished share
	wg      sync.WaitGroup
}

// sender sends shares of ticks on a descriptor of its own.
type sender struct {
	out   senderOut     // the platform's writer (senders_linux.go, senders_other.go)
	start chan struct{} // a share to send (helpers); closed: stop
	part  []frame       // the share, set by the clock before start
	sent  atomic.Uint64 // frames it sent, for the tests
}

// lockSender locks the calling goroutine to its OS thread and asks for
// the engine's real-time priority there; the clock says once why not
// when it is refused (logRefusal). The returned func gives the thread
// its normal priority back and unlocks it, so that no goroutine runs
// at that priority after the sender: a locked thread whose goroutine
// ends is not always ended with it (the process's main thread is kept,
// parked, by the runtime).
func (e *engine) lockSender(logRefusal bool) (unlock func()) {
	runtime.LockOSThread()
	if e.priority <= 0 {
		return runtime.UnlockOSThread
	}
	if err := realtime(e.priority); err != nil {
		if logRefusal {
			e.log.Info("music senders run at normal priority: real-time priority refused",
				"priority", e.priority, "error", err)
		}
		return runtime.UnlockOSThread
	}
	return func() {
		if err := normalPriority(); err != nil {
			// Left locked, the thread ends with the goroutine.
			e.log.Warn("music sender: normal priority not restored; its thread ends", "error", err)
			return
		}
		runtime.UnlockOSThread()
	}
}

// openSenders starts n senders (at least 1): the clock's own and n-1
// helpers, each locked to an OS thread. The caller closes the pool.
func (e *engine) openSenders(n int) (*senderPool, error) {
	n = max(1, n)
	if !parallelSenders {
		n = 1
	}
	p := &senderPool{e: e, shares: make([]share, n), done: make(chan struct{}, n)}
	for i := range n {
		out, err := newSenderOut(e)
		if err != nil {
			p.close()
			return nil, err
		}
		s := &sender{out: out, start: make(chan struct{})}
		p.senders = append(p.senders, s)
		if i == 0 {
			continue
		}
		p.wg.Go(func() {
			defer e.lockSender(false)()
			for range s.start {
				s.send(e)
				p.done <- struct{}{}
			}
		})
	}
	return p, nil
}

// close stops the helpers and closes every sender's descriptor.
func (p *senderPool) close() {
	for _, s := range p.senders[min(1, len(p.senders)):] {
		close(s.start)
	}
	p.wg.Wait()
	for _, s := range p.senders {
		s.out.close()
	}
}

// send sends a tick's frames, split among the senders, and returns when
// every share is out. It lets go of the frames' buffers (a leg that
// leaves is not kept alive by the next tick's buffer).
func (p *senderPool) send(frames []frame) {
	k := splitTick(len(frames), len(p.senders), p.shares)
	for i := 1; i < k; i++ {
		s := p.senders[i]
		s.part = frames[p.shares[i].lo:p.shares[i].hi]
		s.start <- struct{}{}
	}
	if k > 0 {
		s := p.senders[0]
		s.part = frames[p.shares[0].lo:p.shares[0].hi]
		s.send(p.e)
	}
	for i := 1; i < k; i++ {
		<-p.done
	}
	for i := range frames {
		frames[i] = frame{}
	}
}

// send writes the sender's share.
func (s *sender) send(e *engine) {
	s.out.send(e, s.part)
	s.sent.Add(uint64(len(s.part)))
	s.part = nil
}

// clock sends one music frame to every parked leg every 20 ms, shared
// among the engine's senders, in sendmmsg batches, on an absolute
// schedule so that the spacing does not drift with the work done per
// tick. While no leg needs music it does not tick: it waits for
// wantClockLocked's token. The senders' threads live as long as the
// engine runs.
func (e *engine) clock(ctx context.Context) {
	defer e.lockSender(true)()
	pool, err := e.openSenders(e.senders)
	if err != nil {
		e.log.Error("music senders could not start; no music on hold", "error", err)
		<-ctx.Done()
		return
	}
	defer pool.close()
	var frames []frame
	var next int64 // monotonic nanoseconds
	idle := true
	for {
		if idle {
			select {
			case <-ctx.Done():
				return
			case <-e.wake:
			}
			idle = false
			next = monoNow() // the first tick is now
		} else {
			sleepUntil(next)
			if ctx.Err() != nil {
				return
			}
		}
		frames = e.tick(frames)
		if len(frames) == 0 && e.stopClock() {
			idle = true
			continue
		}
		pool.send(frames)

		next += int64(framePeriod)
		if now := monoNow(); now-next > int64(framePeriod) {
			// Far behind (a stall): skip ticks rather than burst.
			e.stats.lateTicks.Add(1)
			next = now
		}
	}
}

// tick builds one music frame for every leg on hold into frames (reused
// from the last tick: once it has grown to the number of legs, a tick
// allocates nothing). It builds under the read lock (microseconds) and
// the caller sends after it (senderPool.send): parks, retrieves and
// hang-ups, which take the write lock, then never wait for a tick's
// syscalls.
func (e *engine) tick(frames []frame) []frame {
	e.mu.RLock()
	defer e.mu.RUnlock()
	frames = frames[:0]
	for _, l := range e.onHold {
		if l.mute {
			continue
		}
		writeRTPHeader(l.buf[:], l.sendPT, l.marker, l.seq, l.ts, l.ssrc)
		copy(l.buf[rtpHeaderLen:], e.music.frame(l.codec, l.frame))
		l.marker = false
		l.seq++
		l.ts += frameSamples
		if l.frame++; l.frame == len(e.music.pcmu) {
			l.frame = 0
		}
		frames = append(frames, frame{buf: &l.buf, to: l.remote, addr: l.addr})
	}
	e.stats.musicSent.Add(uint64(len(frames)))
	return frames
}
