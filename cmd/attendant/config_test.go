package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/telephony"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := parseConfig(nil, app.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	s := c.settings
	if s.Listen != "127.0.0.1:5060" || s.ParkMode != app.ParkEmbedded || s.ParkService != "127.0.0.1:5070" ||
		s.Orbits != telephony.DefaultLot || s.AccountAOR != "" {
		t.Errorf("defaults: %+v", s)
	}
	if c.demo || c.audio != "auto" || c.user != "console" || c.parkTime != 2*time.Minute {
		t.Errorf("defaults: %+v", c)
	}
}

func TestParseConfigFlagsWinOverSaved(t *testing.T) {
	saved := app.DefaultSettings()
	saved.Listen, saved.AccountAOR, saved.Password = "10.0.0.2:5060", "sip:front@pbx.example", "saved"
	saved.Orbits = telephony.Lot{First: 801, Last: 840}
	c, err := parseConfig([]string{"-listen", "127.0.0.1:5099", "-park", "10.0.0.5:5070", "-demo", "-demo-giveup", "0"}, saved)
	if err != nil {
		t.Fatal(err)
	}
	s := c.settings
	if s.Listen != "127.0.0.1:5099" || s.AccountAOR != "sip:front@pbx.example" || s.Password != "saved" ||
		s.ParkMode != app.ParkService || s.ParkService != "10.0.0.5:5070" || s.Orbits.First != 801 {
		t.Errorf("merged: %+v", s)
	}
	if !c.demo || c.demoGiveUp != 0 {
		t.Errorf("demo %v giveup %v", c.demo, c.demoGiveUp)
	}
	c, err = parseConfig([]string{"-reset-settings"}, saved)
	if err != nil || c.settings != app.DefaultSettings() {
		t.Errorf("-reset-settings: %+v %v", c.settings, err)
	}
	t.Setenv("SWITCHBOARD_PASSWORD", "from-env")
	c, _ = parseConfig(nil, saved)
	if c.settings.Password != "from-env" {
		t.Errorf("password %q, want the environment's", c.settings.Password)
	}
	c, err = parseConfig([]string{"-account", "sips:front@pbx.example", "-tls-ca", " /etc/ssl/pbx-ca.pem", "-tls-cert", "desk.pem", "-tls-key", "desk.key"}, saved)
	if err != nil || c.settings.TLSCAFile != "/etc/ssl/pbx-ca.pem" || c.settings.TLSCertFile != "desk.pem" || c.settings.TLSKeyFile != "desk.key" {
		t.Errorf("TLS flags: %+v %v", c.settings, err)
	}
	c, _ = parseConfig([]string{"-park-any", "sip:700@pbx", "-park-retrieve", "sip:{orbit}@pbx", "-park-lamp", "sip:{orbit}@pbx"}, app.DefaultSettings())
	if c.settings.ParkMode != app.ParkTemplates {
		t.Errorf("templates given: park mode %q", c.settings.ParkMode)
	}
}

func TestParseConfigErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-orbits", "720-701"}, "-orbits 720-701: not a range like 701-720, low to high"},
		{[]string{"-park", "somewhere"}, "-park somewhere: want embedded, off or host:port of a park service"},
		{[]string{"-park", "off", "-park-listen", "127.0.0.1:5071"}, "-park-listen 127.0.0.1:5071: only for the embedded park service"},
		{[]string{"-park-time", "soon"}, "-park-time soon: not a positive duration"},
		{[]string{"-audio", "loud"}, "-audio loud: want auto or none"},
		{[]string{"-demo-interval", "0s"}, "-demo-interval 0s: not a positive duration"},
		{[]string{"-demo-max", "0"}, "-demo-max 0: not a number of calls"},
		{[]string{"-demo-giveup", "2"}, "-demo-giveup 2: not a chance from 0 to 1"},
		{[]string{"-log-level", "loud"}, "-log-level loud: want debug, info, warn or error"},
		{[]string{"-advertise", "example.com"}, "-advertise example.com: not an IP address"},
		{[]string{"-listen", "localhost:5060"}, "listen address \"localhost:5060\": the host must be an IP address"},
		{[]string{"-account", "reception@pbx"}, "must start with sip:"},
		{[]string{"-tls-ca", "ca.pem"}, "TLS files need an address (AOR)"},
		{[]string{"-account", "sip:front@pbx", "-tls-ca", "ca.pem"}, "TLS files need a TLS registrar"},
		{[]string{"-account", "sips:front@pbx", "-tls-cert", "desk.pem"}, "needs both its certificate and its key file"},
		{[]string{"stray"}, "unexpected argument \"stray\""},
		{[]string{"-nosuchflag"}, "flag provided but not defined: -nosuchflag"},
	} {
		_, err := parseConfig(c.args, app.DefaultSettings())
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want %q", c.args, err, c.want)
		}
	}
}

func TestRunBadFlagExitsTwo(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-orbits", "x"}, &out, &errOut, time.Now())
	if code != exitUsage || errOut.String() != "attendant: -orbits x: not a range like 701-720, low to high\n" {
		t.Errorf("exit %d, stderr %q", code, errOut.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"-version"}, &out, &errOut, time.Now()); code != exitOK || !strings.HasPrefix(out.String(), "attendant 0.1.0") {
		t.Errorf("-version: exit %d, %q", code, out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"-help"}, &out, &errOut, time.Now()); code != exitOK || !strings.Contains(out.String(), "-demo") {
		t.Errorf("-help: exit %d, %q", code, out.String())
	}
}

// TestStartBusyPorts: a busy SIP or park port is a clear error naming
// the address and what to do.
func TestStartBusyPorts(t *testing.T) {
	busy, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.LocalAddr().String()
	log := slog.New(slog.DiscardHandler)

	c, err := parseConfig([]string{"-listen", addr, "-park-listen", "127.0.0.1:0", "-audio", "none"}, app.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	_, err = start(context.Background(), c, log)
	var se *startError
	if !errors.As(err, &se) || !strings.HasPrefix(err.Error(), "SIP address "+addr+": address already in use\nAnother program") {
		t.Errorf("busy SIP port: %v", err)
	}

	c, _ = parseConfig([]string{"-listen", "127.0.0.1:0", "-park-listen", addr, "-audio", "none"}, app.DefaultSettings())
	_, err = start(context.Background(), c, log)
	if err == nil || !strings.HasPrefix(err.Error(), "park service address "+addr+": address already in use") ||
		!strings.Contains(err.Error(), "-park "+addr) {
		t.Errorf("busy park port: %v", err)
	}
}

// TestStartAndStop brings the whole console's telephony up on free
// ports and down again, with the demo.
func TestStartAndStop(t *testing.T) {
	c, err := parseConfig([]string{"-listen", "127.0.0.1:0", "-park-listen", "127.0.0.1:0", "-audio", "none", "-demo"}, app.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	sys, err := start(context.Background(), c, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := sys.startPhone(context.Background(), c); err != nil {
		sys.stop()
		t.Fatal(err)
	}
	if sys.park == nil || sys.demo == nil || sys.sound != nil || sys.status.Available {
		t.Errorf("system: park %v demo %v sound %v status %+v", sys.park, sys.demo, sys.sound, sys.status)
	}
	if o := sys.phone.Orbits(); len(o) != 20 || o[0].Number != 701 {
		t.Errorf("orbits %+v", o)
	}
	done := make(chan struct{})
	go func() {
		sys.stop()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("stop hangs")
	}
}

// TestStartTLSAccount: the TLS flags reach the user agent: a CA file it
// cannot read stops the start with the file's name; a TLS account without
// one starts with a TLS listener of its own.
func TestStartTLSAccount(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	missing := t.TempDir() + "/pbx-ca.pem"
	c, err := parseConfig([]string{"-listen", "127.0.0.1:0", "-park", "off", "-audio", "none",
		"-account", "sips:front@127.0.0.1:1", "-tls-ca", missing}, app.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	_, err = start(context.Background(), c, log)
	if err == nil || !strings.HasPrefix(err.Error(), "configuration: account: CA file: open "+missing) {
		t.Errorf("missing CA file: %v", err)
	}

	c, err = parseConfig([]string{"-listen", "127.0.0.1:0", "-park", "off", "-audio", "none",
		"-account", "sip:front@127.0.0.1:1", "-registrar", "sip:127.0.0.1:1;transport=tls"}, app.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	sys, err := start(context.Background(), c, log)
	if err != nil {
		t.Fatal(err)
	}
	defer sys.stop()
	if err := sys.startPhone(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if !sys.phone.Addr("tls").IsValid() {
		t.Error("a TLS account's console has no TLS listener")
	}
}
