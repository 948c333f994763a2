package park_test

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"
	"weak"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// TestEndedTransactionsAreReleased: an INVITE transaction that got its
// 2xx and was then terminated (as a dialog's close and sipgo's client do
// with every INVITE the service sends or answers) lets go of what its
// OnTerminate callbacks hold at once, not when Timer L (server) or
// Timer M (client) would have fired, 32 s later. Unpatched, sipgo (v1.7.3,
// v1.7.4) leaves both timers running after the delete, so every park, retrieve and
// hang-up kept its dialog for 32 s: 22 KB a cycle, 170 MB at 250 cycles
// a second (docs/BENCHMARKS.md, "Soak"). third_party/sipgo carries the fix:
// the timers stopped, and the callbacks let go (with the timers' stop
// alone this failed once beside two busy loops, the server's still held
// after 20 s, the bound then: most likely a stopped timer left in the
// runtime's heap).
func TestEndedTransactionsAreReleased(t *testing.T) {
	ctx := context.Background()
	ua, err := sipgo.NewUA()
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	type answered struct {
		tx   sip.ServerTransaction
		held weak.Pointer[[1 << 16]byte]
	}
	got := make(chan answered, 1)
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		held := holdUntilTerminated(tx)
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		res.To().Params.Add("tag", sip.GenerateTagN(8))
		if err := tx.Respond(res); err != nil {
			t.Errorf("answering the INVITE: %v", err)
		}
		got <- answered{tx: tx, held: held}
	})
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ServeUDP(conn)
	}()
	defer func() { <-served }()
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port

	client, err := sipgo.NewClient(ua)
	if err != nil {
		t.Fatal(err)
	}
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "700", Host: "127.0.0.1", Port: port})
	ctxTx, cancelTx := context.WithTimeout(ctx, time.Minute)
	defer cancelTx()
	tx, err := client.TransactionRequest(ctxTx, req, sipgo.ClientRequestBuild)
	if err != nil {
		t.Fatal(err)
	}
	sent := holdUntilTerminated(tx)
	select {
	case res := <-tx.Responses():
		if res.StatusCode != sip.StatusOK {
			t.Fatalf("INVITE answered %d", res.StatusCode)
		}
	case <-ctxTx.Done():
		t.Fatal("no answer to the INVITE")
	}
	a := <-got
	a.tx.Terminate()
	tx.Terminate()
	a.tx, tx = nil, nil

	// Collected before Timer L or M (64·T1) would have fired and let go
	// of them anyway: half of it is the bound, not a speed; the loop
	// returns as soon as both are gone.
	bound := sip.Timer_L / 2
	deadline := time.Now().Add(bound)
	for a.held.Value() != nil || sent.Value() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("%v after the transactions ended, still held: server %t, client %t",
				bound, a.held.Value() != nil, sent.Value() != nil)
		}
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
	}
}

// holdUntilTerminated hangs 64 KiB on tx's OnTerminate callback, as a
// dialog hangs itself there, and returns a weak pointer to it.
func holdUntilTerminated(tx sip.Transaction) weak.Pointer[[1 << 16]byte] {
	held := new([1 << 16]byte)
	tx.OnTerminate(func(string, error) { held[0]++ })
	return weak.Make(held)
}
