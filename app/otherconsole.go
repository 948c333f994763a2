package app

import (
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
// answer the window says so and stays. Call it on Fyne's goroutine.
func AlreadyRunning(a fyne.App, w fyne.Window, what string, bringForward func() error, quit func()) {
	useTheme(a)
	if quit == nil {
		quit = a.Quit
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
}
