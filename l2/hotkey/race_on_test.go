//go:build race

package hotkey

// raceEnabled scales the long streams down under the race detector, which
// makes every atomic operation hundreds of times slower.
const raceEnabled = true
