package main

import (
	"fmt"
	"log/slog"
	"sync"

	"fyne.io/fyne/v2"
)

// fyneLifecycle is the part of Fyne's own lifecycle (internal/app's
// Lifecycle, behind fyne.App.Lifecycle) that holds Fyne's clean-up at quit.
type fyneLifecycle interface {
	OnStopped() func()
	SetOnStoppedHookExecuted(func())
}

// takeStopHook takes Fyne's own clean-up at quit (it saves the
// preferences at once, past their 100 ms debounce) off the app and returns
// it, once-only, for the console's close path to run itself.
//
// Fyne 2.8.1 queues that hook as its loop stops, and its event goroutine
// sends it to the loop's queue while the loop closes that queue: a data
// race on every quit, rarely hit (the race detector's report in a busy
// test run; without -race a "send on closed channel" panic or a hang).
// With no stopped hook Fyne queues nothing as it stops. The console sets
// no OnStopped of its own, so the hook taken is Fyne's alone.
//
// Where Fyne's lifecycle no longer has that shape the hook stays where it
// is (a warning says so) and the returned function does nothing.
func takeStopHook(a fyne.App, log *slog.Logger) func() {
	l, ok := a.Lifecycle().(fyneLifecycle)
	if !ok {
		log.Warn("Fyne's stop hook cannot be taken: its quit may race", "lifecycle", fmt.Sprintf("%T", a.Lifecycle()))
		return func() {}
	}
	hook := l.OnStopped()
	l.SetOnStoppedHookExecuted(nil)
	if hook == nil {
		return func() {}
	}
	return sync.OnceFunc(hook)
}
