package main

import (
	"log/slog"
	"os"
	"runtime"

	"github.com/switchboard/switchboard/telephony/park"
)

// goProcs is the number of Go processors parkd runs with: current (the
// runtime's own choice) and one more for each music sender that sleeps
// through the scheduler (park.PacedSenders), unless GOMAXPROCS is set
// in the environment (envSet), which is then kept as it is.
func goProcs(current, pacedSenders int, envSet bool) int {
	if envSet {
		return current
	}
	return current + pacedSenders
}

// raiseProcs fixes the number of music senders from the runtime's own
// processor count (the default is one per processor: raised first, it
// would count the extra processors too), then gives the runtime one
// processor more per sender. The returned func puts the runtime's
// default back (run is called more than once in the tests).
func raiseProcs(opts *park.Options, log *slog.Logger) (restore func()) {
	if opts.Senders == 0 {
		opts.Senders = park.DefaultSenders()
	}
	_, envSet := os.LookupEnv("GOMAXPROCS")
	current := runtime.GOMAXPROCS(0)
	n := goProcs(current, park.PacedSenders(opts.Senders), envSet)
	if n == current {
		return func() {}
	}
	runtime.GOMAXPROCS(n)
	log.Debug("Go processors raised for the music senders", "from", current, "to", n, "senders", opts.Senders)
	return runtime.SetDefaultGOMAXPROCS
}
