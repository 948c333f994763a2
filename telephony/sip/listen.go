package sip

import (
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"

	"github.com/emiago/sipgo"
	"github.com/switchboard/switchboard/internal/sipconn"
)

// serveListeners binds every listener and serves it on srv, the server
// diago handles calls on. The console binds its sockets itself, instead
// of letting diago do it, so that TCP and TLS go through a
// sipconn.Listener: sipgo stops serving a stream listener for good at the
// first failed Accept (EMFILE), caps nothing per source and never closes
// an idle connection. stop closes the sockets and waits for the serving
// goroutines.
func serveListeners(srv *sipgo.Server, ls []Listener, log *slog.Logger) (stop func(), err error) {
	var (
		closers []io.Closer
		wg      sync.WaitGroup
	)
	stop = func() {
		for _, c := range closers {
			_ = c.Close()
		}
		wg.Wait()
	}
	for _, l := range ls {
		switch l.Transport {
		case "udp":
			conn, err := net.ListenPacket("udp", l.Addr)
			if err != nil {
				stop()
				return nil, fmt.Errorf("udp %s: %w", l.Addr, err)
			}
			closers = append(closers, conn)
			wg.Go(func() { _ = srv.ServeUDP(conn) })
		case "tcp", "tls":
			inner, err := net.Listen("tcp", l.Addr)
			if err != nil {
				stop()
				return nil, fmt.Errorf("%s %s: %w", l.Transport, l.Addr, err)
			}
			var ln net.Listener = sipconn.NewListener(inner, sipconn.Options{Logger: log.With("listener", l.Transport)})
			closers = append(closers, ln)
			if l.Transport == "tls" {
				ln = tls.NewListener(ln, l.TLS)
				wg.Go(func() { _ = srv.ServeTLS(ln) })
			} else {
				wg.Go(func() { _ = srv.ServeTCP(ln) })
			}
		default:
			stop()
			return nil, fmt.Errorf("transport %q is not served", l.Transport)
		}
	}
	return stop, nil
}
