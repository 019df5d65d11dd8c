package workload

import (
	"bytes"
	"fmt"
	"testing"
	"time"
)

// benchHistory is n lines of a typical history: mostly ok inserts, with a
// failed and an unknown op now and then.
func benchHistory(n int) []byte {
	var b []byte
	var tf timeFormat
	start := time.Date(2026, 11, 27, 1, 2, 3, 0, time.UTC)
	for i := range n {
		op := Op{Workload: "insert", Kind: "insert", Worker: i % 8, Target: "haproxy", ServedBy: "primary2",
			Keys:  []string{fmt.Sprintf("m5x1k2/insert/haproxy/%d/%d", i%8, i)},
			Start: start.Add(time.Duration(i) * 173 * time.Microsecond), Outcome: OK}
		op.End = op.Start.Add(700*time.Microsecond + time.Duration(i%97)*time.Microsecond)
		switch i % 500 {
		case 1:
			op.ServedBy, op.Outcome, op.SQLState, op.Class, op.Error = "", Fail, "57P01", ClassConnection, "FATAL: terminating connection due to administrator command (SQLSTATE 57P01)"
		case 2:
			op.ServedBy, op.Outcome, op.Class, op.Error = "", Unknown, ClassTimeout, "timeout: context deadline exceeded"
		}
		b = op.appendJSON(b, &tf)
		b = append(b, '\n')
	}
	return b
}

// BenchmarkReadHistory measures decoding a history (ns/op is per line): the
// end-of-run analysis reads the whole file more than once.
func BenchmarkReadHistory(b *testing.B) {
	const lines = 100_000
	data := benchHistory(lines)
	b.SetBytes(int64(len(data) / lines))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += lines {
		n := 0
		if err := readHistory(bytes.NewReader(data), "bench", func(Op) error { n++; return nil }); err != nil || n != lines {
			b.Fatalf("%d ops, %v", n, err)
		}
	}
}
