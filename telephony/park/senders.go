package park

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
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
// per tick and in order. The clock and its helpers wake each other
// through words they wait on in the kernel (wakeWord: a futex on
// Linux), so a woken sender's thread runs as soon as the kernel gives
// it a CPU. A helper parked on a channel started its share only once a
// normal-priority runtime thread had taken over its goroutine and
// handed it to the helper's thread: over 1 ms late in a tenth of the
// ticks at 2,000 parked on two cores (docs/BENCHMARKS.md, "Spacing at
// 2,000 parked"). Between ticks every sender waits parked in the Go
// runtime, its processor given up, until parkLead before the next
// tick's deadline, and only then in a raw wait that keeps its
// processor: the clock to the absolute deadline (clock_nanosleep
// TIMER_ABSTIME on Linux), a helper on its word. Waits announced to
// the scheduler as syscalls, ~15 ms each, had the runtime's sysmon take
// back two processors a tick and poll every 20 µs after each: a sixth
// of parkd's CPU ("Senders parked between ticks"). Nothing
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
	pending wakeWord     // helpers whose share of the tick is not out yet
	stop    atomic.Bool  // set before the helpers' last wake: end
	next    atomic.Int64 // the next tick's deadline (monoNow); 0 while the clock is idle
	shared  atomic.Int32 // how many senders the last tick was split among
	wg      sync.WaitGroup
}

// sender sends shares of ticks on a descriptor of its own.
type sender struct {
	out  senderOut     // the platform's writer (senders_linux.go, senders_other.go)
	tick wakeWord      // helpers: bumped by the clock for each share to send (or to stop)
	part []frame       // the share, set by the clock before it bumps tick
	sent atomic.Uint64 // frames it sent, for the tests
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
	p := &senderPool{e: e, shares: make([]share, n)}
	for i := range n {
		out, err := newSenderOut(e)
		if err != nil {
			p.close()
			return nil, err
		}
		s := &sender{out: out}
		p.senders = append(p.senders, s)
		if i == 0 {
			continue
		}
		p.wg.Go(func() { p.help(i, s) })
	}
	return p, nil
}

// help is a helper sender's life: wait for the clock to bump its tick
// word, send the share, tell the clock when the last share is out.
func (p *senderPool) help(i int, s *sender) {
	defer p.e.lockSender(false)()
	var seen uint32
	for {
		p.await(i, s, seen)
		seen = s.tick.load()
		if p.stop.Load() {
			return
		}
		s.send(p.e)
		if p.pending.add(^uint32(0)) == 0 {
			p.pending.wake()
		}
	}
}

// lateShare is how long past a tick's deadline a helper holds its
// processor for its share before it waits through the scheduler: the
// clock is that late only when its thread was kept from running.
const lateShare = int64(framePeriod) / 4

// await returns once the clock has bumped helper i's tick word past
// seen (or to stop it). While the clock ticks and gave i a share last
// time, i waits like the clock does (waitUntil): parked in the Go
// runtime to parkLead before the next tick, then in a raw wait on its
// word that keeps its processor, up to lateShare past the deadline.
// Otherwise (the clock idle, a tick too small to share with i, or the
// clock that late) it waits on its word through the scheduler, where
// the clock's bump finds it all the same.
func (p *senderPool) await(i int, s *sender, seen uint32) {
	for s.tick.load() == seen { // a wait may end with the word unchanged
		d, now := p.next.Load(), monoNow()
		switch {
		case d == 0 || i >= int(p.shared.Load()) || now >= d+lateShare:
			s.tick.waitWhile(seen)
		case d-now > parkLead:
			time.Sleep(time.Duration(d - parkLead - now))
		default:
			s.tick.rawWaitWhile(seen, d+lateShare-now)
		}
	}
}

// close stops the helpers and closes every sender's descriptor.
func (p *senderPool) close() {
	p.stop.Store(true)
	for _, s := range p.senders[min(1, len(p.senders)):] {
		s.tick.add(1)
		s.tick.wake()
	}
	p.wg.Wait()
	for _, s := range p.senders {
		s.out.close()
	}
}

// send sends a tick's frames, split among the senders, and returns when
// every share is out.
func (p *senderPool) send(frames []frame) {
	p.start(frames)
	p.finish(frames)
}

// start splits a tick's frames among the senders, hands each helper
// its share and sends the clock's own; the helpers' shares may still be
// going out when it returns (finish waits for them). The clock then
// waits for its next tick parked in the runtime, not in a syscall
// waiting for the helpers: with the runtime's sysmon asleep (its
// processors no longer taken back), nobody would take the clock's
// processor for the SIP handlers while the helpers send.
func (p *senderPool) start(frames []frame) {
	k := splitTick(len(frames), len(p.senders), p.shares)
	p.shared.Store(int32(k))
	if k > 1 {
		p.pending.store(uint32(k - 1))
	}
	for i := 1; i < k; i++ {
		s := p.senders[i]
		s.part = frames[p.shares[i].lo:p.shares[i].hi]
		s.tick.add(1)
		s.tick.wake()
	}
	if k > 0 {
		s := p.senders[0]
		s.part = frames[p.shares[0].lo:p.shares[0].hi]
		s.send(p.e)
	}
}

// finish returns once every share of the tick start began with frames
// is out (at the next tick they long are, unless the senders are
// overloaded), and lets go of the frames' buffers: a leg that leaves is
// not kept alive by the tick's buffer.
func (p *senderPool) finish(frames []frame) {
	for v := p.pending.load(); v != 0; v = p.pending.load() {
		p.pending.waitWhile(v)
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
			waitUntil(next)
			pool.finish(frames) // the last tick's shares
			if ctx.Err() != nil {
				return
			}
		}
		frames = e.tick(frames)
		if len(frames) == 0 && e.stopClock() {
			pool.next.Store(0)
			idle = true
			continue
		}
		// Before the shares go out: a helper done with its share reads
		// the deadline it waits for next.
		pool.next.Store(next + int64(framePeriod))
		pool.start(frames)

		next += int64(framePeriod)
		if now := monoNow(); now-next > int64(framePeriod) {
			// Far behind (a stall): skip ticks rather than burst.
			e.stats.lateTicks.Add(1)
			next = now
			pool.next.Store(next)
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
