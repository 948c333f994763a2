package main

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
)

// TestClaimPark: a console holds its built-in park service's address; a
// console on another SIP address that wants the same park address is
// told which one holds it (*heldByAnother), without that one being asked
// anything, and can then ask it to come forward. Once the first lets go
// the address is free again; port 0 is never claimed.
func TestClaimPark(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	first, err := claimPark(dir, "127.0.0.1:5070", log)
	if err != nil || first == nil {
		t.Fatalf("first: %v, %v", first, err)
	}
	var raised atomic.Int32
	first.setOnRaise(func() { raised.Add(1) })

	// The SIP address's instance is another lock: no clash.
	sipInst, err := claimInstance(dir, "127.0.0.1:5070", log)
	if err != nil || sipInst == nil {
		t.Fatalf("a SIP address with the same host:port: %v, %v", sipInst, err)
	}
	sipInst.close()

	second, err := claimPark(dir, "127.0.0.1:5070", log)
	var held *heldByAnother
	if !errors.As(err, &held) || second != nil {
		t.Fatalf("second: %v, %v; want *heldByAnother", second, err)
	}
	if held.addr != "127.0.0.1:5070" || err.Error() != "another Switchboard runs its park service on 127.0.0.1:5070" {
		t.Errorf("held: %+v, %q", held, err)
	}
	if raised.Load() != 0 {
		t.Error("the first was asked to come forward before anyone chose to")
	}
	if err := askRaise(held.sock); err != nil {
		t.Fatalf("asking the first to come forward: %v", err)
	}
	if raised.Load() != 1 {
		t.Errorf("the first came forward %d times, want 1", raised.Load())
	}

	first.close()
	again, err := claimPark(dir, "127.0.0.1:5070", log)
	if err != nil || again == nil {
		t.Fatalf("after the first let go: %v, %v", again, err)
	}
	again.close()
	if in, err := claimPark(dir, "127.0.0.1:0", log); in != nil || err != nil {
		t.Errorf("port 0: %v, %v; want nothing claimed", in, err)
	}
}
