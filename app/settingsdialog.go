package app

import (
	"context"
	"fmt"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/telephony"
)

// parkModes are the park service choices as the dialog words them.
var parkModes = []struct{ mode, label string }{
	{ParkEmbedded, "Built into this console"},
	{ParkService, "A Switchboard park service"},
	{ParkTemplates, "Another PBX (URI templates)"},
	{ParkOff, "Off"},
}

// systemDefault is the device choice that means the system's default.
const systemDefault = "System default"

// settingsForm is the settings dialog: its fields, and what saving does.
type settingsForm struct {
	dlg                                          *dialog.CustomDialog
	displayName, listen                          *escEntry
	aor, username, password, registrar, outbound *escEntry
	tlsCA, tlsCert, tlsKey                       *escEntry
	parkMode                                     *widget.Select
	parkService, orbits                          *escEntry
	parkAny, parkOrbit, parkRetrieve, parkSafe   *escEntry
	parkLamp                                     *escEntry
	parkDirected                                 *widget.Check
	srtp                                         *widget.Select
	playback, capture, ring                      *widget.Select
	playIDs, capIDs                              map[string]string // choice -> device ID
	errText                                      *widget.Label
	save                                         *widget.Button
	service, templates                           *fyne.Container
	tabs                                         *container.AppTabs
	people                                       peopleFields
	onSave                                       func(Settings) error
	// afterSave, when set by onSave, runs once the dialog is gone (a
	// dialog shown over it would go with it).
	afterSave func()
}

// newSettingsForm builds the dialog for settings cur on win. onSave gets
// the checked settings; an error it returns is shown and the dialog
// stays open.
func newSettingsForm(win fyne.Window, cur Settings, sound Sound, onSave func(Settings) error) *settingsForm {
	f := &settingsForm{onSave: onSave, playIDs: map[string]string{}, capIDs: map[string]string{}}
	// Esc in a field closes the dialog, as it does elsewhere in it.
	esc := func() { f.dlg.Hide() }
	entry := func(text, placeholder string) *escEntry {
		e := newEscEntry()
		e.Wrapping = fyne.TextWrap(fyne.TextTruncateClip) // as widget.NewEntry's: long text does not widen the dialog
		e.SetText(text)
		e.SetPlaceHolder(placeholder)
		e.onEsc = esc
		return e
	}
	f.displayName = entry(cur.DisplayName, "Reception")
	f.listen = entry(cur.Listen, DefaultListen)
	f.aor = entry(cur.AccountAOR, "sip:reception@pbx.example (empty: no account)")
	f.username = entry(cur.Username, "the address's user")
	f.password = newPasswordEscEntry()
	f.password.SetText(cur.Password)
	f.password.onEsc = esc
	f.registrar = entry(cur.Registrar, "sip:pbx.example (the address's host)")
	f.outbound = entry(cur.OutboundProxy, "none")
	f.tlsCA = entry(cur.TLSCAFile, "CA PEM file of a sips: registrar (empty: the system's CAs)")
	f.tlsCert = entry(cur.TLSCertFile, "client certificate PEM file (optional)")
	f.tlsKey = entry(cur.TLSKeyFile, "client key PEM file (optional)")
	f.parkService = entry(cur.ParkService, DefaultParkService)
	f.orbits = entry(cur.Orbits.String(), telephony.DefaultLot.String())
	f.parkAny = entry(cur.ParkAny, "sip:700@pbx.example")
	f.parkOrbit = entry(cur.ParkOrbit, "optional: sip:park-{orbit}@pbx.example")
	f.parkRetrieve = entry(cur.ParkRetrieve, "sip:{orbit}@pbx.example")
	f.parkSafe = entry(cur.ParkSafeRetrieve, "optional: sip:{orbit}@pbx.example;token={token}")
	f.parkLamp = entry(cur.ParkLamp, "sip:{orbit}@pbx.example")
	f.parkDirected = widget.NewCheck("Park on the orbit chosen (else the PBX picks it)", nil)
	f.parkDirected.SetChecked(cur.ParkDirected)
	f.srtp = widget.NewSelect(srtpLabels, nil)
	f.srtp.SetSelected(srtpLabel(cur.SRTP))

	labels := make([]string, len(parkModes))
	for i, m := range parkModes {
		labels[i] = m.label
	}
	f.service = container.NewVBox(widget.NewForm(widget.NewFormItem("Address", f.parkService)))
	f.templates = container.NewVBox(widget.NewForm(
		widget.NewFormItem("Park", f.parkAny),
		widget.NewFormItem("Park on orbit", f.parkOrbit),
		widget.NewFormItem("", f.parkDirected),
		widget.NewFormItem("Retrieve", f.parkRetrieve),
		widget.NewFormItem("Safe retrieve", f.parkSafe),
		widget.NewFormItem("Busy lamp", f.parkLamp),
	))
	f.parkMode = widget.NewSelect(labels, func(label string) { f.showMode(modeOf(label)) })
	f.parkMode.SetSelected(labelOf(cur.ParkMode))

	audio := f.audioChoices(cur, sound)
	people := f.people.build(cur, esc)

	f.errText = widget.NewLabel("")
	f.errText.Wrapping = fyne.TextWrapWord
	f.errText.Importance = widget.DangerImportance
	f.errText.Hide()

	account := container.NewVBox(
		widget.NewForm(
			widget.NewFormItem("Display name", f.displayName),
			widget.NewFormItem("SIP address", f.listen),
		),
		widget.NewSeparator(),
		widget.NewLabelWithStyle("PBX account (leave the address empty to take direct calls only)", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}),
		widget.NewForm(
			widget.NewFormItem("Address (AOR)", f.aor),
			widget.NewFormItem("User name", f.username),
			widget.NewFormItem("Password", f.password),
			widget.NewFormItem("Registrar", f.registrar),
			widget.NewFormItem("Outbound proxy", f.outbound),
			widget.NewFormItem("TLS CA file", f.tlsCA),
			widget.NewFormItem("TLS certificate", f.tlsCert),
			widget.NewFormItem("TLS key", f.tlsKey),
			widget.NewFormItem("SRTP (TLS)", f.srtp),
		),
	)
	park := container.NewVBox(
		widget.NewForm(
			widget.NewFormItem("Service", f.parkMode),
			widget.NewFormItem("Orbits", f.orbits),
		),
		f.service,
		f.templates,
	)
	tabs := container.NewAppTabs(
		container.NewTabItem("Console", account),
		container.NewTabItem("Park service", park),
		container.NewTabItem("Audio", audio),
		container.NewTabItem("People", people),
	)
	f.tabs = tabs
	note := widget.NewLabel("Account, address and park changes apply the next time Switchboard starts; audio devices at once.")
	note.Wrapping = fyne.TextWrapWord
	note.Importance = widget.LowImportance

	f.save = widget.NewButtonWithIcon("Save", theme.DocumentSaveIcon(), f.submit)
	f.save.Importance = widget.HighImportance
	cancel := widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), func() { f.dlg.Hide() })
	content := container.NewBorder(nil, container.NewVBox(f.errText, note), nil, nil, tabs)
	f.dlg = dialog.NewCustomWithoutButtons("Settings", content, win)
	f.dlg.SetButtons([]fyne.CanvasObject{cancel, f.save})
	f.dlg.Resize(fyne.NewSize(640, 520))
	f.showMode(cur.ParkMode)
	return f
}

// audioChoices makes the device selectors from the sound device's list.
func (f *settingsForm) audioChoices(cur Settings, sound Sound) fyne.CanvasObject {
	if sound == nil {
		l := widget.NewLabel("No sound device: calls work, but without audio on this computer.")
		l.Wrapping = fyne.TextWrapWord
		return l
	}
	play, capt, err := sound.Devices()
	if err != nil {
		l := widget.NewLabel("The sound devices cannot be listed: " + err.Error())
		l.Wrapping = fyne.TextWrapWord
		return l
	}
	choices := func(list []AudioDevice, ids map[string]string) []string {
		out := []string{systemDefault}
		ids[systemDefault] = ""
		for _, d := range list {
			name := d.Name
			if _, dup := ids[name]; dup || name == "" {
				name = fmt.Sprintf("%s (%s)", d.Name, d.ID)
			}
			ids[name] = d.ID
			out = append(out, name)
		}
		return out
	}
	selected := func(s *widget.Select, ids map[string]string, id string) {
		for name, v := range ids {
			if v == id {
				s.SetSelected(name)
				return
			}
		}
		s.SetSelected(systemDefault)
	}
	pc := choices(play, f.playIDs)
	f.playback = widget.NewSelect(pc, nil)
	f.capture = widget.NewSelect(choices(capt, f.capIDs), nil)
	f.ring = widget.NewSelect(pc, nil)
	selected(f.playback, f.playIDs, cur.Playback)
	selected(f.capture, f.capIDs, cur.Capture)
	selected(f.ring, f.playIDs, cur.RingDevice)
	return widget.NewForm(
		widget.NewFormItem("Headset speaker", f.playback),
		widget.NewFormItem("Headset microphone", f.capture),
		widget.NewFormItem("Ring on", f.ring),
	)
}

func modeOf(label string) string {
	for _, m := range parkModes {
		if m.label == label {
			return m.mode
		}
	}
	return ParkEmbedded
}

func labelOf(mode string) string {
	for _, m := range parkModes {
		if m.mode == mode {
			return m.label
		}
	}
	return parkModes[0].label
}

// showMode shows the fields the park mode needs.
func (f *settingsForm) showMode(mode string) {
	if f.service == nil || f.templates == nil {
		return
	}
	show := func(o fyne.CanvasObject, on bool) {
		if on {
			o.Show()
		} else {
			o.Hide()
		}
	}
	show(f.service, mode == ParkEmbedded || mode == ParkService)
	show(f.templates, mode == ParkTemplates)
	if mode == ParkOff {
		f.orbits.Disable()
	} else {
		f.orbits.Enable()
	}
}

// settings reads the fields.
func (f *settingsForm) settings() (Settings, error) {
	trim := func(e *escEntry) string { return strings.TrimSpace(e.Text) }
	s := Settings{
		DisplayName:      trim(f.displayName),
		Listen:           trim(f.listen),
		AccountAOR:       trim(f.aor),
		Username:         trim(f.username),
		Password:         f.password.Text,
		Registrar:        trim(f.registrar),
		OutboundProxy:    trim(f.outbound),
		TLSCAFile:        trim(f.tlsCA),
		TLSCertFile:      trim(f.tlsCert),
		TLSKeyFile:       trim(f.tlsKey),
		ParkMode:         modeOf(f.parkMode.Selected),
		ParkService:      trim(f.parkService),
		ParkAny:          trim(f.parkAny),
		ParkOrbit:        trim(f.parkOrbit),
		ParkRetrieve:     trim(f.parkRetrieve),
		ParkSafeRetrieve: trim(f.parkSafe),
		ParkLamp:         trim(f.parkLamp),
		ParkDirected:     f.parkDirected.Checked,
		SRTP:             srtpMode(f.srtp.Selected),
	}
	if err := f.people.read(&s); err != nil {
		return s, err
	}
	if f.playback != nil {
		s.Playback = f.playIDs[f.playback.Selected]
		s.Capture = f.capIDs[f.capture.Selected]
		s.RingDevice = f.playIDs[f.ring.Selected]
	}
	if s.ParkMode == ParkOff {
		s.Orbits = telephony.DefaultLot
		return s, s.Validate()
	}
	var err error
	if s.Orbits, err = telephony.ParseLot(trim(f.orbits)); err != nil {
		return s, fmt.Errorf("orbits %q: %w", trim(f.orbits), err)
	}
	return s, s.Validate()
}

// submit checks and saves, or says what is wrong.
func (f *settingsForm) submit() {
	s, err := f.settings()
	if err == nil {
		err = f.onSave(s)
	}
	if err != nil {
		f.errText.SetText(strings.ReplaceAll(err.Error(), "\n", "; "))
		f.errText.Show()
		return
	}
	f.dlg.Hide()
	if then := f.afterSave; then != nil {
		f.afterSave = nil
		then()
	}
}

// ShowSettings opens the settings dialog.
func (c *Console) ShowSettings() {
	f := c.settingsDialog()
	c.showDialog(f.dlg, nil)
	c.logPlaced("settings-shown", nil, map[string]fyne.CanvasObject{"Save": f.save, "SIP address": f.listen})
}

// settingsDialog builds the settings dialog of the console.
func (c *Console) settingsDialog() *settingsForm {
	var f *settingsForm
	f = newSettingsForm(c.win, c.settings, c.opts.Sound, func(s Settings) error {
		old := c.settings
		s.Save(c.prefs)
		c.settings = s
		if snd := c.opts.Sound; snd != nil {
			if s.Playback != old.Playback || s.Capture != old.Capture {
				c.act("switch to the headset chosen", func(context.Context) error { return snd.SetDevices(s.Playback, s.Capture) })
			}
			if s.RingDevice != old.RingDevice {
				c.act("switch the ringtone to the device chosen", func(context.Context) error { return snd.SetRingDevice(s.RingDevice) })
			}
		}
		if c.opts.OnSettingsSaved != nil {
			c.opts.OnSettingsSaved(s)
		}
		if networkChanged(old, s) {
			c.flash("Settings saved: account, address and park changes apply when Switchboard starts again")
			if c.opts.OnRestart != nil {
				f.afterSave = c.offerRestart
			}
		} else {
			c.flash("Settings saved")
		}
		c.changed()
		return nil
	})
	return f
}

// networkChanged reports whether a change needs a restart.
func networkChanged(a, b Settings) bool {
	a.Playback, a.Capture, a.RingDevice = b.Playback, b.Capture, b.RingDevice
	a.ParkDirected = b.ParkDirected // the window's own choice, at once
	return a != b
}

// newPasswordEscEntry is a password field on which Esc closes its
// dialog, with Fyne's button that shows and hides the password (whose
// own is tied to the entry Fyne made).
func newPasswordEscEntry() *escEntry {
	e := newEscEntry()
	e.Password, e.Wrapping = true, fyne.TextWrap(fyne.TextTruncateClip)
	var reveal *widget.Button
	reveal = widget.NewButtonWithIcon("", theme.VisibilityOffIcon(), func() {
		e.Password = !e.Password
		if e.Password {
			reveal.SetIcon(theme.VisibilityOffIcon())
		} else {
			reveal.SetIcon(theme.VisibilityIcon())
		}
		e.Refresh()
	})
	reveal.Importance = widget.LowImportance
	e.ActionItem = reveal
	return e
}

// srtpLabels are the SRTP choices, in the order of srtpModes.
var (
	srtpLabels = []string{"Off", "Offered", "Required"}
	srtpModes  = []string{SRTPOff, SRTPOffered, SRTPRequired}
)

// srtpLabel is the choice shown for Settings.SRTP.
func srtpLabel(mode string) string {
	for i, m := range srtpModes {
		if m == mode {
			return srtpLabels[i]
		}
	}
	return srtpLabels[0]
}

// srtpMode is the Settings.SRTP of a choice.
func srtpMode(label string) string {
	for i, l := range srtpLabels {
		if l == label {
			return srtpModes[i]
		}
	}
	return SRTPOff
}
