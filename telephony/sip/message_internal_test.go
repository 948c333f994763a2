package sip

import (
	"encoding/base64"
	"testing"

	"github.com/emiago/sipgo/sip"
)

// TestForWhomParams: the park URI names the colleague in the
// escape-free pair where it can and escaped otherwise, and the note in
// base64url, so a caller that eats percent escapes (baresip 1.0) passes
// them intact; only a lot whose safe retrieve takes a token is sent them.
func TestForWhomParams(t *testing.T) {
	const note = "50% off; <urgent> é"
	for _, c := range []struct {
		to   string
		want map[string]string
	}{
		{"sip:bob.chen@pbx.example:5062", map[string]string{"for-user": "bob.chen", "for-host": "pbx.example:5062"}},
		{"sip:bob%20chen@pbx.example", map[string]string{"for": "bob%2520chen%40pbx.example"}},
	} {
		var u sip.Uri
		if err := sip.ParseUri(c.to, &u); err != nil {
			t.Fatal(err)
		}
		params := sip.NewParams()
		forWhomParams(&params, &u, note)
		for k, v := range c.want {
			if got, _ := params.Get(k); got != v {
				t.Errorf("%s: %s=%q, want %q (%s)", c.to, k, got, v, params.String())
			}
		}
		b64, _ := params.Get("note64")
		if got, err := base64.RawURLEncoding.DecodeString(b64); err != nil || string(got) != note {
			t.Errorf("note64 %q decodes to %q, %v", b64, got, err)
		}
	}
	pbx := &Phone{cfg: Config{Park: ParkConfig{SafeRetrieve: ""}}}
	ours := &Phone{cfg: Config{Park: ServiceTemplates("127.0.0.1:5070", pbx.cfg.Park.Orbits)}}
	if pbx.switchboardLot() || !ours.switchboardLot() {
		t.Fatalf("switchboardLot: PBX %v, Switchboard's %v", pbx.switchboardLot(), ours.switchboardLot())
	}
}
