package main

import (
	"errors"
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/switchboard/switchboard/assets"
	"github.com/switchboard/switchboard/internal/wav"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/park"
)

// writeWAV writes n frames of a quiet ramp at rate Hz and ch channels.
func writeWAV(t *testing.T, name string, rate, ch, n int) string {
	t.Helper()
	a := &wav.Audio{SampleRate: rate, Channels: ch, BitsPerSample: 16, Samples: make([]int16, n*ch)}
	for i := range a.Samples {
		a.Samples[i] = int16(i % 1000)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := wav.WriteFile(p, a); err != nil {
		t.Fatal(err)
	}
	return p
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	o := c.opts
	if o.Listen != "127.0.0.1:5070" || o.Advertise != "" || o.Orbits != (telephony.Lot{First: 701, Last: 720}) ||
		o.ParkTime != 120*time.Second || o.RingbackTime != 30*time.Second || o.Fallback != "" ||
		o.Username != "" || o.Password != "" || o.RTPPort != 0 || c.drain != 60*time.Second {
		t.Fatalf("defaults = %+v, drain %v", o, c.drain)
	}
	if want := park.DefaultAllow(); !slices.Equal(o.Allow, want) {
		t.Fatalf("default allow = %v, want %v", o.Allow, want)
	}
	if len(o.Music) == 0 || len(o.Music) != len(assets.MusicOnHold()) || c.mohFile != "" {
		t.Fatalf("default music: %d samples from %q, want the bundled music", len(o.Music), c.mohFile)
	}
	if c.log.Level.String() != "INFO" || c.log.JSON {
		t.Fatalf("default logs: level %v json %v, want INFO text", c.log.Level, c.log.JSON)
	}
	if o.Logger != nil {
		t.Fatal("parseConfig set a logger; run makes it")
	}
	if _, err := park.New(o); err != nil {
		t.Fatalf("the defaults do not make a service: %v", err)
	}
}

func TestParseConfigEveryFlag(t *testing.T) {
	moh := writeWAV(t, "hold.wav", 8000, 1, 8000)
	c, err := parseConfig([]string{
		"-listen", "0.0.0.0:5080", "-advertise", "192.0.2.10", "-orbits", "800-849",
		"-park-time", "90s", "-ringback", "15s", "-fallback", "sip:operator@pbx.example.com;transport=tcp",
		"-moh", moh, "-allow", "10.0.0.0/8, 192.0.2.7,::1", "-user", "park", "-password", "s3cret",
		"-drain", "0s", "-rtp-port", "40000", "-log-level", "debug", "-log-format", "json",
		"-probe-interval", "45s", "-tcp-idle", "0", "-tcp-per-source", "8", "-senders", "3",
		"-rt-priority", "20",
		"-outbound-proxy", "sip:edge.example.com:5060;transport=tcp",
	})
	if err != nil {
		t.Fatal(err)
	}
	o := c.opts
	if o.Listen != "0.0.0.0:5080" || o.Advertise != "192.0.2.10" || o.Orbits != (telephony.Lot{First: 800, Last: 849}) ||
		o.ParkTime != 90*time.Second || o.RingbackTime != 15*time.Second ||
		o.Fallback != "sip:operator@pbx.example.com;transport=tcp" ||
		o.Username != "park" || o.Password != "s3cret" || o.RTPPort != 40000 || c.drain != 0 ||
		o.ProbeInterval != 45*time.Second || o.TCPIdleTimeout >= 0 || o.TCPMaxPerSource != 8 ||
		o.OutboundProxy != "sip:edge.example.com:5060;transport=tcp" || o.Senders != 3 || o.SenderPriority != 20 {
		t.Fatalf("config = %+v, drain %v", o, c.drain)
	}
	wantAllow := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32"), netip.MustParsePrefix("::1/128")}
	if !slices.Equal(o.Allow, wantAllow) {
		t.Fatalf("allow = %v, want %v", o.Allow, wantAllow)
	}
	if len(o.Music) != 8000 || c.mohFile != moh {
		t.Fatalf("music: %d samples from %q, want 8000 from %q", len(o.Music), c.mohFile, moh)
	}
	if c.log.Level.String() != "DEBUG" || !c.log.JSON {
		t.Fatalf("logs: level %v json %v, want DEBUG json", c.log.Level, c.log.JSON)
	}
	if _, err := park.New(o); err != nil {
		t.Fatalf("the flags do not make a service: %v", err)
	}
}

func TestParseConfigSingleOrbit(t *testing.T) {
	c, err := parseConfig([]string{"-orbits", "701"})
	if err != nil {
		t.Fatal(err)
	}
	if c.opts.Orbits != (telephony.Lot{First: 701, Last: 701}) {
		t.Fatalf("orbits = %v, want 701-701", c.opts.Orbits)
	}
}

func TestParseConfigHelp(t *testing.T) {
	for _, arg := range []string{"-h", "-help", "--help"} {
		if _, err := parseConfig([]string{arg}); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s: %v, want flag.ErrHelp", arg, err)
		}
	}
}

// TestParseConfigBadFlags checks the one-line reason of every bad flag.
func TestParseConfigBadFlags(t *testing.T) {
	stereo := writeWAV(t, "stereo.wav", 44100, 2, 4410)
	wideband := writeWAV(t, "wideband.wav", 16000, 1, 1600)
	short := writeWAV(t, "short.wav", 8000, 1, 100)
	text := writeFile(t, "notes.txt", "these are not the samples you are looking for\n")
	floatWAV := writeFile(t, "float.wav", "RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x03\x00\x01\x00\x40\x1f\x00\x00\x00\x7d\x00\x00\x04\x00\x20\x00data\x00\x00\x00\x00")
	missing := filepath.Join(t.TempDir(), "missing.wav")
	dir := t.TempDir()

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"reversed range", []string{"-orbits", "720-701"}, "-orbits 720-701: reversed range"},
		{"range not numbers", []string{"-orbits", "seven-twenty"}, "-orbits seven-twenty: not a range like 701-720"},
		{"range half open", []string{"-orbits", "701-"}, "-orbits 701-: not a range like 701-720"},
		{"range empty", []string{"-orbits", ""}, `-orbits "": not a range like 701-720`},
		{"range from zero", []string{"-orbits", "0-20"}, "-orbits 0-20: orbits must be positive numbers"},
		{"range too large", []string{"-orbits", "1-20000"}, "-orbits 1-20000: more than 10000 orbits"},

		{"park time not a duration", []string{"-park-time", "2 minutes"}, "-park-time 2 minutes: not a duration like 120s or 2m"},
		{"park time without unit", []string{"-park-time", "120"}, "-park-time 120: not a duration like 120s or 2m"},
		{"park time zero", []string{"-park-time", "0s"}, "-park-time 0s: must be more than zero"},
		{"ringback negative", []string{"-ringback", "-5s"}, "-ringback -5s: must not be negative"},
		{"ringback zero", []string{"-ringback", "0"}, "-ringback 0: must be more than zero"},
		{"drain not a duration", []string{"-drain", "soon"}, "-drain soon: not a duration like 120s or 2m"},
		{"drain negative", []string{"-drain", "-1m"}, "-drain -1m: must not be negative"},

		{"fallback without scheme", []string{"-fallback", "100@pbx"}, "-fallback 100@pbx: not a SIP URI like sip:operator@pbx.example.com"},
		{"fallback http", []string{"-fallback", "http://pbx/100"}, "-fallback http://pbx/100: not a SIP URI like sip:operator@pbx.example.com"},
		{"fallback without host", []string{"-fallback", "sip:"}, "-fallback sip:: not a SIP URI like sip:operator@pbx.example.com"},
		{"fallback in brackets", []string{"-fallback", "<sip:100@pbx>"}, "-fallback <sip:100@pbx>: not a SIP URI like sip:operator@pbx.example.com"},
		{"outbound proxy without scheme", []string{"-outbound-proxy", "edge:5060"}, "-outbound-proxy edge:5060: not a SIP URI like sip:operator@pbx.example.com"},

		{"moh missing", []string{"-moh", missing}, "-moh " + missing + ": cannot read: no such file or directory"},
		{"moh directory", []string{"-moh", dir}, "-moh " + dir + ": cannot read: is a directory"},
		{"moh not a wav", []string{"-moh", text}, `-moh ` + text + `: not a RIFF/WAVE file (starts with "thes")`},
		{"moh float", []string{"-moh", floatWAV}, "-moh " + floatWAV + ": format 3 (float) is not 16-bit PCM"},
		{"moh stereo 44.1k", []string{"-moh", stereo}, "-moh " + stereo + ": music on hold must be 8000 Hz 16-bit mono, not 44100 Hz 16-bit stereo"},
		{"moh 16k", []string{"-moh", wideband}, "-moh " + wideband + ": music on hold must be 8000 Hz 16-bit mono, not 16000 Hz 16-bit mono"},
		{"moh too short", []string{"-moh", short}, "-moh " + short + ": music on hold is 12.5ms long, shorter than one 20 ms packet"},

		{"allow bad prefix length", []string{"-allow", "10.0.0.0/33"}, `-allow 10.0.0.0/33: "10.0.0.0/33" is not a CIDR or IP address`},
		{"allow hostname", []string{"-allow", "127.0.0.1,pbx.example.com"}, `-allow 127.0.0.1,pbx.example.com: "pbx.example.com" is not a CIDR or IP address`},
		{"allow empty", []string{"-allow", ""}, `-allow "": no CIDR given (the default is 127.0.0.0/8,::1)`},
		{"allow only commas", []string{"-allow", ",,"}, `-allow ,,: no CIDR given (the default is 127.0.0.0/8,::1)`},

		{"password without user", []string{"-password", "s3cret"}, "-password needs -user"},
		{"user without password", []string{"-user", "park"}, "-user needs -password"},

		{"listen without port", []string{"-listen", "127.0.0.1"}, "-listen 127.0.0.1: not an address like 127.0.0.1:5070"},
		{"listen hostname", []string{"-listen", "localhost:5070"}, `-listen localhost:5070: host "localhost" is not an IP address (use 0.0.0.0 for every interface)`},
		{"listen port too large", []string{"-listen", "127.0.0.1:70000"}, `-listen 127.0.0.1:70000: port "70000" is not a number from 0 to 65535`},
		{"listen port name", []string{"-listen", "127.0.0.1:sip"}, `-listen 127.0.0.1:sip: port "sip" is not a number from 0 to 65535`},
		{"advertise hostname", []string{"-advertise", "pbx.example.com"}, "-advertise pbx.example.com: not an IP address"},

		{"rtp port odd", []string{"-rtp-port", "40001"}, "-rtp-port 40001: must be even (RTCP takes the next port)"},
		{"rtp port too large", []string{"-rtp-port", "65536"}, "-rtp-port 65536: not a port from 0 to 65534"},
		{"rtp port not a number", []string{"-rtp-port", "any"}, "-rtp-port any: not a port from 0 to 65534"},
		{"probe interval zero", []string{"-probe-interval", "0s"}, "-probe-interval 0s: must be more than zero"},
		{"tcp idle negative", []string{"-tcp-idle", "-1s"}, "-tcp-idle -1s: must not be negative"},
		{"tcp per source negative", []string{"-tcp-per-source", "-2"}, "-tcp-per-source -2: not a count of 0 or more"},
		{"senders negative", []string{"-senders", "-1"}, "-senders -1: not a count of 0 or more"},
		{"senders not a number", []string{"-senders", "all"}, "-senders all: not a count of 0 or more"},
		{"rt priority too high", []string{"-rt-priority", "100"}, "-rt-priority 100: not 0 (normal) or a real-time priority of 1 to 99"},
		{"rt priority not a number", []string{"-rt-priority", "high"}, "-rt-priority high: not 0 (normal) or a real-time priority of 1 to 99"},

		{"log level", []string{"-log-level", "loud"}, "-log-level loud: want debug, info, warn or error"},
		{"log format", []string{"-log-format", "xml"}, "-log-format xml: want text or json"},

		{"unknown flag", []string{"-port", "5070"}, "flag provided but not defined: -port (parkd -help lists the flags)"},
		{"flag without value", []string{"-orbits"}, "flag needs an argument: -orbits (parkd -help lists the flags)"},
		{"argument", []string{"-orbits", "701-705", "extra"}, `unexpected argument "extra": parkd takes only flags`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseConfig(tc.args)
			if err == nil {
				t.Fatalf("parseConfig(%q) accepted it, want %q", tc.args, tc.want)
			}
			if got := err.Error(); got != tc.want {
				t.Fatalf("parseConfig(%q):\n got %q\nwant %q", tc.args, got, tc.want)
			}
		})
	}
}
