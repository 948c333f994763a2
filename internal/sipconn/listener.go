// Package sipconn bounds what a SIP peer can make a stream listener do:
// a Listener in front of sipgo's TCP (and TLS) transport keeps accepting
// through EMFILE and friends, caps the connections of one source address,
// and closes an accepted connection that stays silent for too long. It
// also holds the sipgo settings Switchboard relies on for the rest
// (NewParser's message size bound, the UDP size limit raised in init).
//
// What sipgo v1.7 already bounds, and is therefore not redone here:
//   - A message larger than MaxMessage (headers and body) on a stream:
//     its stream parser drains what it buffered and reports
//     sip.ErrMessageTooLarge, and the TCP transport closes the connection.
//     That covers a header line that never ends.
//   - A framing error (no Content-Length, an unparseable start line or
//     header): the TCP transport closes the connection, since there is no
//     message boundary left to resync on.
//
// What it does not, and this package adds:
//   - TransportTCP.Serve returns for good on the first Accept error, so
//     one EMFILE (the process ran out of file descriptors) meant TCP was
//     never served again. Listener.Accept never returns an error other
//     than the one of a closed listener.
//   - No cap per source address. Listener closes the excess at once.
//   - TransportTCP.ReadTimeout exists, but it applies to every connection
//     the transport has, including those we dialled: the console's
//     connection to its proxy is the way calls reach it, and must not be
//     cut because the proxy had nothing to say for five minutes. The
//     Listener applies its idle timeout to the connections it accepted
//     only. It also bounds writes to them (a peer that stops reading must
//     not hold a sender for ever).
package sipconn

import (
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxPerSource = 32
	DefaultIdleTimeout  = 5 * time.Minute
	DefaultWriteTimeout = 30 * time.Second
)

// The accept back-off: the first wait after a failed Accept, doubled on
// every further failure up to the last.
const (
	firstBackoff = 5 * time.Millisecond
	maxBackoff   = time.Second
)

// logEvery is the least time between two log lines of one kind (failed
// accepts, refused sources), so that a flood does not become a log flood.
const logEvery = 10 * time.Second

// Options configures a Listener. The zero value of a field means its
// default; a negative value turns that bound off.
type Options struct {
	// MaxPerSource is how many connections one source IP address may
	// hold open at once (DefaultMaxPerSource). The next is closed at once.
	MaxPerSource int
	// IdleTimeout closes an accepted connection from which nothing was
	// read for that long (DefaultIdleTimeout).
	IdleTimeout time.Duration
	// WriteTimeout bounds one write to an accepted connection
	// (DefaultWriteTimeout): a peer that stops reading gets its
	// connection broken instead of holding the writer.
	WriteTimeout time.Duration
	// Logger receives the refusals, accept failures and idle closes
	// (slog.Default()).
	Logger *slog.Logger
}

// Stats are a Listener's counters since it was made.
type Stats struct {
	// Accepted counts the connections handed to the server.
	Accepted uint64
	// Refused counts the connections closed at once because their source
	// already held MaxPerSource.
	Refused uint64
	// AcceptErrors counts the failed Accepts that were waited out.
	AcceptErrors uint64
	// IdleClosed counts the connections broken by the idle timeout.
	IdleClosed uint64
	// Open is the number of accepted connections not yet closed.
	Open int
}

// Listener is a net.Listener that bounds its connections (see the package
// documentation). Serve it with sipgo's Server.ServeTCP, or wrap it in
// tls.NewListener and serve that with ServeTLS.
type Listener struct {
	inner net.Listener
	opts  Options
	log   *slog.Logger

	closed    chan struct{}
	closeOnce sync.Once

	mu      sync.Mutex
	sources map[netip.Addr]int
	open    int

	accepted, refused, acceptErrors, idleClosed atomic.Uint64
	logAccept, logRefused                       limiter
}

// NewListener wraps inner; closing the Listener closes inner.
func NewListener(inner net.Listener, opts Options) *Listener {
	if opts.MaxPerSource == 0 {
		opts.MaxPerSource = DefaultMaxPerSource
	}
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	if opts.WriteTimeout == 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Listener{
		inner:   inner,
		opts:    opts,
		log:     opts.Logger,
		closed:  make(chan struct{}),
		sources: make(map[netip.Addr]int),
	}
}

// Accept waits for the next connection whose source is under its cap.
// A failed Accept of the inner listener (EMFILE, ENFILE, ECONNABORTED,
// ENOBUFS, ...) is logged, waited out (5 ms, doubling up to 1 s) and
// retried; the only error returned is that of a closed listener, since
// sipgo stops serving on any error. An error that persists is retried at
// the slowest pace for as long as the listener is open: a server that
// must not stop answering has nothing better to do.
func (l *Listener) Accept() (net.Conn, error) {
	backoff := time.Duration(0)
	for {
		c, err := l.inner.Accept()
		if err != nil {
			if l.isClosed() || errors.Is(err, net.ErrClosed) {
				return nil, err
			}
			l.acceptErrors.Add(1)
			if backoff == 0 {
				backoff = firstBackoff
			} else {
				backoff = min(2*backoff, maxBackoff)
			}
			if n, ok := l.logAccept.allow(); ok {
				l.log.Warn("sip: accept failed, retrying", "listener", l.inner.Addr().String(),
					"error", err, "retry_in", backoff, "failures_since_last_log", n)
			}
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-l.closed:
				t.Stop()
				return nil, net.ErrClosed
			}
			continue
		}
		backoff = 0
		src := sourceOf(c.RemoteAddr())
		if !l.take(src) {
			l.refused.Add(1)
			if n, ok := l.logRefused.allow(); ok {
				l.log.Warn("sip: connection refused, too many from one source", "source", src.String(),
					"max_per_source", l.opts.MaxPerSource, "refused_since_last_log", n)
			}
			_ = c.Close()
			continue
		}
		l.accepted.Add(1)
		return &conn{Conn: c, l: l, src: src}, nil
	}
}

// Close closes the inner listener and ends a pending Accept. Accepted
// connections stay open: they belong to whoever serves them.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.closed) })
	return l.inner.Close()
}

// Addr is the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Stats returns the listener's counters.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	open := l.open
	l.mu.Unlock()
	return Stats{Accepted: l.accepted.Load(), Refused: l.refused.Load(),
		AcceptErrors: l.acceptErrors.Load(), IdleClosed: l.idleClosed.Load(), Open: open}
}

func (l *Listener) isClosed() bool {
	select {
	case <-l.closed:
		return true
	default:
		return false
	}
}

// take counts a connection of src; false when src is at its cap.
func (l *Listener) take(src netip.Addr) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opts.MaxPerSource > 0 && l.sources[src] >= l.opts.MaxPerSource {
		return false
	}
	l.sources[src]++
	l.open++
	return true
}

func (l *Listener) release(src netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.sources[src]--; l.sources[src] <= 0 {
		delete(l.sources, src)
	}
}

// sourceOf is the IP address a connection comes from; the zero Addr
// (one shared bucket) for an address that is not IP.
func sourceOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	if a != nil {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			return ap.Addr().Unmap()
		}
	}
	return netip.Addr{}
}

// conn is an accepted connection: every Read renews its idle deadline,
// every Write has its own deadline, and Close gives its slot back.
type conn struct {
	net.Conn
	l         *Listener
	src       netip.Addr
	closeOnce sync.Once
	idle      atomic.Bool // the idle deadline broke a Read
}

func (c *conn) Read(b []byte) (int, error) {
	if d := c.l.opts.IdleTimeout; d > 0 {
		if err := c.Conn.SetReadDeadline(time.Now().Add(d)); err != nil {
			return 0, err
		}
	}
	n, err := c.Conn.Read(b)
	if err != nil && c.l.opts.IdleTimeout > 0 && isTimeout(err) && c.idle.CompareAndSwap(false, true) {
		c.l.idleClosed.Add(1)
		c.l.log.Info("sip: closing idle connection", "source", c.Conn.RemoteAddr().String(),
			"idle_timeout", c.l.opts.IdleTimeout)
		// The reader (sipgo) ends on this error and closes the connection;
		// close it here too so that a reader that retries cannot keep it.
		_ = c.Close()
	}
	return n, err
}

func (c *conn) Write(b []byte) (int, error) {
	if d := c.l.opts.WriteTimeout; d > 0 {
		if err := c.Conn.SetWriteDeadline(time.Now().Add(d)); err != nil {
			return 0, err
		}
	}
	return c.Conn.Write(b)
}

func (c *conn) Close() error {
	err := c.Conn.Close()
	c.closeOnce.Do(func() { c.l.release(c.src) })
	return err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// limiter lets one log line through per logEvery and counts the rest.
type limiter struct {
	mu         sync.Mutex
	last       time.Time
	suppressed uint64
}

// allow reports whether to log now and how many were suppressed since
// the last line.
func (r *limiter) allow() (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	if !r.last.IsZero() && now.Sub(r.last) < logEvery {
		r.suppressed++
		return 0, false
	}
	n := r.suppressed
	r.last, r.suppressed = now, 0
	return n, true
}
