package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// closeWindow asks the X window win (decimal ID, as xdotool prints it)
// on display (":N") to close, as a window manager's close button does:
// a WM_PROTOCOLS client message with WM_DELETE_WINDOW. xdotool 3.2016's
// windowclose destroys the window instead, which no application can
// intercept. This speaks just enough of the X11 protocol (connection
// setup without authorisation, InternAtom, SendEvent, a GetInputFocus
// round trip) over the display's local socket.
func closeWindow(display, win string) error {
	num := strings.TrimPrefix(display, ":")
	num, _, _ = strings.Cut(num, ".")
	id, err := strconv.ParseUint(win, 10, 32)
	if err != nil {
		return fmt.Errorf("window %q: %w", win, err)
	}
	c, err := net.DialTimeout("unix", "/tmp/.X11-unix/X"+num, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	le := binary.LittleEndian

	// Setup: byte order 'l', protocol 11.0, no authorisation.
	setup := []byte{'l', 0, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0}
	if _, err := c.Write(setup); err != nil {
		return err
	}
	head := make([]byte, 8)
	if _, err := io.ReadFull(c, head); err != nil {
		return err
	}
	if head[0] != 1 {
		return errors.New("the X server refused the connection")
	}
	if _, err := io.ReadFull(c, make([]byte, 4*int(le.Uint16(head[6:])))); err != nil {
		return err
	}

	atom := func(name string) (uint32, error) {
		n := len(name)
		pad := (4 - n%4) % 4
		req := make([]byte, 8+n+pad)
		req[0] = 16 // InternAtom, only-if-exists false
		le.PutUint16(req[2:], uint16(len(req)/4))
		le.PutUint16(req[4:], uint16(n))
		copy(req[8:], name)
		if _, err := c.Write(req); err != nil {
			return 0, err
		}
		rep := make([]byte, 32)
		if _, err := io.ReadFull(c, rep); err != nil {
			return 0, err
		}
		if rep[0] != 1 {
			return 0, fmt.Errorf("InternAtom %s: X error %d", name, rep[1])
		}
		return le.Uint32(rep[8:]), nil
	}
	protocols, err := atom("WM_PROTOCOLS")
	if err != nil {
		return err
	}
	deleteWin, err := atom("WM_DELETE_WINDOW")
	if err != nil {
		return err
	}

	// SendEvent of a ClientMessage to the window's owner (event mask 0).
	req := make([]byte, 44)
	req[0] = 25 // SendEvent, propagate false
	le.PutUint16(req[2:], 11)
	le.PutUint32(req[4:], uint32(id))
	ev := req[12:]
	ev[0] = 33 // ClientMessage
	ev[1] = 32 // format
	le.PutUint32(ev[4:], uint32(id))
	le.PutUint32(ev[8:], protocols)
	le.PutUint32(ev[12:], deleteWin)
	if _, err := c.Write(req); err != nil {
		return err
	}
	// GetInputFocus: its reply (or an error for the SendEvent) says the
	// server has handled the request.
	if _, err := c.Write([]byte{43, 0, 1, 0}); err != nil {
		return err
	}
	rep := make([]byte, 32)
	if _, err := io.ReadFull(c, rep); err != nil {
		return err
	}
	if rep[0] == 0 {
		return fmt.Errorf("SendEvent: X error %d", rep[1])
	}
	return nil
}
