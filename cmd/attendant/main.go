// Command attendant is Switchboard's attendant console: one window with
// the receptionist's lines and the park service's orbit grid. A call is
// answered with a click or Enter, parked by dragging its card onto a
// free orbit and retrieved, from any console, by tapping the lit orbit.
//
// With no configuration it is useful at once: it takes SIP calls on
// 127.0.0.1:5060 (from any softphone) and runs its own park service on
// 127.0.0.1:5070 with orbits 701-720. With -demo, simulated callers ring
// it every few seconds so that a newcomer sees the whole flow:
//
//	go run -tags migrated_fynedo ./cmd/attendant -demo
//
// Flags set the PBX account, the address, an external park service or
// another PBX's park (URI templates); the window's settings are saved in
// Fyne's preferences and the flags given win over them. Run
// "attendant -help" for the flags. Logs go to standard error.
//
// A bad flag exits with status 2 and one line on standard error. A
// failure to start (a busy port, a bad saved setting) is said on
// standard error and in the window, which offers the settings; the
// command then exits with status 1 when the window is closed. Without a
// display to open the window on it exits with status 3 and one line.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/assets"
)

// Identity of the application (also in FyneApp.toml).
const (
	appID   = "io.switchboard.attendant"
	appName = "Switchboard"
	version = "0.1.0"
)

// Exit statuses.
const (
	exitOK      = 0
	exitRuntime = 1 // could not start
	exitUsage   = 2 // a bad flag
	// exitNoDisplay: no display to open the window on (no X server or
	// Wayland compositor answers); one line on stderr says what to do.
	exitNoDisplay = 3
)

func main() {
	debug.SetTraceback("crash") // a crash aborts (SIGABRT) with every stack: never status 2, a bad flag's
	// SIGINT and SIGTERM close the window: Fyne's driver catches them.
	os.Exit(afterRun(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, time.Now()), os.Args[1:], os.Stderr))
}

// run is the console from its arguments to its exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, started time.Time) int {
	// The flags alone first, over the defaults: -help, -version and bad
	// flags need no window. Then over the saved settings: what is wrong
	// there is shown in the window, with the settings dialog.
	pre, err := parseConfig(args, app.DefaultSettings())
	switch {
	case pre.showHelp:
		printUsage(stdout)
		return exitOK
	case pre.version:
		fmt.Fprintf(stdout, "attendant %s (%s)\n", version, appID)
		return exitOK
	case err != nil:
		fmt.Fprintf(stderr, "attendant: %s\n", oneLine(err.Error()))
		return exitUsage
	}
	if err := checkDisplay(os.Getenv); err != nil {
		fmt.Fprintf(stderr, "attendant: %v: run it in a desktop session, or for a headless try under Xvfb: xvfb-run -a attendant -demo\n", err)
		return exitNoDisplay
	}
	quietDesktop(os.Getenv, os.Setenv)
	// Logs from here on, Fyne's included: Fyne reports through the log
	// package, three lines an error, and a desktop without a notification
	// service (or D-Bus session) would get three at every incoming call.
	// They go to the debug log.
	slog.SetDefault(pre.log.Logger(stderr))
	slog.SetLogLoggerLevel(slog.LevelDebug)

	fyneapp.SetMetadata(fyne.AppMetadata{ID: appID, Name: appName, Version: version, Build: 1,
		Migrations: map[string]bool{"fyneDo": true}})
	a := fyneapp.NewWithID(appID)
	// Fyne saves the preferences as it quits; the console does it here
	// instead, as run returns or before a watchdog's exit (takeStopHook).
	savePrefs := takeStopHook(a, slog.Default())
	defer savePrefs()
	icon := fyne.NewStaticResource(assets.IconName, assets.Icon())
	a.SetIcon(icon)
	prefs := a.Preferences()
	cfg, err := parseConfig(args, app.LoadSettings(prefs))
	if err != nil && !isSettingsErr(err) {
		fmt.Fprintf(stderr, "attendant: %s\n", oneLine(err.Error()))
		return exitUsage
	}
	logger := cfg.log.Logger(stderr)
	slog.SetDefault(logger)
	if cfg.resetPrefs {
		app.DefaultSettings().Save(prefs)
	}

	var stateLog io.Writer
	if cfg.stateLog != "" {
		f, ferr := os.Create(cfg.stateLog)
		if ferr != nil {
			fmt.Fprintf(stderr, "attendant: -state-log %s: %v\n", cfg.stateLog, ferr)
			return exitUsage
		}
		defer f.Close()
		stateLog = f
	}

	// One console per SIP address: a second one brings the first's
	// window forward and ends here, before it touches the address.
	inst, ierr := claimInstanceIn(cfg.settings.Listen, logger)
	switch {
	case errors.Is(ierr, errAlreadyRunning):
		fmt.Fprintf(stdout, "attendant: Switchboard is already running on %s: its window was brought forward\n", cfg.settings.Listen)
		return exitOK
	case ierr != nil:
		logger.Warn("cannot tell whether another console runs for this address", "error", ierr)
	}
	defer inst.close()
	// The built-in park service's address is this console's too: another
	// console (on another SIP address) that runs its park service there
	// is said plainly, with an offer to bring its window forward.
	var parkInst *instance
	var held *heldByAnother
	if err == nil && cfg.settings.ParkMode == app.ParkEmbedded {
		var perr error
		parkInst, perr = claimParkIn(cfg.settings.ParkService, logger)
		if !errors.As(perr, &held) && perr != nil {
			logger.Warn("cannot tell whether another console runs this park service", "error", perr)
		}
	}
	defer parkInst.close()

	w := a.NewWindow(appName)
	w.SetIcon(icon)
	w.Resize(startSize(a, fyne.NewSize(1280, 800))) // no bigger than the screen
	w.SetMaster()

	if held != nil {
		fmt.Fprintf(stderr, "attendant: Switchboard is already running with its park service on %s\n", held.addr)
		if stateLog != nil {
			fmt.Fprintf(stateLog, "{\"event\":\"already-running\",\"park\":%q}\n", held.addr)
		}
		var shown atomic.Bool
		broughtForward := func() {
			fmt.Fprintf(stdout, "attendant: Switchboard is already running with its park service on %s: its window was brought forward\n", held.addr)
		}
		app.AlreadyRunning(a, w, "the park service address "+held.addr, func() error {
			if err := askRaise(held.sock); err != nil {
				logger.Warn("the other console did not answer", "socket", held.sock, "error", err)
				return err
			}
			shown.Store(true)
			return nil
		}, func() {
			// Fyne's loop can hang as it stops when an input event
			// (the key's release after the Space that chose) comes
			// in that moment: its queue is closed with the event's
			// waiter in it. The choice is made; the process ends
			// regardless, quitGrace after the choice.
			go func() {
				time.Sleep(quitGrace)
				logger.Warn("the window did not close: exiting", "waited", quitGrace)
				savePrefs()
				if shown.Load() {
					broughtForward()
					os.Exit(exitOK)
				}
				os.Exit(exitRuntime)
			}()
			a.Quit()
		}, stateLog)
		w.Resize(fyne.NewSize(760, 300))
		w.ShowAndRun()
		if shown.Load() {
			broughtForward()
			return exitOK
		}
		return exitRuntime
	}

	var sys *system
	if err == nil {
		sys, err = start(ctx, cfg, logger)
	}
	if err == nil {
		if err = sys.startPhone(ctx, cfg); err != nil {
			sys.stop()
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "attendant: cannot start: %s\n", oneLine(err.Error()))
		if stateLog != nil {
			fmt.Fprintf(stateLog, "{\"event\":\"startup-error\",\"error\":%q}\n", oneLine(err.Error()))
		}
		app.StartupError(a, w, err, nil)
		w.Resize(fyne.NewSize(760, 320))
		w.ShowAndRun()
		return exitRuntime
	}

	// The history outlives the window in the call log; without it the
	// console still runs, its history kept until the window closes.
	callLog, lerr := app.LoadCallLogSettings(prefs).OpenCallLog(logger)
	if lerr != nil {
		logger.Warn("the call history cannot be kept on disk: it lasts until the window closes", "error", lerr)
	}
	var restarting atomic.Bool // set on Fyne's goroutine before the window closes
	var sound app.Sound
	if sys.sound != nil {
		sound = soundAdapter{sys.sound}
	}
	notifier, closeNotifier := newNotifier(logger)
	console := app.New(a, w, app.Options{
		Notifier:  notifier,
		Phone:     sys.phone,
		Sound:     sound,
		Audio:     sys.status,
		Identity:  sys.phone.AOR(),
		Prefs:     prefs,
		Settings:  cfg.settings,
		Logger:    logger,
		StateLog:  stateLog,
		CallLog:   callLog,
		Directory: cfg.directory,
		// Restart now (after settings that apply at the next start):
		// the console asks about the calls as closing does, then the
		// window closes, the close path runs and main starts again.
		CloseQuestion: sys.closeQuestion,
		// "Ring back now" before a restart drains the built-in park
		// service as before a close: the restart waits for it.
		RingBackNow: sys.ringBackNow,
		OnRestart: func() {
			logger.Info("restarting")
			restarting.Store(true)
			w.Close()
		},
		OnFirstFrame: func() {
			logger.Info("first frame", "since_start", time.Since(started).Round(time.Millisecond))
		},
	})
	w.SetTitle(appName + " — " + sys.phone.AOR())
	inst.setOnRaise(console.BringForward)
	parkInst.setOnRaise(console.BringForward)
	// Closing with calls up asks first; the choice is made on Fyne's
	// goroutine, as is ShowAndRun's return. "Ring back now" keeps the
	// window open while the built-in park service rings its calls back
	// here, and asks again once they are done.
	var askClose func()
	askClose = func() {
		q := sys.closeQuestion()
		if !q.NeedsAsking() {
			w.Close()
			return
		}
		console.AskClose(q, func(ch app.CloseChoice) {
			switch ch {
			case app.CloseCancel:
				return
			case app.CloseRingBack:
				logger.Info("ringing back the parked calls before closing", "parked", q.Parked, "bridged", q.Bridged)
				console.RingingBackToClose(q.Parked)
				sys.ringBackNow(func() { console.WhenOpen(askClose) })
				return
			}
			logger.Info("closing", "choice", ch.String(), "lines", q.Lines, "parked", q.Parked, "bridged", q.Bridged, "kept", q.ParkedReturn)
			w.Close()
		})
	}
	w.SetCloseIntercept(askClose)
	// The console stops handing work to Fyne's goroutine before Fyne
	// stops, which closes its queue: when the window closes (on Fyne's
	// goroutine, before the app quits), and at once on SIGINT or SIGTERM,
	// which Fyne's driver answers by quitting from no window. A fyne.Do
	// in that moment was a data race inside Fyne's queue (issue 15).
	//
	// Fyne's loop can also hang as it stops, when an event comes in
	// that moment (its queue is closed with the event's waiter in it:
	// a SIGTERM under load left the console running for good). So the
	// close does not wait for ShowAndRun: quitGrace after the window
	// closed or the signal came, the close path runs without it and
	// the process ends (closing.claim decides which of the two runs it).
	closing := newCloser()
	w.SetOnClosed(func() {
		console.Detach()
		closing.started()
	})
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	sigDone := make(chan struct{})
	go func() {
		select {
		case <-sigs:
			console.Detach()
			closing.started()
		case <-sigDone:
		}
	}()
	defer func() {
		signal.Stop(sigs)
		close(sigDone)
	}()
	cctx, cancel := context.WithCancel(ctx)
	console.Start(cctx)
	audioDone := make(chan struct{})
	go func() {
		defer close(audioDone)
		sys.watchAudio(cctx, console)
	}()
	logger.Info("console ready", "aor", sys.phone.AOR(), "park", cfg.settings.ParkMode, "demo", cfg.demo)

	// shutDown is what follows the window; it returns the exit status.
	shutDown := func() int {
		// The window is gone: hang up, stop the services. The hang-ups and
		// the park service's BYEs go out at once; waiting for every answer
		// (a far end that never answers is retried for 32 s) would keep the
		// process, and its ports, for nothing: the wait is bounded, and what
		// is still running when it ends ends with the process.
		decided := time.Now()
		cancel()
		done := make(chan struct{})
		go func() {
			defer close(done)
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				sys.stopNow()
			}()
			console.Close()
			closeNotifier(exitGrace / 2)
			if callLog != nil {
				if err := callLog.Close(); err != nil {
					logger.Warn("call log: close", "error", err)
				}
			}
			<-stopped
			<-audioDone
		}()
		select {
		case <-done:
		case <-time.After(exitGrace):
			logger.Info("exiting before every hang-up was answered", "waited", exitGrace)
		}
		logger.Debug("exit", "since_close", time.Since(decided).Round(time.Millisecond))
		if restarting.Load() {
			return exitRestart
		}
		return exitOK
	}
	go func() {
		if !closing.stuck(quitGrace) {
			return
		}
		logger.Warn("the window did not close: exiting", "waited", quitGrace)
		code := shutDown()
		savePrefs()
		os.Exit(afterRun(code, args, stderr))
	}()

	w.ShowAndRun()
	if !closing.returned() {
		select {} // Fyne's loop was stuck: the close path already runs and ends the process
	}
	return shutDown()
}

// closer decides who runs the console's close path: the main goroutine
// when ShowAndRun returns, or, when Fyne's loop hangs as it stops, a
// watchdog quitGrace after the window closed (or a signal came).
type closer struct {
	begun   chan struct{} // closed when the window closes or a signal comes
	ended   chan struct{} // closed when ShowAndRun returned
	once    sync.Once
	claimed atomic.Bool
}

// newCloser returns a closer of a window that is not closing.
func newCloser() *closer {
	return &closer{begun: make(chan struct{}), ended: make(chan struct{})}
}

// started notes that the window is closing; any goroutine, more than once.
func (c *closer) started() { c.once.Do(func() { close(c.begun) }) }

// returned is called once ShowAndRun returned; it reports whether the
// caller runs the close path (false: the watchdog already does).
func (c *closer) returned() bool {
	mine := c.claimed.CompareAndSwap(false, true)
	close(c.ended)
	return mine
}

// stuck waits for the window to close, then grace more, and reports
// whether ShowAndRun had still not returned by then: the close path is
// then the caller's. It returns false as soon as ShowAndRun returns.
func (c *closer) stuck(grace time.Duration) bool {
	select {
	case <-c.begun:
	case <-c.ended:
		return false
	}
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-t.C:
	case <-c.ended:
		return false
	}
	return c.claimed.CompareAndSwap(false, true)
}

// exitGrace bounds the shutdown after the window closed, so the process
// exits within a second of the decision.
const exitGrace = 400 * time.Millisecond

// quitGrace bounds how long a window that closes (the console's, the
// already-running view's) waits for Fyne's loop to end before the
// process ends by itself.
const quitGrace = 2 * time.Second

// claimInstanceIn claims the console's instance in the user's runtime
// directory.
func claimInstanceIn(listen string, log *slog.Logger) (*instance, error) {
	dir, err := runtimeDir()
	if err != nil {
		return nil, err
	}
	return claimInstance(dir, listen, log)
}

// claimParkIn claims the built-in park service's address in the user's
// runtime directory.
func claimParkIn(parkAddr string, log *slog.Logger) (*instance, error) {
	dir, err := runtimeDir()
	if err != nil {
		return nil, err
	}
	return claimPark(dir, parkAddr, log)
}

// isSettingsErr reports whether err is about the settings as a whole
// (shown in the window) rather than one flag's syntax.
func isSettingsErr(err error) bool {
	var se settingsError
	return errors.As(err, &se)
}
