package l1

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(releasingM{m}) }

// releasingM releases the benchmark fixture after the run, before goleak
// looks for goroutines left behind (ristretto's, when it ran last).
type releasingM struct{ m *testing.M }

func (r releasingM) Run() int {
	code := r.m.Run()
	releaseFixture()
	return code
}
