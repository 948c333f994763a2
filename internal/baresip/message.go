package baresip

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard/switchboard/internal/freeport"
)

// WaitMessage waits until baresip has shown an instant message (SIP
// MESSAGE, RFC 3428) whose text contains text, and returns the line it
// showed: baresip 1.0's menu prints `PEER: "TEXT"` for each message it
// takes. It polls what the console showed until ctx ends.
func (b *Baresip) WaitMessage(ctx context.Context, text string) (string, error) {
	for {
		for _, line := range strings.Split(b.shown.String(), "\n") {
			if i := strings.Index(line, `: "`); i > 0 && strings.Contains(line[i:], text) {
				return strings.TrimSpace(line), nil
			}
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("baresip showed no message with %q: %w", text, ctx.Err())
		case <-b.exited:
			return "", fmt.Errorf("baresip exited before a message with %q", text)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// consoleAddr is a free loopback address for the cons module, which
// listens on UDP and TCP on it.
func consoleAddr() (string, error) {
	port, err := freeport.UDPAndTCP(netip.AddrFrom4([4]byte{127, 0, 0, 1}))
	if err != nil {
		return "", fmt.Errorf("baresip: no free console port: %w", err)
	}
	return "127.0.0.1:" + strconv.Itoa(port), nil
}

// attachConsole connects to the cons module's TCP console and copies
// what it shows into the log until the connection closes (at Stop).
func (b *Baresip) attachConsole(ctx context.Context, addr string) error {
	var conn net.Conn
	for {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
		c, err := d.DialContext(dctx, "tcp", addr)
		cancel()
		if err == nil {
			conn = c
			break
		}
		select {
		case <-b.exited:
			return fmt.Errorf("baresip exited before its console answered; log:\n%s", b.out.String())
		case <-ctx.Done():
			return fmt.Errorf("baresip: console %s never answered: %w", addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
	// cons shows its output to a TCP client once the client has sent
	// something: an empty line is no command.
	if _, err := conn.Write([]byte("\n")); err != nil {
		conn.Close()
		return fmt.Errorf("baresip: console: %w", err)
	}
	b.shown.Tee = b.out
	go func() {
		defer conn.Close()
		done := make(chan struct{})
		defer close(done)
		go func() {
			select {
			case <-b.exited:
				conn.Close()
			case <-done:
			}
		}()
		_, _ = io.Copy(&b.shown, conn)
	}()
	return nil
}
