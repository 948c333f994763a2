package park

import (
	"encoding/binary"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/switchboard/switchboard/assets"
)

// tickEngine is an engine with n legs on music on hold, all sending to
// one local socket that reads nothing (the kernel drops what overflows).
func tickEngine(tb testing.TB, n int) *engine {
	tb.Helper()
	m, err := newMusic(assets.MusicOnHold())
	if err != nil {
		tb.Fatal(err)
	}
	e, err := listenEngine(netip.MustParseAddr("127.0.0.1"), 0, m, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatal(err)
	}
	sink, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		e.conn.Close()
		e.rtcp.Close()
		sink.Close()
	})
	ap := sink.LocalAddr().(*net.UDPAddr).AddrPort()
	for range n {
		l := newLeg(offer{addr: ap, codec: ptPCMU, pt: ptPCMU})
		e.add(l)
		e.playMusic(l)
	}
	return e
}

// tickPool opens n senders on e, closed when the test ends.
func tickPool(tb testing.TB, e *engine, n int) *senderPool {
	tb.Helper()
	p, err := e.openSenders(n)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(p.close)
	return p
}

// TestMusicTickDoesNotAllocate: once the tick's buffers have grown to
// the legs on hold, a music tick (its frames built once, split between
// two senders and sent with sendmmsg) allocates nothing, whatever the
// number of legs: the clock runs 50 times a second for every parked
// call, so garbage there would grow with the load (issue 17).
func TestMusicTickDoesNotAllocate(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector's sync.Pool drops buffers at random: allocations are counted without -race")
	}
	e := tickEngine(t, 300)
	p := tickPool(t, e, 2)
	var frames []frame
	frames = e.tick(frames)
	p.send(frames)
	if len(frames) != 300 {
		t.Fatalf("a tick built %d frames, want 300", len(frames))
	}
	allocs := testing.AllocsPerRun(50, func() {
		frames = e.tick(frames)
		p.send(frames)
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per music tick of 300 legs, want 0", allocs)
	}
}

// TestSplitTick: a tick's frames are cut into contiguous shares that
// cover each frame once, in order, no share under minShare (but a tick
// smaller than that goes whole to one sender), sizes within one.
func TestSplitTick(t *testing.T) {
	out := make([]share, 8)
	for _, senders := range []int{1, 2, 3, 8} {
		for _, n := range []int{0, 1, minShare - 1, minShare, 2*minShare - 1, 2 * minShare, 300, 2000, 10001} {
			k := splitTick(n, senders, out)
			if n == 0 {
				if k != 0 {
					t.Errorf("splitTick(0, %d) gave %d shares", senders, k)
				}
				continue
			}
			if want := max(1, min(senders, n/minShare)); k != want {
				t.Errorf("splitTick(%d, %d) gave %d shares, want %d", n, senders, k, want)
			}
			next, lo, hi := 0, n, 0
			for _, s := range out[:k] {
				if s.lo != next || s.hi <= s.lo {
					t.Fatalf("splitTick(%d, %d): shares %v not contiguous from 0", n, senders, out[:k])
				}
				next = s.hi
				lo, hi = min(lo, s.hi-s.lo), max(hi, s.hi-s.lo)
			}
			if next != n || hi-lo > 1 || (k > 1 && lo < minShare) {
				t.Errorf("splitTick(%d, %d): shares %v", n, senders, out[:k])
			}
		}
	}
}

// TestMusicTickSplitAcrossSenders: with three senders, every leg of a
// 300-leg tick gets exactly one frame per tick, its frames in sequence
// order tick after tick (each leg sends to its own socket here), and
// every sender sent its share.
func TestMusicTickSplitAcrossSenders(t *testing.T) {
	const legs, ticks, senders = 300, 5, 3
	m, err := newMusic(assets.MusicOnHold())
	if err != nil {
		t.Fatal(err)
	}
	e, err := listenEngine(netip.MustParseAddr("127.0.0.1"), 0, m, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		e.conn.Close()
		e.rtcp.Close()
	})
	sinks := make([]*net.UDPConn, legs)
	for i := range sinks {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		sinks[i] = c
		l := newLeg(offer{addr: c.LocalAddr().(*net.UDPAddr).AddrPort(), codec: ptPCMU, pt: ptPCMU})
		e.add(l)
		e.playMusic(l)
	}
	p := tickPool(t, e, senders)
	var frames []frame
	for range ticks {
		frames = e.tick(frames)
		p.send(frames)
	}
	// Every leg reads ticks frames in sequence below; with no more than
	// legs×ticks sent in all, none got a frame twice.
	var total uint64
	for i, s := range p.senders {
		total += s.sent.Load()
		if got := s.sent.Load(); parallelSenders && got != legs/senders*ticks {
			t.Errorf("sender %d sent %d frames, want %d", i, got, legs/senders*ticks)
		}
	}
	if total != legs*ticks {
		t.Errorf("the senders sent %d frames in all, want %d", total, legs*ticks)
	}
	buf := make([]byte, 1500)
	for i, c := range sinks {
		var first uint16
		for k := range ticks {
			_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("leg %d: frame %d of %d: %v", i, k+1, ticks, err)
			}
			if n != rtpHeaderLen+frameSamples {
				t.Fatalf("leg %d: a %d-byte packet", i, n)
			}
			seq := binary.BigEndian.Uint16(buf[2:])
			if k == 0 {
				first = seq
			} else if seq != first+uint16(k) {
				t.Fatalf("leg %d: frame %d has sequence %d, want %d", i, k+1, seq, first+uint16(k))
			}
		}
	}
}

// TestSendersHandTicksBackAndForth: tick after tick, the clock's send
// returns only once every helper's share is out (each sender's count is
// exact after every tick, never behind), and the helpers, waiting on
// their words between ticks, stop when the pool closes (the test's
// cleanup would hang otherwise).
func TestSendersHandTicksBackAndForth(t *testing.T) {
	const senders, ticks = 3, 500
	legs := senders * minShare
	e := tickEngine(t, legs)
	p := tickPool(t, e, senders)
	var frames []frame
	for k := range uint64(ticks) {
		frames = e.tick(frames)
		p.send(frames)
		for i, s := range p.senders {
			want := (k + 1) * uint64(legs/senders)
			if !parallelSenders {
				want = 0
				if i == 0 {
					want = (k + 1) * uint64(legs)
				}
			}
			if got := s.sent.Load(); got != want {
				t.Fatalf("after tick %d sender %d had sent %d frames, want %d", k+1, i, got, want)
			}
		}
	}
}

// TestWakeWordWakesItsWaiter: a wait on a word that already differs
// returns at once; a waiter on an unchanged word sleeps until the word
// is changed and woken.
func TestWakeWordWakesItsWaiter(t *testing.T) {
	var w wakeWord
	w.store(7)
	w.waitWhile(6) // differs: returns at once (a hang fails the test)
	wakesItsWaiter(t, &w, func() { w.waitWhile(7) })
}

// wakesItsWaiter: a waiter on w, which holds 7, waiting with wait on
// a thread of its own, wakes to 8 once w is changed and woken.
func wakesItsWaiter(t *testing.T, w *wakeWord, wait func()) {
	t.Helper()
	woke := make(chan uint32)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for w.load() == 7 {
			wait()
		}
		woke <- w.load()
	}()
	w.add(1)
	w.wake()
	if got := <-woke; got != 8 {
		t.Fatalf("the waiter woke to %d, want 8", got)
	}
}

// TestHelperIgnoresAWakeWithNoTick: a helper woken with its tick word
// unchanged (a futex wait may end so) goes back to waiting: it sends
// nothing and does not count a share as done, which would let the
// clock go on before a real share is out.
func TestHelperIgnoresAWakeWithNoTick(t *testing.T) {
	if !parallelSenders {
		t.Skip("no helper senders off Linux")
	}
	e := tickEngine(t, 2*minShare)
	p := tickPool(t, e, 2)
	for range 100 {
		p.senders[1].tick.wake()
		time.Sleep(time.Millisecond) // time for the helper to act on the wake, were it to
	}
	if v := p.pending.load(); v != 0 {
		t.Fatalf("after wakes with no tick the clock waits for %d shares, want 0", int32(v))
	}
	frames := e.tick(nil)
	p.send(frames)
	for i, s := range p.senders {
		if got := s.sent.Load(); got != minShare {
			t.Errorf("sender %d sent %d frames, want %d", i, got, minShare)
		}
	}
}

// TestWaitUntilNeverReturnsEarly: the clock's wait returns at or after
// its deadline, whether the deadline is past, within parkLead (a raw
// wait alone) or further (parked in the runtime first, then raw).
func TestWaitUntilNeverReturnsEarly(t *testing.T) {
	for _, ahead := range []time.Duration{-time.Millisecond, 0, time.Duration(parkLead) / 2, 3 * time.Duration(parkLead), 20 * time.Millisecond} {
		for range 5 {
			deadline := monoNow() + int64(ahead)
			waitUntil(deadline)
			if now := monoNow(); now < deadline {
				t.Fatalf("waitUntil(now%+v) returned %v before its deadline", ahead, time.Duration(deadline-now))
			}
		}
	}
}

// TestRawWaitEndsOnChangeOrTimeout: a raw wait on a word that differs
// returns at once, one on an unchanged word returns when the word is
// changed and woken, and one nobody wakes returns once its time is up
// (a hang fails the test).
func TestRawWaitEndsOnChangeOrTimeout(t *testing.T) {
	var w wakeWord
	w.store(7)
	w.rawWaitWhile(6, int64(time.Hour))
	w.rawWaitWhile(7, 0)
	w.rawWaitWhile(7, int64(time.Millisecond))
	if !parallelSenders {
		return // off Linux a waiter polls: covered by TestWakeWordWakesItsWaiter
	}
	wakesItsWaiter(t, &w, func() { w.rawWaitWhile(7, int64(time.Hour)) })
}

// TestHelpersFollowTheClocksDeadlines runs the pool as the clock does:
// each tick's deadline published before its shares go out, every
// sender waiting for it parked in the runtime and then raw. Every
// sender's count is exact after every tick, also when a tick too small
// to share leaves a helper out for a while, and when the clock comes
// later than lateShare past its deadline (the helper then waits
// through the scheduler); the pool closes with helpers mid-wait.
func TestHelpersFollowTheClocksDeadlines(t *testing.T) {
	const senders = 2
	legs := senders * minShare
	e := tickEngine(t, legs)
	p := tickPool(t, e, senders)
	var frames []frame
	want := make([]uint64, senders)
	next := monoNow()
	for k := range 60 {
		wake := next
		if k == 20 {
			// The clock stalls past lateShare: the helper, done with
			// its raw wait for this deadline, must still get its share.
			wake += 2 * lateShare
		}
		waitUntil(wake)
		frames = e.tick(frames)
		if k >= 30 && k < 40 {
			frames = frames[:minShare] // fewer than two shares: the clock sends alone
		}
		next += int64(framePeriod)
		p.next.Store(next)
		p.send(frames)
		n := splitTick(len(frames), len(p.senders), p.shares)
		for i := range n {
			want[i] += uint64(p.shares[i].hi - p.shares[i].lo)
		}
		for i, s := range p.senders {
			if got := s.sent.Load(); got != want[i] {
				t.Fatalf("after tick %d sender %d had sent %d frames, want %d", k+1, i, got, want[i])
			}
		}
	}
}

// TestTickFinishesBeforeTheNext: the clock hands a tick out (start)
// and waits for its helpers' shares only before building the next
// (finish): after finish every sender's count is exact and the tick's
// frames are let go, so a leg that left is not kept by them.
func TestTickFinishesBeforeTheNext(t *testing.T) {
	const senders = 2
	e := tickEngine(t, senders*minShare)
	p := tickPool(t, e, senders)
	var frames []frame
	for k := range uint64(50) {
		frames = e.tick(frames)
		p.start(frames)
		p.finish(frames)
		var total uint64
		for _, s := range p.senders {
			total += s.sent.Load()
		}
		if want := (k + 1) * senders * minShare; total != want {
			t.Fatalf("after tick %d the senders had sent %d frames, want %d", k+1, total, want)
		}
		for i, f := range frames {
			if f.buf != nil || f.addr != nil {
				t.Fatalf("after tick %d frame %d still holds its leg's buffer", k+1, i)
			}
		}
	}
}
