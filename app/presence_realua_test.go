package app_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"fyne.io/fyne/v2"
	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard/switchboard/app"
	"github.com/switchboard/switchboard/directory"
	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/widgets"
)

// countEvents counts baresip's events of type typ so far.
func countEvents(b *baresip.Baresip, typ string) int {
	n := 0
	for _, e := range b.Events() {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// TestRealCampOnBaresip: the window over the real user agent, Debian's
// baresip as the colleague, its lamp from an RFC 4235 presence server
// (the -presence-server) that follows baresip's calls. Baresip is on a
// call with bob: its row says busy. Alice's call, answered at the
// console, is dropped (Enter) on the colleague: "Transfer when free"
// holds her; bob hangs up, the lamp goes idle, and the console
// transfers alice by itself; baresip answers and alice hears it.
func TestRealCampOnBaresip(t *testing.T) {
	if testing.Short() {
		t.Skip("real SIP on loopback")
	}
	b := siptest.StartBaresip(t, baresip.Options{Display: "Bare Colleague"})
	src := siptest.StartDialogSource(t)
	svc := startPark(t)
	dir := t.TempDir()
	contacts := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(contacts, []byte("Name,Extension,SIP URI,Department\nBare Colleague,2200,"+b.AOR+",Sales\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	phone := realPhone(t, "reception1", svc.HostPort(), &siptest.ToneDevice{Freq: 1000})
	h := openConsole(t, newApp(t), phone, "Reception 1", realClock, func(o *app.Options) {
		o.Directory = &directory.Options{Files: []string{contacts}, CachePath: filepath.Join(dir, "cache.json"),
			PresenceServer: fmt.Sprintf("127.0.0.1:%d", src.Port)}
	})
	// A safety net for the whole test: every wait ends on an event.
	ctx, cancel := context.WithTimeout(context.Background(), 4*waitFor)
	defer cancel()
	if err := phone.Start(ctx); err != nil {
		t.Fatal(err)
	}
	pumpUntil(t, "the colleague listed and free", func() bool {
		p, ok := rowPresence(h, "Bare Colleague")
		return ok && p == widgets.PresenceIdle
	}, h)

	// bob calls baresip, which answers: its lamp says busy.
	var bu sip.Uri
	if err := sip.ParseUri(b.AOR, &bu); err != nil {
		t.Fatal(err)
	}
	bob := siptest.NewAgent(t, "bob", siptest.AgentOptions{})
	bd, err := bob.DG.NewDialog(bu, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bobCalls := siptest.Dial(t, bd, diago.InviteClientOptions{Headers: []sip.Header{bob.From()}})
	if _, err := b.WaitType(ctx, "CALL_INCOMING", "bob"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Command(ctx, "accept", ""); err != nil {
		t.Fatal(err)
	}
	bobCall := siptest.Recv(t, "bob's call answered", bobCalls)
	src.Set("2200", telephony.PresenceBusy)
	pumpUntil(t, "the colleague busy", func() bool { p, _ := rowPresence(h, "Bare Colleague"); return p == widgets.PresenceBusy }, h)

	// alice calls the console and is answered; she follows REFERs.
	alice := siptest.NewAgent(t, "alice", siptest.AgentOptions{})
	referred := make(chan *siptest.Call, 1)
	var console sip.Uri
	if err := sip.ParseUri(phone.AOR(), &console); err != nil {
		t.Fatal(err)
	}
	ad, err := alice.DG.NewDialog(console, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	siptest.Dial(t, ad, diago.InviteClientOptions{Headers: []sip.Header{alice.From()}, OnRefer: func(rd *diago.DialogClientSession) error {
		c, err := siptest.Follow(ctx, rd, alice.From())
		if err != nil {
			return err
		}
		referred <- c
		<-rd.Context().Done()
		return nil
	}})
	pumpUntil(t, "alice ringing", func() bool {
		s := h.c.Snapshot()
		return len(s.Lines) == 1 && s.Lines[0].State == string(widgets.LineRinging)
	}, h)
	h.key(fyne.KeyReturn)
	pumpUntil(t, "alice answered", func() bool { return h.c.Snapshot().Lines[0].State == string(widgets.LineActive) }, h)

	// Dropped on the busy colleague: transfer when free.
	h.typeText("/")
	h.typeSearch("bare")
	h.searchKey(fyne.KeyReturn)
	pumpUntil(t, "transfer when free offered", func() bool { return visibleButton(h, "Transfer when free") }, h)
	h.button("Transfer when free").OnTapped()
	pumpUntil(t, "alice held, waiting", func() bool {
		return h.c.Snapshot().Lines[0].State == string(widgets.LineHeld) && visibleButton(h, "Stop waiting")
	}, h)
	if n := countEvents(b, "CALL_INCOMING"); n != 1 {
		t.Fatalf("baresip rang %d times while busy", n)
	}

	// bob hangs up: baresip is free, its lamp goes idle, alice goes.
	if err := bobCall.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := b.WaitType(ctx, "CALL_CLOSED", "bob"); err != nil {
		t.Fatal(err)
	}
	src.Set("2200", telephony.PresenceIdle)
	pumpUntil(t, "baresip rung by alice", func() bool { return countEvents(b, "CALL_INCOMING") == 2 }, h)
	if _, err := b.Command(ctx, "accept", ""); err != nil {
		t.Fatal(err)
	}
	pumpUntil(t, "alice's line gone, transferred", func() bool {
		s := h.c.Snapshot()
		return len(s.Lines) == 0 || s.Lines[0].State == string(widgets.LineEnded)
	}, h)
	var nd *siptest.Call
	select {
	case nd = <-referred:
	case <-ctx.Done():
		t.Fatal("alice never called baresip")
	}
	m := siptest.StartMedia(t, nd, 700)
	m.WaitTone(t, "alice hears baresip", 440)
}
