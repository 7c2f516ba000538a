package main

import (
	"errors"
	"slices"
	"testing"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// TestRegisterAll: the components' registrations undo together, and one
// that fails removes those made before it.
func TestRegisterAll(t *testing.T) {
	var log []string
	reg := func(name string, fail bool) registrar {
		return func(metric.Meter) (func() error, error) {
			if fail {
				return nil, errors.New(name + " failed")
			}
			log = append(log, "+"+name)
			return func() error { log = append(log, "-"+name); return nil }, nil
		}
	}
	m := noop.NewMeterProvider().Meter("test")

	undo, err := registerAll(m, reg("a", false), reg("b", false))
	if err != nil {
		t.Fatal(err)
	}
	if err := undo(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"+a", "+b", "-a", "-b"}; !slices.Equal(log, want) {
		t.Fatalf("registered and removed %v, want %v", log, want)
	}

	log = nil
	if _, err := registerAll(m, reg("a", false), reg("b", true), reg("c", false)); err == nil || err.Error() != "b failed" {
		t.Fatalf("a failing registration: %v", err)
	}
	if want := []string{"+a", "-a"}; !slices.Equal(log, want) {
		t.Fatalf("after b failed: %v, want %v", log, want)
	}
}
