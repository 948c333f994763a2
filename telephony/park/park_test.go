package park_test

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/tone"
)

func TestParkOnChosenOrbitPlaysMusicAndRemembers(t *testing.T) {
	f := startPark(t, nil)
	caller := newAgent(t, "alice", nil)
	d, err := caller.call(t, f.uri("park-705", "token=tok705", "parker=console%40127.0.0.1%3A5999"),
		sip.NewHeader("Referred-By", "<sip:console@127.0.0.1:5999>"))
	if err != nil {
		t.Fatal(err)
	}
	if h := d.InviteResponse.GetHeader("X-Park-Orbit"); h == nil || h.Value() != "705" {
		t.Fatalf("X-Park-Orbit = %v, want 705", h)
	}
	m := startMedia(t, d, 440)
	win := m.waitAudio(t, 0)
	if rms := tone.RMS(win); rms < 0.01 {
		t.Fatalf("parked caller hears silence (rms %.4f), want music", rms)
	}
	ev := f.log.wait(t, "parked", "orbit", "705")
	if ev["parker"] != "sip:console@127.0.0.1:5999" || !strings.Contains(ev["caller"], "Alice") {
		t.Fatalf("parked event = %v", ev)
	}
	st, _ := f.svc.Orbit(705)
	if !st.Occupied || st.CallerName != "Alice" || st.Parker != "sip:console@127.0.0.1:5999" {
		t.Fatalf("orbit state = %+v", st)
	}
	_ = time.Second
}
