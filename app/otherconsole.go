package app

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// AlreadyRunning fills w, in place of the console, with why it does not
// start: another Switchboard on this computer holds what (say "the park
// service address 127.0.0.1:5070"), which only one can use. It offers to
// bring that Switchboard's window forward: bringForward asks it to, and
// once it did, quit ends this one (a.Quit when nil); when it does not
// answer the window says so and stays. With a stateLog, where its
// buttons are is written there once they are laid out (event
// "already-running-shown", as the console's "buttons"), for tests that
// click them in a real window. Call it on Fyne's goroutine.
func AlreadyRunning(a fyne.App, w fyne.Window, what string, bringForward func() error, quit func(), stateLog io.Writer) {
	useTheme(a)
	if quit == nil {
		quit = a.Quit
	}
	// Nothing is handed to Fyne's goroutine once quitting: Fyne closes
	// its queue as it stops (see Console.Detach).
	var mu sync.RWMutex
	quitting := false
	do := func(f func()) {
		mu.RLock()
		defer mu.RUnlock()
		if !quitting {
			fyne.Do(f)
		}
	}
	stop := quit
	quit = func() {
		mu.Lock()
		quitting = true
		mu.Unlock()
		stop()
	}
	icon := widget.NewIcon(theme.InfoIcon())
	title := widget.NewLabelWithStyle("Switchboard is already running", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	// Two lines unwrapped: a wrapped label's height is not known before
	// the window's first layout, and the buttons would cover its end.
	msg := widget.NewLabel("Another Switchboard on this computer already uses " + what + ", and only one can.\n" +
		"Take your calls in that window, or quit this one.")
	failed := widget.NewLabel("")
	failed.Wrapping = fyne.TextWrapWord
	failed.Importance = widget.DangerImportance
	failed.Hide()
	show := widget.NewButtonWithIcon("Show that window", theme.VisibilityIcon(), nil)
	show.Importance = widget.HighImportance
	show.OnTapped = func() {
		if err := bringForward(); err != nil {
			failed.SetText("That Switchboard did not answer. Close it (or end it), then start this one again.")
			failed.Show()
			return
		}
		quit()
	}
	bye := widget.NewButtonWithIcon("Quit", theme.LogoutIcon(), quit)
	head := container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSquareSize(48), icon), nil, title)
	w.SetContent(container.NewPadded(container.NewVBox(head, msg, failed, container.NewHBox(show, bye))))
	if stateLog != nil {
		go logButtons(stateLog, "already-running-shown", map[string]fyne.CanvasObject{"Show that window": show, "Quit": bye}, do)
	}
}

// logButtons writes event to w with where objs are on their window
// ("buttons"), once they are laid out; do runs a function on Fyne's
// goroutine (and may drop it). It gives up after 5 s.
func logButtons(w io.Writer, event string, objs map[string]fyne.CanvasObject, do func(func())) {
	for range 250 {
		time.Sleep(20 * time.Millisecond)
		placed := make(chan map[string]Rect, 1)
		do(func() {
			rects := map[string]Rect{}
			drv := fyne.CurrentApp().Driver()
			for label, o := range objs {
				p, s := drv.AbsolutePositionForObject(o), o.Size()
				if (p.X <= 0 && p.Y <= 0) || s.Width <= 0 {
					placed <- nil
					return
				}
				rects[label] = Rect{X: p.X, Y: p.Y, W: s.Width, H: s.Height}
			}
			placed <- rects
		})
		select {
		case rects := <-placed:
			if rects == nil {
				continue
			}
			b, err := json.Marshal(map[string]any{"event": event, "time": time.Now().UTC().Format(time.RFC3339Nano), "buttons": rects})
			if err == nil {
				_, _ = w.Write(append(b, '\n'))
			}
			return
		case <-time.After(5 * time.Second):
			return // dropped (quitting), or Fyne's goroutine is stuck
		}
	}
}
