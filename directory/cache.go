package directory

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// cacheVersion is the version of the cache file's format.
const cacheVersion = 1

// cacheFile is what the cache file holds: the contacts last read from one
// LDAP directory, and when.
type cacheFile struct {
	Version  int       `json:"version"`
	Saved    time.Time `json:"saved"`
	URL      string    `json:"url"`
	BaseDN   string    `json:"base_dn"`
	Contacts []Contact `json:"contacts"`
}

// saveCache writes the contacts read from the LDAP directory of o at
// time at to path, replacing the file whole (a crash leaves the old one).
func saveCache(path string, o LDAPOptions, at time.Time, contacts []Contact) error {
	data, err := json.Marshal(cacheFile{Version: cacheVersion, Saved: at, URL: o.URL, BaseDN: o.BaseDN, Contacts: contacts})
	if err != nil {
		return &Error{Reason: ReasonCache, Op: "save cache", Err: err}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return &Error{Reason: ReasonCache, Op: "save cache", Err: err}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".directory-*.json")
	if err != nil {
		return &Error{Reason: ReasonCache, Op: "save cache", Err: err}
	}
	_, werr := tmp.Write(data)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return &Error{Reason: ReasonCache, Op: "save cache " + path, Err: werr}
	}
	return nil
}

// loadCache reads the contacts cached at path for the LDAP directory of
// o and when they were read. A cache of another directory (URL or base DN)
// is not used: its error has ReasonNoCache, like a missing file.
func loadCache(path string, o LDAPOptions) ([]Contact, time.Time, error) {
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, time.Time{}, &Error{Reason: ReasonNoCache, Op: "load cache " + path, Err: err}
	}
	if err != nil {
		return nil, time.Time{}, &Error{Reason: ReasonCache, Op: "load cache " + path, Err: err}
	}
	var f cacheFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, time.Time{}, &Error{Reason: ReasonCache, Op: "load cache " + path, Err: err}
	}
	if f.Version != cacheVersion {
		return nil, time.Time{}, &Error{Reason: ReasonCache, Op: "load cache " + path, Err: fmt.Errorf("format version %d, want %d", f.Version, cacheVersion)}
	}
	if f.URL != o.URL || f.BaseDN != o.BaseDN {
		return nil, time.Time{}, &Error{Reason: ReasonNoCache, Op: "load cache " + path,
			Err: fmt.Errorf("the cache is of %s %s, not of %s %s", f.URL, f.BaseDN, o.URL, o.BaseDN)}
	}
	return f.Contacts, f.Saved, nil
}
