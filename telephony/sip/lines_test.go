package sip_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
)

// stallingCaller is a caller whose answers to the console's in-dialog
// re-INVITEs (hold, resume) wait, while stalled, until released: a far
// end that takes its time over the network.
type stallingCaller struct {
	*siptest.Agent
	mu      sync.Mutex
	armed   bool
	entered chan struct{} // a re-INVITE is being held back
	release chan struct{} // closed: answer it
	once    sync.Once
}

func newStallingCaller(t *testing.T, name string) *stallingCaller {
	t.Helper()
	s := &stallingCaller{entered: make(chan struct{}, 1), release: make(chan struct{})}
	s.Agent = siptest.NewAgent(t, name, siptest.AgentOptions{
		Logger: testLogger(t, name),
		Middleware: func(next sipgo.RequestHandler) sipgo.RequestHandler {
			return func(req *sip.Request, tx sip.ServerTransaction) {
				if tag, _ := req.To().Params.Get("tag"); req.Method == sip.INVITE && tag != "" {
					s.mu.Lock()
					armed := s.armed
					s.armed = false
					s.mu.Unlock()
					if armed {
						s.entered <- struct{}{}
						<-s.release
					}
				}
				next(req, tx)
			}
		},
	})
	// Released at the end whatever happened, so that no handler stays
	// blocked past the test.
	t.Cleanup(s.unstall)
	return s
}

// stallNext holds back the next in-dialog re-INVITE.
func (s *stallingCaller) stallNext() {
	s.mu.Lock()
	s.armed = true
	s.mu.Unlock()
}

// unstall lets every re-INVITE held back, and every later one, through.
func (s *stallingCaller) unstall() { s.once.Do(func() { close(s.release) }) }

// TestNoLockAcrossNetworkWait: while the console waits for a far end to
// answer the hold of its call (a re-INVITE over the network), the phone
// is not locked: another call can be answered and becomes the live line,
// and a second operation on the call being held is refused at once as
// a wrong state instead of queueing behind the wait. Once the far end
// answers, the hold completes; there is one live line throughout. (The
// line lock used to be held across that wait: Answer of the other call
// and Resume of this one waited for it, and Resume then went ahead.)
func TestNoLockAcrossNetworkWait(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	alice := newStallingCaller(t, "alice")
	d, err := alice.DG.NewDialog(a.uri(), diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	answeredA := siptest.Dial(t, d, diago.InviteClientOptions{Headers: []sip.Header{alice.From()}})
	ra := a.waitRinging(t)
	if err := a.Answer(ctxT(t), ra.ID); err != nil {
		t.Fatal(err)
	}
	siptest.Recv(t, "alice answered", answeredA)
	a.waitState(t, ra.ID, telephony.StateActive)

	bob, _ := ringing(t, a, "bob")

	alice.stallNext()
	held := make(chan error, 1)
	go func() { held <- a.Hold(context.Background(), ra.ID) }()
	siptest.Recv(t, "the hold's re-INVITE reached alice", alice.entered)

	// The hold is under way (alice has not answered it): the call is
	// held already (off the sound device), and resuming it now is
	// refused at once.
	before, _ := a.Call(ra.ID)
	if before.State != telephony.StateHeld {
		t.Fatalf("alice while her hold is under way: %+v", before)
	}
	resumed := make(chan error, 1)
	go func() { resumed <- a.Resume(context.Background(), ra.ID) }()
	a.refused(t, "resume during the hold", siptest.Recv(t, "Resume while the hold waits", resumed), before)

	answeredB := make(chan error, 1)
	go func() { answeredB <- a.Answer(context.Background(), bob.ID) }()
	if err := siptest.Recv(t, "Answer of bob while alice's hold waits", answeredB); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, bob.ID, telephony.StateActive)

	alice.unstall()
	if err := siptest.Recv(t, "the hold, once alice answered", held); err != nil {
		t.Fatal(err)
	}
	live := 0
	for _, c := range a.Calls() {
		switch {
		case c.ID == ra.ID && c.State != telephony.StateHeld:
			t.Fatalf("alice after the hold: %+v", c)
		case c.State == telephony.StateActive:
			live++
		}
	}
	if live != 1 {
		t.Fatalf("%d live calls: %+v", live, a.Calls())
	}
}

// TestAnswerWaitsForACKWithoutLock: Answer waits for the caller's ACK
// (diago waits up to ~32 s for it). Meanwhile the phone is not locked:
// the receptionist can take another call off hold, and when the ACK
// comes the answered call becomes the live line and holds that one.
// (Answer used to hold the line lock across that wait: Resume waited
// for the ACK.)
func TestAnswerWaitsForACKWithoutLock(t *testing.T) {
	a := newConsole(t, "desk", 1000, nil)
	_, alice, _ := aliceOn(t, a, false) // a first caller, answered
	if err := a.Hold(ctxT(t), alice.ID); err != nil {
		t.Fatal(err)
	}

	carol := siptest.NewAgent(t, "carol", siptest.AgentOptions{Logger: testLogger(t, "carol")})
	d, err := carol.DG.NewDialog(a.uri(), diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	invited := make(chan error, 1)
	go func() {
		_, err := d.Invite(ctx, diago.InviteClientOptions{Headers: []sip.Header{carol.From()}})
		invited <- err
	}()
	t.Cleanup(func() {
		hctx, hcancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer hcancel()
		_ = d.Hangup(hctx)
		d.Close()
	})
	r := a.waitCall(t, "carol rings", func(c telephony.Call) bool {
		return c.State == telephony.StateRinging && c.RemoteURI == carol.AOR()
	})
	answered := make(chan error, 1)
	go func() { answered <- a.Answer(context.Background(), r.ID) }()
	// Carol has the 200 and holds back her ACK: Answer is waiting for it.
	if err := siptest.Recv(t, "carol's INVITE answered", invited); err != nil {
		t.Fatal(err)
	}

	resumed := make(chan error, 1)
	go func() { resumed <- a.Resume(context.Background(), alice.ID) }()
	if err := siptest.Recv(t, "Resume while Answer waits for the ACK", resumed); err != nil {
		t.Fatal(err)
	}
	if c, _ := a.Call(alice.ID); c.State != telephony.StateActive {
		t.Fatalf("the resumed call: %+v", c)
	}

	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	if err := siptest.Recv(t, "Answer, once the ACK came", answered); err != nil {
		t.Fatal(err)
	}
	a.waitState(t, alice.ID, telephony.StateHeld)
	a.waitState(t, r.ID, telephony.StateActive)
	live := 0
	for _, c := range a.Calls() {
		if c.State == telephony.StateActive {
			live++
		}
	}
	if live != 1 {
		t.Fatalf("%d live calls: %+v", live, a.Calls())
	}
}
