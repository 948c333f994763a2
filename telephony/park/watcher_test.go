package park_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/switchboard/switchboard/internal/siptest"
	"github.com/switchboard/switchboard/telephony/dialoginfo"
)

// watcher is a minimal busy-lamp client of one orbit, as a console would
// be: a sipgo UA on its own loopback UDP port that SUBSCRIBEs to
// sip:N@H with Event: dialog, answers every NOTIFY with 200 and keeps the
// dialog-info documents in arrival order.
type watcher struct {
	orbit  int
	addr   string // our host:port
	ua     *sipgo.UserAgent
	client *sipgo.Client
	callID sip.CallIDHeader
	from   sip.FromHeader
	to     sip.ToHeader // with the service's tag once subscribed
	target sip.Uri      // the service's Contact
	cseq   uint32
	// route is the proxies every SUBSCRIBE goes through (preloaded Route
	// header fields, the first is the next hop); onlyFrom, when set, is
	// the one source a NOTIFY is accepted from (any other gets 404, as a
	// watcher behind a proxy and a NAT never hears it).
	route    []sip.Uri
	onlyFrom string
	tcp      bool // SUBSCRIBE over TCP, on a connection of its own

	mu         sync.Mutex
	docs       []dialoginfo.Document
	terminated bool // a NOTIFY said Subscription-State: terminated
	errs       []string
	notifies   siptest.Log[*sip.Request] // added after the fields above took it in
}

// newWatcher subscribes to orbit n of f's service and waits for the 200;
// the cleanup unsubscribes (Expires: 0) and closes the UA.
func newWatcher(t testing.TB, f *fixture, orbit int) *watcher {
	t.Helper()
	return newWatcherVia(t, f, orbit, f.uri(fmt.Sprint(orbit)), "")
}

// newWatcherVia is newWatcher subscribing to resource through the proxies
// route (none: straight to the service), accepting NOTIFYs only from
// onlyFrom when it is set.
func newWatcherVia(t testing.TB, f *fixture, orbit int, resource sip.Uri, onlyFrom string, route ...sip.Uri) *watcher {
	t.Helper()
	return startWatcher(t, f, &watcher{orbit: orbit, route: route, onlyFrom: onlyFrom}, resource)
}

// newWatcherTCP is newWatcher over TCP: it opens its own connection to
// the service, which must send its NOTIFYs down that connection.
func newWatcherTCP(t testing.TB, f *fixture, orbit int) *watcher {
	t.Helper()
	return startWatcher(t, f, &watcher{orbit: orbit, tcp: true}, f.uri(fmt.Sprint(orbit), "transport=tcp"))
}

func startWatcher(t testing.TB, f *fixture, w *watcher, resource sip.Uri) *watcher {
	t.Helper()
	orbit := w.orbit
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	w.addr = conn.LocalAddr().String()
	name := fmt.Sprintf("lamp%d", orbit)
	w.ua, err = sipgo.NewUA(sipgo.WithUserAgent(name), sipgo.WithUserAgentHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := sipgo.NewServer(w.ua)
	if err != nil {
		t.Fatal(err)
	}
	if w.tcp { // a connection of its own, from an ephemeral port
		w.client, err = sipgo.NewClient(w.ua, sipgo.WithClientHostname("127.0.0.1"))
	} else {
		w.client, err = sipgo.NewClient(w.ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientConnectionAddr(w.addr))
	}
	if err != nil {
		t.Fatal(err)
	}
	srv.OnNotify(w.onNotify)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.ServeUDP(conn)
	}()
	t.Cleanup(func() { // after the unsubscribe below: cleanups run last first
		conn.Close()
		<-served
	})
	siptest.WaitListening(t, w.ua, w.addr)

	port := conn.LocalAddr().(*net.UDPAddr).Port
	w.callID = sip.CallIDHeader(fmt.Sprintf("lamp-%d-%s", orbit, sip.GenerateTagN(12)))
	w.from = sip.FromHeader{DisplayName: "Lamp", Address: sip.Uri{Scheme: "sip", User: name, Host: "127.0.0.1", Port: port}, Params: sip.NewParams()}
	w.from.Params.Add("tag", sip.GenerateTagN(16))
	w.to = sip.ToHeader{Address: resource, Params: sip.NewParams()}
	w.target = resource

	res, err := w.subscribe(time.Hour)
	if err != nil {
		w.ua.Close()
		t.Fatalf("lamp SUBSCRIBE to orbit %d: %v", orbit, err)
	}
	if res.StatusCode != sip.StatusOK {
		w.ua.Close()
		t.Fatalf("lamp SUBSCRIBE to orbit %d: %d %s", orbit, res.StatusCode, res.Reason)
	}
	if tag, ok := res.To().Params.Get("tag"); ok {
		w.to.Params.Add("tag", tag)
	}
	if c := res.Contact(); c != nil {
		w.target = c.Address
	}
	t.Cleanup(func() {
		w.mu.Lock()
		ended := w.terminated
		w.mu.Unlock()
		if ended { // the service ended the subscription itself
			w.ua.Close()
			return
		}
		if res, err := w.subscribe(0); err == nil && res.StatusCode == sip.StatusOK {
			// Wait for the final NOTIFY, so the service does not keep
			// retransmitting it to a closed socket.
			w.notifies.Await(2*time.Second, func([]*sip.Request) bool { return w.ended() })
		}
		w.ua.Close()
	})
	return w
}

// subscribe sends SUBSCRIBE (initial or in-dialog) with Expires exp.
func (w *watcher) subscribe(exp time.Duration) (*sip.Response, error) {
	w.mu.Lock()
	w.cseq++
	req := sip.NewRequest(sip.SUBSCRIBE, w.target)
	from, to, callID := w.from, w.to, w.callID
	req.AppendHeader(&from)
	req.AppendHeader(&to)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: w.cseq, MethodName: sip.SUBSCRIBE})
	w.mu.Unlock()
	for _, u := range w.route {
		req.AppendHeader(&sip.RouteHeader{Address: u})
	}
	if len(w.route) > 0 {
		req.SetDestination(w.route[0].HostPort())
	}
	if w.tcp {
		req.SetTransport("TCP")
	}
	req.AppendHeader(&sip.ContactHeader{Address: w.from.Address})
	req.AppendHeader(sip.NewHeader("Event", dialoginfo.EventName))
	req.AppendHeader(sip.NewHeader("Accept", dialoginfo.ContentType))
	req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(int(exp/time.Second))))
	// The transaction lasts until its answer or Timer F (64*T1), as a
	// real subscriber's does: a loaded service may answer after 5 s.
	ctx, cancel := context.WithTimeout(context.Background(), sip.Timer_F)
	defer cancel()
	return w.client.Do(ctx, req)
}

func (w *watcher) onNotify(req *sip.Request, tx sip.ServerTransaction) {
	if id := req.CallID(); id == nil || *id != w.callID {
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusCallTransactionDoesNotExists, "Subscription Does Not Exist", nil))
		return
	}
	if w.onlyFrom != "" && req.Source() != w.onlyFrom {
		w.mu.Lock()
		w.errs = append(w.errs, fmt.Sprintf("NOTIFY from %s, not through the proxy %s", req.Source(), w.onlyFrom))
		w.mu.Unlock()
		w.notifies.Add(req)
		_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusNotFound, "Not Found", nil))
		return
	}
	// Taken in before the answer: the answer lets the service send its
	// next NOTIFY, which another handler could take in first.
	w.takeIn(req)
	w.notifies.Add(req)
	_ = tx.Respond(sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil))
}

// takeIn records what a NOTIFY says, and what is wrong with it.
func (w *watcher) takeIn(req *sip.Request) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if ev := req.GetHeader("Event"); ev == nil || !strings.HasPrefix(ev.Value(), dialoginfo.EventName) {
		w.errs = append(w.errs, fmt.Sprintf("NOTIFY with Event %v", ev))
	}
	if st := req.GetHeader("Subscription-State"); st != nil && strings.HasPrefix(st.Value(), "terminated") {
		w.terminated = true
	}
	if len(req.Body()) > 0 {
		doc, err := dialoginfo.Unmarshal(req.Body())
		switch {
		case err != nil:
			w.errs = append(w.errs, fmt.Sprintf("NOTIFY body: %v", err))
		case doc.State != dialoginfo.StateFull:
			w.errs = append(w.errs, fmt.Sprintf("document state %q, want full", doc.State))
		case len(w.docs) == 0 && doc.Version != 0:
			w.errs = append(w.errs, fmt.Sprintf("first document has version %d, want 0", doc.Version))
		case len(w.docs) > 0 && doc.Version <= w.docs[len(w.docs)-1].Version:
			w.errs = append(w.errs, fmt.Sprintf("document version %d after %d", doc.Version, w.docs[len(w.docs)-1].Version))
		}
		if err == nil {
			w.docs = append(w.docs, doc)
		}
	}
}

// ended reports whether a NOTIFY said the subscription is terminated.
func (w *watcher) ended() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.terminated
}

// documents returns every document received so far.
func (w *watcher) documents() []dialoginfo.Document {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]dialoginfo.Document(nil), w.docs...)
}

// waitOccupied waits until the latest document shows the orbit occupied
// (want true) or free (want false), and returns that document.
func (w *watcher) waitOccupied(t testing.TB, want bool) dialoginfo.Document {
	t.Helper()
	var doc dialoginfo.Document
	var errs []string
	ok := w.notifies.Await(siptest.WaitFor, func([]*sip.Request) bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		if errs = w.errs; len(errs) > 0 {
			return true
		}
		if n := len(w.docs); n > 0 {
			doc = w.docs[n-1]
			_, occ := doc.Occupied()
			return occ == want
		}
		return false
	})
	switch {
	case len(errs) > 0:
		t.Fatalf("lamp of orbit %d: %v", w.orbit, errs)
	case !ok:
		t.Fatalf("lamp of orbit %d never showed occupied=%v; documents: %+v", w.orbit, want, w.documents())
	}
	return doc
}
