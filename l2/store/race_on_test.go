//go:build race

package store

// raceEnabled shortens the long simulations, which the race detector
// slows tenfold.
const raceEnabled = true
