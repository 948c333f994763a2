package park

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// ackFor builds an ACK such as ackReinvite sends, in dialog callID.
func ackFor(callID string, seq uint32) *sip.Request {
	ack := sip.NewRequest(sip.ACK, sip.Uri{Scheme: "sip", User: "carol", Host: "192.0.2.7", Port: 5062})
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "UDP", Host: "192.0.2.1", Port: 5060, Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranch())
	ack.AppendHeader(via)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "park", Host: "192.0.2.1"}, Params: sip.NewParams()}
	from.Params.Add("tag", "ours")
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: "carol", Host: "192.0.2.7"}, Params: sip.NewParams()}
	to.Params.Add("tag", "theirs")
	cid := sip.CallIDHeader(callID)
	ack.AppendHeader(from)
	ack.AppendHeader(to)
	ack.AppendHeader(&cid)
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: seq, MethodName: sip.ACK})
	ack.SetTransport("UDP")
	ack.SetDestination("192.0.2.7:5062")
	return ack
}

// A kept ACK comes back as it was sent, to where it was sent, for its
// dialog and CSeq number alone.
func TestSentTableGivesTheSameACK(t *testing.T) {
	a := newSentTable[ackKey](time.Minute)
	defer a.close()
	sent := ackFor("c1@192.0.2.1", 7)
	k, ok := keyOfAck(sent)
	if !ok || k != (ackKey{"c1@192.0.2.1", 7}) {
		t.Fatalf("key %v, %t", k, ok)
	}
	a.add(k, sent)
	msg, err := a.again(k)
	again, _ := msg.(*sip.Request)
	if err != nil || again == nil {
		t.Fatalf("again: %v, %v", msg, err)
	}
	if got, want := again.String(), sent.String(); got != want {
		t.Errorf("ACK again:\n%s\nsent:\n%s", got, want)
	}
	if again.Transport() != "UDP" || again.Destination() != "192.0.2.7:5062" {
		t.Errorf("again goes over %s to %s, want UDP to 192.0.2.7:5062", again.Transport(), again.Destination())
	}
	for _, k := range []ackKey{{"c1@192.0.2.1", 8}, {"c2@192.0.2.1", 7}, {"", 7}} {
		if msg, err := a.again(k); msg != nil || err != nil {
			t.Errorf("again(%v) = %v, %v: want nothing", k, msg, err)
		}
	}
}

// waitGone bounds how long the expiry test waits: siptest.WaitFor, which
// this package's internal tests cannot import.
const waitGone = 30 * time.Second

// Entries go when their time is up, and the timer with the last of them.
func TestSentTableExpires(t *testing.T) {
	life := 20 * time.Millisecond
	a := newSentTable[ackKey](life)
	defer a.close()
	a.add(ackKey{"old@192.0.2.1", 1}, ackFor("old@192.0.2.1", 1))
	time.Sleep(life / 2)
	a.add(ackKey{"new@192.0.2.1", 1}, ackFor("new@192.0.2.1", 1))
	deadline := time.Now().Add(waitGone)
	for a.len() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d ACKs still kept %v after their life of %v", a.len(), waitGone, life)
		}
		time.Sleep(life)
	}
	if ack, _ := a.again(ackKey{"new@192.0.2.1", 1}); ack != nil {
		t.Error("an expired ACK given again")
	}
	a.mu.Lock()
	timer, order := a.timer, len(a.order)
	a.mu.Unlock()
	if timer != nil || order != 0 {
		t.Errorf("empty, yet timer %v and %d in order", timer, order)
	}
	// The table starts again after it emptied.
	a.add(ackKey{"later@192.0.2.1", 1}, ackFor("later@192.0.2.1", 1))
	if ack, _ := a.again(ackKey{"later@192.0.2.1", 1}); ack == nil {
		t.Error("an ACK added after the table emptied is not kept")
	}
}

// After close nothing is kept or added, and no timer is left.
func TestSentTableClose(t *testing.T) {
	a := newSentTable[ackKey](time.Minute)
	a.add(ackKey{"c1@192.0.2.1", 1}, ackFor("c1@192.0.2.1", 1))
	a.close()
	a.add(ackKey{"c2@192.0.2.1", 1}, ackFor("c2@192.0.2.1", 1))
	if n := a.len(); n != 0 {
		t.Errorf("%d ACKs kept after close", n)
	}
	if a.timer != nil {
		t.Error("timer left after close")
	}
}

// len is how many messages t keeps.
func (t *sentTable[K]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.byKey)
}
