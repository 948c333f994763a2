package main

import (
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/switchboard/switchboard/internal/siptest"
)

// TestParkdKeepsATCPCallerAcrossKill9: the real parkd holds a caller
// parked over TCP straight from the phone (no record-routing proxy) and
// is killed with kill -9, which resets the phone's connection. A parkd
// started again on the same store and addresses reaches the phone on a
// new connection to its Contact: the restore's probe is answered (the
// caller is kept, not found lost), the caller hears music again, a
// retrieve over TCP takes it off hold in its restored dialog and the two
// hear each other, and the caller's hang-up, on a connection of its own,
// ends the retriever's leg.
func TestParkdKeepsATCPCallerAcrossKill9(t *testing.T) {
	addr := "127.0.0.1:" + strconv.Itoa(siptest.FreePort(t))
	args := []string{"-state-dir", t.TempDir(), "-listen", addr, "-rtp-port", strconv.Itoa(freeRTPPort(t)),
		"-orbits", "701-703", "-log-level", "debug"}
	first := startParkd(t, args...)
	first.line(t, `^parkd: listening on `)
	alice, err := siptest.NewAgent(t, "alice", siptest.AgentOptions{Transport: "tcp"}).Call(t, sipURI(t, "sip:park-701@"+addr+";transport=tcp"))
	if err != nil {
		t.Fatalf("park over TCP: %v", err)
	}
	first.waitLog(t, "event=parked orbit=701")
	music := siptest.StartMedia(t, alice, 500) // dropped while parked
	hearsMusic(t, "the caller parked over TCP", music)

	if err := first.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.wait(t)
	second := startParkd(t, args...)
	second.line(t, `^parkd: listening on .*, restored 1 parked call and 0 bridged calls$`)
	second.waitLog(t, `event="probe answered" orbit=701`)
	hearsMusic(t, "the restored TCP caller", music)

	bob, err := siptest.NewAgent(t, "bob", siptest.AgentOptions{Transport: "tcp"}).Call(t, sipURI(t, "sip:701@"+addr+";transport=tcp"))
	if err != nil {
		t.Fatalf("retrieve of the restored 701 over TCP: %v", err)
	}
	second.waitLog(t, `event="taken off hold" orbit=701`)
	bobMedia := siptest.StartMedia(t, bob, 880)
	hearsTone(t, bobMedia, 500)
	hearsTone(t, music, 880)
	hangupCall(t, alice)
	ended(t, "bob's BYE after the restored TCP caller hung up", bob)
	if s := second.stderr.String(); strings.Contains(s, "event=lost") {
		t.Fatalf("parkd found a call lost:\n%s", s)
	}
}
