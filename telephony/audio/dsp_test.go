package audio

import (
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/switchboard/switchboard/internal/tone"
	"github.com/switchboard/switchboard/telephony"
)

// A tone survives the trip up to 48 kHz and back at its level, and the
// upsampler leaves no audible image of it above the port's band.
func TestResamplers(t *testing.T) {
	for _, rate := range []int{8000, 16000, 24000} {
		t.Run(fmt.Sprintf("%dHz", rate), func(t *testing.T) {
			m := streamRate / rate
			in := make([]int16, rate) // 1 s
			tone.Sine(1000, float64(rate), 0.5).Fill(in)

			up := newUpsampler(m)
			hi32 := make([]int32, streamRate)
			// In uneven chunks, as device periods come.
			for off, k := 0, 0; off < len(hi32); k++ {
				n := min(len(hi32)-off, []int{480, 441, 7, 960}[k%4])
				need := up.need(n)
				pos := up.consumed
				up.add(hi32[off:off+n], in[pos:pos+need])
				off += n
			}
			hi := make([]int16, len(hi32))
			for i, v := range hi32 {
				hi[i] = int16(v)
			}
			tail := hi[streamRate/2:]
			checkTone(t, "upsampled", tail, 1000, streamRate, 0.5)
			image := float64(rate - 1000)
			if lvl := tone.Goertzel(tail, image, streamRate); lvl > 0.5*0.01 {
				t.Errorf("image at %.0f Hz: level %.4f, want below -40 dB of the tone", image, lvl)
			}

			down := newDownsampler(m, 960)
			back := make([]int16, 0, rate)
			for off := 0; off+960 <= len(hi); off += 960 {
				out := make([]int16, 960/m)
				down.process(out, hi[off:off+960])
				back = append(back, out...)
			}
			checkTone(t, "round trip", back[rate/2:], 1000, float64(rate), 0.5)

			// A tone above the port's band is removed before decimation
			// instead of folding back as an alias.
			hiTone := make([]int16, streamRate)
			alias := float64(rate)/2 + 1500 // folds to rate/2 - 1500
			tone.Sine(alias, streamRate, 0.5).Fill(hiTone)
			down = newDownsampler(m, 960)
			back = back[:0]
			for off := 0; off+960 <= len(hiTone); off += 960 {
				out := make([]int16, 960/m)
				down.process(out, hiTone[off:off+960])
				back = append(back, out...)
			}
			if lvl := tone.Goertzel(back[rate/2:], float64(rate)/2-1500, float64(rate)); lvl > 0.5*0.01 {
				t.Errorf("alias of %.0f Hz: level %.4f, want below -40 dB", alias, lvl)
			}
		})
	}
}

func TestSampleRingWraps(t *testing.T) {
	r := newSampleRing(8)
	buf := make([]int16, 5)
	var next, want int16
	for round := 0; round < 20; round++ {
		for i := range buf {
			buf[i] = next
			next++
		}
		if n := r.write(buf); n != 5 {
			t.Fatalf("round %d: wrote %d", round, n)
		}
		got := make([]int16, 5)
		if n := r.read(got); n != 5 {
			t.Fatalf("round %d: read %d", round, n)
		}
		for _, v := range got {
			if v != want {
				t.Fatalf("round %d: got %d want %d", round, v, want)
			}
			want++
		}
	}
	if n := r.write(make([]int16, 20)); n != 8 {
		t.Fatalf("write into 8 free: %d", n)
	}
	if n := r.writeZeros(3); n != 0 {
		t.Fatalf("writeZeros into a full ring: %d", n)
	}
	if n := r.discard(5); n != 5 || r.len() != 3 {
		t.Fatalf("discard: %d, len %d", n, r.len())
	}
}

// One writer and one reader at full speed: everything arrives in order.
// Run with -race, this also checks the rings' memory ordering.
func TestRingsConcurrent(t *testing.T) {
	r := newSampleRing(64)
	q := newFrameQueue(4, 160)
	const total = 200000
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		buf := make([]int16, 7)
		frame := make([]int16, 160)
		var v int16
		for sent := 0; sent < total; {
			n := min(len(buf), total-sent)
			for i := range buf[:n] {
				buf[i] = v + int16(i)
			}
			k := r.write(buf[:n])
			v += int16(k)
			sent += k
			if sent%1000 < 7 {
				frame[0] = int16(sent)
				for !q.push(telephony.Frame{Seq: uint16(sent), PCM: frame}) {
				}
			}
		}
	}()
	go func() {
		defer wg.Done()
		buf := make([]int16, 5)
		var want int16
		for got := 0; got < total; {
			n := r.read(buf)
			for _, s := range buf[:n] {
				if s != want {
					t.Errorf("sample %d: got %d want %d", got, s, want)
					return
				}
				want++
				got++
			}
			if f := q.peek(); f != nil {
				if f.pcm[0] != int16(f.seq) {
					t.Errorf("frame %d carries %d", f.seq, f.pcm[0])
				}
				q.pop()
			}
		}
	}()
	wg.Wait()
}

// The audio callback allocates nothing: two live calls, frames queued
// every time, a beep, the meters and the jitter buffer's concealment.
func TestCallbackDoesNotAllocate(t *testing.T) {
	e, out, in, feed := callbackFixture()
	allocs := testing.AllocsPerRun(500, func() {
		feed()
		e.capData(nil, in, 480)
		e.playData(out, nil, 480)
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per callback, want 0", allocs)
	}
}

// callbackFixture builds an engine with two ports (8 and 48 kHz) and
// returns a feed that queues one frame per port every second callback
// (20 ms of 10 ms periods), skipping one now and then so that the
// jitter buffer conceals too.
func callbackFixture() (e *engine, out, in []byte, feed func()) {
	e = newEngine(Options{})
	d := &Device{eng: e}
	p8, p48 := newPort(d, 8000), newPort(d, 48000)
	ports := []*Port{p8, p48}
	e.ports.Store(&ports)
	out, in = make([]byte, 960), make([]byte, 960)
	tone.Sine(600, streamRate, 0.3).Fill(samples(in))
	f8, f48 := make([]int16, 160), make([]int16, 960)
	tone.Sine(440, 8000, 0.5).Fill(f8)
	tone.Sine(440, 48000, 0.5).Fill(f48)
	cap8, cap48 := make([]int16, 160*6), make([]int16, 960)
	var calls int
	var seq uint16
	feed = func() {
		calls++
		if calls%2 == 0 {
			if calls%50 != 0 { // a lost frame every 0.5 s
				p8.Play(telephony.Frame{Seq: seq, PCM: f8})
				p48.Play(telephony.Frame{Seq: seq, PCM: f48})
			}
			seq++
			p8.cap.read(cap8) // the call's Capture side keeps up
			p48.cap.read(cap48)
		}
		if calls%100 == 0 {
			e.beepReq.Add(1)
		}
	}
	return e, out, in, feed
}

func BenchmarkCallback(b *testing.B) {
	e, out, in, feed := callbackFixture()
	b.ReportAllocs()
	for b.Loop() {
		feed()
		e.capData(nil, in, 480)
		e.playData(out, nil, 480)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e7*100, "%period")
}

var sink float64

func BenchmarkConcealment(b *testing.B) {
	var stats jitterCounters
	j := newJitterBuffer(8000, &stats)
	frame := make([]int16, 160)
	tone.Sine(440, 8000, 0.5).Fill(frame)
	j.push(0, frame)
	out := make([]int16, 160)
	j.read(out)
	b.ReportAllocs()
	for b.Loop() {
		j.plc.run = 0
		j.plc.generate(out)
	}
	sink = math.Abs(float64(out[0]))
}
