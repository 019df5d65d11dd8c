package analysis

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// benchHistory records n inserts through the proxy, 5.8 k a second from t0,
// with failures around a failover at +10 s, and returns the file's path and
// the keys.
func benchHistory(b *testing.B, n int) (string, []string) {
	b.Helper()
	rec, err := workload.NewRecorder(filepath.Join(b.TempDir(), "history.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	keys := make([]string, n)
	for i := range n {
		keys[i] = fmt.Sprintf("m5x1k2/insert/haproxy/%d/%d", i%8, i)
		op := workload.Op{Workload: "ins", Kind: scenario.KindInsert, Worker: i % 8, Target: "haproxy", ServedBy: "primary1",
			Keys: []string{keys[i]}, Start: t0.Add(time.Duration(i) * 173 * time.Microsecond), Outcome: workload.OK}
		op.End = op.Start.Add(700 * time.Microsecond)
		if d := op.Start.Sub(t0); d > 10*time.Second && d < 10*time.Second+300*time.Millisecond {
			op.ServedBy, op.Outcome, op.Class = "", workload.Fail, workload.ClassConnection
		} else if d > 10*time.Second {
			op.ServedBy = "primary2"
		}
		rec.Record(op)
	}
	if err := rec.Close(); err != nil {
		b.Fatal(err)
	}
	return rec.Path(), keys
}

// setNodes answers MissingInserts from a set per node, so the benchmark
// measures the analysis, not the fake.
type setNodes map[string]map[string]bool

func (s setNodes) MissingInserts(_ context.Context, node string, keys []string) ([]string, error) {
	var missing []string
	for _, k := range keys {
		if !s[node][k] {
			missing = append(missing, k)
		}
	}
	return missing, nil
}

func (setNodes) CounterValues(context.Context, string, string) (map[string]int64, error) {
	return nil, nil
}

func (setNodes) BankTotal(context.Context, string, string, int) (reports.BankTotal, error) {
	return reports.BankTotal{}, nil
}

// BenchmarkFailovers measures the failover analysis of one failover over a
// recorded history (ns/op is per op of the history): two passes that decode
// every line.
func BenchmarkFailovers(b *testing.B) {
	const ops = 100_000
	path, _ := benchHistory(b, ops)
	run := Run{History: path, Start: t0, Duration: 20 * time.Second, Proxy: "haproxy", Peer: peerOf,
		Faults: []reports.Fault{{Kind: scenario.FaultFailover, Target: "haproxy/primary1", Injected: ms(10_000)}}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += ops {
		fos, err := Failovers(run)
		if err != nil || len(fos) != 1 || fos[0].Unavailable == 0 {
			b.Fatalf("%+v, %v", fos, err)
		}
	}
}

// BenchmarkLostWrites measures the lost-writes check over a recorded
// history (ns/op is per op of the history), with nodes answering from
// memory: one pass, keys in batches.
func BenchmarkLostWrites(b *testing.B) {
	const ops = 100_000
	path, keys := benchHistory(b, ops)
	all := make(map[string]bool, len(keys))
	for _, k := range keys {
		all[k] = true
	}
	db := setNodes{"primary1": all, "primary2": all}
	run := Run{History: path, Nodes: twoNodes}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i += ops {
		lost, _, err := LostWrites(context.Background(), db, run)
		if err != nil || lost != 0 {
			b.Fatalf("%d lost, %v", lost, err)
		}
	}
}
