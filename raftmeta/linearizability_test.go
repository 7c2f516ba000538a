package raftmeta

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"sync"
	"testing"

	"github.com/anishathalye/porcupine"
)

// The porcupine model of the topology as a compare-and-set register over
// the epoch: the register holds (epoch, weight of node n1); a write sets
// the weight if the epoch is still the expected one and moves the epoch by
// one; a linearizable read returns both.

type casState struct {
	epoch  uint64
	weight int
}

type casInput struct {
	read   bool
	expect uint64
	weight int
}

type casOutcome int

const (
	casOK       casOutcome = iota // acknowledged, with the new epoch
	casConflict                   // refused: the epoch had moved
	casUnknown                    // no answer: may or may not have applied
)

type casOutput struct {
	outcome casOutcome
	epoch   uint64
	weight  int // reads only
}

func casModel(initial casState) porcupine.Model {
	nm := &porcupine.NondeterministicModel{
		Init: func() []any { return []any{initial} },
		Step: func(state, input, output any) []any {
			s, in, out := state.(casState), input.(casInput), output.(casOutput)
			if in.read {
				if out.epoch == s.epoch && out.weight == s.weight {
					return []any{s}
				}
				return nil
			}
			next := casState{epoch: s.epoch + 1, weight: in.weight}
			switch out.outcome {
			case casOK:
				if s.epoch == in.expect && out.epoch == next.epoch {
					return []any{next}
				}
			case casConflict:
				if s.epoch != in.expect {
					return []any{s}
				}
			case casUnknown:
				if s.epoch == in.expect {
					return []any{s, next}
				}
				return []any{s}
			}
			return nil
		},
		DescribeOperation: func(input, output any) string {
			in, out := input.(casInput), output.(casOutput)
			if in.read {
				return fmt.Sprintf("read() -> epoch %d weight %d", out.epoch, out.weight)
			}
			return fmt.Sprintf("cas(expect %d, weight %d) -> %v epoch %d", in.expect, in.weight, out.outcome, out.epoch)
		},
	}
	return nm.ToModel()
}

// history collects the client-visible operations of a run.
type history struct {
	mu  sync.Mutex
	ops []porcupine.Operation
}

func (h *history) add(client int, in casInput, out casOutput, call, ret int64) {
	if out.outcome == casUnknown {
		// The write may take effect at any time after it was sent.
		ret = math.MaxInt64
	}
	h.mu.Lock()
	h.ops = append(h.ops, porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret})
	h.mu.Unlock()
}

func (h *history) operations() []porcupine.Operation {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]porcupine.Operation(nil), h.ops...)
}

// epochBook checks that no epoch is ever seen with two different routing
// contents, by whoever saw it.
type epochBook struct {
	mu       sync.Mutex
	contents map[uint64]string
	err      error
}

func (b *epochBook) observe(who string, t *Topology) {
	j, _ := json.Marshal(struct {
		R []Region
		N []Node
	}{t.Regions, t.Nodes})
	sum := sha256.Sum256(j)
	h := hex.EncodeToString(sum[:8])
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.contents == nil {
		b.contents = map[uint64]string{}
	}
	if prev, ok := b.contents[t.Epoch]; ok && prev != h && b.err == nil {
		b.err = fmt.Errorf("epoch %d seen with two contents (%s by someone, %s by %s)", t.Epoch, prev, h, who)
	}
	b.contents[t.Epoch] = h
}

func (b *epochBook) check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.err
}

// TestCASModelCatchesViolations shows the model can fail: histories that a
// broken control plane would produce are rejected.
func TestCASModelCatchesViolations(t *testing.T) {
	m := casModel(casState{epoch: 1, weight: 100})
	op := func(in casInput, out casOutput, call, ret int64) porcupine.Operation {
		return porcupine.Operation{Input: in, Output: out, Call: call, Return: ret}
	}
	cases := []struct {
		name string
		ops  []porcupine.Operation
		want porcupine.CheckResult
	}{
		{"two writes acknowledged under one expected epoch", []porcupine.Operation{
			op(casInput{expect: 1, weight: 5}, casOutput{outcome: casOK, epoch: 2}, 0, 10),
			op(casInput{expect: 1, weight: 6}, casOutput{outcome: casOK, epoch: 2}, 0, 10),
		}, porcupine.Illegal},
		{"a read misses an acknowledged write", []porcupine.Operation{
			op(casInput{expect: 1, weight: 5}, casOutput{outcome: casOK, epoch: 2}, 0, 10),
			op(casInput{read: true}, casOutput{epoch: 1, weight: 100}, 20, 30),
		}, porcupine.Illegal},
		{"an epoch lost after it was read", []porcupine.Operation{
			op(casInput{read: true}, casOutput{epoch: 2, weight: 5}, 0, 10),
			op(casInput{expect: 1, weight: 5}, casOutput{outcome: casUnknown}, 0, math.MaxInt64),
			op(casInput{read: true}, casOutput{epoch: 1, weight: 100}, 20, 30),
		}, porcupine.Illegal},
		{"a conflict where the epoch had not moved", []porcupine.Operation{
			op(casInput{expect: 1, weight: 5}, casOutput{outcome: casConflict, epoch: 1}, 0, 10),
			op(casInput{read: true}, casOutput{epoch: 1, weight: 100}, 20, 30),
		}, porcupine.Illegal},
		{"an unknown write that did apply", []porcupine.Operation{
			op(casInput{expect: 1, weight: 5}, casOutput{outcome: casUnknown}, 0, math.MaxInt64),
			op(casInput{read: true}, casOutput{epoch: 2, weight: 5}, 20, 30),
			op(casInput{expect: 2, weight: 7}, casOutput{outcome: casOK, epoch: 3}, 40, 50),
		}, porcupine.Ok},
	}
	for _, tc := range cases {
		if got := porcupine.CheckOperationsTimeout(m, tc.ops, 0); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	var b epochBook
	b.observe("a", &Topology{Epoch: 3, Nodes: []Node{{ID: "n1", Weight: 1}}})
	b.observe("b", &Topology{Epoch: 3, Nodes: []Node{{ID: "n1", Weight: 2}}})
	if b.check() == nil {
		t.Error("epoch book missed two contents under one epoch")
	}
}
