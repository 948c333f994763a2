// Package widgets holds the attendant console's Fyne widgets: the line
// card (one call on one of the receptionist's lines), the orbit slot and
// the orbit grid (the park service's lot, with drag-to-park and
// tap-to-retrieve), and the dial pad.
//
// The widgets know nothing of SIP or of the telephony package: they show
// small view-state types of their own (LineState, SlotState) and report
// what the receptionist did through OnXxx callbacks. The app package turns
// telephony events into these states.
//
// Like every Fyne widget, they must be changed on Fyne's goroutine only:
// from callbacks, or through fyne.Do from other goroutines. None of them
// starts a goroutine; timers advance when the owner calls Tick, once a
// second.
//
// Fyne has no drop-target API, so dragging is done here: a LineCard is a
// fyne.Draggable that adds up the drag deltas from where the drag started
// and tells its DropTargets (the OrbitGrid) where the pointer is, in
// absolute canvas coordinates; the grid finds the slot under it.
package widgets
