package park_test

import (
	"context"
	"errors"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/park"
)

// On an IPv6 address the service serves IPv6 media: a parked caller
// hears its music, and a retrieve bridges it both ways. IPv4 media is
// refused there, as IPv6 media is by a service on IPv4.
func TestIPv6Media(t *testing.T) {
	f := startPark(t, func(o *park.Options) { o.Listen = "[::1]:0" })
	c := newHostPeer(t, "caller6", "::1", "")
	c.call(t, f.uri("park-701"))
	f.log.wait(t, "parked", "orbit", "701")
	if !c.remote.Addr().Is6() {
		t.Fatalf("the service answered with RTP at %s, want IPv6", c.remote)
	}
	c.hearsMusic(t)

	r := newHostPeer(t, "desk6", "::1", "")
	retrieveWith(t, f, "701", r, 1000, c, 440)
	r.hears(t, 440)
	c.hears(t, 1000)

	p := newHostPeer(t, "v4media", "::1", "")
	res := p.refused(t, f.uri("park-702"), mediaSDP("c=IN IP4 127.0.0.1", "m=audio 4000 RTP/AVP 0"))
	wantUnacceptable(t, "IPv4 media to an IPv6 service", res.String(), "IPv4")
}

// refused INVITEs uri with the SDP body and returns the final answer,
// which must be a refusal.
func (p *hostPeer) refused(t *testing.T, uri sip.Uri, body string) *sip.Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), siptest.WaitFor)
	defer cancel()
	d, err := p.dc.Invite(ctx, uri, []byte(body), sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	err = d.WaitAnswer(ctx, sipgo.AnswerOptions{})
	var res *sipgo.ErrDialogResponse
	if !errors.As(err, &res) {
		if err == nil {
			_ = d.Ack(ctx)
			_ = d.Bye(ctx)
		}
		t.Fatalf("%s: INVITE %s: %v, want a refusal", p.name, uri.String(), err)
	}
	return res.Res
}
