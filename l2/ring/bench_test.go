package ring

import (
	"fmt"
	"strconv"
	"testing"
)

var benchSizes = []int{3, 10, 100, 1000}

func benchKeys() [][]byte {
	keys := make([][]byte, 4096)
	for i := range keys {
		keys[i] = []byte("user:" + strconv.Itoa(i*7919))
	}
	return keys
}

func BenchmarkOwner(b *testing.B) {
	keys := benchKeys()
	for _, p := range placements {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/nodes=%d", p.name, n), func(b *testing.B) {
				r := mustNew(b, nodeIDs(n), p.opts)
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					_ = r.Owner(keys[i&(len(keys)-1)])
					i++
				}
			})
		}
	}
}

func BenchmarkOwners3(b *testing.B) {
	keys := benchKeys()
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			r := mustNew(b, nodeIDs(n), Options{})
			dst := make([]string, 0, 3)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				dst = r.Owners(keys[i&(len(keys)-1)], 3, dst[:0])
				i++
			}
		})
	}
}

func BenchmarkNew(b *testing.B) {
	for _, p := range placements {
		for _, n := range benchSizes {
			b.Run(fmt.Sprintf("%s/nodes=%d", p.name, n), func(b *testing.B) {
				nodes := nodeIDs(n)
				b.ReportAllocs()
				for b.Loop() {
					mustNew(b, nodes, p.opts)
				}
			})
		}
	}
}
