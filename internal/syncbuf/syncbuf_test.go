package syncbuf

import (
	"bytes"
	"strings"
	"sync"
	"testing"
)

// TestConcurrentWritesAllKept: writers and a reader at once (run with
// -race) lose nothing, and the tee sees every write.
func TestConcurrentWritesAllKept(t *testing.T) {
	var tee bytes.Buffer
	b := Buffer{Tee: &tee}
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				_, _ = b.Write([]byte("x"))
				_ = b.String()
			}
		}()
	}
	wg.Wait()
	if got := b.String(); got != strings.Repeat("x", 800) {
		t.Errorf("buffer has %d bytes, want 800", len(got))
	}
	if tee.Len() != 800 {
		t.Errorf("tee has %d bytes, want 800", tee.Len())
	}
}
