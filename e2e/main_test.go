package e2e

import (
	"os"
	"testing"
)

// TestMain removes the binary the tests built (once, for all of them).
func TestMain(m *testing.M) {
	code := m.Run()
	if tiercacheBin.dir != "" {
		os.RemoveAll(tiercacheBin.dir)
	}
	os.Exit(code)
}
