package siptest

import (
	"context"
	"net/url"

	"github.com/emiago/diago"
	"github.com/emiago/sipgo/sip"
)

// FollowRefers returns an OnRefer handler (diago.InviteClientOptions) for
// a caller that follows every REFER as a referee should, from from: it
// calls the Refer-To target and sends the answered call on out. A
// Replaces header field in the Refer-To URI (an attended transfer, RFC
// 3891 §3) goes into the INVITE as a Replaces header: diago leaves it in
// the Request-URI, which baresip takes for a new call. The handler
// returns when the referred call's dialog ends.
func FollowRefers(from *sip.FromHeader, out chan<- *Call) func(rd *diago.DialogClientSession) error {
	return func(rd *diago.DialogClientSession) error {
		hdrs := []sip.Header{from}
		r := &rd.InviteRequest.Recipient
		if v, ok := r.Headers.Get("Replaces"); ok {
			val, err := url.QueryUnescape(v)
			if err != nil {
				return err
			}
			r.Headers = sip.NewParams()
			hdrs = append(hdrs, sip.NewHeader("Replaces", val))
		}
		ctx, cancel := context.WithTimeout(context.Background(), WaitFor)
		defer cancel()
		c, err := Follow(ctx, rd, hdrs...)
		if err != nil {
			return err
		}
		out <- c
		<-rd.Context().Done()
		return nil
	}
}
