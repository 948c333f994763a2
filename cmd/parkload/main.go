//go:build linux

// Command parkload is the load generator of Switchboard's call-park
// service. It parks N calls at once on the park service from real SIP user
// agents and reports what that costs the service and what the callers hear.
//
// By default it builds the real cmd/parkd into a temporary directory and,
// for every level of -n, starts a fresh parkd as a separate process on
// 127.0.0.1 (lot 1000-3999, park time 1h), so that the service's CPU time
// and resident memory can be read from /proc/PID/stat and /proc/PID/status.
// With -target host:port it loads a service that is already running
// instead (add -pid to read that service's CPU and memory).
//
// Every caller is a SIP user agent of its own (sip:callerN@127.0.0.1, its
// own From tag and Call-ID) that sends a real INVITE with a PCMU SDP offer
// to sip:park@H;token=T, ACKs the 200 OK and receives RTP on its own UDP
// socket, the port of its SDP. Like a phone it also sends 20 ms PCMU
// frames (a 440 Hz tone) from that socket unless -send=false, and like a
// phone it honours the direction of the service's SDP (no media to a
// sendonly or inactive answer) and answers re-INVITEs. To keep the
// generator cheap on a small machine, one sipgo user agent carries the
// signalling of all callers (one dialog each), and the media sockets are
// raw non-blocking sockets served by a few epoll loops; each packet's
// arrival time is the kernel's receive timestamp (SO_TIMESTAMPNS), so the
// generator's own scheduling does not blur the measured spacing.
//
// For each level it:
//
//  1. waits until the machine is quiet (-quiet), then parks N calls at
//     -rate calls per second (INVITE → 200 OK → ACK);
//  2. waits -settle, then measures a -window: the service's CPU (utime +
//     stime) as a share of one core, its VmRSS and VmHWM, its context
//     switches, the generator's own CPU, the machine's softirq, steal and
//     idle time (/proc/stat), and the spacing of the music packets each
//     caller receives (inter-arrival time per caller, pooled across
//     callers), with loss from RTP sequence gaps;
//  3. retrieves a sample of -retrieve calls from a second user agent, the
//     retriever (INVITE sip:N@H → 200 OK), which then sends a 1 kHz tone:
//     retrieve latency is INVITE → 200 OK, retrieve-to-audio is INVITE
//     until audio flows both ways (the caller's tone reaches the retriever
//     and the retriever's tone reaches the caller; one way with -send=false);
//  4. hangs every call up (BYE) and stops the service (SIGTERM).
//
// It also reports park latency (INVITE → 200 OK), the time from the 200
// OK to the first music packet at the caller (the "music within 200 ms"
// rule), INVITE retransmissions, duplicate 200s and failures. At the end
// it prints the machine, the exact command and one markdown table row
// per level on standard output; progress goes to standard error.
//
// The service's utime+stime leaves out the kernel work booked as softirq
// (on loopback, delivering each music packet into the caller's socket),
// so the report also gives the machine's softirq time; with
// -service-cpus and -cpus the service and the generator are pinned apart
// and the service's CPUs' busy time is its all-in cost (meaningful only
// when nothing else runs there). -service-env passes variables such as
// GOMAXPROCS or GODEBUG=gctrace=1 to parkd alone. -calibrate measures the
// machine's floor instead: what sending one 20 ms packet to each of N
// loopback sockets with sendmmsg costs, with no service at all.
//
// With -flood it measures floods instead of levels: for each kind a fresh
// parkd (its own lot, 701-720, unless -orbits), a legitimate caller on
// 127.0.0.1 that parks, hears music and hangs up -legit-rate times a
// second, and, after a -flood-baseline of the caller alone, -flood-rate
// datagrams a second for -flood-for from raw UDP sockets on 127.0.0.2
// and up (-flood-sources): INVITEs to an orbit outside the lot (missing),
// park INVITEs from outside -allow (disallowed: parkd then runs with
// -allow 127.0.0.1/32), park INVITEs whose 200 is never ACKed (unacked:
// their SDP names a socket that counts any media sent to it, and the
// BYEs parkd sends when the ACK does not come are counted, not
// answered), and malformed datagrams (garbage). Each datagram is built
// once and gets a fresh Call-ID, tag and branch by rewriting a counter in
// place; a reader per socket counts the answers by status and
// X-Park-Reason. After a -flood-settle with the legitimate caller still
// at work it reports, per kind, what the flood got back, the caller's
// park latency (INVITE → 200 OK) before, during and after the flood, its
// refusals and the orbits it still got, and parkd's CPU, memory (VmRSS
// before, sampled peak during, VmHWM, after), descriptors and threads.
//
// With -soak it runs park → retrieve → hang-up cycles instead: -soak-rate
// cycles a second for -soak against a fresh parkd (run with
// GODEBUG=gctrace=1), each a new caller that parks, is retrieved by the
// retriever (after -soak-hold) and hung up by the retriever's BYE (the
// service then hangs up the caller); the phones' sockets and dialogs go
// when their cycle ends. parkd is then left idle for -soak-idle. Every
// -soak-sample it reads parkd's VmRSS, its live heap after the last GC
// and the GC count (from the gctrace lines of its log), its descriptors
// and threads; the report gives the cycles, their failures and
// latencies, parkd's CPU, the peak, VmHWM and final RSS, and the samples.
//
// All traffic stays on 127.0.0.0/8, every wait is bounded, and the command
// stops by itself. With -perf DIR it also records the service with
// "perf record" during each window and writes a flat profile next to the
// data (the sampling adds a little to the service's CPU in that run).
//
// Usage:
//
//	go run ./cmd/parkload -n 100,500,1000,2000
//	go run ./cmd/parkload -n 2000 -send=false -perf /tmp/parkd-perf
//	go run ./cmd/parkload -calibrate -n 100,500,1000,2000
//	go run ./cmd/parkload -flood missing,disallowed,unacked,garbage -flood-rate 3000 -flood-for 5s
//	go run ./cmd/parkload -soak 40s -soak-rate 250 -soak-idle 40s
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is everything the flags decide.
type config struct {
	levels   []int
	target   string        // host:port of a running service; "" starts parkd
	pid      int           // of the target, for /proc readings
	parkd    string        // a built parkd; "" builds cmd/parkd
	orbits   string        // the lot given to parkd
	rate     float64       // parks (and retrieves, and hang-ups) per second
	settle   time.Duration // after the last park, before the window
	window   time.Duration // the steady window measured
	retrieve int           // calls retrieved at the end
	send     bool          // callers send RTP like a phone
	readers  int           // epoll loops reading the media sockets
	poll     time.Duration // minimum time between two epoll waits of a loop
	perfDir  string        // "" for no perf record
	timeout  time.Duration // of one level, all included
	keepLogs bool          // print parkd's log file names instead of removing them
	svcCPUs  string        // taskset CPU list for parkd; "" for none
	svcEnv   []string      // extra environment of parkd, KEY=VALUE
	svcArgs  []string      // extra flags of parkd
	genCPUs  string        // CPU list the generator pins itself to; "" for none
	calib    bool          // measure the machine's loopback floor instead
	quiet    float64       // wait before a level until others use less than this (% of one core); 0: do not
	quietMax time.Duration // the longest such wait

	flood         []floodKind   // floods to measure instead of levels; nil for none
	floodRate     float64       // flood datagrams per second
	floodFor      time.Duration // how long each flood lasts
	floodBaseline time.Duration // the legitimate caller alone, before the flood
	floodSettle   time.Duration // after the flood, before the "after" readings
	floodSources  int           // source addresses of the flood, 127.0.0.2 and up
	legitRate     float64       // the legitimate caller's parks per second
	legitHold     time.Duration // how long it stays parked each time

	soak       time.Duration // park → retrieve → hang-up cycles for this long; 0: no soak
	soakRate   float64       // cycles started per second
	soakHold   time.Duration // how long each caller stays parked before its retrieve
	soakIdle   time.Duration // parkd left idle after the cycles, still sampled
	soakSample time.Duration // between two samples of parkd's memory
	sources    int           // loopback hosts the callers (levels and soak) come from
}

func parseFlags(args []string, errOut io.Writer) (config, error) {
	fs := flag.NewFlagSet("parkload", flag.ContinueOnError)
	fs.SetOutput(errOut)
	var c config
	levels := fs.String("n", "100,500,1000,2000", "comma-separated `levels`: how many calls to park at once, each with a fresh service")
	fs.StringVar(&c.target, "target", "", "`host:port` of a running park service to load instead of starting cmd/parkd")
	fs.IntVar(&c.pid, "pid", 0, "`PID` of the -target service, to read its CPU and memory from /proc")
	fs.StringVar(&c.parkd, "parkd", "", "`path` of a parkd binary to run (default: go build ./cmd/parkd into a temporary directory)")
	fs.StringVar(&c.orbits, "orbits", "1000-3999", "the lot given to parkd (a `range`)")
	fs.Float64Var(&c.rate, "rate", 200, "parks, retrieves and hang-ups per `second`")
	fs.DurationVar(&c.settle, "settle", 3*time.Second, "wait after the last park before measuring (`duration`)")
	fs.DurationVar(&c.window, "window", 10*time.Second, "the steady window measured (`duration`)")
	fs.IntVar(&c.retrieve, "retrieve", 100, "how many calls to retrieve at the end (`count`, at most N)")
	fs.BoolVar(&c.send, "send", true, "callers send 20 ms PCMU (a 440 Hz tone) like a phone")
	fs.IntVar(&c.readers, "readers", 2, "epoll `loops` reading the media sockets")
	fs.DurationVar(&c.poll, "poll", 2*time.Millisecond, "minimum `interval` between two epoll waits of a loop (batches wake-ups; arrival times are kernel timestamps)")
	fs.StringVar(&c.perfDir, "perf", "", "record the service with perf during each window into `dir`")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Minute, "give up a level after this `duration`")
	fs.BoolVar(&c.keepLogs, "keep-logs", false, "keep parkd's logs (stderr) and say where they are")
	fs.StringVar(&c.svcCPUs, "service-cpus", "", "run parkd under taskset -c `list` (e.g. 0)")
	fs.Func("service-env", "add `KEY=VALUE` to parkd's environment, e.g. GOMAXPROCS=1 or GODEBUG=gctrace=1 (repeatable)", func(v string) error {
		if k, _, ok := strings.Cut(v, "="); !ok || k == "" {
			return errors.New("want KEY=VALUE")
		}
		c.svcEnv = append(c.svcEnv, v)
		return nil
	})
	fs.Func("service-arg", "add `FLAG` to parkd's command line, e.g. -memory-limit=96MiB (repeatable; levels and -soak)", func(v string) error {
		if !strings.HasPrefix(v, "-") {
			return errors.New("want a flag such as -memory-limit=96MiB")
		}
		c.svcArgs = append(c.svcArgs, v)
		return nil
	})
	fs.StringVar(&c.genCPUs, "cpus", "", "pin the load generator to CPU `list` (e.g. 1)")
	fs.Float64Var(&c.quiet, "quiet", 60, "before each level wait until the machine's other work is below this `percent` of one core (0: do not wait)")
	fs.DurationVar(&c.quietMax, "quiet-wait", 3*time.Minute, "the longest wait for a quiet machine (`duration`)")
	floods := fs.String("flood", "", "measure floods instead of levels: comma-separated `kinds` of missing (INVITEs to an orbit outside the lot), disallowed (from outside parkd's -allow), unacked (parks never ACKed), garbage (malformed datagrams)")
	fs.Float64Var(&c.floodRate, "flood-rate", 3000, "flood datagrams per `second`")
	fs.DurationVar(&c.floodFor, "flood-for", 5*time.Second, "how long each flood lasts (`duration`)")
	fs.DurationVar(&c.floodBaseline, "flood-baseline", 5*time.Second, "the legitimate caller alone before each flood (`duration`)")
	fs.DurationVar(&c.floodSettle, "flood-settle", 40*time.Second, "wait after each flood before the \"after\" readings (`duration`; the service's transactions last 32 s)")
	fs.IntVar(&c.floodSources, "flood-sources", 1, "how many source `addresses` the flood comes from (127.0.0.2 and up, at most 250)")
	fs.Float64Var(&c.legitRate, "legit-rate", 5, "the legitimate caller's parks (each hung up after -legit-hold) per `second` during a flood run")
	fs.DurationVar(&c.legitHold, "legit-hold", 300*time.Millisecond, "how long the legitimate caller stays parked each time (`duration`)")
	fs.DurationVar(&c.soak, "soak", 0, "soak instead of levels: park → retrieve → hang-up cycles for this `duration` against a fresh parkd (run with GODEBUG=gctrace=1), sampling its RSS, live heap, GCs, descriptors and threads")
	fs.Float64Var(&c.soakRate, "soak-rate", 250, "soak cycles started per `second`")
	fs.DurationVar(&c.soakHold, "soak-hold", 0, "how long each soak caller stays parked before it is retrieved (`duration`)")
	fs.DurationVar(&c.soakIdle, "soak-idle", 40*time.Second, "after the soak's cycles, parkd is left idle and still sampled for this `duration` (its transactions last 32 s)")
	fs.DurationVar(&c.soakSample, "soak-sample", time.Second, "`interval` between two samples during a soak")
	fs.IntVar(&c.sources, "sources", 8, "how many loopback `hosts` (127.0.0.1 and up) the callers of the levels and the soak come from: the service lets one host have 4 parks not yet ACKed")
	fs.BoolVar(&c.calib, "calibrate", false, "measure this machine's floor instead: what sending one 20 ms frame to each of N loopback sockets costs (sendmmsg from one socket, as the service does)")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *floods != "" {
		var err error
		if c.flood, err = parseFloodKinds(*floods); err != nil {
			return c, err
		}
		orbitsSet := false
		fs.Visit(func(f *flag.Flag) { orbitsSet = orbitsSet || f.Name == "orbits" })
		if !orbitsSet {
			c.orbits = "" // parkd's own lot: what a flood would meet
		}
		switch {
		case c.target != "" || c.calib:
			return c, errors.New("-flood starts parkd itself (no -target) and does not go with -calibrate")
		case c.floodRate <= 0 || c.floodFor <= 0 || c.floodRate*c.floodFor.Seconds() > maxFloodTotal:
			return c, fmt.Errorf("-flood-rate and -flood-for must be positive and send at most %d datagrams", maxFloodTotal)
		case c.floodRate*c.floodFor.Seconds() < 1:
			return c, errors.New("-flood-rate × -flood-for sends nothing")
		case c.floodBaseline < time.Second || c.floodSettle < 0:
			return c, errors.New("-flood-baseline must be at least 1s and -flood-settle not negative")
		case c.floodSources < 1 || c.floodSources > maxFloodSources:
			return c, fmt.Errorf("-flood-sources must be from 1 to %d", maxFloodSources)
		case c.legitRate <= 0 || c.legitRate > 100:
			return c, errors.New("-legit-rate must be above 0 and at most 100")
		case c.legitHold < 0 || c.legitHold > time.Minute:
			return c, errors.New("-legit-hold must be from 0 to 1m")
		}
	}
	for _, f := range strings.Split(*levels, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return c, fmt.Errorf("-n %s: %q is not a positive number", *levels, f)
		}
		c.levels = append(c.levels, n)
	}
	switch {
	case c.soak < 0:
		return c, errors.New("-soak must not be negative")
	case c.soak > 0 && (c.target != "" || c.calib || c.flood != nil):
		return c, errors.New("-soak starts parkd itself (no -target) and goes with neither -calibrate nor -flood")
	case c.soak > 0 && (c.soakRate <= 0 || c.soakRate > 5000):
		return c, errors.New("-soak-rate must be above 0 and at most 5000")
	case c.soak > 0 && (c.soakSample < 100*time.Millisecond || c.soakIdle < 0 || c.soakHold < 0):
		return c, errors.New("-soak-sample must be at least 100ms, -soak-idle and -soak-hold not negative")
	case c.sources < 1 || c.sources > maxFloodSources:
		return c, fmt.Errorf("-sources must be from 1 to %d", maxFloodSources)
	case c.rate <= 0:
		return c, errors.New("-rate must be positive")
	case c.window < time.Second:
		return c, errors.New("-window must be at least 1s")
	case c.readers < 1 || c.readers > 64:
		return c, errors.New("-readers must be from 1 to 64")
	case c.retrieve < 0:
		return c, errors.New("-retrieve must not be negative")
	case c.pid != 0 && c.target == "":
		return c, errors.New("-pid goes with -target")
	}
	return c, nil
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "parkload: %v\n", err)
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "parkload: %v\n", err)
		os.Exit(1)
	}
}

// run measures every level in turn and prints the report.
func run(cfg config) error {
	raiseFileLimit()
	if cfg.genCPUs != "" {
		if err := pinSelf(cfg.genCPUs); err != nil {
			return fmt.Errorf("-cpus %s: %w", cfg.genCPUs, err)
		}
	}
	if cfg.calib {
		return calibrate(cfg)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(stop)

	var binary string
	if cfg.target == "" {
		binary = cfg.parkd
		if binary == "" {
			dir, err := os.MkdirTemp("", "parkload-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(dir)
			progress("building cmd/parkd")
			if binary, err = buildParkd(dir); err != nil {
				return err
			}
		}
	}
	if cfg.flood != nil {
		return runFlood(cfg, binary, stop)
	}
	if cfg.soak > 0 {
		return runSoak(cfg, binary, stop)
	}
	if cfg.perfDir != "" {
		if err := os.MkdirAll(cfg.perfDir, 0o755); err != nil {
			return err
		}
	}

	var results []*result
	for _, n := range cfg.levels {
		select {
		case <-stop:
			return errors.New("interrupted")
		default:
		}
		if cfg.quiet > 0 && !waitQuiet(cfg.quiet, cfg.quietMax, stop) {
			return errors.New("interrupted")
		}
		progress("level N=%d", n)
		r, err := runLevel(cfg, binary, n, stop)
		if err != nil {
			return fmt.Errorf("level %d: %w", n, err)
		}
		results = append(results, r)
		fmt.Fprintln(os.Stderr, r.details())
	}
	printReport(os.Stdout, cfg, results)
	return nil
}

// waitQuiet waits (at most max) until the machine's busy time over 2 s
// is below limit percent of one core, so that a level does not start
// while something else (a test suite, a build) takes the CPUs. It
// returns false when interrupted by a signal.
func waitQuiet(limit float64, max time.Duration, stop <-chan os.Signal) bool {
	deadline := time.Now().Add(max)
	for {
		m := startSys()
		select {
		case <-stop:
			return false
		case <-time.After(2 * time.Second):
		}
		u := m.usage()
		busy := u.cores*100 - u.idle - u.steal
		if !u.ok || busy < limit {
			return true
		}
		if time.Now().After(deadline) {
			progress("the machine is still busy (%.0f %% of one core) after %v; going on", busy, max)
			return true
		}
		progress("waiting for a quiet machine: %.0f %% of one core busy", busy)
	}
}

// progress says what the command is doing, on standard error.
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "parkload: %s: %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// raiseFileLimit lifts RLIMIT_NOFILE to its hard limit: every caller
// holds a socket of its own.
func raiseFileLimit() {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return
	}
	if l.Cur < l.Max {
		l.Cur = l.Max
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}
