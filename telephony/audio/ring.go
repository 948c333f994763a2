package audio

import (
	"sync/atomic"

	"github.com/switchboard/switchboard/telephony"
)

// sampleRing is a lock-free single-producer single-consumer ring of
// samples. One goroutine or thread writes, another reads; neither blocks,
// allocates or locks. The capacity is a power of two.
type sampleRing struct {
	buf  []int16
	mask uint64
	_    [56]byte      // keep head and tail on separate cache lines
	head atomic.Uint64 // total samples written (producer)
	_    [56]byte
	tail atomic.Uint64 // total samples read (consumer)
}

func newSampleRing(capacity int) *sampleRing {
	c := 1
	for c < capacity {
		c <<= 1
	}
	return &sampleRing{buf: make([]int16, c), mask: uint64(c - 1)}
}

// len returns how many samples are waiting to be read.
func (r *sampleRing) len() int { return int(r.head.Load() - r.tail.Load()) }

// write appends as much of p as fits and returns how many samples it took.
// Producer only.
func (r *sampleRing) write(p []int16) int {
	h, t := r.head.Load(), r.tail.Load()
	free := len(r.buf) - int(h-t)
	n := min(free, len(p))
	for i := 0; i < n; {
		at := int((h + uint64(i)) & r.mask)
		i += copy(r.buf[at:], p[i:n])
	}
	r.head.Store(h + uint64(n))
	return n
}

// writeZeros appends n silent samples, as many as fit. Producer only.
func (r *sampleRing) writeZeros(n int) int {
	h, t := r.head.Load(), r.tail.Load()
	n = min(n, len(r.buf)-int(h-t))
	for i := 0; i < n; {
		at := int((h + uint64(i)) & r.mask)
		seg := r.buf[at:min(len(r.buf), at+n-i)]
		clear(seg)
		i += len(seg)
	}
	r.head.Store(h + uint64(n))
	return n
}

// read takes up to len(p) samples into p and returns how many it took.
// Consumer only.
func (r *sampleRing) read(p []int16) int {
	h, t := r.head.Load(), r.tail.Load()
	n := min(int(h-t), len(p))
	for i := 0; i < n; {
		at := int((t + uint64(i)) & r.mask)
		i += copy(p[i:n], r.buf[at:])
	}
	r.tail.Store(t + uint64(n))
	return n
}

// discard drops up to n of the oldest samples and returns how many it
// dropped. Consumer only.
func (r *sampleRing) discard(n int) int {
	h, t := r.head.Load(), r.tail.Load()
	n = min(n, int(h-t))
	r.tail.Store(t + uint64(n))
	return n
}

// queuedFrame is one frame waiting in a frameQueue. Its PCM buffer is
// allocated once, with the queue.
type queuedFrame struct {
	seq uint16
	ts  uint32
	n   int
	pcm []int16
}

// frameQueue hands decoded frames from Play (the producer) to the audio
// callback (the consumer) without locks: a fixed ring of preallocated
// frames with atomic indices.
type frameQueue struct {
	slots []queuedFrame
	mask  uint64
	_     [56]byte
	head  atomic.Uint64 // frames pushed
	_     [56]byte
	tail  atomic.Uint64 // frames popped
}

func newFrameQueue(frames, samples int) *frameQueue {
	c := 1
	for c < frames {
		c <<= 1
	}
	q := &frameQueue{slots: make([]queuedFrame, c), mask: uint64(c - 1)}
	for i := range q.slots {
		q.slots[i].pcm = make([]int16, samples)
	}
	return q
}

// push copies f into the queue; false when the queue is full. Samples
// beyond the frame size are dropped, missing ones are silence. Producer
// only.
func (q *frameQueue) push(f telephony.Frame) bool {
	h, t := q.head.Load(), q.tail.Load()
	if int(h-t) >= len(q.slots) {
		return false
	}
	s := &q.slots[h&q.mask]
	s.seq, s.ts = f.Seq, f.Timestamp
	s.n = copy(s.pcm, f.PCM)
	clear(s.pcm[s.n:])
	q.head.Store(h + 1)
	return true
}

// peek returns the oldest queued frame, or nil. The frame stays valid
// until pop. Consumer only.
func (q *frameQueue) peek() *queuedFrame {
	h, t := q.head.Load(), q.tail.Load()
	if h == t {
		return nil
	}
	return &q.slots[t&q.mask]
}

// pop releases the frame returned by peek. Consumer only.
func (q *frameQueue) pop() { q.tail.Add(1) }
