package park_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard/switchboard/internal/siptest"

	"github.com/switchboard/switchboard/telephony/park"
	"github.com/switchboard/switchboard/telephony/park/store"
)

// openStore opens a park store in a fresh directory, closed at the end
// of the test (after the services using it: cleanups run last first).
func openStore(t testing.TB) (*store.SQLite, string) {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, dir
}

// TestCloseWithStoreHangsNobodyUp: with a store, Close stops the service
// and leaves the parked caller's and the bridged call's dialogs up (no
// BYE); Held counts them first. Without a store Close hangs them up
// (TestCloseWithoutStoreHangsUp).
func TestCloseWithStoreHangsNobodyUp(t *testing.T) {
	st, _ := openStore(t)
	f := startPark(t, func(o *park.Options) { o.Store = st })
	parked := parkAlice(t, f.uri("park-701"))
	f.log.wait(t, "parked", "orbit", "701")
	bridgedCaller := parkAlice(t, f.uri("park-702"))
	f.log.wait(t, "parked", "orbit", "702")
	retriever, err := newAgent(t, "bob", nil).Call(t, f.uri("702"))
	if err != nil {
		t.Fatal(err)
	}
	f.log.wait(t, "retrieved", "orbit", "702")
	if p, b := f.svc.Held(); p != 1 || b != 1 {
		t.Fatalf("Held() = %d parked, %d bridged; want 1, 1", p, b)
	}
	f.svc.Close()
	// Close sends its BYEs and waits for their answers before it
	// returns, so a dialog Close hung up has ended by now.
	for name, d := range map[string]interface{ Context() context.Context }{"parked caller": parked, "bridged caller": bridgedCaller, "retriever": retriever} {
		if d.Context().Err() != nil {
			t.Errorf("%s's dialog ended at Close with a store", name)
		}
	}
}

// TestCloseWithoutStoreHangsUp: without a store, Close ends the calls it
// holds with a BYE, as before.
func TestCloseWithoutStoreHangsUp(t *testing.T) {
	f := startPark(t, nil)
	parked := parkAlice(t, f.uri("park-701"))
	f.log.wait(t, "parked", "orbit", "701")
	f.svc.Close()
	select {
	case <-parked.Context().Done():
	case <-time.After(siptest.WaitFor):
		t.Fatal("the parked caller got no BYE at Close without a store")
	}
}
