package main

import (
	"strings"
	"testing"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/telephony/sip"
)

// TestSRTPAndParkDirectedFlags: -srtp takes off, offered or required and
// needs a TLS account; -park-directed sets Settings.ParkDirected; the
// user agent gets the mode.
func TestSRTPAndParkDirectedFlags(t *testing.T) {
	tlsAcc := []string{"-account", "sip:reception@pbx.example", "-registrar", "sips:pbx.example"}
	c, err := parseConfig(append(tlsAcc, "-srtp", "required"), app.DefaultSettings())
	if err != nil || c.settings.SRTP != app.SRTPRequired || accountSRTP(c.settings.SRTP) != sip.SRTPRequired {
		t.Fatalf("-srtp required: %v, %q", err, c.settings.SRTP)
	}
	saved := app.DefaultSettings()
	saved.SRTP = app.SRTPOffered
	if c, err = parseConfig(append(tlsAcc, "-srtp", "off"), saved); err != nil || c.settings.SRTP != app.SRTPOff || accountSRTP(c.settings.SRTP) != sip.SRTPOff {
		t.Fatalf("-srtp off over a saved offered: %v, %q", err, c.settings.SRTP)
	}
	if _, err = parseConfig(append(tlsAcc, "-srtp", "sdes"), app.DefaultSettings()); err == nil || !strings.Contains(err.Error(), "-srtp sdes: want off, offered or required") {
		t.Fatalf("-srtp sdes: %v", err)
	}
	if _, err = parseConfig([]string{"-account", "sip:reception@pbx.example", "-srtp", "offered"}, app.DefaultSettings()); !isSettingsErr(err) || !strings.Contains(err.Error(), "needs a TLS registrar") {
		t.Fatalf("-srtp offered without TLS: %v", err)
	}
	pbx := []string{"-park-any", "sip:700@pbx", "-park-orbit", "sip:87{orbit}@pbx", "-park-retrieve", "sip:{orbit}@pbx", "-park-lamp", "sip:{orbit}@pbx"}
	if c, err = parseConfig(pbx, app.DefaultSettings()); err != nil || c.settings.ParkDirected {
		t.Fatalf("PBX lot: %v, directed %v", err, c.settings.ParkDirected)
	}
	if c, err = parseConfig(append(pbx, "-park-directed"), app.DefaultSettings()); err != nil || !c.settings.ParkDirected {
		t.Fatalf("-park-directed: %v, directed %v", err, c.settings.ParkDirected)
	}
}
