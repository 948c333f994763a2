package app_test

import (
	"bytes"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"github.com/switchboard/switchboard/app"
)

// TestStartupErrorInPlainWords: a start that failed because the address
// is taken says so in plain words and what to do, without the socket's
// words ("listen udp ...: bind: address already in use"), which go to
// the log (issue 13, item 9).
func TestStartupErrorInPlainWords(t *testing.T) {
	var logged bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&logged, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	taken := &net.OpError{Op: "listen", Net: "udp", Err: os.NewSyscallError("bind", syscall.EADDRINUSE)}
	err := fmt.Errorf("sip: listen on 127.0.0.1:5060: %w", taken)
	a := newApp(t)
	w := a.NewWindow("Switchboard")
	app.StartupError(a, w, err, nil)
	var texts []string
	for _, o := range find(w.Canvas().Content(), func(o fyne.CanvasObject) bool { _, ok := o.(*widget.Label); return ok }) {
		texts = append(texts, o.(*widget.Label).Text)
	}
	all := strings.Join(texts, "\n")
	if !strings.Contains(all, "Another program, maybe another Switchboard, already uses this console's SIP address.") {
		t.Errorf("the window says %q", all)
	}
	if strings.Contains(all, "bind") || strings.Contains(all, "udp") {
		t.Errorf("the window shows the socket's words: %q", all)
	}
	if !strings.Contains(logged.String(), "address already in use") {
		t.Errorf("the log lacks the detail: %q", logged.String())
	}
}
