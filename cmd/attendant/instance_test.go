package main

import (
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"
)

// TestClaimInstance: the first console for an address holds it; a
// second is told errAlreadyRunning after the first was asked to come
// forward; once the first lets go, the next is first again. Port 0 is
// never claimed.
func TestClaimInstance(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	first, err := claimInstance(dir, "127.0.0.1:5060", log)
	if err != nil || first == nil {
		t.Fatalf("first: %v, %v", first, err)
	}
	var raised atomic.Int32
	first.setOnRaise(func() { raised.Add(1) })

	second, err := claimInstance(dir, "127.0.0.1:5060", log)
	if !errors.Is(err, errAlreadyRunning) || second != nil {
		t.Fatalf("second: %v, %v; want errAlreadyRunning", second, err)
	}
	if raised.Load() != 1 {
		t.Errorf("the first was asked to come forward %d times, want 1", raised.Load())
	}

	// Another address is another console.
	other, err := claimInstance(dir, "127.0.0.1:5062", log)
	if err != nil || other == nil {
		t.Fatalf("another address: %v, %v", other, err)
	}
	other.close()

	first.close()
	again, err := claimInstance(dir, "127.0.0.1:5060", log)
	if err != nil || again == nil {
		t.Fatalf("after the first closed: %v, %v", again, err)
	}
	again.close()

	if in, err := claimInstance(dir, "127.0.0.1:0", log); in != nil || err != nil {
		t.Errorf("port 0: %v, %v; want nothing claimed", in, err)
	}
}
