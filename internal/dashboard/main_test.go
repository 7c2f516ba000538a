package dashboard

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: the sampler,
// the HTTP server and the browser test's Chromium plumbing all stop.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
