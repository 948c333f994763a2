package store

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The crash test's child processes are this test binary, run with these
// variables set to the store's directory (and the first step).
const (
	envStormDir   = "PARKSTORE_STORM_DIR"
	envStormStart = "PARKSTORE_STORM_START"
	envHoldDir    = "PARKSTORE_HOLD_DIR"
)

// stormCalls is how many calls the storm cycles through. Step k works on
// call k%stormCalls; each call goes through park, an update of its leg,
// a retrieve and a hang-up, stormCalls steps apart, so the store after
// step k is a function of k alone (stormState).
const stormCalls = 24

// stormStep writes step k.
func stormStep(ctx context.Context, s Store, k int) error {
	i, round := k%stormCalls, k/stormCalls
	v := round / 4
	switch round % 4 {
	case 0:
		return s.PutCall(ctx, parkedCall(i, v))
	case 1:
		return s.PutLeg(ctx, updatedLeg(i, v))
	case 2:
		return s.PutCall(ctx, bridgedCall(i, v))
	default:
		return s.DeleteCall(ctx, parkedCall(i, v).ID)
	}
}

// updatedLeg is call i's parked leg after a re-INVITE: new CSeq, SDP
// version and RTP position.
func updatedLeg(i, v int) Leg {
	l := parkedCall(i, v).Legs[0]
	l.Dialog.LocalCSeq += 1000
	l.Media.SDPVersion++
	l.Media.Seq += 500
	l.Media.Timestamp += 80_000
	return l
}

// stormState is what the store holds after steps 0..k, in Load's order.
func stormState(k int) []Call {
	var onOrbit, off []Call
	for i := range stormCalls {
		if k < i {
			continue
		}
		last := k - (k-i)%stormCalls // the last step on call i
		round := last / stormCalls
		v := round / 4
		switch round % 4 {
		case 0:
			onOrbit = append(onOrbit, parkedCall(i, v))
		case 1:
			c := parkedCall(i, v)
			c.Legs[0] = updatedLeg(i, v)
			onOrbit = append(onOrbit, c)
		case 2:
			off = append(off, bridgedCall(i, v))
		}
	}
	// Load's order: by orbit (700+i), then by ID (call-10 < call-2).
	slices.SortFunc(off, func(a, b Call) int { return strings.Compare(a.ID, b.ID) })
	return append(onOrbit, off...)
}

// TestStormChild is the crash test's child: it writes steps from
// $PARKSTORE_STORM_START on, printing each step's number once its write
// returned, until it is killed (or a safety cap).
func TestStormChild(t *testing.T) {
	dir := os.Getenv(envStormDir)
	if dir == "" {
		t.Skip("the crash test's child process")
	}
	start, err := strconv.Atoi(os.Getenv(envStormStart))
	if err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("child Open: %v", err)
	}
	ctx := context.Background()
	out := bufio.NewWriter(os.Stdout)
	for k := start; k < start+100_000; k++ {
		if err := stormStep(ctx, s, k); err != nil {
			t.Fatalf("step %d: %v", k, err)
		}
		fmt.Fprintf(out, "ack %d\n", k)
		if err := out.Flush(); err != nil {
			return // the parent is gone
		}
	}
	_ = s.Close()
}

// TestCrashMidWrite kills a process writing a park storm with SIGKILL,
// several times, and opens the store after each kill: it is sound
// (integrity_check), holds every write that was acknowledged, and each
// call is whole — as after the last acknowledged step or the one in
// flight, never a call without its leg or a retrieve with one leg.
func TestCrashMidWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("runs child processes")
	}
	dir := filepath.Join(t.TempDir(), "state")
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 15))
	next := 0
	for run := range 8 {
		killAfter := next + 20 + rng.IntN(150)
		// The kill lands anywhere in the write after killAfter's, not
		// only at its start: a write takes a few milliseconds (fsync).
		jitter := time.Duration(rng.IntN(4000)) * time.Microsecond
		ack := runStormUntil(t, dir, next, killAfter, jitter)
		if ack < killAfter {
			t.Fatalf("run %d: child acknowledged up to %d, stopped before %d", run, ack, killAfter)
		}

		s, err := Open(dir)
		if err != nil {
			t.Fatalf("run %d: Open after SIGKILL: %v", run, err)
		}
		var check string
		if err := s.db.QueryRow(`PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
			t.Fatalf("run %d: integrity_check %q, %v", run, check, err)
		}
		got := load(t, s).Calls
		switch {
		case reflect.DeepEqual(got, stormState(ack)):
			next = ack + 1
		case reflect.DeepEqual(got, stormState(ack+1)):
			next = ack + 2 // the write in flight was committed, not acknowledged
		default:
			t.Fatalf("run %d: killed after step %d acknowledged: the store is neither its state nor the next step's: %s",
				run, ack, firstDifference(got, stormState(ack+1)))
		}
		t.Logf("run %d: killed after step %d; store at step %d", run, ack, next-1)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// runStormUntil runs a storm child from step start, SIGKILLs it as soon
// as it acknowledged step killAfter (and jitter later), and returns the last step it
// acknowledged (it may have written more before the kill landed).
func runStormUntil(t *testing.T, dir string, start, killAfter int, jitter time.Duration) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStormChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envStormDir+"="+dir, envStormStart+"="+strconv.Itoa(start))
	var stderr strings.Builder
	cmd.Stderr = &stderr
	var other []string // the child's test output, for a failure
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Safety net only: a child that never reaches killAfter is killed
	// and the test fails on its short acknowledgement.
	safety := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer safety.Stop()
	ack := start - 1
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack "))
		if err != nil {
			other = append(other, sc.Text())
			continue
		}
		ack = n
		if !killed && n >= killAfter {
			time.Sleep(jitter)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatalf("SIGKILL: %v", err)
			}
			killed = true
		}
	}
	if _, err := io.Copy(io.Discard, out); err != nil && !errors.Is(err, os.ErrClosed) {
		t.Logf("child stdout: %v", err)
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended by itself at step %d: %v\n%s\n%s", ack, err, strings.Join(other, "\n"), stderr.String())
	}
	return ack
}

// TestHoldChild is TestLockedAcrossProcesses's child: it opens the store
// in $PARKSTORE_HOLD_DIR, says so, and holds it until killed.
func TestHoldChild(t *testing.T) {
	dir := os.Getenv(envHoldDir)
	if dir == "" {
		t.Skip("TestLockedAcrossProcesses's child process")
	}
	s, err := Open(dir)
	if err != nil {
		fmt.Printf("error %v\n", err)
		return
	}
	fmt.Println("open")
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent goes
	_ = s.Close()
}

// A second process on a held store gets ErrInUse naming the lock file
// and the holder; once the holder is killed (-9, no Close) the store
// opens at once.
func TestLockedAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	dir := filepath.Join(t.TempDir(), "state")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envHoldDir+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	safety := time.AfterFunc(30*time.Second, func() { _ = cmd.Process.Kill() })
	defer safety.Stop()
	sc := bufio.NewScanner(out)
	if !sc.Scan() || sc.Text() != "open" {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("child did not open the store: %q", sc.Text())
	}

	_, err = Open(dir)
	var iu *InUseError
	if !errors.Is(err, ErrInUse) || !errors.As(err, &iu) {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("Open of a store another process holds: %v, want ErrInUse", err)
	}
	if iu.Path != filepath.Join(dir, LockName) || iu.PID != cmd.Process.Pid {
		t.Errorf("in use: path %q pid %d; want %q pid %d", iu.Path, iu.PID, filepath.Join(dir, LockName), cmd.Process.Pid)
	}
	if !strings.Contains(err.Error(), strconv.Itoa(cmd.Process.Pid)) {
		t.Errorf("error %q does not name the holder's PID", err)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // the kernel released the lock with the process
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open after the holder was killed: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// firstDifference says briefly where got and want part.
func firstDifference(got, want []Call) string {
	for i := range min(len(got), len(want)) {
		if !reflect.DeepEqual(got[i], want[i]) {
			g, w := got[i], want[i]
			return fmt.Sprintf("call %d: got %s (%s, orbit %d, %d legs), want %s (%s, orbit %d, %d legs)",
				i, g.ID, g.State, g.Orbit, len(g.Legs), w.ID, w.State, w.Orbit, len(w.Legs))
		}
	}
	return fmt.Sprintf("got %d calls, want %d", len(got), len(want))
}
