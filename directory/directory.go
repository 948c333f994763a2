package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// State is how current the directory shown is.
type State uint8

const (
	// StateEmpty: the sources have not been read yet.
	StateEmpty State = iota
	// StateFresh: every source was read at the last refresh.
	StateFresh
	// StateStale: a source failed at the last refresh; its contacts are
	// those read before (or from the cache), as of Status.Since.
	StateStale
	// StateFailed: a source failed and there is nothing to show for it
	// (no earlier read, no cache).
	StateFailed
)

// String names the state ("fresh", "stale", ...).
func (s State) String() string {
	switch s {
	case StateEmpty:
		return "empty"
	case StateFresh:
		return "fresh"
	case StateStale:
		return "stale"
	case StateFailed:
		return "failed"
	}
	return fmt.Sprintf("state %d", uint8(s))
}

// Status says how current the directory is, for the status bar.
type Status struct {
	// State is fresh, stale or failed.
	State State
	// Reason is why a source failed (stale and failed states).
	Reason Reason
	// Err is the first failure, with details (nil when fresh).
	Err error
	// Since is when the oldest of the contacts shown were read from their
	// source: the last refresh when fresh; when stale, the time of the
	// earlier read or of the cache standing in for the failed source.
	Since time.Time
	// Checked is when the sources were last read (or tried).
	Checked time.Time
	// FromCache says the LDAP contacts shown come from the cache file.
	FromCache bool
	// Contacts is the number of contacts in the directory.
	Contacts int
}

// Directory is the merged, searchable directory of the configured
// sources, refreshed by Refresh or a Refresher. Its methods are safe for
// concurrent use.
type Directory struct {
	opts     Options
	log      *slog.Logger
	onUpdate func(Status)
	// ldapInvalid is what is wrong with the LDAP options: each refresh
	// reports it instead of reading LDAP, and the cache stands in.
	ldapInvalid error

	mu      sync.Mutex
	gen     uint64 // refreshes started
	applied uint64 // the newest refresh whose result is shown
	index   *Index
	status  Status
	// The last good read of each source, standing in when it fails.
	ldap      []Contact
	ldapAt    time.Time
	fromCache bool
	files     map[string]fileRead
}

// fileRead is one good read of a contacts file.
type fileRead struct {
	contacts []Contact
	at       time.Time
}

// New returns an empty directory of the sources in o, and what is wrong
// with o (Options.Validate), for the settings dialog and the log. The
// directory is usable even when o is not: a contacts file that cannot be
// read fails at each refresh, and so do invalid LDAP options, without
// connecting, while the cached LDAP directory stands in; the status says
// why. onUpdate, if not nil, is called with the new status after each
// refresh, on the refreshing goroutine, with no lock held. log may be nil
// (slog's default).
func New(o Options, log *slog.Logger, onUpdate func(Status)) (*Directory, error) {
	err := o.Validate()
	if log == nil {
		log = slog.Default()
	}
	o = o.withDefaults()
	if o.Refresh < 0 {
		o.Refresh = DefaultRefresh
	}
	if o.LDAP.Timeout < 0 {
		o.LDAP.Timeout = DefaultTimeout
	}
	return &Directory{
		opts:        o,
		log:         log.With("component", "directory"),
		onUpdate:    onUpdate,
		ldapInvalid: o.LDAP.validate(),
		index:       NewIndex(nil),
		files:       map[string]fileRead{},
	}, err
}

// Search returns the contacts matching query, best first, at most limit
// of them (all when limit <= 0); see Index.Search.
func (d *Directory) Search(query string, limit int) []Contact {
	return d.Index().Search(query, limit)
}

// Index is the directory as last refreshed; it does not change.
func (d *Directory) Index() *Index {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.index
}

// Status says how current the directory is.
func (d *Directory) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

// Refresh reads every source again and replaces the directory. A source
// that fails keeps the contacts of its last good read; an LDAP directory
// not read since the start is loaded from the cache. The error is the
// first source's failure (nil when all were read); the directory and its
// status are updated either way.
func (d *Directory) Refresh(ctx context.Context) error {
	d.mu.Lock()
	d.gen++
	gen := d.gen
	prevFiles := make(map[string]fileRead, len(d.files))
	for k, v := range d.files {
		prevFiles[k] = v
	}
	prevLDAP, prevLDAPAt, prevFromCache := d.ldap, d.ldapAt, d.fromCache
	d.mu.Unlock()

	now := time.Now()
	var (
		lists    [][]Contact
		errs     []error
		since    = now
		failed   bool
		newFiles = make(map[string]fileRead, len(d.opts.Files))
	)
	older := func(t time.Time) {
		if t.Before(since) {
			since = t
		}
	}
	for _, path := range d.opts.Files {
		cs, err := ReadFile(path)
		if err == nil {
			newFiles[path] = fileRead{cs, now}
			lists = append(lists, cs)
			continue
		}
		errs = append(errs, err)
		if prev, ok := prevFiles[path]; ok {
			newFiles[path] = prev
			lists = append(lists, prev.contacts)
			older(prev.at)
		} else {
			failed = true
		}
	}
	ldapCS, ldapAt, fromCache := prevLDAP, prevLDAPAt, prevFromCache
	if d.opts.LDAP.URL != "" || d.ldapInvalid != nil {
		cs, err := []Contact(nil), d.ldapInvalid
		if err == nil {
			cs, err = FetchLDAP(ctx, d.opts.LDAP)
		}
		if err == nil {
			ldapCS, ldapAt, fromCache = cs, now, false
			if d.opts.CachePath != "" {
				if err := saveCache(d.opts.CachePath, d.opts.LDAP, now, cs); err != nil {
					d.log.Warn("directory cache not saved", "err", err)
				}
			}
		} else {
			errs = append(errs, err)
			if ldapCS == nil && d.opts.CachePath != "" {
				cached, at, cerr := loadCache(d.opts.CachePath, d.opts.LDAP)
				if cerr == nil {
					ldapCS, ldapAt, fromCache = cached, at, true
				} else {
					d.log.Info("no directory cache to stand in for LDAP", "err", cerr)
				}
			}
			if ldapCS == nil {
				failed = true
			} else {
				older(ldapAt)
			}
		}
		if ldapCS != nil {
			lists = append(lists, ldapCS)
		}
	}
	if ctx.Err() != nil {
		// Stopped, not failed: the directory shown stays as it was.
		return fmt.Errorf("directory refresh: %w", ctx.Err())
	}
	ix := NewIndex(Merge(lists...))

	st := Status{State: StateFresh, Since: now, Checked: now, Contacts: ix.Len(), FromCache: fromCache && ldapCS != nil}
	err := errors.Join(errs...)
	if len(errs) > 0 {
		st.State, st.Reason, st.Err, st.Since = StateStale, ReasonOf(errs[0]), errs[0], since
		if failed {
			st.State = StateFailed
		}
		d.log.Warn("directory refresh failed", "state", st.State, "reason", st.Reason, "err", err)
	}

	d.mu.Lock()
	if gen < d.applied {
		// A later refresh finished first: its result stands.
		d.mu.Unlock()
		return err
	}
	d.applied = gen
	d.index, d.status = ix, st
	d.ldap, d.ldapAt, d.fromCache = ldapCS, ldapAt, fromCache
	d.files = newFiles
	d.mu.Unlock()
	if d.onUpdate != nil {
		d.onUpdate(st)
	}
	return err
}

// Refresher reads a directory's sources at its refresh interval, on one
// goroutine that ends when the context given to Start is done.
type Refresher struct {
	done chan struct{}
}

// Start refreshes d at once and then every Options.Refresh, until ctx is
// done.
func (d *Directory) Start(ctx context.Context) *Refresher {
	r := &Refresher{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		t := time.NewTicker(d.opts.Refresh)
		defer t.Stop()
		for {
			_ = d.Refresh(ctx) // failures are in the status, and logged
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return r
}

// Done is closed when the refresher's goroutine has ended.
func (r *Refresher) Done() <-chan struct{} { return r.done }

// Wait waits for the refresher's goroutine to end.
func (r *Refresher) Wait() { <-r.done }
