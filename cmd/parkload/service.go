//go:build linux

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/switchboard/switchboard/internal/procstop"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat;
// it is 100 on every Linux ABI Go supports.
const clockTicks = 100

// buildParkd builds cmd/parkd of the module the command runs in.
func buildParkd(dir string) (string, error) {
	out := filepath.Join(dir, "parkd")
	cmd := exec.Command("go", "build", "-o", out, "github.com/switchboard/switchboard/cmd/parkd")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build cmd/parkd (run parkload inside the module, or give -parkd): %v\n%s", err, b)
	}
	return out, nil
}

// service is the park service under load: a parkd we started, or a
// target given by flag.
type service struct {
	addr    string // SIP host:port
	pid     int    // 0 when unknown
	cmd     *exec.Cmd
	exited  chan struct{}
	logPath string
	logFile *os.File
}

var listeningLine = regexp.MustCompile(`^parkd: listening on (127\.0\.0\.1:\d+) `)

// startParkd runs binary on a free loopback port and waits until it says
// where it listens. Its logs go to a temporary file. An empty orbits
// leaves parkd its default lot; extra are more flags for parkd.
func startParkd(binary, orbits, cpus string, env []string, extra ...string) (*service, error) {
	logFile, err := os.CreateTemp("", "parkd-log-")
	if err != nil {
		return nil, err
	}
	args := []string{"-listen", "127.0.0.1:0", "-park-time", "1h", "-drain", "5s", "-state-dir", "none"}
	if orbits != "" {
		args = append(args, "-orbits", orbits)
	}
	args = append(args, extra...)
	cmd := exec.Command(binary, args...)
	if cpus != "" {
		cmd = exec.Command("taskset", append([]string{"-c", cpus, binary}, args...)...)
	}
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	cmd.Stderr = logFile
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		logFile.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, err
	}
	s := &service{pid: cmd.Process.Pid, cmd: cmd, exited: make(chan struct{}), logPath: logFile.Name(), logFile: logFile}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(s.exited)
	}()
	select {
	case s.addr = <-addr:
		return s, nil
	case <-s.exited:
		b, _ := os.ReadFile(s.logPath)
		s.cleanup(false)
		return nil, fmt.Errorf("parkd exited at start: %s", strings.TrimSpace(string(b)))
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		<-s.exited
		s.cleanup(false)
		return nil, errors.New("parkd did not say where it listens within 20s")
	}
}

// stop sends SIGTERM and waits (bounded) for the process to exit.
func (s *service) stop(keepLogs bool) {
	if s.cmd == nil {
		return
	}
	procstop.Stop(s.cmd.Process, s.exited, 15*time.Second)
	s.cleanup(keepLogs)
}

func (s *service) cleanup(keep bool) {
	s.logFile.Close()
	if keep {
		progress("parkd's log: %s", s.logPath)
		return
	}
	os.Remove(s.logPath)
}

// logProblems counts WARN and ERROR lines in parkd's log so far.
func (s *service) logProblems() int {
	if s.logPath == "" {
		return 0
	}
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("level=WARN")) + bytes.Count(b, []byte("level=ERROR"))
}

// logTail is the last n lines of parkd's log.
func (s *service) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// cpuTicks is utime+stime of a process, in clock ticks.
func cpuTicks(pid string) (int64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name may hold spaces: the fields start after its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("unexpected /proc stat format")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("bad utime/stime in /proc stat")
	}
	return u + st, nil
}

// memKB returns VmRSS and VmHWM of a process, in kB.
func memKB(pid string) (rss, hwm int64, err error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n
		case "VmHWM":
			hwm = n
		}
	}
	return rss, hwm, nil
}

// ctxSwitches is the number of context switches (voluntary and not) of
// every thread of a process so far; -1 when unreadable.
func ctxSwitches(pid string) int64 {
	tasks, err := os.ReadDir("/proc/" + pid + "/task")
	if err != nil {
		return -1
	}
	var n int64
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/status")
		if err != nil {
			continue // the thread just ended
		}
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.HasSuffix(k, "ctxt_switches") {
				c, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
				n += c
			}
		}
	}
	return n
}

// cpuMeter measures the CPU a process used over an interval.
type cpuMeter struct {
	pid      string
	ticks    int64
	switches int64
	at       time.Time
	ok       bool
}

func startCPU(pid string) cpuMeter {
	t, err := cpuTicks(pid)
	return cpuMeter{pid: pid, ticks: t, switches: ctxSwitches(pid), at: time.Now(), ok: err == nil}
}

// switchRate is the process's context switches per second since start;
// -1 when unknown.
func (m cpuMeter) switchRate() float64 {
	n := ctxSwitches(m.pid)
	if n < 0 || m.switches < 0 {
		return -1
	}
	return float64(n-m.switches) / time.Since(m.at).Seconds()
}

// percent is the CPU used since start as a percentage of one core; -1
// when it could not be read.
func (m cpuMeter) percent() float64 {
	t, err := cpuTicks(m.pid)
	if !m.ok || err != nil {
		return -1
	}
	secs := float64(t-m.ticks) / clockTicks
	return 100 * secs / time.Since(m.at).Seconds()
}

// pinSelf pins every thread of this process (and so the threads they
// start later) to the CPUs in list, e.g. "1" or "0,2-3".
func pinSelf(list string) error {
	cpus, err := cpuList(list)
	if err != nil {
		return err
	}
	var set [16]uint64 // 1024 CPUs
	for _, c := range cpus {
		set[c/64] |= 1 << (c % 64)
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return err
	}
	for _, t := range tasks {
		tid, err := strconv.Atoi(t.Name())
		if err != nil {
			continue
		}
		if _, _, errno := syscall.RawSyscall(syscall.SYS_SCHED_SETAFFINITY, uintptr(tid), unsafe.Sizeof(set), uintptr(unsafe.Pointer(&set))); errno != 0 {
			return errno
		}
	}
	return nil
}

// perfRecord samples pid with perf for d and writes DIR/parkd-N.data and
// a flat profile DIR/parkd-N.txt. It returns when the recording ends.
func perfRecord(ctx context.Context, dir string, n, pid int, d time.Duration) {
	data := filepath.Join(dir, fmt.Sprintf("parkd-%d.data", n))
	rec := exec.CommandContext(ctx, "perf", "record", "-F", "999", "--call-graph", "fp", "-p", strconv.Itoa(pid),
		"-o", data, "--", "sleep", strconv.FormatFloat(d.Seconds(), 'f', 1, 64))
	if b, err := rec.CombinedOutput(); err != nil {
		progress("perf record: %v: %s", err, strings.TrimSpace(string(b)))
		return
	}
	var flat bytes.Buffer
	for _, args := range [][]string{
		{"report", "-i", data, "--stdio", "--no-children", "--sort", "dso,symbol", "--percent-limit", "0.5", "-g", "none"},
		{"report", "-i", data, "--stdio", "--children", "--sort", "symbol", "--percent-limit", "3", "-g", "none"},
	} {
		rep := exec.CommandContext(ctx, "perf", args...)
		b, err := rep.Output()
		if err != nil {
			progress("perf report: %v", err)
			return
		}
		fmt.Fprintf(&flat, "$ perf %s\n%s\n", strings.Join(args, " "), b)
	}
	txt := filepath.Join(dir, fmt.Sprintf("parkd-%d.txt", n))
	if err := os.WriteFile(txt, flat.Bytes(), 0o644); err != nil {
		progress("perf: %v", err)
		return
	}
	progress("perf profile of N=%d: %s (data %s)", n, txt, data)
}

// cpuTimes are one CPU's (or the sum of all CPUs') times from /proc/stat,
// in clock ticks: user, nice, system, idle, iowait, irq, softirq, steal.
type cpuTimes [8]int64

func (t cpuTimes) total() int64 {
	var s int64
	for _, v := range t {
		s += v
	}
	return s
}

// busy is the time doing anything: user, nice, system, irq and softirq.
func (t cpuTimes) busy() int64 { return t[0] + t[1] + t[2] + t[5] + t[6] }

// readCPUTimes reads /proc/stat: index 0 is the sum of all CPUs, index
// i+1 is CPU i.
func readCPUTimes() ([]cpuTimes, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return nil, err
	}
	var out []cpuTimes
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 9 || !strings.HasPrefix(f[0], "cpu") {
			continue
		}
		var t cpuTimes
		for i := range t {
			t[i], _ = strconv.ParseInt(f[i+1], 10, 64)
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		return nil, errors.New("no cpu lines in /proc/stat")
	}
	return out, nil
}

// sysMeter measures what the whole machine did over an interval.
type sysMeter struct {
	start []cpuTimes
}

func startSys() sysMeter {
	t, _ := readCPUTimes()
	return sysMeter{start: t}
}

// sysUsage is a machine's CPU over an interval, each in % of one core.
type sysUsage struct {
	softirq, steal, idle float64
	cores                float64
	busyOf               map[int]float64 // CPU → busy % (user+system+irq+softirq)
	pinned               []int           // CPUs of interest, for the caller's use
	ok                   bool
}

func (m sysMeter) usage() sysUsage {
	end, err := readCPUTimes()
	if err != nil || len(end) != len(m.start) {
		return sysUsage{}
	}
	u := sysUsage{busyOf: map[int]float64{}, ok: true}
	cores := float64(len(end) - 1)
	u.cores = cores
	var d cpuTimes
	for i := range d {
		d[i] = end[0][i] - m.start[0][i]
	}
	if tot := float64(d.total()); tot > 0 {
		u.softirq = 100 * cores * float64(d[6]) / tot
		u.steal = 100 * cores * float64(d[7]) / tot
		u.idle = 100 * cores * float64(d[3]+d[4]) / tot
	}
	for c := 1; c < len(end); c++ {
		var dc cpuTimes
		for i := range dc {
			dc[i] = end[c][i] - m.start[c][i]
		}
		if tot := float64(dc.total()); tot > 0 {
			u.busyOf[c-1] = 100 * float64(dc.busy()) / tot
		}
	}
	return u
}

// cpuList parses a taskset-style list such as "0" or "0,2-3".
func cpuList(list string) ([]int, error) {
	var out []int
	for _, part := range strings.Split(list, ",") {
		lo, hi, found := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b := a
		var err2 error
		if found {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || a < 0 || b < a || b >= 1024 {
			return nil, fmt.Errorf("%q is not a CPU list", list)
		}
		for c := a; c <= b; c++ {
			out = append(out, c)
		}
	}
	return out, nil
}
