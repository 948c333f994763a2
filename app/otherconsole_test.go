package app_test

import (
	"errors"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
)

// TestAlreadyRunning: a console that finds another Switchboard holding
// its park service says so plainly, never "address already in use", and
// offers to bring that window forward: Show that window asks the other
// one and quits once it answered; when it does not, the window says so
// and stays; Quit quits.
func TestAlreadyRunning(t *testing.T) {
	a := newApp(t)
	w := a.NewWindow("Switchboard")
	var asked, quit int
	answer := errors.New("connection refused")
	app.AlreadyRunning(a, w, "the park service address 127.0.0.1:5070", func() error { asked++; return answer }, func() { quit++ }, nil)
	texts := func() string {
		var out []string
		for _, o := range find(w.Canvas().Content(), func(o fyne.CanvasObject) bool { l, ok := o.(*widget.Label); return ok && l.Visible() }) {
			out = append(out, o.(*widget.Label).Text)
		}
		return strings.Join(out, "\n")
	}
	button := func(label string) *widget.Button {
		for _, o := range find(w.Canvas().Content(), func(o fyne.CanvasObject) bool { b, ok := o.(*widget.Button); return ok && b.Text == label }) {
			return o.(*widget.Button)
		}
		t.Fatalf("no %q button", label)
		return nil
	}
	all := texts()
	for _, want := range []string{"Switchboard is already running",
		"Another Switchboard on this computer already uses the park service address 127.0.0.1:5070, and only one can."} {
		if !strings.Contains(all, want) {
			t.Errorf("the window says %q, lacking %q", all, want)
		}
	}
	if strings.Contains(all, "already in use") {
		t.Errorf("the window says %q", all)
	}

	test.Tap(button("Show that window"))
	if asked != 1 || quit != 0 {
		t.Fatalf("the other did not answer: asked %d, quit %d; want 1 and 0", asked, quit)
	}
	if !strings.Contains(texts(), "That Switchboard did not answer.") {
		t.Errorf("no word of the failure: %q", texts())
	}

	answer = nil
	test.Tap(button("Show that window"))
	if asked != 2 || quit != 1 {
		t.Errorf("the other answered: asked %d, quit %d; want 2 and 1", asked, quit)
	}
	test.Tap(button("Quit"))
	if quit != 2 {
		t.Errorf("Quit: quit %d, want 2", quit)
	}
}
