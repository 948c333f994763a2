package sip_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/switchboard/switchboard/telephony"

	"github.com/switchboard/switchboard/internal/siptest"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

func TestConfigValidation(t *testing.T) {
	good := func() sbsip.Config {
		return sbsip.Config{Audio: &siptest.ToneDevice{Freq: 1000}, Park: sbsip.ServiceTemplates("127.0.0.1:5070", telephony.DefaultLot)}
	}
	c := good()
	if err := c.Validate(); err != nil {
		t.Fatalf("good config: %v", err)
	}
	if len(c.Listen) != 2 || c.User != "console" || c.Park.Timeout == 0 || c.Park.Health == "" {
		t.Fatalf("defaults not filled: %+v", c)
	}
	for _, tc := range []struct {
		name string
		mod  func(*sbsip.Config)
		want string
	}{
		{"reversed orbit range", func(c *sbsip.Config) { c.Park.Orbits = telephony.Lot{First: 720, Last: 701} }, "reversed"},
		{"zero orbit", func(c *sbsip.Config) { c.Park.Orbits.First = 0 }, "positive"},
		{"huge lot", func(c *sbsip.Config) { c.Park.Orbits.Last = 20000 }, "more than"},
		{"retrieve without orbit", func(c *sbsip.Config) { c.Park.Retrieve = "sip:retrieve@pbx" }, "has no {orbit}"},
		{"park-any with orbit", func(c *sbsip.Config) { c.Park.ParkAny = "sip:park-{orbit}@pbx" }, "must not hold {orbit}"},
		{"unknown placeholder", func(c *sbsip.Config) { c.Park.Lamp = "sip:{slot}{orbit}@pbx" }, "unknown placeholder"},
		{"not a SIP URI", func(c *sbsip.Config) { c.Park.Lamp = "http://pbx/{orbit}" }, "not a SIP URI"},
		{"safe retrieve without token", func(c *sbsip.Config) { c.Park.SafeRetrieve = "sip:{orbit}@pbx" }, "has no {token}"},
		{"missing lamp", func(c *sbsip.Config) { c.Park.Lamp = "" }, "lamp URI template is required"},
		{"no audio", func(c *sbsip.Config) { c.Audio = nil }, "no audio device"},
		{"bad transport", func(c *sbsip.Config) { c.Listen = []sbsip.Listener{{Transport: "sctp", Addr: "127.0.0.1:5060"}} }, "transport must be"},
		{"host name listen", func(c *sbsip.Config) { c.Listen = []sbsip.Listener{{Transport: "udp", Addr: "localhost:5060"}} }, "IP address"},
		{"tls without certificate", func(c *sbsip.Config) { c.Listen = []sbsip.Listener{{Transport: "tls", Addr: "127.0.0.1:5061"}} }, "certificate"},
		{"bad AOR", func(c *sbsip.Config) { c.Account.AOR = "reception" }, "AOR"},
		{"password without AOR", func(c *sbsip.Config) { c.Account.Password = "x" }, "needs an AOR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want an error with %q", err, tc.want)
			}
		})
	}
	// No park service at all is fine: park and lamps are off.
	c = sbsip.Config{Audio: &siptest.ToneDevice{Freq: 1000}}
	if err := c.Validate(); err != nil {
		t.Fatalf("config without park service: %v", err)
	}
	if c.Park.Enabled() {
		t.Fatal("park enabled without templates")
	}
}

// TestEventsNeverBlock: with nobody reading, events are counted and
// reported as EventsLost instead of blocking the SIP goroutines.
func TestEventsNeverBlock(t *testing.T) {
	p, err := sbsip.New(sbsip.Config{
		Listen:      []sbsip.Listener{{Transport: "udp", Addr: "127.0.0.1:0"}},
		Audio:       &siptest.ToneDevice{Freq: 1000},
		EventBuffer: 2,
		Logger:      testLogger(t, "desk"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	busy := newPeer(t, "busy", func(d *diago.DialogServerSession) { _ = d.Respond(486, "Busy Here", nil) })
	dialEnded := func() {
		id, err := p.Dial(ctxT(t), busy.AOR())
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(waitFor)
		for {
			if _, ok := p.Call(id); !ok {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("call never ended")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	dialEnded() // registration none + dialing + ended: one more than fits
	dialEnded()
	var got []telephony.Event
	for len(p.Events()) > 0 {
		got = append(got, <-p.Events())
	}
	dialEnded()
	timeout := time.After(waitFor)
	lost := 0
	for lost == 0 {
		select {
		case ev := <-p.Events():
			got = append(got, ev)
			if l, ok := ev.(telephony.EventsLost); ok {
				lost = l.Count
			}
		case <-timeout:
			t.Fatalf("no EventsLost; got %+v", got)
		}
	}
	if lost < 3 {
		t.Fatalf("EventsLost.Count = %d, want at least 3", lost)
	}
}
