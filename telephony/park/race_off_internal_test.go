//go:build !race

package park

// raceDetector: see race_on_internal_test.go.
const raceDetector = false
