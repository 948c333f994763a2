//go:build race

package park

// raceDetector: the race detector's sync.Pool drops what is put back at
// random, so code that reuses pooled buffers (x/net's sendmmsg headers)
// allocates under it.
const raceDetector = true
