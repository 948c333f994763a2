package sip

import (
	"crypto/tls"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestPBXTransportFollowsTheRegistrar(t *testing.T) {
	for _, tc := range []struct {
		name, aor, registrar, target string
		tls                          bool
		want                         string
	}{
		{"udp account", "sip:rec@pbx.example", "sip:pbx.example", "sip:700@pbx.example", false, ""},
		{"tcp account, call to the PBX", "sip:rec@pbx.example", "sip:pbx.example;transport=tcp", "sip:700@pbx.example", false, "tcp"},
		{"tcp account, registrar port", "sip:rec@pbx.example", "sip:10.0.0.5:5080;transport=tcp", "sip:701@10.0.0.5:5080", false, "tcp"},
		{"tcp account, other port on the registrar's host", "sip:rec@pbx.example", "sip:10.0.0.5:5080;transport=tcp", "sip:701@10.0.0.5:5090", false, ""},
		{"tcp account, the target names udp", "sip:rec@pbx.example", "sip:pbx.example;transport=tcp", "sip:700@pbx.example;transport=udp", false, ""},
		{"tcp account, another host", "sip:rec@pbx.example", "sip:pbx.example;transport=tcp", "sip:bob@elsewhere.example", false, ""},
		{"tls account", "sip:rec@pbx.example", "sips:pbx.example", "sip:700@pbx.example", true, "tls"},
		{"tls account by transport param", "sip:rec@pbx.example", "sip:pbx.example;transport=tls", "sip:700@pbx.example", true, "tls"},
		{"no account", "", "", "sip:700@pbx.example", false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := Account{AOR: tc.aor, Registrar: tc.registrar}
			if tc.tls {
				a.tls = &tls.Config{}
			}
			var u sip.Uri
			if err := sip.ParseUri(tc.target, &u); err != nil {
				t.Fatal(err)
			}
			if got := a.pbxTransport(u); got != tc.want {
				t.Fatalf("pbxTransport(%s) = %q, want %q", tc.target, got, tc.want)
			}
		})
	}
}
