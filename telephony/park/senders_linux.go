//go:build linux

package park

import (
	"errors"
	"fmt"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// parallelSenders: on Linux each sender has its own descriptor (dup)
// of the RTP socket and writes with sendmmsg directly.
const parallelSenders = true

// senderOut writes frames with sendmmsg(2) on its own descriptor of the
// engine's RTP socket. Its message headers, I/O vectors and socket
// addresses are kept across ticks and grow with the share: a tick
// allocates nothing once they have grown. The descriptor shares the
// socket's file description, so it is non-blocking as Go's is: a full
// send buffer is waited out with poll(2) on the sender's thread.
type senderOut struct {
	fd   int
	inet bool // AF_INET socket; else AF_INET6 (IPv4 peers as v4-mapped)
	hdrs []unix.Mmsghdr
	iovs []unix.Iovec
	sas  []unix.RawSockaddrInet6 // big enough for either family
}

// newSenderOut duplicates the engine's RTP socket.
func newSenderOut(e *engine) (senderOut, error) {
	rc, err := e.conn.SyscallConn()
	if err != nil {
		return senderOut{}, fmt.Errorf("rtp socket: %w", err)
	}
	fd, domain := -1, 0
	var derr error
	if err := rc.Control(func(s uintptr) {
		if fd, derr = unix.FcntlInt(s, unix.F_DUPFD_CLOEXEC, 0); derr != nil {
			fd = -1
			return
		}
		domain, derr = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_DOMAIN)
	}); err != nil {
		return senderOut{}, fmt.Errorf("rtp socket: %w", err)
	}
	if derr != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return senderOut{}, fmt.Errorf("rtp socket: dup: %w", derr)
	}
	return senderOut{fd: fd, inet: domain == unix.AF_INET}, nil
}

// realtime gives the calling thread real-time priority prio (SCHED_RR,
// 1 to 99).
func realtime(prio int) error {
	// Threads cloned from this one start at normal priority.
	attr := unix.SchedAttr{Policy: unix.SCHED_RR, Priority: uint32(prio), Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return fmt.Errorf("sched_setattr SCHED_RR %d: %w", prio, err)
	}
	return nil
}

// normalPriority puts the calling thread back in SCHED_OTHER.
func normalPriority() error {
	attr := unix.SchedAttr{Policy: unix.SCHED_NORMAL}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		return fmt.Errorf("sched_setattr SCHED_OTHER: %w", err)
	}
	return nil
}

func (o *senderOut) close() {
	if o.fd >= 0 {
		unix.Close(o.fd)
		o.fd = -1
	}
}

// grow makes room for n messages, pointing each header at its own I/O
// vector and address once.
func (o *senderOut) grow(n int) {
	if n <= len(o.hdrs) {
		return
	}
	o.hdrs = make([]unix.Mmsghdr, n)
	o.iovs = make([]unix.Iovec, n)
	o.sas = make([]unix.RawSockaddrInet6, n)
	for i := range o.hdrs {
		h := &o.hdrs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&o.sas[i]))
		h.Iov = &o.iovs[i]
		h.SetIovlen(1)
		o.iovs[i].SetLen(rtpHeaderLen + frameSamples)
	}
}

// send writes the frames in sendmmsg batches of batchSize; a
// destination the kernel refuses is skipped and counted.
func (o *senderOut) send(e *engine, frames []frame) {
	o.grow(len(frames))
	for i, f := range frames {
		o.iovs[i].Base = &f.buf[0]
		o.hdrs[i].Hdr.Namelen = o.sockaddr(&o.sas[i], f)
	}
	for lo := 0; lo < len(frames); {
		hi := min(lo+batchSize, len(frames))
		n, err := o.sendmmsg(o.hdrs[lo:hi])
		switch {
		case err == nil:
			lo += n
		case errors.Is(err, unix.EAGAIN):
			if !o.writable() {
				e.stats.sendErrors.Add(uint64(len(frames) - lo))
				lo = len(frames)
			}
		case errors.Is(err, unix.EINTR):
		default:
			// One bad destination (e.g. an ICMP unreachable reported as
			// an error) must not stop the others: skip it and go on.
			e.stats.sendErrors.Add(1)
			lo++
		}
	}
	for i := range frames {
		o.iovs[i].Base = nil
	}
}

// sendmmsg is one sendmmsg(2) of hdrs (not empty), made without
// telling the Go scheduler (RawSyscall6): a batch takes a fraction of a
// millisecond, and a sender announced in a syscall had its processor
// taken by sysmon after 20 µs and handed to a spinning thread that found
// nothing to do, batch after batch (runtime.findRunnable and sysmon
// were a fifth of parkd's profile). The price: a garbage collection's
// stop-the-world waits for the batch in flight. docs/BENCHMARKS.md,
// "Music senders", has the runs that chose it.
func (o *senderOut) sendmmsg(hdrs []unix.Mmsghdr) (int, error) {
	n, _, errno := syscall.RawSyscall6(unix.SYS_SENDMMSG, uintptr(o.fd), uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), 0, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// writable waits up to a frame period for room in the socket's send
// buffer.
func (o *senderOut) writable() bool {
	fds := [1]unix.PollFd{{Fd: int32(o.fd), Events: unix.POLLOUT}}
	for {
		n, err := unix.Poll(fds[:], int(framePeriod.Milliseconds()))
		if errors.Is(err, unix.EINTR) {
			continue
		}
		return err == nil && n > 0
	}
}

// sockaddr writes f's destination into sa in the socket's family and
// returns its length.
func (o *senderOut) sockaddr(sa *unix.RawSockaddrInet6, f frame) uint32 {
	a := f.to.Addr()
	port := f.to.Port()
	if o.inet {
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		s4.Family = unix.AF_INET
		putPort(&s4.Port, port)
		s4.Addr = a.Unmap().As4()
		return unix.SizeofSockaddrInet4
	}
	sa.Family = unix.AF_INET6
	putPort(&sa.Port, port)
	sa.Flowinfo = 0
	sa.Addr = a.As16()
	sa.Scope_id = 0
	return unix.SizeofSockaddrInet6
}

// putPort writes port into a sockaddr's port field in network order.
func putPort(field *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(field))
	b[0], b[1] = byte(port>>8), byte(port)
}

// monoNow is CLOCK_MONOTONIC in nanoseconds.
func monoNow() int64 {
	var ts unix.Timespec
	_ = unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return ts.Nano()
}

// parkLead is how long before a tick's deadline a sender leaves its
// wait in the Go runtime for a raw one. It covers the runtime's wake of
// a goroutine locked to its thread: a normal-priority thread runs the
// timer and hands the goroutine over (docs/BENCHMARKS.md, "Spacing at
// 2,000 parked"), over 1 ms late often enough that a 1 ms lead had
// twice the late intervals of 2 ms ("Senders parked between ticks"). A
// raw wait holds the sender's processor, so a garbage collection's
// stop-the-world and the other goroutines wait for it: it is kept short.
const parkLead = int64(2 * time.Millisecond)

// waitUntil sleeps the calling thread to the CLOCK_MONOTONIC deadline
// t: parked in the Go runtime to parkLead before it, its processor
// free for other goroutines, then in clock_nanosleep TIMER_ABSTIME (no
// drift, no Go timer at the deadline) made without telling the
// scheduler, so that sysmon finds no processor in a syscall to take
// back and the thread wakes holding its own.
func waitUntil(t int64) {
	if d := t - parkLead - monoNow(); d > 0 {
		time.Sleep(time.Duration(d))
	}
	ts := unix.NsecToTimespec(t)
	for {
		_, _, errno := syscall.RawSyscall6(unix.SYS_CLOCK_NANOSLEEP, unix.CLOCK_MONOTONIC, unix.TIMER_ABSTIME, uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
		if errno != unix.EINTR {
			return
		}
	}
}

// wakeWord is a word one thread sleeps on in the kernel until another
// changes it and wakes it (a private futex): the clock and its helper
// senders hand each other ticks through it with no other runtime
// thread between them, so a woken sender's thread runs as soon as the
// kernel gives it a CPU (at once at real-time priority); it then takes
// back a Go processor on its way out of the syscall.
type wakeWord struct{ v atomic.Uint32 }

const (
	futexWaitPrivate = 0 | 128 // FUTEX_WAIT | FUTEX_PRIVATE_FLAG
	futexWakePrivate = 1 | 128 // FUTEX_WAKE | FUTEX_PRIVATE_FLAG
)

func (w *wakeWord) load() uint32        { return w.v.Load() }
func (w *wakeWord) store(v uint32)      { w.v.Store(v) }
func (w *wakeWord) add(d uint32) uint32 { return w.v.Add(d) }
func (w *wakeWord) addr() uintptr       { return uintptr(unsafe.Pointer(&w.v)) }

// waitWhile sleeps while the word holds old (it may return early: the
// caller checks again). The wait goes through the Go runtime's syscall
// path (unix.Syscall6), so the thread's processor can be taken for
// other goroutines and a garbage collection never waits for it.
func (w *wakeWord) waitWhile(old uint32) {
	if w.v.Load() != old {
		return
	}
	_, _, _ = unix.Syscall6(unix.SYS_FUTEX, w.addr(), futexWaitPrivate, uintptr(old), 0, 0, 0)
}

// rawWaitWhile sleeps while the word holds old, for at most d
// nanoseconds, without telling the scheduler (RawSyscall6): the thread
// keeps its processor and wakes holding it. It may return early.
func (w *wakeWord) rawWaitWhile(old uint32, d int64) {
	if w.v.Load() != old || d <= 0 {
		return
	}
	ts := unix.NsecToTimespec(d)
	_, _, _ = syscall.RawSyscall6(unix.SYS_FUTEX, w.addr(), futexWaitPrivate, uintptr(old), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// wake wakes the thread waiting on the word, if any (FUTEX_WAKE is
// short and never blocks: made without telling the scheduler).
func (w *wakeWord) wake() {
	_, _, _ = syscall.RawSyscall6(unix.SYS_FUTEX, w.addr(), futexWakePrivate, 1, 0, 0, 0)
}
