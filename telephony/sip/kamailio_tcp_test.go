package sip_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard/switchboard/telephony"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// TestKamailioTCPAccount: two consoles whose registrar names
// ;transport=tcp register to kamailio over TCP, and a call from one to
// the other at the PBX's address (no transport of its own) goes to the
// PBX over TCP too, not over the default UDP; each hears the other.
func TestKamailioTCPAccount(t *testing.T) {
	k := startKamailio(t, "s3cret")
	account := func(user string) func(*sbsip.Config) {
		return func(c *sbsip.Config) {
			c.Account = sbsip.Account{AOR: "sip:" + user + "@" + k.addr, Registrar: "sip:" + k.addr + ";transport=tcp",
				Password: "s3cret", Expiry: time.Minute}
		}
	}
	a := newConsole(t, "desk-a", 1000, account("reception"))
	b := newConsole(t, "desk-b", 1200, account("desk-b"))
	a.waitRegistration(t, telephony.RegistrationRegistered)
	b.waitRegistration(t, telephony.RegistrationRegistered)
	for _, user := range []string{"reception", "desk-b"} {
		if reg := fmt.Sprintf("routing REGISTER from sip:%s@%s", user, k.addr); strings.Contains(k.log(), reg) {
			t.Fatalf("REGISTER of %s was routed, not handled by the registrar", user)
		}
	}

	id, err := a.Dial(ctxT(t), "sip:desk-b@"+k.addr)
	if err != nil {
		t.Fatal(err)
	}
	in := b.waitRinging(t)
	if err := b.Answer(ctxT(t), in.ID); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, id, telephony.StateActive)
	a.hears(t, 1200)
	b.hears(t, 1000)
	want := fmt.Sprintf("routing INVITE from sip:reception@%s to sip:desk-b@", k.addr)
	var line string
	for _, l := range strings.Split(k.log(), "\n") {
		if strings.Contains(l, want) {
			line = l
			break
		}
	}
	if !strings.HasSuffix(strings.TrimSpace(line), " over tcp") {
		t.Fatalf("the INVITE reached kamailio as %q, want it over tcp", line)
	}
	if err := a.Hangup(ctxT(t), id); err != nil {
		t.Fatal(err)
	}
	b.waitState(t, in.ID, telephony.StateEnded)
}

// log is what kamailio has written so far.
func (k *kamailio) log() string {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.out.String()
}
