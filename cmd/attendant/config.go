package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/directory"
	"github.com/switchboard/switchboard/internal/demo"
	"github.com/switchboard/switchboard/internal/logflag"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park/store"
)

// config is what the flags decide. Settings are the console's settings
// with the flags given on the command line laid over the saved ones.
type config struct {
	settings app.Settings
	set      map[string]bool // the flags given

	user      string
	advertise string
	parkTime  time.Duration
	// stateDir is where the embedded park service keeps its calls
	// across restarts, and where the console keeps what it parked (the
	// tokens of its safe retrieves, keptparks) on any park service; ""
	// keeps none (-state-dir none, or an embedded park address with
	// port 0 and no -state-dir).
	stateDir string
	audio    string // "auto" or "none"
	// music is the embedded park service's music on hold; nil: the
	// bundled one (tests set a tone they can detect).
	music []int16
	// device, when set, is the phone's sound device instead of the
	// system's (tests: a tone device).
	device telephony.AudioDevice
	// probeInterval, when set, is the embedded park service's probe
	// interval instead of its default (tests: a short one).
	probeInterval time.Duration

	demo         bool
	demoInterval time.Duration
	demoMax      int
	demoGiveUp   float64
	demoSeed     uint64

	stateLog   string
	directory  *directory.Options // the People pane's; nil: no pane
	log        logflag.Options
	showHelp   bool
	version    bool
	resetPrefs bool
}

// flagSet declares the console's flags; every value is a string checked
// by parseConfig, so that each bad value gets its own reason.
type flagSet struct {
	fs *flag.FlagSet

	listen, advertise, user, displayName                 *string
	account, username, password, registrar, outbound     *string
	tlsCA, tlsCert, tlsKey, srtp                         *string
	parkDirected                                         *bool
	park, parkListen, orbits, parkTime, stateDir         *string
	parkAny, parkOrbit, parkRetrieve, parkSafe, parkLamp *string
	audio                                                *string
	demo                                                 *bool
	demoInterval, demoMax, demoGiveUp, demoSeed          *string
	stateLog                                             *string
	directory                                            directoryFlags
	log                                                  *logflag.Flags
	version, reset                                       *bool
}

func newFlagSet() *flagSet {
	fs := flag.NewFlagSet("attendant", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	d := app.DefaultSettings()
	return &flagSet{
		fs:           fs,
		listen:       fs.String("listen", d.Listen, "SIP `address` of the console, UDP and TCP on one port; port 0 picks a free one"),
		advertise:    fs.String("advertise", "", "`IP` put in Contact and SDP when -listen is 0.0.0.0"),
		user:         fs.String("user", "console", "the user part of the console's address when there is no account"),
		displayName:  fs.String("display-name", "", "`name` shown to those the console calls"),
		account:      fs.String("account", "", "PBX account `AOR` to register, e.g. sip:reception@pbx.example (none: take direct calls only)"),
		username:     fs.String("username", "", "digest `user` name of the account (default: the AOR's user)"),
		password:     fs.String("password", "", "digest `password` of the account (or set SWITCHBOARD_PASSWORD)"),
		registrar:    fs.String("registrar", "", "registrar `URI` (default: the AOR's host)"),
		outbound:     fs.String("outbound-proxy", "", "outbound proxy `URI or host:port`"),
		tlsCA:        fs.String("tls-ca", "", "PEM `file` of the CA that signs the PBX's certificate, for a TLS registrar or outbound proxy (sips: or ;transport=tls; default: the system's CAs)"),
		tlsCert:      fs.String("tls-cert", "", "PEM `file` of a client certificate to show the PBX over TLS (optional, with -tls-key)"),
		tlsKey:       fs.String("tls-key", "", "PEM `file` of the client certificate's key (with -tls-cert)"),
		srtp:         fs.String("srtp", "off", "encrypted audio (SRTP keyed by SDES) on the calls of a TLS account: off, offered (plain RTP with a far end without it) or required (no call without it)"),
		park:         fs.String("park", app.ParkEmbedded, "park `service`: embedded (run one in the console), host:port of a Switchboard park service (parkd), or off"),
		parkListen:   fs.String("park-listen", d.ParkService, "`address` the embedded park service listens on"),
		orbits:       fs.String("orbits", d.Orbits.String(), "the lot: a `range` of orbit numbers"),
		parkTime:     fs.String("park-time", "2m", "the embedded service's park `time` before it rings the parker back"),
		stateDir:     fs.String("state-dir", "", "`directory` where the embedded park service keeps its parked and bridged calls while the console is closed, and the console what it parked on any park service (so that it retrieves them safely after a restart) (default: the user's state directory, e.g. ~/.local/state/switchboard/console; none with a -park-listen on port 0); none: keep no calls"),
		parkAny:      fs.String("park-any", "", "another PBX's park `URI`, e.g. sip:700@pbx (with the other -park-* templates; {orbit} is the orbit number)"),
		parkOrbit:    fs.String("park-orbit", "", "another PBX's park-on-orbit URI `template`, e.g. sip:park-{orbit}@pbx (optional)"),
		parkDirected: fs.Bool("park-directed", false, "with -park-orbit, park on the orbit chosen in the window; off, the PBX picks it (-park-any) and the window says which (Asterisk re-slots a directed park onto a busy slot silently)"),
		parkRetrieve: fs.String("park-retrieve", "", "another PBX's retrieve URI `template`, e.g. sip:{orbit}@pbx"),
		parkSafe:     fs.String("park-safe-retrieve", "", "another PBX's safe-retrieve URI `template` with {token} (optional)"),
		parkLamp:     fs.String("park-lamp", "", "another PBX's busy-lamp URI `template`, e.g. sip:{orbit}@pbx"),
		audio:        fs.String("audio", "auto", "sound `device`: auto (the system's) or none (calls without local audio)"),
		demo:         fs.Bool("demo", false, "add simulated callers that ring the console now and then"),
		demoInterval: fs.String("demo-interval", demo.DefaultInterval.String(), "mean `time` between two demo calls"),
		demoMax:      fs.String("demo-max", strconv.Itoa(demo.DefaultMaxCalls), "most demo `calls` at once"),
		demoGiveUp:   fs.String("demo-giveup", strconv.FormatFloat(demo.DefaultGiveUp, 'g', -1, 64), "`chance` (0-1) that a parked demo caller hangs up"),
		demoSeed:     fs.String("demo-seed", "0", "`seed` of the demo's choices (0: random)"),
		stateLog:     fs.String("state-log", "", "write what the window shows, one JSON line per change, to `file` (for tests and tools)"),
		directory:    declareDirectoryFlags(fs),
		log:          logflag.Declare(fs),
		version:      fs.Bool("version", false, "print the version and exit"),
		reset:        fs.Bool("reset-settings", false, "forget the saved settings and use the defaults and flags"),
	}
}

// printUsage writes the help text to w.
func printUsage(w io.Writer) {
	f := newFlagSet()
	fmt.Fprint(w, `Usage: attendant [flags]

attendant is Switchboard's attendant console: a window with the lines and
the park service's orbits. With no configuration it takes SIP calls on
127.0.0.1:5060 and runs its own park service on 127.0.0.1:5070 with
orbits 701-720. Try it with -demo: simulated callers ring every few
seconds.

Flags given here win over the settings saved from the window.

Flags:
`)
	f.fs.SetOutput(w)
	f.fs.PrintDefaults()
}

// parseConfig parses args over saved settings; the error names the flag
// and the reason.
func parseConfig(args []string, saved app.Settings) (config, error) {
	f := newFlagSet()
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{showHelp: true}, nil
		}
		return config{}, err
	}
	if f.fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q (flags only; see -help)", f.fs.Arg(0))
	}
	c := config{settings: saved, set: map[string]bool{}, version: *f.version, resetPrefs: *f.reset}
	f.fs.Visit(func(fl *flag.Flag) { c.set[fl.Name] = true })
	if c.resetPrefs {
		c.settings = app.DefaultSettings()
	}
	s := &c.settings
	str := func(name string, dst *string, v *string) {
		if c.set[name] {
			*dst = strings.TrimSpace(*v)
		}
	}
	str("listen", &s.Listen, f.listen)
	str("display-name", &s.DisplayName, f.displayName)
	str("account", &s.AccountAOR, f.account)
	str("username", &s.Username, f.username)
	str("password", &s.Password, f.password)
	str("registrar", &s.Registrar, f.registrar)
	str("outbound-proxy", &s.OutboundProxy, f.outbound)
	str("tls-ca", &s.TLSCAFile, f.tlsCA)
	str("tls-cert", &s.TLSCertFile, f.tlsCert)
	str("tls-key", &s.TLSKeyFile, f.tlsKey)
	str("park-any", &s.ParkAny, f.parkAny)
	str("park-orbit", &s.ParkOrbit, f.parkOrbit)
	str("park-retrieve", &s.ParkRetrieve, f.parkRetrieve)
	str("park-safe-retrieve", &s.ParkSafeRetrieve, f.parkSafe)
	str("park-lamp", &s.ParkLamp, f.parkLamp)
	if c.set["park-directed"] {
		s.ParkDirected = *f.parkDirected
	}
	if c.set["srtp"] {
		switch v := strings.ToLower(strings.TrimSpace(*f.srtp)); v {
		case "off":
			s.SRTP = app.SRTPOff
		case app.SRTPOffered, app.SRTPRequired:
			s.SRTP = v
		default:
			return c, flagErr("srtp", *f.srtp, errors.New("want off, offered or required"))
		}
	}
	if pw := os.Getenv("SWITCHBOARD_PASSWORD"); pw != "" && !c.set["password"] {
		s.Password = pw
	}
	c.user = strings.TrimSpace(*f.user)
	c.advertise = strings.TrimSpace(*f.advertise)
	if c.advertise != "" && net.ParseIP(c.advertise) == nil {
		return c, flagErr("advertise", c.advertise, errors.New("not an IP address"))
	}

	switch p := strings.TrimSpace(*f.park); {
	case !c.set["park"]:
		if c.set["park-any"] || c.set["park-retrieve"] || c.set["park-lamp"] {
			s.ParkMode = app.ParkTemplates
		}
	case p == app.ParkEmbedded:
		s.ParkMode = app.ParkEmbedded
	case p == app.ParkOff:
		s.ParkMode = app.ParkOff
	default:
		if _, _, err := net.SplitHostPort(p); err != nil {
			return c, flagErr("park", p, errors.New("want embedded, off or host:port of a park service"))
		}
		s.ParkMode, s.ParkService = app.ParkService, p
	}
	if c.set["park-listen"] {
		if s.ParkMode != app.ParkEmbedded {
			return c, flagErr("park-listen", *f.parkListen, errors.New("only for the embedded park service (-park embedded)"))
		}
		s.ParkService = strings.TrimSpace(*f.parkListen)
	}
	if c.set["orbits"] {
		lot, err := telephony.ParseLot(*f.orbits)
		if err != nil {
			return c, flagErr("orbits", *f.orbits, errors.New("not a range like 701-720, low to high"))
		}
		s.Orbits = lot
	}
	var err error
	if c.parkTime, err = time.ParseDuration(*f.parkTime); err != nil || c.parkTime <= 0 {
		return c, flagErr("park-time", *f.parkTime, errors.New("not a positive duration like 90s or 2m"))
	}
	if c.stateDir, err = stateDirOf(c.set["state-dir"], strings.TrimSpace(*f.stateDir), s); err != nil {
		return c, err
	}
	switch c.audio = *f.audio; c.audio {
	case "auto", "none":
	default:
		return c, flagErr("audio", c.audio, errors.New("want auto or none"))
	}

	c.demo = *f.demo
	if c.demoInterval, err = time.ParseDuration(*f.demoInterval); err != nil || c.demoInterval <= 0 {
		return c, flagErr("demo-interval", *f.demoInterval, errors.New("not a positive duration like 8s"))
	}
	if c.demoMax, err = strconv.Atoi(*f.demoMax); err != nil || c.demoMax < 1 {
		return c, flagErr("demo-max", *f.demoMax, errors.New("not a number of calls, 1 or more"))
	}
	if c.demoGiveUp, err = strconv.ParseFloat(*f.demoGiveUp, 64); err != nil || c.demoGiveUp < 0 || c.demoGiveUp > 1 {
		return c, flagErr("demo-giveup", *f.demoGiveUp, errors.New("not a chance from 0 to 1"))
	}
	if c.demoSeed, err = strconv.ParseUint(*f.demoSeed, 10, 64); err != nil {
		return c, flagErr("demo-seed", *f.demoSeed, errors.New("not a number"))
	}
	c.stateLog = *f.stateLog
	if err := f.directory.parse(c.set, s); err != nil {
		return c, err
	}
	if c.log, err = f.log.Parse(); err != nil {
		return c, err
	}
	if err := s.Validate(); err != nil {
		return c, settingsError{err}
	}
	c.directory, _ = s.Directory() // its errors are Validate's
	return c, nil
}

// settingsError is a configuration that is wrong as a whole (flags over
// saved settings), which the window shows with the settings dialog.
type settingsError struct{ err error }

// Error says what is wrong.
func (e settingsError) Error() string { return "bad settings: " + e.err.Error() }

// Unwrap returns the cause.
func (e settingsError) Unwrap() error { return e.err }

func flagErr(name, value string, reason error) error {
	return fmt.Errorf("-%s %s: %w", name, value, reason)
}

// oneLine folds a multi-line error onto one line for stderr.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// stateDirName names the embedded park service's state directory under
// the user's (store.DefaultDir).
const stateDirName = "console"

// stateDirOf is where the embedded park service keeps its calls and
// the console what it parked: the -state-dir given ("none": nowhere),
// else the user's state directory; for the embedded service only when
// it listens on a fixed port. On port 0 its address changes at every
// start, and calls kept for an address nobody will listen on again
// would never come back: it keeps none.
func stateDirOf(given bool, dir string, s *app.Settings) (string, error) {
	switch {
	case given && dir == "":
		return "", flagErr("state-dir", `""`, errors.New("want a directory, or none"))
	case given && dir == "none":
		return "", nil
	case given:
		return dir, nil
	}
	if _, port, err := net.SplitHostPort(s.ParkService); s.ParkMode == app.ParkEmbedded && (err != nil || port == "0") {
		return "", nil
	}
	d, err := store.DefaultDir(stateDirName)
	if err != nil {
		return "", nil // no home: the service keeps no calls, start says so
	}
	return d, nil
}
