package anomaly

import "testing"

// BenchmarkCheckManyStaleReads is the search's bad case: one read in ten
// is stale, as under replication lag, so cycles are everywhere and the
// components are large.
func BenchmarkCheckManyStaleReads(b *testing.B) {
	h := Simulate(SimOptions{Txns: 100_000, FailRate: 0.02, UnknownRate: 0.01, Seed: 1, StaleReads: 10_000})
	b.ReportAllocs()
	var res *Result
	for b.Loop() {
		var err error
		if res, err = Check(h, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("counts %v, incomplete %v", res.Counts, res.Incomplete)
}
