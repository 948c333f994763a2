package sipconn

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeListener fails its first Accepts with the errors queued, then hands
// out the connections queued.
type fakeListener struct {
	mu     sync.Mutex
	errs   []error
	conns  chan net.Conn
	closed chan struct{}
	once   sync.Once
	calls  int
}

func newFake(errs ...error) *fakeListener {
	return &fakeListener{errs: errs, conns: make(chan net.Conn, 4), closed: make(chan struct{})}
}

func (f *fakeListener) Accept() (net.Conn, error) {
	f.mu.Lock()
	f.calls++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		f.mu.Unlock()
		return nil, err
	}
	f.mu.Unlock()
	select {
	case c := <-f.conns:
		return c, nil
	case <-f.closed:
		return nil, net.ErrClosed
	}
}

func (f *fakeListener) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

func (f *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 5060} }

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func acceptErr(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

// TestAcceptOutlivesEMFILE: sipgo's TransportTCP.Serve returns on the
// first Accept error, so the inner listener's EMFILE must never reach it.
func TestAcceptOutlivesEMFILE(t *testing.T) {
	f := newFake(acceptErr(syscall.EMFILE), acceptErr(syscall.EMFILE), acceptErr(syscall.ENFILE),
		acceptErr(syscall.ECONNABORTED), acceptErr(syscall.EMFILE))
	a, b := net.Pipe()
	defer b.Close()
	f.conns <- a
	l := NewListener(f, Options{Logger: quiet()})
	defer l.Close()

	c, err := l.Accept()
	if err != nil {
		t.Fatalf("Accept returned %v; want the connection after the errors", err)
	}
	defer c.Close()
	if st := l.Stats(); st.AcceptErrors != 5 || st.Accepted != 1 || st.Open != 1 {
		t.Fatalf("stats %+v; want 5 accept errors, 1 accepted, 1 open", st)
	}
}

// TestAcceptReturnsOnClose: a Close during the back-off ends Accept with
// net.ErrClosed, the one error sipgo should stop on.
func TestAcceptReturnsOnClose(t *testing.T) {
	errs := make([]error, 1000)
	for i := range errs {
		errs[i] = acceptErr(syscall.EMFILE)
	}
	f := newFake(errs...)
	l := NewListener(f, Options{Logger: quiet()})
	done := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		done <- err
	}()
	// Wait until Accept is backing off, then close.
	deadline := time.Now().Add(30 * time.Second)
	for l.Stats().AcceptErrors < 3 {
		if time.Now().After(deadline) {
			t.Fatal("Accept never retried")
		}
		time.Sleep(time.Millisecond)
	}
	l.Close()
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) {
			t.Fatalf("Accept after Close returned %v; want net.ErrClosed", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Accept did not return after Close")
	}
}

func listen(t *testing.T, opts Options) *Listener {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Logger == nil {
		opts.Logger = quiet()
	}
	l := NewListener(inner, opts)
	t.Cleanup(func() { l.Close() })
	return l
}

// serve accepts in the background and hands each connection out.
func serve(t *testing.T, l *Listener) <-chan net.Conn {
	t.Helper()
	ch := make(chan net.Conn, 64)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			ch <- c
		}
	}()
	t.Cleanup(func() {
		l.Close()
		<-done
		for {
			select {
			case c := <-ch:
				c.Close()
			default:
				return
			}
		}
	})
	return ch
}

func dialFrom(t *testing.T, src string, to net.Addr) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 30 * time.Second}
	c, err := d.Dial("tcp", to.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// waitClosed reads c until the peer closes it (EOF or reset).
func waitClosed(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	_, err := io.Copy(io.Discard, c)
	if isTimeout(err) {
		t.Fatal("connection was not closed")
	}
}

func TestPerSourceCap(t *testing.T) {
	l := listen(t, Options{MaxPerSource: 3})
	accepted := serve(t, l)
	for range 3 {
		dialFrom(t, "127.0.0.1", l.Addr())
		<-accepted
	}
	over := dialFrom(t, "127.0.0.1", l.Addr())
	waitClosed(t, over)
	if st := l.Stats(); st.Refused != 1 || st.Open != 3 {
		t.Fatalf("stats %+v; want 1 refused, 3 open", st)
	}

	// Another source is not held by the first one's cap.
	other := dialFrom(t, "127.0.0.2", l.Addr())
	c := <-accepted
	if got := sourceOf(c.RemoteAddr()).String(); got != "127.0.0.2" {
		t.Fatalf("accepted %s; want 127.0.0.2", got)
	}
	_ = other

	// A closed connection gives its slot back.
	c.Close()
	dialFrom(t, "127.0.0.2", l.Addr())
	<-accepted
	if st := l.Stats(); st.Open != 4 {
		t.Fatalf("stats %+v; want 4 open", st)
	}
}

func TestIdleConnectionIsClosed(t *testing.T) {
	l := listen(t, Options{IdleTimeout: 50 * time.Millisecond})
	accepted := serve(t, l)
	dialFrom(t, "127.0.0.1", l.Addr())
	c := <-accepted
	_, err := c.Read(make([]byte, 10))
	if !isTimeout(err) {
		t.Fatalf("Read of an idle connection returned %v; want a timeout", err)
	}
	if st := l.Stats(); st.IdleClosed != 1 || st.Open != 0 {
		t.Fatalf("stats %+v; want 1 idle close, 0 open", st)
	}
}

func TestReadingRenewsTheIdleTimeout(t *testing.T) {
	l := listen(t, Options{IdleTimeout: time.Hour})
	accepted := serve(t, l)
	peer := dialFrom(t, "127.0.0.1", l.Addr())
	c := <-accepted
	if _, err := peer.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 1)); err != nil {
		t.Fatalf("Read: %v", err)
	}
	if st := l.Stats(); st.IdleClosed != 0 || st.Open != 1 {
		t.Fatalf("stats %+v; want no idle close, 1 open", st)
	}
}

func TestLimiterLetsOneLineThroughAndCountsTheRest(t *testing.T) {
	var r limiter
	if _, ok := r.allow(); !ok {
		t.Fatal("first line suppressed")
	}
	for range 3 {
		if _, ok := r.allow(); ok {
			t.Fatal("line within logEvery let through")
		}
	}
	r.last = r.last.Add(-logEvery)
	if n, ok := r.allow(); !ok || n != 3 {
		t.Fatalf("allow() = %d, %v; want 3 suppressed, true", n, ok)
	}
}
