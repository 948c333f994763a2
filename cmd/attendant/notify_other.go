//go:build !(linux || freebsd || netbsd || openbsd || dragonfly)

package main

import (
	"log/slog"
	"time"

	"github.com/switchboard/switchboard/app"
)

// newNotifier returns no notifier where there is no freedesktop.org
// notification service: the console's notifications go through Fyne.
func newNotifier(*slog.Logger) (app.Notifier, func(time.Duration)) {
	return nil, func(time.Duration) {}
}
