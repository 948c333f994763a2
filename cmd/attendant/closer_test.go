package main

import (
	"testing"
	"time"
)

// TestCloserWatchdogTakesAStuckClose: when ShowAndRun does not return
// after the window closed (Fyne's loop hung as it stopped), the watchdog
// gets the close path and ShowAndRun's late return does not run it again.
func TestCloserWatchdogTakesAStuckClose(t *testing.T) {
	c := newCloser()
	c.started()
	c.started() // the window's OnClosed and a signal: both may come
	if !c.stuck(time.Millisecond) {
		t.Fatal("stuck = false with ShowAndRun still running: nobody closes")
	}
	if c.returned() {
		t.Fatal("returned = true after the watchdog took the close: it would run twice")
	}
}

// TestCloserShowAndRunReturns: when ShowAndRun returns in time, the
// main goroutine runs the close path and the watchdog gives up, whether
// the window had begun closing or not (a goroutine left waiting for good
// would outlive run).
func TestCloserShowAndRunReturns(t *testing.T) {
	for _, began := range []bool{true, false} {
		c := newCloser()
		if began {
			c.started()
		}
		res := make(chan bool)
		go func() { res <- c.stuck(time.Hour) }()
		if !c.returned() {
			t.Fatalf("began %v: returned = false: nobody closes", began)
		}
		if <-res {
			t.Fatalf("began %v: the watchdog took the close after ShowAndRun returned", began)
		}
	}
}
