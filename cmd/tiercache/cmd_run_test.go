package main

import (
	"context"
	"testing"
	"time"
)

// cancelAndWait cancels the context of n command runs that report on done
// and waits, up to timeout for each, for every one to return nil.
func cancelAndWait(t *testing.T, cancel context.CancelFunc, done <-chan error, n int, what string, timeout time.Duration) {
	t.Helper()
	cancel()
	for range n {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("%s exited with %v", what, err)
			}
		case <-time.After(timeout):
			t.Fatalf("%s did not stop on cancel", what)
		}
	}
}
