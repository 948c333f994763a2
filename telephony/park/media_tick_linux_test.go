package park

import (
	"fmt"
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time (user and system) the test process has used.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkMusicTick is one music tick for 2,000 legs on hold: its
// frames built and sent to a local socket, by one sender and by two.
// ns/op is wall time; cpu-µs/pkt is the process's CPU (all threads,
// the kernel's delivery into the socket included) per packet, the
// figure to hold against `parkload -calibrate`; allocs/op must be 0.
func BenchmarkMusicTick(b *testing.B) {
	const legs = 2000
	for _, n := range []int{1, 2} {
		b.Run(fmt.Sprintf("senders=%d", n), func(b *testing.B) {
			e := tickEngine(b, legs)
			p := tickPool(b, e, n)
			var frames []frame
			frames = e.tick(frames)
			p.send(frames)
			b.ReportAllocs()
			cpu := processCPU(b)
			for b.Loop() {
				frames = e.tick(frames)
				p.send(frames)
			}
			cpu = processCPU(b) - cpu
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N*legs), "cpu-µs/pkt")
		})
	}
}
