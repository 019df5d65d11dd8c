package anomaly

import (
	"fmt"
	"testing"
)

// BenchmarkCheck checks simulated list-append histories (32 keys, 8
// workers, 1-4 ops a txn, 2% failed, 1% unknown, a few injected faults).
// Figures and commands: bench/README.md, "anomaly".
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		for _, reg := range []bool{false, true} {
			name := fmt.Sprintf("txns=%d/list-append", n)
			if reg {
				name = fmt.Sprintf("txns=%d/rw-register", n)
			}
			h := Simulate(SimOptions{Txns: n, Register: reg, FailRate: 0.02, UnknownRate: 0.01, Seed: 1,
				LostAppends: 3, AbortedReads: 3, StaleReads: 3})
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := Check(h, Options{}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
