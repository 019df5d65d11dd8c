package scenario

import (
	"fmt"
	"strings"
	"testing"
)

// benchFile builds a scenario of n faults: open-ended failovers that all
// overlap when overlapping is set, else a valid mix of stops, node delays
// and partitions that never clash.
func benchFile(n int, overlapping bool) []byte {
	var b strings.Builder
	b.WriteString("duration: 168h\nworkloads:\n")
	for i := range maxWorkloads {
		fmt.Fprintf(&b, "  - {kind: bank, name: w%d, rows: 100, rate: 10/s, targets: [primary1, primary2]}\n", i)
	}
	b.WriteString("faults:\n")
	for i := range n {
		switch {
		case overlapping:
			fmt.Fprintf(&b, "  - {kind: failover, from: primary%d, at: %ds}\n", 1+i%2, i)
		case i%3 == 0:
			fmt.Fprintf(&b, "  - {kind: stop, node: primary%d, at: %ds, for: 1s}\n", 1+i%2, i*10)
		case i%3 == 1:
			fmt.Fprintf(&b, "  - {kind: delay, node: primary%d, delay: 10ms, jitter: 1ms, at: %ds, for: 1s}\n", 1+i%2, i*10)
		default:
			fmt.Fprintf(&b, "  - {kind: partition, direction: primary1->primary2, at: %ds, for: 1s}\n", i*10)
		}
	}
	return []byte(b.String())
}

// BenchmarkParse measures Parse on the largest lists a scenario may hold:
// the overlap sweep must stay O(n log n) where pairing every fault was
// quadratic (2,000 overlapping failovers took 5.5 s and 2 GB).
func BenchmarkParse(b *testing.B) {
	for _, c := range []struct {
		name        string
		n           int
		overlapping bool
	}{{"valid-10000-faults", maxFaults, false}, {"overlapping-4000-failovers", 4000, true}, {"overlapping-10000-failovers", maxFaults, true}} {
		data := benchFile(c.n, c.overlapping)
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			b.ReportAllocs()
			for b.Loop() {
				_, err := Parse("b.yaml", data)
				if (err == nil) == c.overlapping {
					b.Fatalf("overlapping=%v, err=%v", c.overlapping, err)
				}
			}
		})
	}
}
