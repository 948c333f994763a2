package app

import (
	"encoding/json"
	"fmt"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/widget"
)

// CloseChoice is what the receptionist chose when closing the window
// with calls up.
type CloseChoice uint8

// The choices of the close question.
const (
	// CloseCancel keeps the console open.
	CloseCancel CloseChoice = iota
	// CloseHangUpAll hangs up every call on the lines and, when the
	// parked calls end with the console (its built-in park service),
	// those too.
	CloseHangUpAll
	// CloseKeepParked hangs up the calls on the lines; the parked calls
	// stay on the park service, where anyone can retrieve them (a
	// separate one), or in the built-in one's store, which gives them
	// back when the console opens again (ParkedReturn).
	CloseKeepParked
	// CloseRingBack keeps the window open while the built-in park
	// service rings every parked call back to this console (its drain);
	// the console closes once no call is parked on or bridged through it.
	CloseRingBack
)

// CloseQuestion is what closing the window would do to calls.
type CloseQuestion struct {
	// Lines counts the calls on the console's lines (ringing, live,
	// held, being parked): closing hangs them up.
	Lines int
	// Parked counts the parked calls closing concerns: this console's,
	// or every call on its built-in park service.
	Parked int
	// Bridged counts the calls bridged through the built-in park service
	// that are not on this console's lines (retrieved by another
	// console): their sound goes through this process.
	Bridged int
	// ParkedStay is true when the parked calls stay on the park service
	// after the console closes (a separate service); false when they end
	// with it (the built-in one).
	ParkedStay bool
	// ParkedReturn is true when the parked and bridged calls stay in the
	// built-in park service's store and come back when the console opens
	// again; ParkedStay is then false.
	ParkedReturn bool
}

// NeedsAsking reports whether closing would hang up or leave calls.
func (q CloseQuestion) NeedsAsking() bool { return q.Lines > 0 || q.Parked > 0 || q.Bridged > 0 }

// closeButtons are the question's buttons, in order, with their choices.
func (q CloseQuestion) buttons() (labels []string, choices []CloseChoice) {
	switch {
	case q.ParkedReturn && q.Parked > 0:
		labels, choices = []string{"Close", "Ring back now"}, []CloseChoice{CloseKeepParked, CloseRingBack}
	case q.ParkedReturn && q.Bridged > 0:
		labels, choices = []string{"Close"}, []CloseChoice{CloseKeepParked}
	case q.Parked > 0 && q.ParkedStay:
		labels, choices = []string{"Keep parked calls parked and close"}, []CloseChoice{CloseKeepParked}
	case q.Parked > 0:
		labels, choices = []string{"Hang up all and close"}, []CloseChoice{CloseHangUpAll}
	default:
		labels, choices = []string{"Hang up and close"}, []CloseChoice{CloseHangUpAll}
	}
	return append(labels, "Cancel"), append(choices, CloseCancel)
}

// text words the question.
func (q CloseQuestion) text() string {
	var s string
	if q.Lines > 0 {
		s = fmt.Sprintf("%s on your lines will be hung up.", closePlural(q.Lines, "call"))
	}
	if q.ParkedReturn {
		if q.Parked > 0 {
			if s != "" {
				s += "\n"
			}
			s += fmt.Sprintf("%s parked here: %s will return to you when you reopen Switchboard.",
				closeAre(q.Parked), closeThey(q.Parked))
		}
		if q.Bridged > 0 {
			if s != "" {
				s += "\n"
			}
			s += fmt.Sprintf("%s another console retrieved from here %s through this one: %s silent until you reopen Switchboard.",
				closePlural(q.Bridged, "call"), closeGo(q.Bridged), closeBe(q.Bridged))
		}
		return s
	}
	if q.Parked > 0 {
		if s != "" {
			s += "\n"
		}
		if q.ParkedStay {
			s += fmt.Sprintf("%s you parked will stay parked on the park service: anyone can retrieve %s there.",
				closePlural(q.Parked, "call"), closeThem(q.Parked))
		} else {
			s += fmt.Sprintf("%s parked on this console's built-in park service will be hung up: the service closes with the window.",
				closePlural(q.Parked, "call"))
		}
	}
	return s
}

func closePlural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// closeAre is "1 call is" or "3 calls are".
func closeAre(n int) string {
	if n == 1 {
		return "1 call is"
	}
	return fmt.Sprintf("%d calls are", n)
}

func closeThey(n int) string {
	if n == 1 {
		return "it"
	}
	return "they"
}

func closeGo(n int) string {
	if n == 1 {
		return "goes"
	}
	return "go"
}

func closeBe(n int) string {
	if n == 1 {
		return "it is"
	}
	return "they are"
}

func closeThem(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// AskClose asks what to do with the calls before the window closes;
// decide gets the choice on Fyne's goroutine. Call it on Fyne's
// goroutine (the window's close intercept). The question is modal:
// only a click on a button decides, or Esc, which is Cancel; Enter
// decides nothing, so Esc-then-Enter never hangs up.
func (c *Console) AskClose(q CloseQuestion, decide func(CloseChoice)) {
	labels, choices := q.buttons()
	var d *dialog.CustomDialog
	decided := false
	choose := func(choice CloseChoice) {
		if decided {
			return
		}
		decided = true
		d.Hide()
		c.logEvent("close-decided", map[string]any{"choice": choice.String()})
		decide(choice)
	}
	var btns []fyne.CanvasObject
	byLabel := map[string]*widget.Button{}
	for i, label := range labels {
		choice := choices[i]
		b := widget.NewButton(label, func() { choose(choice) })
		switch choice {
		case CloseHangUpAll:
			b.Importance = widget.DangerImportance
		case CloseKeepParked:
			b.Importance = widget.HighImportance
		}
		btns = append(btns, b)
		byLabel[label] = b
	}
	msg := widget.NewLabel(q.text())
	msg.Wrapping = fyne.TextWrapWord
	d = dialog.NewCustomWithoutButtons("Close Switchboard?", container.NewVBox(msg, container.NewHBox(btns...)), c.win)
	d.Resize(fyne.NewSize(520, 0))
	c.showDialog(d, func() { choose(CloseCancel) })
	// The state log says where the buttons are, for the real-window test.
	objs := map[string]fyne.CanvasObject{}
	for label, b := range byLabel {
		objs[label] = b
	}
	c.logPlaced("close-asked", map[string]any{"lines": q.Lines, "parked": q.Parked, "bridged": q.Bridged,
		"parked_stay": q.ParkedStay, "parked_return": q.ParkedReturn}, objs)
}

// String names the choice (for the logs).
func (ch CloseChoice) String() string {
	switch ch {
	case CloseHangUpAll:
		return "hang-up-all"
	case CloseKeepParked:
		return "keep-parked"
	case CloseRingBack:
		return "ring-back"
	}
	return "cancel"
}

// BringForward shows the window and asks the desktop to focus it: a
// second console started for the same address asks the first for this.
// It may be called from any goroutine.
func (c *Console) BringForward() {
	c.do(func() {
		c.win.Show()
		c.win.RequestFocus()
		c.logEvent("brought-forward", nil)
	})
}

// logEvent writes one event line with extra fields to the state log,
// when there is one.
func (c *Console) logEvent(name string, extra map[string]any) {
	if c.state == nil {
		return
	}
	line := map[string]any{"event": name, "time": time.Now().UTC().Format(time.RFC3339Nano)}
	for k, v := range extra {
		line[k] = v
	}
	b, err := json.Marshal(line)
	if err != nil {
		return
	}
	c.state.mu.Lock()
	defer c.state.mu.Unlock()
	_, _ = c.state.w.Write(append(b, '\n'))
}
