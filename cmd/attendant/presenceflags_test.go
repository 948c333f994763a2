package main

import (
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/directory"
)

// TestParseConfigPresence: -presence-server and -camp-on reach the
// People pane's options; a bad wait or server stops the start with the
// words that say why; without them the defaults hold.
func TestParseConfigPresence(t *testing.T) {
	c, err := parseConfig([]string{"-contacts", "a.csv"}, app.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	if d := c.directory; d.PresenceServer != "" || d.CampOn != 0 {
		t.Fatalf("defaults: %+v", d)
	}
	c, err = parseConfig([]string{"-contacts", "a.csv", "-presence-server", " pbx.example.com:5060 ", "-camp-on", "90s"}, app.DefaultSettings())
	if err != nil {
		t.Fatal(err)
	}
	if d := c.directory; d.PresenceServer != "pbx.example.com:5060" || d.CampOn != 90*time.Second {
		t.Fatalf("directory %+v", d)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-contacts", "a.csv", "-camp-on", "soon"}, "-camp-on soon: not a positive duration"},
		{[]string{"-contacts", "a.csv", "-presence-server", "sip:bob@pbx"}, "presence server"},
	} {
		_, err := parseConfig(tc.args, app.DefaultSettings())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.args, err, tc.want)
		}
	}
	if directory.DefaultCampOn != time.Minute {
		t.Fatalf("the default camp-on wait is %v, the README says 1m0s", directory.DefaultCampOn)
	}
}
