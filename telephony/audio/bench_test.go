//go:build linux

package audio

import (
	"context"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	diagoaudio "github.com/emiago/diago/audio"

	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony"
)

// BenchmarkPulseLatency measures the console's added audio latency on
// PulseAudio with the jitter buffer at rest: RTP frames arrive every
// 20 ms (a wall-clock ticker, like a network), each iteration sends one
// frame that starts a 1 kHz burst, and the headset's capture side
// records the headset sink's monitor, so the burst comes back through
// Capture. Per burst:
//
//	round trip = Play → sink → monitor → Capture returns its frame,
//	             less the burst's place in that frame (the packetisation
//	             a 20 ms frame needs anyway)
//	ours-play  = Play → our playback callback hands it to miniaudio
//	device     = that → our capture callback sees it (miniaudio and
//	             PulseAudio buffers both ways, the sink, its monitor)
//	ours-capt  = the rest: capture callback → Capture returns
//
// PulseAudio's own figures for our two streams (buffer + sink/source
// latency, from pactl) split the device part into its two directions.
func BenchmarkPulseLatency(b *testing.B) {
	ps := startPulse(b)
	d := openDevice(b, BackendPulseAudio, Options{Playback: "sb_sink", Capture: "sb_sink.monitor"})
	if _, capt, _ := d.Devices(); !slices.ContainsFunc(capt, func(x DeviceInfo) bool { return x.ID == "sb_sink.monitor" }) {
		b.Fatalf("no capture device sb_sink.monitor in %+v", capt)
	}
	tap := speaker(d, 2)
	p := openPort(b, d, 8000)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); p.Close(); wg.Wait() }()

	const thr = 0.25 * 32768
	var (
		burstReq  atomic.Bool              // the sender should start a burst
		sentAt    atomic.Int64             // unix ns of the Play that carried it
		renderAt  atomic.Int64             // when our playback callback had it
		capCbAt   atomic.Int64             // when our capture callback had it
		roundTrip = make(chan [2]int64, 1) // round trip, Play time
	)
	wg.Add(4)
	go func() { // RTP arrivals: one frame every 20 ms
		defer wg.Done()
		silence, burst := make([]int16, 160), make([]int16, 160)
		tone.Sine(1000, 8000, 0.5).Fill(burst)
		burst[0] = 16000 // the onset is the first sample
		tick := time.NewTicker(telephony.FrameDuration)
		defer tick.Stop()
		for seq := uint16(0); ; seq++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			f := telephony.Frame{Seq: seq, Timestamp: uint32(seq) * 160, PCM: silence}
			if burstReq.CompareAndSwap(true, false) {
				f.PCM = burst
				sentAt.Store(time.Now().UnixNano())
			}
			p.Play(f)
		}
	}()
	go func() { // the playback callback's output, polled
		defer wg.Done()
		buf := make([]int16, 4096)
		for ctx.Err() == nil {
			n := tap.read(buf)
			if sentAt.Load() != 0 && renderAt.Load() == 0 && slices.ContainsFunc(buf[:n], func(v int16) bool { return math.Abs(float64(v)) > thr }) {
				renderAt.Store(time.Now().UnixNano())
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	go func() { // the capture callback's input meter, polled
		defer wg.Done()
		for ctx.Err() == nil {
			if in, _ := d.Levels(); sentAt.Load() != 0 && capCbAt.Load() == 0 && in.Peak > 0.25 {
				capCbAt.Store(time.Now().UnixNano())
			}
			time.Sleep(100 * time.Microsecond)
		}
	}()
	go func() { // the call's send loop
		defer wg.Done()
		pcm := make([]int16, 160)
		for p.Capture(pcm) == nil {
			if sentAt.Load() == 0 {
				continue
			}
			if i := slices.IndexFunc(pcm, func(v int16) bool { return math.Abs(float64(v)) > thr }); i >= 0 {
				tc := time.Now().UnixNano()
				if t0 := sentAt.Swap(0); t0 != 0 {
					roundTrip <- [2]int64{tc - t0 - int64(159-i)*int64(time.Second)/8000, t0}
				}
			}
		}
	}()

	// Settle: the stream starts and the jitter buffer comes to rest.
	time.Sleep(2 * time.Second)
	var rts, plays, devs, capts []float64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		renderAt.Store(0)
		capCbAt.Store(0)
		sentAt.Store(0)
		burstReq.Store(true)
		var got [2]int64
		select {
		case got = <-roundTrip:
		case <-time.After(5 * time.Second):
			b.Fatalf("the burst did not come back (jitter buffer %+v)", p.Stats())
		}
		rt, t0 := got[0], got[1]
		time.Sleep(150 * time.Millisecond) // let the burst pass
		if r, c := renderAt.Load(), capCbAt.Load(); r != 0 && c != 0 {
			ms := func(ns int64) float64 { return float64(ns) / 1e6 }
			rts = append(rts, ms(rt))
			plays = append(plays, ms(r-t0))
			devs = append(devs, ms(c-r))
			capts = append(capts, ms(rt-(c-t0)))
		}
	}
	b.StopTimer()
	if len(rts) == 0 {
		b.Fatal("no burst measured")
	}
	b.ReportMetric(median(rts), "ms-roundtrip-p50")
	b.ReportMetric(slices.Max(rts), "ms-roundtrip-max")
	b.ReportMetric(median(plays), "ms-ours-play-p50")
	b.ReportMetric(slices.Max(plays), "ms-ours-play-max")
	b.ReportMetric(median(devs), "ms-device-p50")
	b.ReportMetric(median(capts), "ms-ours-capture-p50")
	st := p.Stats()
	b.ReportMetric(float64(st.Target.Milliseconds()), "ms-jitter-target")
	if sink, src, ok := pulseLatencies(ps); ok {
		b.ReportMetric(sink, "ms-pulse-playback")
		b.ReportMetric(src, "ms-pulse-capture")
	}
	b.Logf("jitter buffer: %+v", st)
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

var latencyRE = regexp.MustCompile(`(Buffer|Sink|Source) Latency: (\d+) usec`)

// pulseLatencies returns what PulseAudio reports for our call streams:
// buffer plus sink latency of the playback stream, buffer plus source
// latency of the capture stream, in ms.
func pulseLatencies(ps *pulseServer) (playback, capture float64, ok bool) {
	sum := func(kind string) (float64, bool) {
		out, err := ps.pactl("list", kind)
		if err != nil {
			return 0, false
		}
		for _, block := range strings.Split(out, "\n\n") {
			if !strings.Contains(block, `media.name = "Switchboard call"`) {
				continue
			}
			var us float64
			for _, m := range latencyRE.FindAllStringSubmatch(block, -1) {
				v, _ := strconv.ParseFloat(m[2], 64)
				us += v
			}
			return us / 1000, true
		}
		return 0, false
	}
	playback, ok1 := sum("sink-inputs")
	capture, ok2 := sum("source-outputs")
	return playback, capture, ok1 && ok2
}

// BenchmarkLiveCallCPU measures the CPU one live call costs the console
// process: the sound device's two streams on PulseAudio, the jitter
// buffer and resampling, and the call's G.711 decode (20 ms frames in,
// as RTP would bring them) and encode (Capture out). Each iteration is
// one second of call; the idle process is measured first and taken off.
func BenchmarkLiveCallCPU(b *testing.B) {
	for _, backend := range []string{"pulse", "null"} {
		b.Run(backend, func(b *testing.B) {
			var d *Device
			if backend == "pulse" {
				startPulse(b)
				d = openDevice(b, BackendPulseAudio, Options{Playback: "sb_sink", Capture: "mic600"})
			} else {
				var err error
				d, err = Open(context.Background(), Options{Backends: []Backend{BackendNull}})
				if err != nil {
					b.Fatal(err)
				}
				defer d.Close()
			}
			idle := cpuOver(time.Second)

			// An encoded 440 Hz tone, as the call's RTP brings it.
			pcm := make([]int16, 160)
			gen := tone.Sine(440, 8000, 0.5)
			var payloads [][]byte
			for range 50 {
				gen.Fill(pcm)
				ulaw := make([]byte, 160)
				if _, err := diagoaudio.EncodeUlawTo(ulaw, tone.PCMBytes(pcm)); err != nil {
					b.Fatal(err)
				}
				payloads = append(payloads, ulaw)
			}
			p := openPort(b, d, 8000)
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { // receive: decode and Play every 20 ms
				defer wg.Done()
				lpcm, frame := make([]byte, 320), make([]int16, 0, 160)
				tick := time.NewTicker(telephony.FrameDuration)
				defer tick.Stop()
				for seq := uint16(0); ; seq++ {
					select {
					case <-ctx.Done():
						return
					case <-tick.C:
					}
					n, _ := diagoaudio.DecodeUlawTo(lpcm, payloads[int(seq)%len(payloads)])
					p.Play(telephony.Frame{Seq: seq, Timestamp: uint32(seq) * 160, PCM: tone.AppendSamples(frame[:0], lpcm[:n])})
				}
			}()
			go func() { // send: Capture and encode
				defer wg.Done()
				frame, b16, ulaw := make([]int16, 160), make([]byte, 0, 320), make([]byte, 160)
				for p.Capture(frame) == nil {
					_, _ = diagoaudio.EncodeUlawTo(ulaw, tone.AppendPCMBytes(b16[:0], frame))
				}
			}()
			time.Sleep(time.Second) // settle
			b.ResetTimer()
			start, t0 := cpuTime(), time.Now()
			for i := 0; i < b.N; i++ {
				time.Sleep(time.Second)
			}
			used := (cpuTime() - start).Seconds() / time.Since(t0).Seconds()
			b.StopTimer()
			cancel()
			p.Close()
			wg.Wait()
			b.ReportMetric(100*used, "%core-total")
			b.ReportMetric(100*idle, "%core-idle")
			b.ReportMetric(100*(used-idle), "%core-per-call")
		})
	}
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuOver returns the share of a core the process used over d.
func cpuOver(d time.Duration) float64 {
	c0, t0 := cpuTime(), time.Now()
	time.Sleep(d)
	return (cpuTime() - c0).Seconds() / time.Since(t0).Seconds()
}
