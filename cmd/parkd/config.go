package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/assets"
	"github.com/switchboard/switchboard/internal/logflag"
	"github.com/switchboard/switchboard/internal/sipconn"
	"github.com/switchboard/switchboard/internal/wav"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
	"github.com/switchboard/switchboard/telephony/park/store"
)

// config is everything the flags decide.
type config struct {
	opts    park.Options // Logger is left nil: run sets it
	drain   time.Duration
	log     logflag.Options
	mohFile string // "" for the bundled music
	// stateDir is where the park store lives; "" with -state-dir none:
	// no store, calls end with the process.
	stateDir string
	// drainOnExit: a signal decommissions (rings every parker back,
	// waits up to drain, ends the rest) instead of keeping the calls.
	drainOnExit bool
	// memLimit is the soft memory limit in bytes (memory.go); 0: none.
	memLimit int64
}

// stateDirOff is the -state-dir value that runs without a store.
const stateDirOff = "none"

// flagSet declares parkd's flags. Every value is taken as a string and
// checked by parseConfig, so that each bad value gets its own reason.
type flagSet struct {
	fs *flag.FlagSet

	listen, advertise, orbits *string
	parkTime, ringback, drain *string
	fallback, moh, allow      *string
	outboundProxy             *string
	user, password            *string
	rtpPort                   *string
	probe, tcpIdle, tcpPerSrc *string
	stateDir                  *string
	drainOnExit               *bool
	memLimit                  *string
	senders, rtPriority       *string
	log                       *logflag.Flags
}

func newFlagSet() *flagSet {
	fs := flag.NewFlagSet("parkd", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return &flagSet{
		fs:            fs,
		listen:        fs.String("listen", park.DefaultListen, "SIP `address` (UDP and TCP); port 0 picks a free one"),
		advertise:     fs.String("advertise", "", "`IP` put in Contact and SDP when -listen is 0.0.0.0 (default: first non-loopback IPv4)"),
		orbits:        fs.String("orbits", telephony.DefaultLot.String(), "the lot: a `range` of orbit numbers"),
		parkTime:      fs.String("park-time", park.DefaultParkTime.String(), "the `duration` a call stays parked before it rings back its parker"),
		ringback:      fs.String("ringback", park.DefaultRingbackTime.String(), "the `duration` the parker (then the fallback) rings before the call returns to its orbit"),
		fallback:      fs.String("fallback", "", "SIP `URI` a call goes to when its parker does not answer the ring-back"),
		outboundProxy: fs.String("outbound-proxy", "", "SIP `URI` of the proxy the ring-backs go through (a loose route, ;lr implied)"),
		moh:           fs.String("moh", "", "music on hold, a WAV `file` of 8 kHz 16-bit mono PCM (default: the bundled music)"),
		allow:         fs.String("allow", "127.0.0.0/8,::1", "comma-separated `CIDRs` or addresses allowed to use the service"),
		user:          fs.String("user", "", "digest `username` required of INVITE and SUBSCRIBE (with -password)"),
		password:      fs.String("password", "", "digest `password` (with -user)"),
		drain:         fs.String("drain", park.DefaultDrain.String(), "on SIGINT or SIGTERM, the longest `duration` to wait for parked and bridged calls to leave"),
		rtpPort:       fs.String("rtp-port", "0", "even UDP `port` for media, RTCP on the next; 0 picks one"),
		probe:         fs.String("probe-interval", park.DefaultProbeInterval.String(), "how often a parked caller is probed with an in-dialog OPTIONS; 481, 408, or no answer for that long while its audio stopped too, takes it off its orbit as lost (`duration`)"),
		tcpIdle:       fs.String("tcp-idle", sipconn.DefaultIdleTimeout.String(), "close a TCP connection a peer opened once it said nothing for this `duration`; 0: never"),
		tcpPerSrc:     fs.String("tcp-per-source", strconv.Itoa(sipconn.DefaultMaxPerSource), "the most TCP connections one source address may hold open (`count`); 0: no cap"),
		stateDir:      fs.String("state-dir", "", "`directory` of the park store that keeps parked and bridged calls across restarts; none: no store (default: $STATE_DIRECTORY, else $XDG_STATE_HOME/switchboard/parkd, else ~/.local/state/switchboard/parkd)"),
		senders:       fs.String("senders", "0", "how many OS threads share each 20 ms music tick, each with its own descriptor of the RTP socket (`count`); 0: one per processor Go uses (GOMAXPROCS), at most 8 (Linux; elsewhere always 1)"),
		rtPriority:    fs.String("rt-priority", "10", "real-time `priority` (SCHED_RR, 1 to 99) of the music clock and its senders where the process may have it (root, CAP_SYS_NICE, or an RLIMIT_RTPRIO that high, as the systemd unit's LimitRTPRIO gives), else normal priority and one line saying so; 0: normal priority (Linux)"),
		memLimit:      fs.String("memory-limit", "none", "soft memory `limit` of the process, e.g. 128MiB: the Go runtime collects sooner as it nears it and returns what is above it; none: no limit"),
		drainOnExit:   fs.Bool("drain-on-exit", false, "on SIGINT or SIGTERM, decommission: ring back every parker, wait up to -drain, end the rest (default: keep every call for the next start)"),
		log:           logflag.Declare(fs),
	}
}

// printUsage writes the help text to w.
func printUsage(w io.Writer) {
	f := newFlagSet()
	fmt.Fprintf(w, "Usage: parkd [flags]\n\nparkd runs Switchboard's call-park service. Its SIP contract is\ndocs/PARK-PROTOCOL.md in Switchboard's source.\n\nFlags:\n")
	f.fs.SetOutput(w)
	f.fs.PrintDefaults()
}

// parseConfig parses and checks parkd's arguments. Its error names the
// flag, the value and the reason on one line, e.g.
// "-orbits 720-701: reversed range"; flag.ErrHelp means -h or -help.
func parseConfig(args []string) (config, error) {
	f := newFlagSet()
	if err := f.fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config{}, err
		}
		return config{}, fmt.Errorf("%w (parkd -help lists the flags)", err)
	}
	if f.fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected argument %q: parkd takes only flags", f.fs.Arg(0))
	}

	var c config
	var err error
	o := &c.opts

	if o.Listen, err = checkListen(*f.listen); err != nil {
		return c, flagErr("listen", *f.listen, err)
	}
	if *f.advertise != "" {
		a, err := netip.ParseAddr(*f.advertise)
		if err != nil {
			return c, flagErr("advertise", *f.advertise, errors.New("not an IP address"))
		}
		o.Advertise = a.String()
	}
	if o.Orbits, err = telephony.ParseLot(*f.orbits); err != nil {
		return c, flagErr("orbits", *f.orbits, err)
	}
	if o.ParkTime, err = parseDuration(*f.parkTime, false); err != nil {
		return c, flagErr("park-time", *f.parkTime, err)
	}
	if o.RingbackTime, err = parseDuration(*f.ringback, false); err != nil {
		return c, flagErr("ringback", *f.ringback, err)
	}
	if c.drain, err = parseDuration(*f.drain, true); err != nil {
		return c, flagErr("drain", *f.drain, err)
	}
	if *f.fallback != "" {
		if err := checkSIPURI(*f.fallback); err != nil {
			return c, flagErr("fallback", *f.fallback, err)
		}
		o.Fallback = *f.fallback
	}
	if *f.outboundProxy != "" {
		if err := checkSIPURI(*f.outboundProxy); err != nil {
			return c, flagErr("outbound-proxy", *f.outboundProxy, err)
		}
		o.OutboundProxy = *f.outboundProxy
	}
	if *f.moh != "" {
		if o.Music, err = readMusic(*f.moh); err != nil {
			return c, flagErr("moh", *f.moh, err)
		}
		c.mohFile = *f.moh
	} else {
		o.Music = assets.MusicOnHold()
	}
	if o.Allow, err = parseAllow(*f.allow); err != nil {
		return c, flagErr("allow", *f.allow, err)
	}
	switch {
	case *f.password != "" && *f.user == "":
		return c, errors.New("-password needs -user")
	case *f.user != "" && *f.password == "":
		return c, errors.New("-user needs -password")
	}
	o.Username, o.Password = *f.user, *f.password
	if o.RTPPort, err = parseRTPPort(*f.rtpPort); err != nil {
		return c, flagErr("rtp-port", *f.rtpPort, err)
	}
	if o.ProbeInterval, err = parseDuration(*f.probe, false); err != nil {
		return c, flagErr("probe-interval", *f.probe, err)
	}
	if o.TCPIdleTimeout, err = parseDuration(*f.tcpIdle, true); err != nil {
		return c, flagErr("tcp-idle", *f.tcpIdle, err)
	}
	if o.TCPIdleTimeout == 0 {
		o.TCPIdleTimeout = -1 // never: the option's negative
	}
	if n, err := strconv.Atoi(*f.tcpPerSrc); err != nil || n < 0 {
		return c, flagErr("tcp-per-source", *f.tcpPerSrc, errors.New("not a count of 0 or more"))
	} else if n == 0 {
		o.TCPMaxPerSource = -1 // no cap: the option's negative
	} else {
		o.TCPMaxPerSource = n
	}
	switch *f.stateDir {
	case stateDirOff:
	case "":
		if c.stateDir, err = store.DefaultDir("parkd"); err != nil {
			return c, fmt.Errorf("-state-dir: no default: %w (name one, or none)", err)
		}
	default:
		if c.stateDir, err = filepath.Abs(*f.stateDir); err != nil {
			return c, flagErr("state-dir", *f.stateDir, err)
		}
	}
	if n, err := strconv.Atoi(*f.senders); err != nil || n < 0 {
		return c, flagErr("senders", *f.senders, errors.New("not a count of 0 or more"))
	} else {
		o.Senders = n
	}
	if n, err := strconv.Atoi(*f.rtPriority); err != nil || n < 0 || n > 99 {
		return c, flagErr("rt-priority", *f.rtPriority, errors.New("not 0 (normal) or a real-time priority of 1 to 99"))
	} else {
		o.SenderPriority = n
	}
	c.drainOnExit = *f.drainOnExit
	if c.memLimit, err = parseSize(*f.memLimit); err != nil {
		return c, flagErr("memory-limit", *f.memLimit, err)
	}
	if c.log, err = f.log.Parse(); err != nil {
		return c, err
	}
	return c, nil
}

// flagErr is the one-line reason for a bad flag value.
func flagErr(name, value string, reason error) error {
	if value == "" {
		value = `""`
	}
	return fmt.Errorf("-%s %s: %w", name, value, reason)
}

// checkListen checks an IP:port to listen on and returns it as given.
func checkListen(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return "", errors.New("not an address like 127.0.0.1:5070")
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return "", fmt.Errorf("host %q is not an IP address (use 0.0.0.0 for every interface)", host)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "", fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return s, nil
}

// parseDuration parses a Go duration such as 120s or 2m; zero is allowed
// only when zeroOK.
func parseDuration(s string, zeroOK bool) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		return 0, errors.New("not a duration like 120s or 2m")
	case d < 0:
		return 0, errors.New("must not be negative")
	case d == 0 && !zeroOK:
		return 0, errors.New("must be more than zero")
	}
	return d, nil
}

// checkSIPURI accepts sip: and sips: URIs with a host.
func checkSIPURI(s string) error {
	bad := errors.New("not a SIP URI like sip:operator@pbx.example.com")
	var u sip.Uri
	if strings.ContainsAny(s, " \t<>") || sip.ParseUri(s, &u) != nil || u.Host == "" {
		return bad
	}
	if u.Scheme != "sip" && u.Scheme != "sips" {
		return bad
	}
	return nil
}

// readMusic reads a WAV file of 8 kHz 16-bit mono PCM, at least 20 ms long.
func readMusic(path string) ([]int16, error) {
	fh, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read: %w", err)
	}
	defer fh.Close()
	a, err := wav.Read(bufio.NewReader(fh))
	if err == nil {
		err = wav.Require8kMono16(a)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) { // e.g. a directory
			return nil, fmt.Errorf("cannot read: %w", pe.Err)
		}
		return nil, errors.New(strings.TrimPrefix(err.Error(), "wav: "))
	}
	if len(a.Samples) < 160 {
		return nil, fmt.Errorf("music on hold is %v long, shorter than one 20 ms packet", a.Duration())
	}
	return a.Samples, nil
}

// parseAllow parses the allowlist, naming the entry that is wrong.
func parseAllow(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, e := range strings.Split(s, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		p, err := park.ParseAllow(e)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR or IP address", e)
		}
		out = append(out, p...)
	}
	if len(out) == 0 {
		return nil, errors.New("no CIDR given (the default is 127.0.0.0/8,::1)")
	}
	return out, nil
}

// parseRTPPort parses the media port: 0, or an even port below 65535.
func parseRTPPort(s string) (int, error) {
	n, err := strconv.Atoi(s)
	switch {
	case err != nil || n < 0 || n > 65534:
		return 0, errors.New("not a port from 0 to 65534")
	case n%2 != 0:
		return 0, errors.New("must be even (RTCP takes the next port)")
	}
	return n, nil
}
