package main

import (
	"log/slog"
	"testing"

	"fyne.io/fyne/v2/test"
)

// TestTakeStopHook: Fyne's own lifecycle (this Fyne's, not a copy of it)
// gives up its stop hook, so its loop queues nothing as it stops (Fyne
// 2.8.1's send on a closing queue, a race the detector caught at a
// console's quit), and the hook taken runs once, when the console says.
func TestTakeStopHook(t *testing.T) {
	a := test.NewApp()
	defer a.Quit()
	l, ok := a.Lifecycle().(fyneLifecycle)
	if !ok {
		t.Fatalf("Fyne's lifecycle %T has no stop hook to take: takeStopHook would leave Fyne's quit race in place", a.Lifecycle())
	}
	runs := 0
	l.SetOnStoppedHookExecuted(func() { runs++ })

	save := takeStopHook(a, slog.New(slog.DiscardHandler))
	if f := l.OnStopped(); f != nil {
		t.Fatal("the lifecycle still has a stopped hook: Fyne's loop queues it as it stops")
	}
	if runs != 0 {
		t.Fatalf("the hook ran %d times when taken", runs)
	}
	save()
	save()
	if runs != 1 {
		t.Fatalf("the hook ran %d times after two saves, want once", runs)
	}
}
