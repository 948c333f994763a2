package park_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/baresip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

// referOutcome is what the console saw of its REFER.
type referOutcome struct {
	codes []int // sipfrag codes of the NOTIFYs, in order
	err   error
}

// TestBaresipFollowsReferOntoOrbit parks a real peer: Debian's baresip
// calls a console, the console REFERs it to sip:park-706@H;token=T;
// parker=P and drops its own leg on the 200 NOTIFY; baresip INVITEs the
// service, the lamp of 706 lights with baresip's identity, a retriever
// gets baresip and hears its 440 Hz ausine tone, and the lamp goes dark.
func TestBaresipFollowsReferOntoOrbit(t *testing.T) {
	siptest.NeedPeer(t, "baresip")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	f := startPark(t, nil)
	lamp := newWatcher(t, f, 706)
	lamp.waitOccupied(t, false)

	// The console answers baresip, REFERs it to the orbit and hangs up
	// its own leg once the NOTIFY says 200 (diago leaves that to us when
	// OnNotify is set).
	token := "bs" + sip.GenerateTagN(20) // > 96 bits
	type referPlan struct {
		to sip.Uri
		by string // Referred-By
	}
	plans := make(chan referPlan, 1)
	outcome := make(chan referOutcome, 1)
	console := newAgent(t, "console", func(d *diago.DialogServerSession) {
		var out referOutcome
		defer func() {
			select {
			case outcome <- out:
			default: // a second call from baresip: only the first counts
			}
		}()
		if _, err := d.Answer(diago.AnswerOptions{}); err != nil {
			out.err = fmt.Errorf("answer: %w", err)
			return
		}
		var plan referPlan
		select {
		case plan = <-plans:
		case <-d.Context().Done():
			out.err = fmt.Errorf("call ended before the REFER")
			return
		}
		notified := make(chan int, 16)
		rctx, rcancel := context.WithTimeout(d.Context(), 5*time.Second)
		err := d.ReferOptions(rctx, plan.to, diago.ReferServerOptions{
			Headers: []sip.Header{sip.NewHeader("Referred-By", "<"+plan.by+">")},
			OnNotify: func(code int) {
				select {
				case notified <- code:
				default:
				}
			},
		})
		rcancel()
		if err != nil {
			out.err = fmt.Errorf("REFER: %w", err)
			return
		}
		timeout := time.After(15 * time.Second)
		for {
			select {
			case code := <-notified:
				out.codes = append(out.codes, code)
				if code < 200 {
					continue
				}
				if code >= 300 {
					out.err = fmt.Errorf("park failed: NOTIFY sipfrag %d", code)
					<-d.Context().Done() // a failed park keeps the call
					return
				}
				hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
				if err := d.Hangup(hctx); err != nil && d.Context().Err() == nil {
					out.err = fmt.Errorf("hang up after the park: %w", err)
				}
				hcancel()
				return
			case <-timeout:
				out.err = fmt.Errorf("no final NOTIFY for the REFER")
				return
			case <-d.Context().Done():
				out.err = fmt.Errorf("call ended before a final NOTIFY (codes %v)", out.codes)
				return
			}
		}
	})
	parker := console.AOR()
	// The escape-free form of the parker: baresip 1.0.0 eats percent
	// escapes in a Refer-To (it passes the URI through printf).
	plans <- referPlan{to: f.uri("park-706", "token="+token, "parker-user=console",
		fmt.Sprintf("parker-host=127.0.0.1:%d", console.Port)), by: parker}

	b := siptest.StartBaresip(t, baresip.Options{Display: "Bare Sip", ToneHz: 440})
	if err := b.Dial(ctx, console.AOR()); err != nil {
		t.Fatal(err)
	}

	// The console's REFER went through: NOTIFYs ending in 200, its leg is down.
	var out referOutcome
	select {
	case out = <-outcome:
	case <-ctx.Done():
		t.Fatal("the console never finished its call with baresip")
	}
	if out.err != nil {
		t.Fatalf("console: %v (NOTIFY codes %v)", out.err, out.codes)
	}
	if last := out.codes[len(out.codes)-1]; last != 200 {
		t.Fatalf("NOTIFY codes %v, want a final 200", out.codes)
	}
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	est, err := b.WaitType(wctx, "CALL_ESTABLISHED", "park-706")
	if err != nil {
		t.Fatalf("baresip did not follow the REFER: %v", err)
	}
	if _, err := b.WaitType(wctx, "CALL_CLOSED", "console@"); err != nil {
		t.Fatalf("baresip's call with the console did not end: %v", err)
	}

	// The service parked baresip on 706 with its identity and the token
	// (URI parameters survive the transfer).
	ev := f.log.wait(t, "parked", "orbit", "706")
	if !strings.Contains(ev["caller"], b.AOR) || !strings.Contains(ev["caller"], "Bare Sip") {
		t.Errorf("parked event caller = %q, want baresip (%s)", ev["caller"], b.AOR)
	}
	if ev["token_set"] != "true" {
		t.Errorf("parked event token_set = %q: the token did not survive the transfer", ev["token_set"])
	}
	st, _ := f.svc.Orbit(706)
	if !st.Occupied || st.CallerURI != b.AOR || st.CallerName != "Bare Sip" {
		t.Fatalf("orbit 706 = %+v, want occupied by %q <%s>", st, "Bare Sip", b.AOR)
	}
	// The parker comes from the escape-free parker-user/parker-host
	// parameters (baresip drops Referred-By and mangles percent escapes).
	if ev["parker"] != parker || st.Parker != parker {
		t.Errorf("parker: event %q, orbit %q; want %q (dialled %s)", ev["parker"], st.Parker, parker, est.PeerURI)
	}

	// The lamp lights with baresip as the remote party.
	doc := lamp.waitOccupied(t, true)
	dl, _ := doc.Occupied()
	if dl.State != dialoginfo.DialogConfirmed || dl.Remote == nil || dl.Remote.Identity != b.AOR || dl.Remote.Display != "Bare Sip" {
		t.Fatalf("lamp of 706 = %+v (remote %+v), want confirmed with %q <%s>", dl, dl.Remote, "Bare Sip", b.AOR)
	}
	if dl.Park == nil || dl.Park.Orbit != 706 || dl.Park.Parker != parker {
		t.Errorf("lamp park info = %+v, want orbit 706 parked by %s", dl.Park, parker)
	}

	// A retriever gets baresip, is told who it is, and hears its tone.
	retriever := newAgent(t, "retriever", nil)
	d, err := retriever.Call(t, f.uri("706"))
	if err != nil {
		t.Fatalf("retrieve 706: %v (status %d)", err, siptest.Status(err))
	}
	pai, xpc := d.InviteResponse.GetHeader("P-Asserted-Identity"), d.InviteResponse.GetHeader("X-Park-Caller")
	if (pai == nil || !strings.Contains(pai.Value(), b.AOR)) && (xpc == nil || !strings.Contains(xpc.Value(), b.AOR)) {
		t.Errorf("retrieve 200 OK names P-Asserted-Identity %v, X-Park-Caller %v; want baresip %s", pai, xpc, b.AOR)
	}
	m := siptest.StartMedia(t, d, 1000)
	hears(t, m, 440)
	f.log.wait(t, "retrieved", "orbit", "706")
	lamp.waitOccupied(t, false)
	if st, _ := f.svc.Orbit(706); st.Occupied {
		t.Errorf("orbit 706 still occupied after the retrieve: %+v", st)
	}

	// The retriever hangs up; the service hangs up baresip.
	hctx, hcancel := context.WithTimeout(ctx, 5*time.Second)
	defer hcancel()
	if err := d.Hangup(hctx); err != nil {
		t.Fatalf("retriever hang-up: %v", err)
	}
	if _, err := b.WaitType(wctx, "CALL_CLOSED", "park-706"); err != nil {
		t.Fatalf("baresip's parked call was not hung up after the retriever left: %v", err)
	}
	if err := b.Stop(); err != nil {
		t.Fatal(err)
	}
	if !b.Exited() {
		t.Fatal("baresip still runs")
	}
}
