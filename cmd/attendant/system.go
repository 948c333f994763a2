package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/assets"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/audio"
	"github.com/switchboard/switchboard/telephony/park"
	"github.com/switchboard/switchboard/telephony/park/store"
	"github.com/switchboard/switchboard/telephony/sip"
	"github.com/switchboard/switchboard/telephony/sip/keptparks"
)

// system is the console's telephony: the sound device, the embedded
// park service (if any), the user agent and the demo callers.
type system struct {
	log    *slog.Logger
	sound  *audio.Device // nil: none
	status app.AudioStatus
	park   *park.Service
	// store keeps the embedded park service's calls while the console
	// is closed; nil: they end with it. restored: the service took calls
	// back from it at this start.
	store    *store.SQLite
	restored bool
	// kept keeps what this console parked (their tokens) for its next
	// start, on whichever park service; nil: nothing kept.
	kept   *keptparks.SQLite
	phone  *sip.Phone
	demo   *demo.Demo
	cancel context.CancelFunc

	// drainStop cancels a "Ring back now" drain in progress; drainWG is
	// its goroutine.
	drainMu   sync.Mutex
	drainStop context.CancelFunc
	drainWG   sync.WaitGroup
}

// startError is a failure to start, worded for the receptionist.
type startError struct {
	what string // "SIP address 127.0.0.1:5060", "park service"...
	err  error
	hint string
}

// Error says what failed, why, and what to do.
func (e *startError) Error() string {
	s := e.what + ": " + e.err.Error()
	if e.hint != "" {
		s += "\n" + e.hint
	}
	return s
}

// Unwrap returns the cause.
func (e *startError) Unwrap() error { return e.err }

// start brings the telephony up; on failure it undoes what it started.
func start(ctx context.Context, c config, log *slog.Logger) (_ *system, err error) {
	s := c.settings
	ctx, cancel := context.WithCancel(ctx)
	sys := &system{log: log, cancel: cancel}
	defer func() {
		if err != nil {
			sys.stop()
		}
	}()

	// The addresses first, so that a busy port gets a clear word.
	if err := checkFree(s.Listen); err != nil {
		return nil, &startError{what: "SIP address " + s.Listen, err: err,
			hint: "Another program (perhaps another Switchboard) uses it: stop it, or choose another address with -listen or in Settings."}
	}
	if s.ParkMode == app.ParkEmbedded {
		if err := checkFree(s.ParkService); err != nil {
			return nil, &startError{what: "park service address " + s.ParkService, err: err,
				hint: "Another program uses it; if it is a Switchboard park service (parkd), use it with -park " + s.ParkService +
					", or move the built-in one with -park-listen."}
		}
	}

	sys.openAudio(ctx, c)

	var pc sip.ParkConfig
	switch s.ParkMode {
	case app.ParkEmbedded:
		music := c.music
		if music == nil {
			music = assets.MusicOnHold()
		}
		var st store.Store
		if c.stateDir != "" {
			sq, err := openStore(c.stateDir, s.ParkService)
			if err != nil {
				return nil, err
			}
			sys.store, st = sq, sq
		}
		svc, err := park.New(park.Options{
			Listen:        s.ParkService,
			Orbits:        s.Orbits,
			ParkTime:      c.parkTime,
			Music:         music,
			Store:         st,
			ProbeInterval: c.probeInterval,
			Logger:        log.With("component", "park"),
		})
		if err != nil {
			return nil, &startError{what: "park service", err: errors.New(strings.TrimPrefix(err.Error(), "park: "))}
		}
		if err := svc.Start(ctx); err != nil {
			return nil, &startError{what: "park service", err: errors.New(strings.TrimPrefix(err.Error(), "park: "))}
		}
		sys.park = svc
		if sys.store != nil {
			p, b := svc.Held()
			sys.restored = p+b > 0
			log.Info("park service keeps its calls", "state_dir", c.stateDir, "parked", p, "bridged", b)
		}
		pc = sip.ServiceTemplates(svc.HostPort(), s.Orbits)
	case app.ParkService:
		pc = sip.ServiceTemplates(s.ParkService, s.Orbits)
	case app.ParkTemplates:
		pc = sip.ParkConfig{ParkAny: s.ParkAny, ParkOrbit: s.ParkOrbit, Retrieve: s.ParkRetrieve,
			SafeRetrieve: s.ParkSafeRetrieve, Lamp: s.ParkLamp, Orbits: s.Orbits}
	}

	var dev telephony.AudioDevice = audio.NewSilent(ctx)
	if sys.sound != nil {
		dev = sys.sound
	}
	if c.device != nil {
		dev = c.device
	}
	// What this console parks is kept in its state directory, so that
	// after a restart its retrieves of those calls still send their
	// tokens (safe retrieve): written by the phone off the window's
	// goroutine, forgotten as each park ends.
	// A console on port 0 with no account has another address at every
	// start: nothing kept would be its own.
	var kept sip.KeptParks
	me := s.AccountAOR
	if _, port, err := net.SplitHostPort(s.Listen); me == "" && err == nil && port != "0" {
		me = "sip:" + c.user + "@" + s.Listen
	}
	if c.stateDir != "" && pc.Enabled() && me != "" {
		kp, err := keptparks.Open(c.stateDir, me, pc.Retrieve)
		if err != nil {
			log.Warn("what this console parks cannot be kept: after a restart it retrieves them with the plain retrieve", "state_dir", c.stateDir, "error", err)
		} else {
			sys.kept, kept = kp, kp
		}
	}
	cfg := sip.Config{
		KeptParks:   kept,
		User:        c.user,
		DisplayName: s.DisplayName,
		Listen: []sip.Listener{
			{Transport: "udp", Addr: s.Listen, Advertise: c.advertise},
			{Transport: "tcp", Addr: s.Listen, Advertise: c.advertise},
		},
		Account: sip.Account{AOR: s.AccountAOR, Username: s.Username, Password: s.Password,
			Registrar: s.Registrar, OutboundProxy: s.OutboundProxy,
			CAFile: s.TLSCAFile, CertFile: s.TLSCertFile, KeyFile: s.TLSKeyFile, SRTP: accountSRTP(s.SRTP)},
		Park:   pc,
		Audio:  dev,
		Logger: log.With("component", "sip"),
	}
	phone, err := sip.New(cfg)
	if err != nil {
		return nil, &startError{what: "configuration", err: errors.New(strings.TrimPrefix(err.Error(), "sip: invalid configuration: "))}
	}
	sys.phone = phone
	return sys, nil
}

// startPhone makes the user agent listen and starts the demo; call it
// once the window drains the phone's events.
func (sys *system) startPhone(ctx context.Context, c config) error {
	if sys.restored {
		// The calls it took back were parked before this start: one whose
		// caller left meanwhile is lost in the restart, said so. Before
		// Start: the restored service's first probe can reach the lamps
		// before Start returns.
		sys.phone.NoteParkRestart()
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sys.phone.Start(sctx); err != nil {
		what := "SIP address " + c.settings.Listen
		if isAddrInUse(err) {
			return &startError{what: what, err: errors.New("address already in use"),
				hint: "Another program uses it: stop it, or choose another address with -listen or in Settings."}
		}
		return &startError{what: what, err: errors.New(strings.TrimPrefix(err.Error(), "sip: "))}
	}
	if !c.demo {
		return nil
	}
	target := sys.phone.AOR()
	if ap := sys.phone.Addr("udp"); ap.IsValid() {
		host := ap.Addr()
		if host.IsUnspecified() {
			host = netip.MustParseAddr("127.0.0.1")
		}
		target = "sip:" + c.user + "@" + net.JoinHostPort(host.String(), strconv.Itoa(int(ap.Port())))
	}
	opts := demo.Options{
		Console:  target,
		Interval: c.demoInterval,
		MaxCalls: c.demoMax,
		GiveUp:   c.demoGiveUp,
		Seed:     c.demoSeed,
		Logger:   sys.log,
	}
	if c.demoGiveUp == 0 {
		opts.GiveUp = -1
	}
	if svc := sys.park; svc != nil {
		opts.StillParked = func(uri string) bool {
			for _, o := range svc.State() {
				if o.Occupied && sameUser(o.CallerURI, uri) {
					return true
				}
			}
			return false
		}
	}
	d, err := demo.New(opts)
	if err == nil {
		err = d.Start(ctx)
	}
	if err != nil {
		return &startError{what: "demo callers", err: err}
	}
	sys.demo = d
	return nil
}

// sameUser compares the user parts of two SIP URIs.
func sameUser(a, b string) bool {
	user := func(s string) string {
		s = strings.TrimPrefix(strings.TrimPrefix(s, "sips:"), "sip:")
		u, _, _ := strings.Cut(s, "@")
		return u
	}
	return user(a) != "" && user(a) == user(b)
}

// openAudio opens the sound device, or notes why there is none.
func (sys *system) openAudio(ctx context.Context, c config) {
	if c.audio == "none" {
		sys.status = app.AudioStatus{Available: false, Text: "turned off (-audio none)"}
		return
	}
	s := c.settings
	dev, err := audio.Open(ctx, audio.Options{
		Playback: s.Playback, Capture: s.Capture, Ring: s.RingDevice,
		Logf: func(format string, args ...any) { sys.log.Debug(fmt.Sprintf(format, args...), "component", "audio") },
	})
	if err != nil {
		sys.log.Warn("no sound device: calls go on without local audio", "error", err)
		sys.status = app.AudioStatus{Available: false, Text: strings.TrimPrefix(err.Error(), "audio: ")}
		return
	}
	sys.sound = dev
	// A device can be listed and still not open (ALSA's default with no
	// card behind it): try the stream once, briefly.
	pctx, cancel := context.WithCancel(ctx)
	err = dev.Preview(pctx)
	cancel()
	if err != nil {
		sys.log.Warn("the sound device does not open: calls go on without local audio until it does", "error", err)
		sys.status = app.AudioStatus{Available: false, Text: strings.TrimPrefix(err.Error(), "audio: ")}
		return
	}
	sys.status = app.AudioStatus{Available: true, Text: deviceName(dev, s.Playback)}
}

// deviceName names the headset for the status bar.
func deviceName(dev *audio.Device, id string) string {
	play, _, err := dev.Devices()
	if err != nil {
		return "default device"
	}
	for _, d := range play {
		if (id == "" && d.Default) || (id != "" && d.ID == id) {
			return d.Name
		}
	}
	return "default device"
}

// watchAudio shows the sound device's changes in the window until ctx
// ends.
func (sys *system) watchAudio(ctx context.Context, console *app.Console) {
	if sys.sound == nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-sys.sound.Events():
			switch ev.Kind {
			case audio.EventUnavailable:
				console.SetAudioStatus(app.AudioStatus{Available: false, Text: strings.TrimPrefix(ev.String(), "audio unavailable: ")})
			case audio.EventRestored:
				console.SetAudioStatus(app.AudioStatus{Available: true, Text: "restored"})
			case audio.EventFallback:
				console.SetAudioStatus(app.AudioStatus{Available: true, Text: "default device (the chosen one went away)"})
			}
		}
	}
}

// stop ends everything, the calls first.
func (sys *system) stop() {
	if sys.demo != nil {
		sys.demo.Close()
	}
	if sys.phone != nil {
		_ = sys.phone.Close()
	}
	sys.closeKept()
	if sys.park != nil && sys.store == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		_ = sys.park.Shutdown(ctx)
		cancel()
	}
	sys.closePark()
	sys.cancel()
	if sys.sound != nil {
		_ = sys.sound.Close()
	}
}

// closePark stops the embedded park service: with a store its calls
// stay there for the next start, without one they are hung up. A drain
// in progress ends after the service closed, so that what it left is
// kept, not hung up.
func (sys *system) closePark() {
	if sys.park != nil {
		sys.park.Close()
	}
	sys.drainMu.Lock()
	if sys.drainStop != nil {
		sys.drainStop()
	}
	sys.drainMu.Unlock()
	sys.drainWG.Wait()
	if sys.store != nil {
		if err := sys.store.Close(); err != nil {
			sys.log.Warn("park store: close", "error", err)
		}
	}
}

// closeKept closes the file of what this console parked, once the
// phone (its writer) has closed.
func (sys *system) closeKept() {
	if sys.kept == nil {
		return
	}
	if err := sys.kept.Close(); err != nil {
		sys.log.Warn("kept parks: close", "error", err)
	}
	sys.kept = nil
}

// ringBackNow drains the embedded park service: every parked call rings
// back its parker (this console) now, new parks are refused, and once no
// call is parked on or bridged through the service it closes and done
// runs (on the drain's goroutine). A close meanwhile (closePark) ends the
// drain without done, keeping in the store what is left.
func (sys *system) ringBackNow(done func()) {
	if sys.park == nil {
		return
	}
	sys.drainMu.Lock()
	defer sys.drainMu.Unlock()
	if sys.drainStop != nil {
		return // draining already
	}
	ctx, cancel := context.WithCancel(context.Background())
	sys.drainStop = cancel
	svc := sys.park
	sys.drainWG.Go(func() {
		err := svc.Shutdown(ctx)
		if ctx.Err() != nil {
			return // the console closed first
		}
		if err != nil {
			sys.log.Warn("ring back now: drain", "error", err)
		}
		sys.log.Info("ring back now: every call rang back and ended; closing")
		done()
	})
}

// stopNow ends everything at once, the calls first, for a console that
// closes: the built-in park service keeps its calls in its store for the
// next start, or without one hangs them up, instead of draining (ringing
// back this very console).
func (sys *system) stopNow() {
	if sys.demo != nil {
		sys.demo.Close()
	}
	if sys.phone != nil {
		_ = sys.phone.Close()
	}
	sys.closeKept()
	sys.closePark()
	sys.cancel()
	if sys.sound != nil {
		_ = sys.sound.Close()
	}
}

// closeQuestion says what closing the window would do to calls: the
// calls on the lines are hung up; the parked ones stay in the built-in
// park service's store for the next start (or end with it when it has
// none), or stay on a separate service.
func (sys *system) closeQuestion() app.CloseQuestion {
	var q app.CloseQuestion
	throughUs := 0 // calls on the lines bridged through the built-in service
	for _, c := range sys.phone.Calls() {
		switch {
		case c.State == telephony.StateEnded:
		case c.State == telephony.StateParkedAway && !c.Relayed: // on the park service: counted below
		default:
			q.Lines++ // ringing, dialing, live, held, being parked, relayed by this console
			if c.RetrievedFrom != 0 || c.BackFrom != 0 {
				throughUs++
			}
		}
	}
	if sys.park != nil {
		if sys.store == nil {
			q.Parked = sys.park.Parked()
			return q
		}
		parked, bridged := sys.park.Held()
		q.Parked, q.Bridged, q.ParkedReturn = parked, max(0, bridged-throughUs), true
		return q
	}
	q.ParkedStay = true
	for _, o := range sys.phone.Orbits() {
		if o.Occupied && o.ParkedByMe {
			q.Parked++
		}
	}
	return q
}

// checkFree reports whether the UDP and TCP port of addr can be bound
// (port 0 always can).
func checkFree(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "0" {
		return nil // the user agent words a bad address itself
	}
	u, err := net.ListenPacket("udp", net.JoinHostPort(host, port))
	if err != nil {
		return listenErr(err)
	}
	u.Close()
	t, err := net.Listen("tcp", net.JoinHostPort(host, port))
	if err != nil {
		return listenErr(err)
	}
	t.Close()
	return nil
}

func listenErr(err error) error {
	switch {
	case isAddrInUse(err):
		return errors.New("address already in use")
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return errors.New("no such address on this computer")
	case errors.Is(err, syscall.EACCES):
		return errors.New("permission denied (ports below 1024 need privileges)")
	}
	return err
}

func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

// soundAdapter is the sound device as the window uses it.
type soundAdapter struct{ dev *audio.Device }

func (s soundAdapter) Ring(ctx context.Context) (func(), error) { return s.dev.Ring(ctx) }
func (s soundAdapter) Beep() bool                               { return s.dev.Beep() }
func (s soundAdapter) SetDevices(p, c string) error             { return s.dev.SetDevices(p, c) }
func (s soundAdapter) SetRingDevice(id string) error            { return s.dev.SetRingDevice(id) }
func (s soundAdapter) Devices() (playback, capture []app.AudioDevice, err error) {
	p, c, err := s.dev.Devices()
	conv := func(in []audio.DeviceInfo) []app.AudioDevice {
		out := make([]app.AudioDevice, len(in))
		for i, d := range in {
			out[i] = app.AudioDevice{ID: d.ID, Name: d.Name, Default: d.Default}
		}
		return out
	}
	return conv(p), conv(c), err
}

// openStore opens the embedded park service's store in dir, worded for
// the receptionist when another Switchboard holds it.
func openStore(dir, parkAddr string) (*store.SQLite, error) {
	st, err := store.Open(dir)
	switch {
	case err == nil:
		return st, nil
	case errors.Is(err, store.ErrInUse):
		return nil, &startError{what: "parked calls in " + dir, err: errInUseByAnother,
			hint: "Another Switchboard keeps its parked calls there: use that window, or give this one its own directory with -state-dir (or -state-dir none)."}
	case errors.Is(err, store.ErrNewerSchema):
		return nil, &startError{what: "parked calls in " + dir, err: errors.New("kept by a newer Switchboard"),
			hint: "Start the newer Switchboard to take them back, or start this one with another -state-dir."}
	}
	return nil, &startError{what: "parked calls in " + dir, err: errors.New(strings.TrimPrefix(err.Error(), "park store: ")),
		hint: "Start with another -state-dir, or -state-dir none to keep no calls (the park service at " + parkAddr + " then ends them when the console closes)."}
}

// errInUseByAnother is a store or an address another Switchboard holds.
var errInUseByAnother = errors.New("in use by another Switchboard")
