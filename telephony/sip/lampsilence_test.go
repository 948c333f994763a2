package sip_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
	sbsip "github.com/switchboard/switchboard/telephony/sip"
)

// mute is a notifier that answers every lamp SUBSCRIBE 200 but sends a
// NOTIFY only for a new subscription, never for a refresh: what a
// console sees when whoever answers its refreshes (a proxy's next hop
// that lost the subscription and does not say so) no longer sends the
// orbit's state.
type mute struct {
	port   int
	client *sipgo.Client
	wg     sync.WaitGroup
	// ctx ends when the notifier stops; till then a NOTIFY's transaction
	// lasts until its answer or Timer F (64*T1), as a real one does.
	ctx context.Context

	mu      sync.Mutex
	callIDs []string // the subscriptions made, in order
	lit     bool     // what the next new subscription's NOTIFY says
	refresh int      // refreshes answered
}

func startMute(t *testing.T) *mute {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("mute"), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	m := &mute{port: siptest.FreePort(t)}
	addr := "127.0.0.1:" + strconv.Itoa(m.port)
	if m.client, err = sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientConnectionAddr(addr)); err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnSubscribe(m.onSubscribe)
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
	})
	ctx, cancel := context.WithCancel(context.Background())
	m.ctx = ctx
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.ListenAndServe(ctx, "udp", addr) }()
	t.Cleanup(func() {
		cancel()
		<-done
		m.wg.Wait()
		ua.Close()
	})
	siptest.WaitListening(t, ua, addr)
	return m
}

func (m *mute) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	toTag, refresh := req.To().Params.Get("tag")
	if !refresh {
		toTag = sip.GenerateTagN(10)
		res.To().Params.Add("tag", toTag)
	}
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: req.Recipient.User, Host: "127.0.0.1", Port: m.port}})
	res.AppendHeader(sip.NewHeader("Expires", req.GetHeader("Expires").Value()))
	callID := string(*req.CallID())
	m.mu.Lock()
	if refresh {
		m.refresh++
	} else {
		m.callIDs = append(m.callIDs, callID)
	}
	lit := m.lit
	m.mu.Unlock()
	_ = tx.Respond(res)
	if refresh {
		return
	}
	from := *req.From()
	from.Params = from.Params.Clone()
	to := &sip.ToHeader{Address: req.To().Address, Params: sip.NewParams()}
	to.Params.Add("tag", toTag)
	target := req.Contact().Address
	m.wg.Go(func() {
		state := "terminated"
		if lit {
			state = "confirmed"
		}
		n := sip.NewRequest(sip.NOTIFY, target)
		n.AppendHeader(&sip.FromHeader{Address: to.Address, Params: to.Params})
		n.AppendHeader(&sip.ToHeader{Address: from.Address, Params: from.Params})
		cid := sip.CallIDHeader(callID)
		n.AppendHeader(&cid)
		n.AppendHeader(&sip.CSeqHeader{SeqNo: 1, MethodName: sip.NOTIFY})
		n.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "701", Host: "127.0.0.1", Port: m.port}})
		n.AppendHeader(sip.NewHeader("Event", dialoginfo.EventName))
		n.AppendHeader(sip.NewHeader("Subscription-State", "active;expires=2"))
		n.AppendHeader(sip.NewHeader("Content-Type", dialoginfo.ContentType))
		n.SetBody(fmt.Appendf(nil, "<?xml version=\"1.0\"?>\n<dialog-info xmlns=\"urn:ietf:params:xml:ns:dialog-info\" version=\"0\" state=\"full\" entity=\"sip:701@127.0.0.1\">\n<dialog id=\"701\"><state>%s</state></dialog>\n</dialog-info>\n", state))
		n.SetTransport("UDP")
		_, _ = m.client.Do(m.ctx, n)
	})
}

// TestLampSilentSubscribesAgain: a lamp whose refreshes are answered but
// that hears no NOTIFY for longer than its expiry subscribes again, and
// shows what the new subscription says. Before, the console refreshed the
// silent subscription for good and the orbit showed its first state.
func TestLampSilentSubscribesAgain(t *testing.T) {
	m := startMute(t)
	c := newConsole(t, "desk", 1000, func(c *sbsip.Config) {
		c.Park = sbsip.ServiceTemplates("127.0.0.1:"+strconv.Itoa(m.port), telephony.Lot{First: 701, Last: 701})
		c.Park.HealthInterval = time.Hour
		c.Park.LampExpiry = 2 * time.Second
		c.Park.Timeout = waitFor
	})
	c.waitParkService(t, true)
	// The first subscription's NOTIFY (free) shown; from now on the
	// orbit is lit, but only a new subscription hears it.
	for start := time.Now(); ; time.Sleep(10 * time.Millisecond) {
		m.mu.Lock()
		made := len(m.callIDs)
		m.mu.Unlock()
		if made > 0 {
			break
		}
		if time.Since(start) > waitFor {
			t.Fatal("the console never subscribed")
		}
	}
	m.mu.Lock()
	m.lit = true
	m.mu.Unlock()
	c.waitOrbit(t, 701, "lit by a new subscription after the old one fell silent", func(o telephony.Orbit) bool { return o.Occupied })
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.callIDs) < 2 || m.refresh < 1 {
		t.Fatalf("subscriptions %v, refreshes %d: want the silent one refreshed, then a new one", m.callIDs, m.refresh)
	}
}
