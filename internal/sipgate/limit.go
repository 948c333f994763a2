package sipgate

import (
	"net/netip"
	"sync"
	"time"
)

// LogInterval is how often the gate logs refusals of one source address:
// the first refusal is logged, the next ones within the interval are
// counted and reported with the first one after it.
const LogInterval = time.Minute

// maxSources bounds the sources the log limiter remembers; beyond it the
// sources it has no room for share one entry (the zero address), so a
// flood of forged addresses costs bounded memory and at most one extra
// line per interval.
const maxSources = 4096

// logLimiter decides which refusals are logged: once per source per
// interval, with the count of those left unlogged since.
type logLimiter struct {
	interval time.Duration
	max      int

	mu        sync.Mutex
	sources   map[netip.Addr]*logEntry
	lastPrune time.Time
}

type logEntry struct {
	last       time.Time
	suppressed int
}

func newLogLimiter(interval time.Duration, max int) *logLimiter {
	return &logLimiter{interval: interval, max: max, sources: make(map[netip.Addr]*logEntry)}
}

// allow reports whether a refusal from src at now is logged and, if so,
// how many refusals from src went unlogged before it.
func (l *logLimiter) allow(src netip.Addr, now time.Time) (bool, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.sources[src]
	if !ok {
		if len(l.sources) >= l.max && now.Sub(l.lastPrune) >= l.interval/8 {
			l.pruneLocked(now)
		}
		if len(l.sources) >= l.max {
			src = netip.Addr{}
			e = l.sources[src]
		}
		if e == nil {
			e = &logEntry{}
			l.sources[src] = e
			e.last = now
			return true, 0
		}
	}
	if now.Sub(e.last) < l.interval {
		e.suppressed++
		return false, 0
	}
	n := e.suppressed
	e.last, e.suppressed = now, 0
	return true, n
}

// pruneLocked forgets the sources whose interval is over (what they had
// left unreported is lost). It scans at most every eighth of an interval,
// so a flood of new sources on a full table costs no scan per packet.
func (l *logLimiter) pruneLocked(now time.Time) {
	l.lastPrune = now
	for a, e := range l.sources {
		if now.Sub(e.last) >= l.interval {
			delete(l.sources, a)
		}
	}
}

// size is the number of sources remembered.
func (l *logLimiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sources)
}

// LogLimiter is the gate's rule for logging refusals, once per source
// address per LogInterval with a count of the unlogged, for other
// refusals (the park service's allowlist and credentials) to share: a
// flood from one host must not become a flood of log lines.
type LogLimiter struct{ l *logLimiter }

// NewLogLimiter returns a limiter that logs each source once per
// interval (LogInterval in production; 0 logs everything) and remembers a
// bounded number of sources.
func NewLogLimiter(interval time.Duration) *LogLimiter {
	return &LogLimiter{newLogLimiter(interval, maxSources)}
}

// Allow reports whether a refusal of a request from source ("host:port")
// is logged now and, if so, how many from that host went unlogged before.
func (l *LogLimiter) Allow(source string) (bool, int) {
	ap, _ := netip.ParseAddrPort(source)
	return l.l.allow(ap.Addr().Unmap(), time.Now())
}
