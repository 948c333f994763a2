//go:build !race

package main

// raceEnabled tells the tests to build parkd with the race detector too.
const raceEnabled = false
