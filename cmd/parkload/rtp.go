//go:build linux

package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"github.com/zaf/g711"
	"golang.org/x/sys/unix"
)

// RTP framing of the simulated phones: PCMU, 20 ms, 160 samples.
const (
	rtpHeaderLen = 12
	frameSamples = 160
	framePeriod  = 20 * time.Millisecond
	pcmuPT       = 0
	senderPhases = 4 // the senders' 20 ms is cut into phases so phones do not all send at once
	maxFD        = 1 << 17
)

// Frames the phones send, PCMU encoded once: the callers a 440 Hz tone
// (50 frames make exactly 440 cycles, so the loop is seamless), the
// retriever a 1 kHz tone (8 samples a cycle, so every frame is the same).
var (
	callerFrames    = toneFrames(440, 50)
	retrieverFrames = toneFrames(1000, 1)
)

func toneFrames(hz float64, frames int) [][]byte {
	out := make([][]byte, frames)
	for f := range out {
		out[f] = make([]byte, frameSamples)
		for i := range out[f] {
			t := float64(f*frameSamples+i) / 8000
			out[f][i] = g711.EncodeUlawFrame(int16(8000 * math.Sin(2*math.Pi*hz*t)))
		}
	}
	return out
}

// isRetrieverAudio tells the retriever's 1 kHz frame from music.
func isRetrieverAudio(payload []byte) bool {
	const n = 16
	return len(payload) >= n && string(payload[:n]) == string(retrieverFrames[0][:n])
}

// role says whom a media socket belongs to.
type role uint8

const (
	roleCaller role = iota
	roleRetriever
)

// rtpSock is the media socket of one simulated phone: a raw non-blocking
// UDP socket on 127.0.0.1 that reports each packet's kernel receive time.
type rtpSock struct {
	fd    int
	port  int
	role  role
	phase int // which senderPhases slot it sends in

	// Send state: target is where and what to send (nil: nothing, as
	// when the far end's SDP says it does not want our media); the rest
	// is touched only by the sender goroutine.
	target atomic.Pointer[sendTarget]
	pkt    [rtpHeaderLen + frameSamples]byte
	seq    uint16
	ts     uint32
	ssrc   uint32
	frame  int

	// Receive state, touched only by the socket's reader.
	prev    int64 // kernel time of the previous packet, ns
	lastSeq uint16
	haveSeq bool

	// Published to other goroutines.
	first    atomic.Int64 // kernel time of the first packet received, ns
	firstRet atomic.Int64 // caller: first packet carrying the retriever's tone
	packets  atomic.Uint64
}

// media owns every media socket of a level, the epoll readers and the
// sender.
type media struct {
	readers []*reader
	pollGap time.Duration
	start   atomic.Int64 // window, in kernel-clock ns; 0 while unset
	end     atomic.Int64
	closing atomic.Bool
	wg      sync.WaitGroup

	mu    sync.Mutex
	socks []*rtpSock // every socket, for the sender and for closing
	next  int        // round robin over readers
}

// sockByFD maps a descriptor to its socket for the readers.
var sockByFD [maxFD]atomic.Pointer[rtpSock]

func newMedia(nReaders int, pollGap time.Duration) (*media, error) {
	m := &media{pollGap: pollGap}
	for range nReaders {
		r, err := newReader(m)
		if err != nil {
			m.close()
			return nil, err
		}
		m.readers = append(m.readers, r)
	}
	for _, r := range m.readers {
		m.wg.Go(r.loop)
	}
	m.wg.Go(m.sendLoop)
	return m, nil
}

// open makes a media socket on 127.0.0.1 and hands it to a reader.
func (m *media) open(ro role) (*rtpSock, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("media socket: %w", err)
	}
	fail := func(err error) (*rtpSock, error) {
		syscall.Close(fd)
		return nil, fmt.Errorf("media socket: %w", err)
	}
	if fd >= maxFD {
		return fail(errors.New("descriptor number too high"))
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_TIMESTAMPNS, 1); err != nil {
		return fail(err)
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		return fail(err)
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		return fail(err)
	}
	s := &rtpSock{fd: fd, port: sa.(*syscall.SockaddrInet4).Port, role: ro,
		ssrc: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32()}
	m.mu.Lock()
	r := m.readers[m.next%len(m.readers)]
	s.phase = m.next % senderPhases
	m.next++
	m.socks = append(m.socks, s)
	m.mu.Unlock()
	sockByFD[fd].Store(s)
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)}
	if err := syscall.EpollCtl(r.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		sockByFD[fd].Store(nil)
		return fail(err)
	}
	return s, nil
}

// backlog reads s's receive queue from the kernel (SO_MEMINFO): the
// memory its unread datagrams hold and its receive buffer's size, both
// in bytes, and the datagrams it has dropped for want of room.
func (s *rtpSock) backlog() (queued, size, drops uint32, err error) {
	var mi [9]uint32 // SK_MEMINFO_RMEM_ALLOC, _RCVBUF, …, _DROPS (linux/sock_diag.h)
	l := uint32(unsafe.Sizeof(mi))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(s.fd), syscall.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&mi)), uintptr(unsafe.Pointer(&l)), 0)
	if errno != 0 {
		return 0, 0, 0, fmt.Errorf("SO_MEMINFO: %w", errno)
	}
	return mi[0], mi[1], mi[8], nil
}

// backlogged says whether s's receive queue is at least half full: its
// reader is behind, so what arrives now waits behind what is queued or
// is dropped.
func (s *rtpSock) backlogged() bool {
	q, size, _, err := s.backlog()
	return err == nil && size > 0 && 2*uint64(q) >= uint64(size)
}

// sendTarget is where a phone sends its frames.
type sendTarget struct {
	dst    syscall.SockaddrInet4
	frames [][]byte
}

// setSending makes s send frames to dst every 20 ms from now on, or
// stops it when send is false.
func (s *rtpSock) setSending(send bool, dst netip.AddrPort, frames [][]byte) {
	if !send {
		s.target.Store(nil)
		return
	}
	s.target.Store(&sendTarget{dst: syscall.SockaddrInet4{Port: int(dst.Port()), Addr: dst.Addr().As4()}, frames: frames})
}

// setWindow sets the measured window; packets count only when both ends
// of an interval fall inside it.
func (m *media) setWindow(start, end time.Time) {
	m.end.Store(end.UnixNano())
	m.start.Store(start.UnixNano())
}

// close stops the loops and closes every socket.
func (m *media) close() {
	m.closing.Store(true)
	m.wg.Wait()
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.socks {
		sockByFD[s.fd].Store(nil)
		syscall.Close(s.fd)
	}
	m.socks = nil
	for _, r := range m.readers {
		syscall.Close(r.epfd)
	}
}

// sendLoop sends one frame per sending socket every 20 ms, each socket in
// its phase, on an absolute schedule.
func (m *media) sendLoop() {
	tick := framePeriod / senderPhases
	next := time.Now()
	var batch []*rtpSock
	for phase := 0; !m.closing.Load(); phase = (phase + 1) % senderPhases {
		batch = batch[:0]
		m.mu.Lock()
		for _, s := range m.socks {
			if s.phase == phase {
				batch = append(batch, s)
			}
		}
		m.mu.Unlock()
		for _, s := range batch {
			if t := s.target.Load(); t != nil {
				s.sendFrame(t)
			}
		}
		next = next.Add(tick)
		if d := time.Until(next); d > 0 {
			time.Sleep(d)
		} else if d < -framePeriod {
			next = time.Now() // a stall: skip rather than burst
		}
	}
}

func (s *rtpSock) sendFrame(t *sendTarget) {
	p := s.pkt[:]
	p[0] = 0x80
	p[1] = pcmuPT
	binary.BigEndian.PutUint16(p[2:], s.seq)
	binary.BigEndian.PutUint32(p[4:], s.ts)
	binary.BigEndian.PutUint32(p[8:], s.ssrc)
	s.frame %= len(t.frames)
	copy(p[rtpHeaderLen:], t.frames[s.frame])
	s.seq++
	s.ts += frameSamples
	s.frame++
	_ = syscall.Sendto(s.fd, p, 0, &t.dst) // a lost frame is what UDP does
}

// reader is one epoll loop over a share of the media sockets. Each
// reader keeps its own spacing histogram, merged at the end.
type reader struct {
	m      *media
	epfd   int
	events [512]syscall.EpollEvent
	buf    [1500]byte
	oob    [64]byte
	iov    syscall.Iovec
	msg    syscall.Msghdr

	mu        sync.Mutex // guards the counters below against the final read
	spacing   histogram  // inter-arrival of music at callers, in the window
	inWindow  uint64     // caller packets received in the window
	lost      uint64     // sequence gaps in the window
	reordered uint64
}

func newReader(m *media) (*reader, error) {
	fd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll: %w", err)
	}
	r := &reader{m: m, epfd: fd}
	r.spacing.init()
	r.iov.Base = &r.buf[0]
	r.iov.SetLen(len(r.buf))
	r.msg.Iov = &r.iov
	r.msg.Iovlen = 1
	return r, nil
}

func (r *reader) loop() {
	for !r.m.closing.Load() {
		woke := time.Now()
		n, err := syscall.EpollWait(r.epfd, r.events[:], 50)
		if err != nil && !errors.Is(err, syscall.EINTR) {
			return
		}
		r.mu.Lock()
		for i := range n {
			if s := sockByFD[r.events[i].Fd].Load(); s != nil {
				r.drain(s)
			}
		}
		r.mu.Unlock()
		if r.m.pollGap > 0 {
			if d := r.m.pollGap - time.Since(woke); d > 0 {
				time.Sleep(d)
			}
		}
	}
}

// drain reads what s has queued (bounded, so one busy socket cannot
// starve the others; epoll reports it again).
func (r *reader) drain(s *rtpSock) {
	for range 8 {
		r.msg.Control = &r.oob[0]
		r.msg.SetControllen(len(r.oob))
		n, _, errno := syscall.Syscall(syscall.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&r.msg)), syscall.MSG_DONTWAIT)
		if errno != 0 {
			return // EAGAIN: drained
		}
		at := r.kernelTime()
		r.packet(s, r.buf[:n], at)
	}
}

// kernelTime is the SO_TIMESTAMPNS of the message just read, or now.
func (r *reader) kernelTime() int64 {
	if r.msg.Controllen >= syscall.SizeofCmsghdr+16 {
		h := (*syscall.Cmsghdr)(unsafe.Pointer(&r.oob[0]))
		if h.Level == syscall.SOL_SOCKET && h.Type == syscall.SCM_TIMESTAMPNS {
			ts := (*syscall.Timespec)(unsafe.Pointer(&r.oob[syscall.SizeofCmsghdr]))
			return ts.Nano()
		}
	}
	return time.Now().UnixNano()
}

// packet accounts for one RTP packet received by s at time at.
func (r *reader) packet(s *rtpSock, p []byte, at int64) {
	if len(p) < rtpHeaderLen || p[0]>>6 != 2 {
		return
	}
	s.packets.Add(1)
	if s.first.Load() == 0 {
		s.first.Store(at)
	}
	if s.role == roleRetriever {
		return
	}
	if isRetrieverAudio(p[rtpHeaderLen:]) {
		if s.firstRet.Load() == 0 {
			s.firstRet.Store(at)
		}
		return
	}
	seq := binary.BigEndian.Uint16(p[2:])
	start, end := r.m.start.Load(), r.m.end.Load()
	if start != 0 && at >= start && at <= end {
		r.inWindow++
		if s.haveSeq {
			switch gap := int16(seq - s.lastSeq); {
			case gap > 1:
				r.lost += uint64(gap - 1)
			case gap <= 0:
				r.reordered++
			}
		}
		if s.prev >= start {
			r.spacing.add(at - s.prev)
		}
	}
	if !s.haveSeq || int16(seq-s.lastSeq) > 0 {
		s.lastSeq, s.haveSeq = seq, true
	}
	s.prev = at
}
