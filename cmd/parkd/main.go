// Command parkd runs Switchboard's call-park service alone, headless, for a
// site's attendant consoles and desk phones.
//
// It listens for SIP over UDP and TCP (127.0.0.1:5070 by default), holds
// parked callers on a lot of numbered orbits (701-720) with music on hold,
// serves busy lamps (RFC 4235) and rings a call back to whoever parked it
// when nobody retrieves it in time. The SIP contract is
// docs/PARK-PROTOCOL.md.
//
// Usage:
//
//	parkd [flags]
//
// Run "parkd -help" for the flags. On start parkd prints one line to
// standard output saying where it listens and what lot it serves; its logs,
// one structured line per park event, go to standard error.
//
// Parked and bridged calls are kept in a park store (-state-dir, SQLite)
// written before each step is confirmed. SIGINT or SIGTERM stops parkd
// within a second without hanging anybody up: the next parkd started on
// the same store and addresses takes every call back. With
// -drain-on-exit (or -state-dir none) a signal decommissions instead: new
// parks are refused, the parkers of calls still parked are rung back, and
// it waits up to the drain time for the calls to leave before it exits
// with status 0, ending the rest. A second signal stops the wait at once.
//
// A bad flag makes parkd exit with status 2 and one line on standard error
// naming the flag and the reason; a failure to start (a busy port, say)
// exits with status 1. A crash, should one ever happen, is never status
// 2: parkd prints every goroutine's stack and aborts (SIGABRT).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/telephony/park"
	"github.com/switchboard/switchboard/telephony/park/store"
)

// Exit statuses.
const (
	exitOK      = 0
	exitRuntime = 1 // the service could not start
	exitUsage   = 2 // a bad flag or argument
)

func main() {
	// A crash (an unrecovered panic, a fatal runtime error), should one
	// ever happen, prints every goroutine's stack and aborts with
	// SIGABRT: it never exits 2, the status of a bad flag.
	debug.SetTraceback("crash")
	signals := make(chan os.Signal, 2)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, signals))
}

// run is parkd from its arguments to its exit status: it parses the flags,
// starts the service, waits for a signal and drains.
func run(args []string, stdout, stderr io.Writer, signals <-chan os.Signal) int {
	cfg, err := parseConfig(args)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "parkd: %s\n", oneLine(err.Error()))
		return exitUsage
	}

	logger := cfg.log.Logger(stderr)
	slog.SetDefault(logger)
	cfg.opts.Logger = logger

	if _, err := park.New(cfg.opts); err != nil { // options checked before the store is touched
		fmt.Fprintf(stderr, "parkd: %s\n", oneLine(strings.TrimPrefix(err.Error(), "park: ")))
		return exitUsage
	}
	var st *store.SQLite
	if cfg.stateDir != "" {
		if st, err = store.Open(cfg.stateDir); err != nil {
			fmt.Fprintf(stderr, "parkd: cannot start: %s\n", oneLine(err.Error()))
			return exitRuntime
		}
		defer st.Close()
		cfg.opts.Store = st
	}
	svc, err := park.New(cfg.opts)
	if err != nil {
		fmt.Fprintf(stderr, "parkd: %s\n", oneLine(strings.TrimPrefix(err.Error(), "park: ")))
		return exitUsage
	}
	if err := svc.Start(context.Background()); err != nil {
		fmt.Fprintf(stderr, "parkd: cannot start: %s\n", oneLine(strings.TrimPrefix(err.Error(), "park: ")))
		return exitRuntime
	}
	fmt.Fprintln(stdout, listeningLine(svc, cfg))
	memCtx, memStop := context.WithCancel(context.Background())
	memDone := make(chan struct{})
	go func() {
		defer close(memDone)
		keepMemory(memCtx, cfg.memLimit, idleCheck, logger)
	}()
	defer func() {
		memStop()
		<-memDone
	}()

	sig := <-signals
	if st != nil && !cfg.drainOnExit {
		// Stopping is not hanging up: every call stays in the store for
		// the next start, which takes it back.
		parked, bridged := svc.Held()
		start := time.Now()
		svc.Close()
		if err := st.Close(); err != nil {
			fmt.Fprintf(stderr, "parkd: closing the park store: %s\n", oneLine(err.Error()))
		}
		fmt.Fprintf(stdout, "parkd: %v: stopped after %v; %s and %s kept in %s for the next start\n",
			sig, time.Since(start).Round(time.Millisecond), plural(parked, "parked call"), plural(bridged, "bridged call"), cfg.stateDir)
		return exitOK
	}
	fmt.Fprintf(stdout, "parkd: %v: refusing new parks, ringing back %s, waiting up to %v for calls to leave\n",
		sig, plural(svc.Parked(), "parked call"), cfg.drain)

	ctx, cancel := context.WithTimeout(context.Background(), cfg.drain)
	again := make(chan os.Signal, 1)
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case s := <-signals:
			again <- s
			cancel()
		case <-ctx.Done():
		}
	}()
	start := time.Now()
	err = svc.Shutdown(ctx)
	took := time.Since(start).Round(time.Millisecond)
	cancel()
	<-watched

	select {
	case s := <-again:
		fmt.Fprintf(stdout, "parkd: %v again: stopped waiting\n", s)
	default:
	}
	if err != nil {
		fmt.Fprintf(stdout, "parkd: stopped after %v; %s; those calls were hung up\n",
			took, oneLine(strings.TrimPrefix(err.Error(), "park: ")))
	} else {
		fmt.Fprintf(stdout, "parkd: stopped after %v; no call was left\n", took)
	}
	return exitOK
}

// listeningLine is the line printed on start.
func listeningLine(svc *park.Service, cfg config) string {
	var b strings.Builder
	fmt.Fprintf(&b, "parkd: listening on %s (udp, tcp)", svc.Addr())
	if hp := svc.HostPort(); hp != svc.Addr().String() {
		fmt.Fprintf(&b, " as %s", hp)
	}
	fmt.Fprintf(&b, ", orbits %s, park time %v, ring-back %v", svc.Orbits(), cfg.opts.ParkTime, cfg.opts.RingbackTime)
	if p, br := svc.Held(); p+br > 0 {
		fmt.Fprintf(&b, ", restored %s and %s", plural(p, "parked call"), plural(br, "bridged call"))
	}
	if cfg.opts.Fallback != "" {
		fmt.Fprintf(&b, ", fallback %s", cfg.opts.Fallback)
	}
	if cfg.mohFile != "" {
		fmt.Fprintf(&b, ", music %s", cfg.mohFile)
	}
	return b.String()
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// oneLine keeps a message on one line whatever it quotes.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
