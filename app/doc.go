// Package app is the attendant console's window: the receptionist's
// lines on one side, the park service's orbit grid on the other, a
// history of what happened to the calls, and a status bar with the
// registration, the park service and the sound device. It owns the
// settings dialog (persisted in Fyne's preferences) and the keyboard
// operation.
//
// A Console is the controller between a telephony.Phone and the widgets:
// one goroutine drains Phone.Events and applies each event to the view
// through fyne.Do; the receptionist's actions (drag a card onto a slot,
// tap a lit slot, press Enter) become Phone method calls on goroutines
// of their own, so a slow SIP exchange never stalls the window. This
// package is the only one in the module that calls fyne.Do; the widgets
// and the telephony packages know nothing of each other.
//
// The package does not create the Fyne application or its driver:
// cmd/attendant does (fyne.io/fyne/v2/app), and tests use Fyne's test
// driver (fyne.io/fyne/v2/test) with the in-memory stand-ins of
// app/apptest or the real user agent.
package app
