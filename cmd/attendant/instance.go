package main

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// One console per SIP address on a computer. The first console started
// for an address holds a lock file in the user's runtime directory and
// listens on a local socket beside it; a second one started for the same
// address finds the lock taken, asks the first over the socket to bring
// its window forward, and exits 0 with a line saying so, instead of
// failing on the port ("address already in use"). The lock is an flock,
// which the system drops when the process ends however it ends, so a
// crashed console never blocks the next one. A console on port 0 (a
// free port each time) is never a second instance.

// errAlreadyRunning is a second console for an address: the first was
// asked to come forward.
var errAlreadyRunning = errors.New("already running")

// instanceWait bounds how long a second console waits for the first to
// answer (it may be starting: locked, not yet listening).
const instanceWait = 10 * time.Second

// instance is the lock and the socket of the console that holds them.
type instance struct {
	lock    *os.File
	ln      net.Listener
	sock    string
	onRaise atomic.Pointer[func()]
	wg      sync.WaitGroup
}

// runtimeDir is where the lock and the socket live: $XDG_RUNTIME_DIR
// (private to the user, emptied at logout), else a private directory in
// the system's temporary directory.
func runtimeDir() (string, error) {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d, nil
		}
	}
	d := filepath.Join(os.TempDir(), fmt.Sprintf("switchboard-%d", os.Getuid()))
	if err := os.MkdirAll(d, 0o700); err != nil {
		return "", fmt.Errorf("runtime directory: %w", err)
	}
	// In a directory all users share, someone else may have made it
	// first: a socket there could be anyone's.
	if err := ownPrivateDir(d); err != nil {
		return "", fmt.Errorf("runtime directory: %w", err)
	}
	return d, nil
}

// instanceName is the file name stem for the console on listen; "" when
// listen is not one fixed address (port 0).
func instanceName(listen string) string {
	_, port, err := net.SplitHostPort(listen)
	if err != nil || port == "0" || port == "" {
		return ""
	}
	r := strings.NewReplacer(":", "_", "/", "_", "[", "", "]", "", "%", "_")
	return "switchboard-attendant-" + r.Replace(listen)
}

// claimInstance takes the instance for listen in dir. It returns the
// instance when this process is the first; errAlreadyRunning once the
// first console has been asked to bring its window forward (and has
// said it did); another error when neither could be done. A nil
// instance with a nil error means there is nothing to claim (port 0).
func claimInstance(dir, listen string, log *slog.Logger) (*instance, error) {
	name := instanceName(listen)
	if name == "" {
		return nil, nil
	}
	lockPath, sock := filepath.Join(dir, name+".lock"), filepath.Join(dir, name+".sock")
	if !lockSupported && askRaise(sock) == nil {
		return nil, errAlreadyRunning
	}
	deadline := time.Now().Add(instanceWait)
	for {
		f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("instance lock: %w", err)
		}
		locked, err := tryLock(f)
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("instance lock %s: %w", lockPath, err)
		}
		if locked {
			return serveInstance(f, sock, log)
		}
		f.Close()
		// Another console holds it: ask it to come forward.
		if err := askRaise(sock); err == nil {
			return nil, errAlreadyRunning
		} else if time.Now().After(deadline) {
			return nil, fmt.Errorf("another Switchboard holds %s but does not answer on %s: %w", lockPath, sock, err)
		}
		time.Sleep(50 * time.Millisecond) // it is starting, or ending: try both again
	}
}

// heldByAnother is a park service address another console holds: its
// window can be asked to come forward on sock (askRaise).
type heldByAnother struct {
	addr string
	sock string
}

// Error names the address.
func (e *heldByAnother) Error() string {
	return "another Switchboard runs its park service on " + e.addr
}

// claimPark takes the embedded park service's address, parkAddr, in dir
// for this console: consoles on other SIP addresses (other instances)
// may not share it. It returns the instance when this console is the
// first, or a *heldByAnother without asking the other anything: whether
// to bring that window forward is the receptionist's choice. Nothing is
// claimed (nil, nil) for port 0.
func claimPark(dir, parkAddr string, log *slog.Logger) (*instance, error) {
	name := instanceName(parkAddr)
	if name == "" {
		return nil, nil
	}
	name = strings.Replace(name, "switchboard-attendant-", "switchboard-park-", 1)
	lockPath, sock := filepath.Join(dir, name+".lock"), filepath.Join(dir, name+".sock")
	if !lockSupported {
		// No lock to ask: a console listening on the socket holds it.
		if c, err := net.DialTimeout("unix", sock, time.Second); err == nil {
			c.Close()
			return nil, &heldByAnother{addr: parkAddr, sock: sock}
		}
	}
	f, err := os.OpenFile(lockPath, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("park instance lock: %w", err)
	}
	locked, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("park instance lock %s: %w", lockPath, err)
	}
	if !locked {
		f.Close()
		return nil, &heldByAnother{addr: parkAddr, sock: sock}
	}
	return serveInstance(f, sock, log)
}

// serveInstance listens on sock for the next consoles' requests.
func serveInstance(lock *os.File, sock string, log *slog.Logger) (*instance, error) {
	_ = os.Remove(sock) // a socket left by a console that ended: we hold the lock
	ln, err := net.Listen("unix", sock)
	if err != nil {
		lock.Close()
		return nil, fmt.Errorf("instance socket: %w", err)
	}
	in := &instance{lock: lock, ln: ln, sock: sock}
	in.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed
			}
			in.wg.Go(func() { in.serve(c, log) })
		}
	})
	return in, nil
}

// serve answers one request: "raise" brings the window forward.
func (in *instance) serve(c net.Conn, log *slog.Logger) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "raise" {
		return
	}
	log.Info("another console was started for this address: bringing the window forward")
	if f := in.onRaise.Load(); f != nil {
		(*f)()
	}
	_, _ = c.Write([]byte("ok\n"))
}

// setOnRaise sets what brings the window forward.
func (in *instance) setOnRaise(f func()) {
	if in != nil {
		in.onRaise.Store(&f)
	}
}

// close gives the instance up: the next console started is the first.
func (in *instance) close() {
	if in == nil {
		return
	}
	in.ln.Close() // removes the socket file
	in.wg.Wait()
	in.lock.Close() // drops the lock
}

// askRaise asks the console listening on sock to bring its window
// forward and waits for its answer.
func askRaise(sock string) error {
	c, err := net.DialTimeout("unix", sock, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("raise\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if strings.TrimSpace(line) != "ok" {
		return fmt.Errorf("unexpected answer %q", line)
	}
	return nil
}
