// Package baresip runs Debian's baresip (1.0.x) as a scripted SIP peer
// for integration tests: it writes a config directory, starts
// `baresip -f DIR` with the ctrl_tcp module, sends it netstring JSON
// commands, records the events it reports, and stops it cleanly.
//
// The configuration follows STACK-NOTES.md: an ausine tone as the audio
// source (48 kHz stereo, or ausine drops the call), G.711 only, everything
// on 127.0.0.1, no stdio module (stdin is /dev/null).
package baresip

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/switchboard/switchboard/internal/freeport"
	"github.com/switchboard/switchboard/internal/syncbuf"
)

// Options configures one baresip instance. Dir is required.
type Options struct {
	// Dir is the config directory to write (e.g. t.TempDir()).
	Dir string
	// Binary is the baresip executable ("baresip", looked up on PATH).
	Binary string
	// User is the account's user part ("baresip").
	User string
	// Display is the account's display name; empty leaves it out.
	Display string
	// ToneHz is the frequency ausine sends (440).
	ToneHz int
	// Codecs is the account's audio_codecs value ("PCMU/8000/1").
	Codecs string
	// AccountParams are appended to the account line as they are, e.g.
	// ";call_transfer=no" for a caller that refuses REFER.
	AccountParams string
	// MaxLife is a backstop: baresip quits by itself after it (-t).
	// Default 5 minutes; negative disables it.
	MaxLife time.Duration
	// SIPTrace makes baresip print every SIP message to its log (-s).
	SIPTrace bool
	// Output, when set, also receives baresip's stdout and stderr.
	Output io.Writer
	// Console loads the cons UI module and reads what it shows (the
	// menu's output: instant messages, ...) into the log (message.go).
	Console bool
	// Registrar, when set (host:port), makes the account
	// sip:User@Registrar, registered there every RegInt; empty: the
	// account is baresip's own address and it registers nowhere.
	Registrar string
	// RegInt is the registration's interval with a Registrar (1 minute).
	RegInt time.Duration
	// ExtraConfig are lines appended to the config file as they are
	// ("key\tvalue"), after the ones Start writes: further modules
	// ("module\tsrtp.so") and their settings.
	ExtraConfig []string
}

// Event is one event baresip reported on ctrl_tcp.
type Event struct {
	Type       string `json:"type"`  // CALL_ESTABLISHED, CALL_CLOSED, ...
	Class      string `json:"class"` // call, register, application, ...
	AccountAOR string `json:"accountaor"`
	Direction  string `json:"direction"` // incoming, outgoing
	PeerURI    string `json:"peeruri"`
	Param      string `json:"param"`
	ID         string `json:"id"`
	Raw        string `json:"-"`
}

func (e Event) String() string { return e.Raw }

type response struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// Baresip is a running baresip process.
type Baresip struct {
	// SIPAddr is where it listens for SIP (UDP and TCP), "127.0.0.1:port".
	SIPAddr string
	// AOR is its account, "sip:user@127.0.0.1:port" (at the Registrar when one is set).
	AOR string
	// Dir is its config directory.
	Dir string

	cmd     *exec.Cmd
	exited  chan struct{} // closed when the process is reaped
	waitErr error
	out     *syncbuf.Buffer
	// shown is what the cons module showed, alone: out has it too, but
	// interleaved at any byte with stdout's SIP trace.
	shown syncbuf.Buffer
	conn  net.Conn

	wmu   sync.Mutex // serialises writes on conn
	mu    sync.Mutex
	seq   int
	pend  map[string]chan response
	evs   []Event
	wake  chan struct{}
	rdErr error
	rdEnd chan struct{}

	stopOnce sync.Once
	stopErr  error
}

// Start writes the config into opts.Dir and starts baresip. It returns
// once baresip's control socket answers.
func Start(ctx context.Context, opts Options) (*Baresip, error) {
	if opts.Dir == "" {
		return nil, errors.New("baresip: Options.Dir is required")
	}
	if opts.Binary == "" {
		opts.Binary = "baresip"
	}
	bin, err := exec.LookPath(opts.Binary)
	if err != nil {
		return nil, fmt.Errorf("baresip: %w", err)
	}
	if opts.User == "" {
		opts.User = "baresip"
	}
	if opts.ToneHz == 0 {
		opts.ToneHz = 440
	}
	if opts.Codecs == "" {
		opts.Codecs = "PCMU/8000/1"
	}
	if opts.MaxLife == 0 {
		opts.MaxLife = 5 * time.Minute
	}
	if err := os.MkdirAll(opts.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("baresip: %w", err)
	}

	var lastErr error
	for try := 0; try < 3; try++ {
		b, err := start(ctx, bin, opts)
		if err == nil {
			return b, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
		// A port picked as free may have been taken meanwhile: retry
		// with fresh ones.
	}
	return nil, lastErr
}

func start(ctx context.Context, bin string, opts Options) (*Baresip, error) {
	sipPort, err := freeport.UDPAndTCP(netip.AddrFrom4([4]byte{127, 0, 0, 1}))
	if err != nil {
		return nil, fmt.Errorf("baresip: no free SIP port: %w", err)
	}
	ctrlPort, err := freeTCPPort()
	if err != nil {
		return nil, fmt.Errorf("baresip: no free control port: %w", err)
	}
	// Below Linux's ephemeral range, so it does not meet the RTP sockets
	// of Go peers that bind port 0.
	rtpLo := 20000 + 2*rand.IntN(5000)
	sipAddr := "127.0.0.1:" + strconv.Itoa(sipPort)
	ctrlAddr := "127.0.0.1:" + strconv.Itoa(ctrlPort)

	lines := []string{
		"sip_listen\t" + sipAddr,
		"net_interface\t127.0.0.1",
		"audio_source\tausine," + strconv.Itoa(opts.ToneHz),
		"ausrc_srate\t48000",
		"ausrc_channels\t2",
		fmt.Sprintf("rtp_ports\t%d-%d", rtpLo, rtpLo+99),
		"module_path\t/usr/lib/baresip/modules",
		"module\tg711.so",
		"module\tausine.so",
		"module_tmp\taccount.so",
		"module_app\tmenu.so",
		"module_app\tctrl_tcp.so",
		"ctrl_tcp_listen\t" + ctrlAddr,
	}
	var consAddr string
	if opts.Console {
		if consAddr, err = consoleAddr(); err != nil {
			return nil, err
		}
		lines = append(lines, "module\tcons.so", "cons_listen\t"+consAddr)
	}
	lines = append(lines, opts.ExtraConfig...)
	config := strings.Join(append(lines, ""), "\n")
	aor := "sip:" + opts.User + "@" + sipAddr
	regint := 0
	if opts.Registrar != "" {
		aor = "sip:" + opts.User + "@" + opts.Registrar
		regint = int(opts.RegInt / time.Second)
		if regint <= 0 {
			regint = 60
		}
	}
	account := "<" + aor + ">"
	if opts.Display != "" {
		account = strconv.Quote(opts.Display) + " " + account
	}
	account += ";regint=" + strconv.Itoa(regint) + ";audio_codecs=" + opts.Codecs + opts.AccountParams + "\n"
	if err := os.WriteFile(filepath.Join(opts.Dir, "config"), []byte(config), 0o644); err != nil {
		return nil, fmt.Errorf("baresip: %w", err)
	}
	if err := os.WriteFile(filepath.Join(opts.Dir, "accounts"), []byte(account), 0o644); err != nil {
		return nil, fmt.Errorf("baresip: %w", err)
	}

	args := []string{"-f", opts.Dir}
	if opts.MaxLife > 0 {
		args = append(args, "-t", strconv.Itoa(int((opts.MaxLife+time.Second-1)/time.Second)))
	}
	if opts.SIPTrace {
		args = append(args, "-s")
	}
	b := &Baresip{
		SIPAddr: sipAddr,
		AOR:     aor,
		Dir:     opts.Dir,
		exited:  make(chan struct{}),
		out:     &syncbuf.Buffer{Tee: opts.Output},
		pend:    make(map[string]chan response),
		wake:    make(chan struct{}),
		rdEnd:   make(chan struct{}),
	}
	b.cmd = exec.Command(bin, args...)
	b.cmd.Dir = opts.Dir
	b.cmd.Stdout = b.out
	b.cmd.Stderr = b.out
	b.cmd.SysProcAttr = sysProcAttr()
	if err := b.cmd.Start(); err != nil {
		return nil, fmt.Errorf("baresip: %w", err)
	}
	go func() {
		b.waitErr = b.cmd.Wait()
		close(b.exited)
	}()

	// Connect to ctrl_tcp once it listens.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		conn, err := d.DialContext(dctx, "tcp", ctrlAddr)
		cancel()
		if err == nil {
			b.conn = conn
			break
		}
		select {
		case <-b.exited:
			return nil, fmt.Errorf("baresip exited at start (%v); log:\n%s", b.waitErr, b.out.String())
		case <-ctx.Done():
			b.kill()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			b.kill()
			return nil, fmt.Errorf("baresip: control socket %s never answered; log:\n%s", ctrlAddr, b.out.String())
		}
	}
	go b.read()
	if consAddr != "" {
		if err := b.attachConsole(ctx, consAddr); err != nil {
			b.kill()
			return nil, err
		}
	}
	if !strings.Contains(b.out.String(), "baresip is ready") {
		// Modules are loaded; give the UA the moment it needs to finish.
		b.waitOutput(ctx, "baresip is ready", 5*time.Second)
	}
	select {
	case <-b.exited:
		b.conn.Close()
		<-b.rdEnd
		return nil, fmt.Errorf("baresip exited at start (%v); log:\n%s", b.waitErr, b.out.String())
	default:
	}
	return b, nil
}

func (b *Baresip) waitOutput(ctx context.Context, s string, d time.Duration) bool {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if strings.Contains(b.out.String(), s) {
			return true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return false
}

// Command sends one ctrl_tcp command (as the menu names it: "dial",
// "hangup", "accept", "listcalls", "quit", ...) and returns its answer.
func (b *Baresip) Command(ctx context.Context, command, params string) (string, error) {
	b.mu.Lock()
	if b.rdErr != nil {
		err := b.rdErr
		b.mu.Unlock()
		return "", fmt.Errorf("baresip: control connection: %w", err)
	}
	b.seq++
	token := "t" + strconv.Itoa(b.seq)
	ch := make(chan response, 1)
	b.pend[token] = ch
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.pend, token)
		b.mu.Unlock()
	}()

	msg, _ := json.Marshal(map[string]string{"command": command, "params": params, "token": token})
	frame := strconv.Itoa(len(msg)) + ":" + string(msg) + ","
	b.wmu.Lock()
	if dl, ok := ctx.Deadline(); ok {
		_ = b.conn.SetWriteDeadline(dl)
	}
	_, err := io.WriteString(b.conn, frame)
	b.wmu.Unlock()
	if err != nil {
		return "", fmt.Errorf("baresip: %s: %w", command, err)
	}
	select {
	case r := <-ch:
		if !r.OK {
			return r.Data, fmt.Errorf("baresip: %s %s: %s", command, params, strings.TrimSpace(r.Data))
		}
		return r.Data, nil
	case <-b.rdEnd:
		return "", fmt.Errorf("baresip: %s: control connection closed", command)
	case <-ctx.Done():
		return "", fmt.Errorf("baresip: %s: %w", command, ctx.Err())
	}
}

// Dial makes baresip call uri.
func (b *Baresip) Dial(ctx context.Context, uri string) error {
	_, err := b.Command(ctx, "dial", uri)
	return err
}

// Hangup hangs up baresip's current call.
func (b *Baresip) Hangup(ctx context.Context) error {
	_, err := b.Command(ctx, "hangup", "")
	return err
}

// Events returns every event reported so far, oldest first.
func (b *Baresip) Events() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]Event(nil), b.evs...)
}

// WaitEvent returns the first event so far or to come, counted from the
// start, for which match is true.
func (b *Baresip) WaitEvent(ctx context.Context, match func(Event) bool) (Event, error) {
	seen := 0
	for {
		b.mu.Lock()
		for ; seen < len(b.evs); seen++ {
			if match(b.evs[seen]) {
				ev := b.evs[seen]
				b.mu.Unlock()
				return ev, nil
			}
		}
		wake, rdErr := b.wake, b.rdErr
		b.mu.Unlock()
		if rdErr != nil {
			return Event{}, fmt.Errorf("baresip: no such event before the control connection ended (%v)", rdErr)
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// WaitType waits for an event of type typ whose peer URI contains peer
// (any peer when empty).
func (b *Baresip) WaitType(ctx context.Context, typ, peer string) (Event, error) {
	ev, err := b.WaitEvent(ctx, func(e Event) bool {
		return e.Type == typ && strings.Contains(e.PeerURI, peer)
	})
	if err != nil {
		return ev, fmt.Errorf("baresip: waiting for %s (peer %q): %w", typ, peer, err)
	}
	return ev, nil
}

// Log is what baresip printed so far.
func (b *Baresip) Log() string { return b.out.String() }

// Exited reports whether the process has ended.
func (b *Baresip) Exited() bool {
	select {
	case <-b.exited:
		return true
	default:
		return false
	}
}

// Stop ends baresip: "quit" on the control socket, then SIGTERM (twice:
// baresip's first one waits for open transactions), then SIGKILL. It
// returns when the process is reaped; calling it again is harmless.
func (b *Baresip) Stop() error {
	b.stopOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_, _ = b.Command(ctx, "quit", "")
		cancel()
		steps := []struct {
			sig  os.Signal
			wait time.Duration
		}{{nil, 3 * time.Second}, {syscall.SIGTERM, time.Second}, {syscall.SIGTERM, 2 * time.Second}, {os.Kill, 5 * time.Second}}
	escalate:
		for _, st := range steps {
			if st.sig != nil {
				_ = b.cmd.Process.Signal(st.sig)
			}
			select {
			case <-b.exited:
				break escalate
			case <-time.After(st.wait):
			}
		}
		b.conn.Close()
		<-b.rdEnd
		if !b.Exited() {
			b.stopErr = fmt.Errorf("baresip (pid %d) did not exit", b.cmd.Process.Pid)
		}
	})
	return b.stopErr
}

func (b *Baresip) kill() {
	_ = b.cmd.Process.Kill()
	<-b.exited
}

// read parses the netstrings baresip sends: command answers and events.
func (b *Baresip) read() {
	defer close(b.rdEnd)
	r := bufio.NewReader(b.conn)
	var err error
	for {
		var msg []byte
		if msg, err = readNetstring(r); err != nil {
			break
		}
		var head struct {
			Event    bool `json:"event"`
			Response bool `json:"response"`
		}
		if json.Unmarshal(msg, &head) != nil {
			continue
		}
		switch {
		case head.Response:
			var res response
			if json.Unmarshal(msg, &res) == nil {
				b.mu.Lock()
				ch := b.pend[res.Token]
				b.mu.Unlock()
				if ch != nil {
					ch <- res
				}
			}
		case head.Event:
			var ev Event
			if json.Unmarshal(msg, &ev) == nil {
				ev.Raw = string(msg)
				b.mu.Lock()
				b.evs = append(b.evs, ev)
				close(b.wake)
				b.wake = make(chan struct{})
				b.mu.Unlock()
			}
		}
	}
	b.mu.Lock()
	b.rdErr = err
	close(b.wake)
	b.wake = make(chan struct{})
	b.mu.Unlock()
}

// readNetstring reads one "len:data," frame.
func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > 1<<20 {
		return nil, fmt.Errorf("baresip: bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("baresip: netstring without trailing comma")
	}
	return buf[:n], nil
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
