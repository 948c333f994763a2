//go:build !linux

package park

import (
	"errors"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/net/ipv4"
)

// parallelSenders: off Linux the clock sends every frame itself,
// through the engine's socket (x/net's WriteBatch).
const parallelSenders = false

// senderOut writes frames with the engine's batch writer; its messages
// are kept across ticks.
type senderOut struct {
	msgs []ipv4.Message
}

func newSenderOut(*engine) (senderOut, error) { return senderOut{}, nil }

func (o *senderOut) close() {}

func (o *senderOut) send(e *engine, frames []frame) {
	for len(o.msgs) < len(frames) {
		o.msgs = append(o.msgs, ipv4.Message{Buffers: make([][]byte, 1)})
	}
	for i, f := range frames {
		o.msgs[i].Buffers[0], o.msgs[i].Addr = f.buf[:], f.addr
	}
	for i := 0; i < len(frames); i += batchSize {
		e.send(o.msgs[i:min(i+batchSize, len(frames))])
	}
	for i := range frames {
		o.msgs[i].Buffers[0], o.msgs[i].Addr = nil, nil
	}
}

// realtime: real-time priority is Linux-only here.
func realtime(int) error {
	return errors.New("real-time priority for the music senders is supported on Linux only")
}

// normalPriority: nothing to undo off Linux.
func normalPriority() error { return nil }

// monoBase is the origin of monoNow.
var monoBase = time.Now()

// monoNow is the monotonic clock in nanoseconds since monoBase.
func monoNow() int64 { return int64(time.Since(monoBase)) }

// parkLead: off Linux every wait is the runtime's.
const parkLead = 0

// waitUntil sleeps to the monoNow deadline t on a Go timer.
func waitUntil(t int64) {
	if d := time.Duration(t - monoNow()); d > 0 {
		time.Sleep(d)
	}
}

// wakeWord is the Linux senders' hand-off word. Off Linux the pool has
// no helpers (openSenders makes one sender), so nobody ever waits on a
// word another must change: a yielding loop is all waitWhile needs.
type wakeWord struct{ v atomic.Uint32 }

func (w *wakeWord) load() uint32        { return w.v.Load() }
func (w *wakeWord) store(v uint32)      { w.v.Store(v) }
func (w *wakeWord) add(d uint32) uint32 { return w.v.Add(d) }

// waitWhile waits while the word holds old.
func (w *wakeWord) waitWhile(old uint32) {
	for w.v.Load() == old {
		runtime.Gosched()
	}
}

// rawWaitWhile is waitWhile (d aside): there is no raw wait off Linux.
func (w *wakeWord) rawWaitWhile(old uint32, _ int64) { w.waitWhile(old) }

// wake: a waiter polls (waitWhile).
func (w *wakeWord) wake() {}
