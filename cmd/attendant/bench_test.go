package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/app/apptest"
	"github.com/switchboard/switchboard/internal/procstop"
	"github.com/switchboard/switchboard/telephony"
)

// BenchmarkConsoleWindow measures the console in a real window under
// Xvfb (Mesa's software GL), as docs/BENCHMARKS.md reports it:
//
//		go test -tags migrated_fynedo -run '^$' -bench ConsoleWindow -benchtime 3x ./cmd/attendant
//
//	  - idle: the real console (built here with go build; SIP, the embedded
//	    park service, no calls, no sound device): time from exec to the
//	    first painted frame, resident memory, CPU while idle;
//	  - three-calls: the real console with three demo callers, one held,
//	    one parked on the embedded park service and one live (keys Enter,
//	    H, P): resident memory and CPU, the calls' media included (the
//	    demo callers run in the console's process);
//	  - lines20-orbits100: the window with 20 lines (10 ringing, 1 live, 9
//	    held) and a lot of 100 orbits all parked, its timers ticking once a
//	    second (the phone is app/apptest's in-memory one): resident memory
//	    and CPU;
//	  - tick100-every-frame: the same window with every timer changing at
//	    every tick, ticks asked 60 times a second: CPU time per tick and
//	    the frame it causes, and ticks done per second.
func BenchmarkConsoleWindow(b *testing.B) {
	x := startX(b, "bench")
	exe := filepath.Join(b.TempDir(), "attendant")
	build := exec.Command("go", "build", "-tags", "migrated_fynedo", "-o", exe, ".")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}

	b.Run("idle", func(b *testing.B) {
		var first, rss, cpu float64
		for i := 0; i < b.N; i++ {
			p := launch(b, x, exe, nil, "-listen", "127.0.0.1:0", "-park-listen", "127.0.0.1:0", "-audio", "none")
			first += p.firstFrame(b)
			time.Sleep(3 * time.Second) // startup work done (lamps subscribed, first health check)
			rss += p.rssMB()
			cpu += p.cpuPercent(20 * time.Second)
			p.stop(b)
		}
		n := float64(b.N)
		b.ReportMetric(first/n, "ms-to-first-frame")
		b.ReportMetric(rss/n, "MB-resident")
		b.ReportMetric(cpu/n, "%CPU-idle")
	})
	b.Run("fyne-floor", func(b *testing.B) {
		var rss, cpu float64
		for i := 0; i < b.N; i++ {
			p := launch(b, x, os.Args[0], []string{"ATTENDANT_BENCH=floor"})
			time.Sleep(4 * time.Second)
			rss += p.rssMB()
			cpu += p.cpuPercent(20 * time.Second)
			p.stop(b)
		}
		n := float64(b.N)
		b.ReportMetric(rss/n, "MB-resident")
		b.ReportMetric(cpu/n, "%CPU-idle")
	})
	b.Run("three-calls", func(b *testing.B) {
		var rss, cpu float64
		// With ATTENDANT_CPUPROFILE set, the console is this test binary
		// (TestMain), which writes a CPU profile there.
		cexe, cenv := exe, []string(nil)
		if os.Getenv("ATTENDANT_CPUPROFILE") != "" {
			cexe, cenv = os.Args[0], []string{"ATTENDANT_MAIN=1"}
		}
		for i := 0; i < b.N; i++ {
			p := launch(b, x, cexe, cenv, "-demo", "-demo-interval", "1s", "-demo-max", "3", "-demo-giveup", "0",
				"-demo-seed", "7", "-listen", "127.0.0.1:0", "-park-listen", "127.0.0.1:0", "-audio", "none")
			p.firstFrame(b)
			threeCalls(b, x, p)
			time.Sleep(3 * time.Second) // the calls' media settled
			rss += p.rssMB()
			cpu += p.cpuPercent(20 * time.Second)
			p.stop(b)
		}
		n := float64(b.N)
		b.ReportMetric(rss/n, "MB-resident")
		b.ReportMetric(cpu/n, "%CPU-3-calls")
	})
	b.Run("lines20-orbits100", func(b *testing.B) {
		var first, rss, cpu float64
		for i := 0; i < b.N; i++ {
			p := launch(b, x, os.Args[0], []string{"ATTENDANT_BENCH=load"})
			first += p.firstFrame(b)
			time.Sleep(3 * time.Second)
			rss += p.rssMB()
			cpu += p.cpuPercent(10 * time.Second)
			p.stop(b)
		}
		n := float64(b.N)
		b.ReportMetric(first/n, "ms-to-first-frame")
		b.ReportMetric(rss/n, "MB-resident")
		b.ReportMetric(cpu/n, "%CPU-ticking-1Hz")
	})
	b.Run("tick100-every-frame", func(b *testing.B) {
		var perTick, rate float64
		for i := 0; i < b.N; i++ {
			ticks := filepath.Join(b.TempDir(), "ticks")
			p := launch(b, x, os.Args[0], []string{"ATTENDANT_BENCH=frames", "ATTENDANT_BENCH_TICKS=" + ticks})
			p.firstFrame(b)
			// Ticks asked while the window was starting queue up and are
			// caught up at several a frame: measure after that.
			time.Sleep(8 * time.Second)
			cpu0, n0, t0 := p.cpuSeconds(), readCount(ticks), time.Now()
			time.Sleep(10 * time.Second)
			cpu1, n1, t1 := p.cpuSeconds(), readCount(ticks), time.Now()
			if n1 <= n0 {
				b.Fatalf("no ticks done (%d, %d)", n0, n1)
			}
			perTick += (cpu1 - cpu0) * 1000 / float64(n1-n0)
			rate += float64(n1-n0) / t1.Sub(t0).Seconds()
			p.stop(b)
		}
		n := float64(b.N)
		b.ReportMetric(perTick/n, "CPU-ms/tick+frame")
		b.ReportMetric(rate/n, "ticks/s")
	})
}

// threeCalls brings the console p (with demo callers, at most three)
// to one call held, one parked on the embedded park service and one
// live, with the keys: Enter answers, H holds, P parks.
func threeCalls(b *testing.B, x *x11, p *proc) {
	b.Helper()
	c := &console{cmd: p.cmd, log: p.log, exited: p.exited}
	win := c.window(b, x)
	answer := func() {
		c.wait(b, "a ringing call", 60*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "ringing"); return ok })
		x.xdo(b, "key", "--window", win, "Return")
		c.wait(b, "a call answered", 15*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "active"); return ok })
	}
	answer()
	x.xdo(b, "key", "--window", win, "h")
	c.wait(b, "a call held", 15*time.Second, func(s *app.Snapshot) bool { _, ok := lineNamed(s, "held"); return ok })
	answer()
	x.xdo(b, "key", "--window", win, "p")
	c.wait(b, "a call parked", 15*time.Second, func(s *app.Snapshot) bool {
		_, live := lineNamed(s, "active")
		return !live && orbitOf(s, 701).State == "mine"
	})
	answer()
	s := c.wait(b, "one held, one live, one parked", 15*time.Second, func(s *app.Snapshot) bool {
		_, held := lineNamed(s, "held")
		_, live := lineNamed(s, "active")
		return held && live && orbitOf(s, 701).State == "mine"
	})
	b.Logf("three calls: %d lines, 701 %s", len(s.Lines), orbitOf(s, 701).State)
}

// proc is a console process started by the benchmark.
type proc struct {
	cmd     *exec.Cmd
	log     string
	started time.Time
	exited  chan struct{}
}

func launch(b *testing.B, x *x11, exe string, env []string, args ...string) *proc {
	b.Helper()
	p := &proc{log: filepath.Join(b.TempDir(), "state.jsonl"), exited: make(chan struct{})}
	p.cmd = exec.Command(exe, append([]string{"-state-log", p.log}, args...)...)
	p.cmd.Env = append(append(x.env, env...), "ATTENDANT_BENCH_LOG="+p.log)
	p.started = time.Now()
	if err := p.cmd.Start(); err != nil {
		b.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		close(p.exited)
	}()
	b.Cleanup(func() { p.stop(b) })
	return p
}

// firstFrame waits for the first painted frame and returns the time
// from exec to it, in milliseconds.
func (p *proc) firstFrame(b *testing.B) float64 {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if data, err := os.ReadFile(p.log); err == nil && strings.Contains(string(data), `"event":"first-frame"`) {
			return float64(time.Since(p.started).Microseconds()) / 1000
		}
		select {
		case <-p.exited:
			b.Fatalf("the console exited before its first frame: %v", p.cmd.ProcessState)
		default:
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.Fatal("no first frame within 60 s")
	return 0
}

// rssMB is the process's resident memory.
func (p *proc) rssMB() float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p.cmd.Process.Pid))
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// cpuSeconds is the process's user and system CPU time so far.
func (p *proc) cpuSeconds() float64 {
	data, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	s := string(data)
	if i := strings.LastIndexByte(s, ')'); i >= 0 {
		s = s[i+1:]
	}
	f := strings.Fields(s)
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	st, _ := strconv.ParseFloat(f[12], 64)
	return (ut + st) / 100 // USER_HZ
}

// cpuPercent is the CPU the process uses over d, in % of one core.
func (p *proc) cpuPercent(d time.Duration) float64 {
	c0, t0 := p.cpuSeconds(), time.Now()
	time.Sleep(d)
	return (p.cpuSeconds() - c0) / time.Since(t0).Seconds() * 100
}

func (p *proc) stop(b *testing.B) {
	procstop.Stop(p.cmd.Process, p.exited, 15*time.Second)
}

func readCount(path string) int64 {
	data, _ := os.ReadFile(path)
	n, _ := strconv.ParseInt(strings.TrimSpace(string(data)), 10, 64)
	return n
}

// cpuProfile profiles the process into $ATTENDANT_CPUPROFILE, when set,
// until stop is called.
func cpuProfile() (stop func()) {
	path := os.Getenv("ATTENDANT_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		return func() {}
	}
	if pprof.StartCPUProfile(f) != nil {
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// benchConsole is this test binary run as a console on the in-memory
// phone, for BenchmarkConsoleWindow (TestMain calls it when ATTENDANT_BENCH
// is set): "load" ticks once a second, "frames" 60 times a second with
// every timer changing at each tick.
func benchConsole(mode string) int {
	defer cpuProfile()()
	a := fyneapp.NewWithID(appID)
	w := a.NewWindow(appName + " benchmark")
	w.Resize(fyne.NewSize(1400, 900))
	if mode == "floor" {
		// Fyne alone: a window with one label, for the idle floor.
		w.SetContent(widget.NewLabel("Fyne alone"))
		w.ShowAndRun()
		return 0
	}
	phone := apptest.NewPhone(701, 800)
	base := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var ticks atomic.Int64
	clock := time.Now
	tick := time.Second
	if mode == "frames" {
		tick = time.Second / 60
		clock = func() time.Time { return base.Add(time.Duration(ticks.Add(1)) * time.Second) }
		if path := os.Getenv("ATTENDANT_BENCH_TICKS"); path != "" {
			go func() { // ends with ctx, when the window closes
				t := time.NewTicker(250 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-ctx.Done():
						return
					case <-t.C:
						_ = os.WriteFile(path, []byte(strconv.FormatInt(ticks.Load(), 10)), 0o644)
					}
				}
			}()
		}
	}
	phone.Clock = func() time.Time { return base }
	var log *os.File
	if path := os.Getenv("ATTENDANT_BENCH_LOG"); path != "" {
		log, _ = os.Create(path)
		defer log.Close()
	}
	opts := app.Options{Phone: phone, Audio: app.AudioStatus{Available: false, Text: "benchmark"},
		Identity: "sip:console@127.0.0.1:5060", Clock: clock, Tick: tick}
	if log != nil {
		opts.StateLog = log
	}
	console := app.New(a, w, opts)
	console.Start(ctx)
	for i := 0; i < 20; i++ {
		id := phone.Ring(fmt.Sprintf("Caller %02d", i+1), fmt.Sprintf("sip:+1555010%02d@127.0.0.1", i))
		if i < 10 {
			_ = phone.Answer(ctx, id) // the last answered is live, the others held
		}
	}
	for n := 701; n <= 800; n++ {
		phone.SetOrbit(telephony.Orbit{Number: n, Occupied: true, CallerName: fmt.Sprintf("Parked caller %d", n),
			CallerURI: "sip:+15550199@10.0.0.7", Parker: "sip:reception2@10.0.0.9", ParkedAt: base.Add(-time.Duration(n-700) * 7 * time.Second),
			ParkedByMe: n%3 == 0})
	}
	w.ShowAndRun()
	cancel()
	console.Close()
	return 0
}
