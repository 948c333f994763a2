package app

import (
	"errors"
	"log/slog"
	"strings"
	"syscall"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// StartupError shows in w why the console could not start (a busy port,
// a bad setting...), with the settings dialog to fix it and a button to
// quit. Settings saved here are used the next time Switchboard starts.
func StartupError(a fyne.App, w fyne.Window, err error, sound Sound) {
	useTheme(a) // New, which would set it, never runs
	prefs := a.Preferences()
	icon := widget.NewIcon(theme.ErrorIcon())
	title := widget.NewLabelWithStyle("Switchboard could not start", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	msg := widget.NewLabel(startupWords(err))
	msg.Wrapping = fyne.TextWrapWord
	hint := widget.NewLabel("Fix the settings, or stop whatever uses the address, then start Switchboard again.")
	hint.Wrapping = fyne.TextWrapWord
	hint.Importance = widget.LowImportance
	saved := widget.NewLabel("")
	saved.Hide()
	settings := widget.NewButtonWithIcon("Settings…", theme.SettingsIcon(), func() {
		f := newSettingsForm(w, LoadSettings(prefs), sound, func(s Settings) error {
			s.Save(prefs)
			saved.SetText("Settings saved: start Switchboard again to use them.")
			saved.Show()
			return nil
		})
		f.dlg.Show()
	})
	quit := widget.NewButtonWithIcon("Quit", theme.LogoutIcon(), a.Quit)
	quit.Importance = widget.HighImportance
	head := container.NewBorder(nil, nil, container.NewGridWrap(fyne.NewSquareSize(48), icon), nil, title)
	body := container.NewVBox(head, msg, hint, saved, container.NewHBox(settings, quit))
	w.SetContent(container.NewPadded(body))
}

// startupWords says why the console could not start: in plain words for
// the errors it knows by kind (the address taken, a port it may not
// use), whose technical words then go to the log only; others as their
// maker worded them.
func startupWords(err error) string {
	var words string
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		words = "Another program, maybe another Switchboard, already uses this console's SIP address. " +
			"Close that program, or choose another address in Settings."
	case errors.Is(err, syscall.EACCES), errors.Is(err, syscall.EADDRNOTAVAIL):
		words = "This computer does not let Switchboard use its SIP address (a port below 1024, or an address " +
			"this computer does not have). Choose another address in Settings."
	default:
		return strings.TrimSpace(err.Error())
	}
	slog.Default().Error("Switchboard could not start", "error", err)
	return words
}
