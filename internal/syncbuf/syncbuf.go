// Package syncbuf is a bytes.Buffer that one goroutine may write while
// another reads it: a child process's output, a logger's sink in a test.
package syncbuf

import (
	"bytes"
	"io"
	"sync"
)

// Buffer collects what is written to it; its methods may be called from
// any goroutine. The zero value is empty and ready.
type Buffer struct {
	// Tee, when set, is also given every write (its errors ignored: the
	// buffer is the record). Set it before the first Write.
	Tee io.Writer

	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.Tee != nil {
		_, _ = s.Tee.Write(p)
	}
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
