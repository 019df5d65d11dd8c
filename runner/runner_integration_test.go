package runner_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/runner"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

func parseScenario(t *testing.T, yaml string) *scenario.Scenario {
	t.Helper()
	sc, err := scenario.Parse("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

func runOn(t *testing.T, l *lab.Lab, sc *scenario.Scenario) (*reports.Report, string) {
	t.Helper()
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	rep, err := runner.Run(ctx, sc, runner.Options{LabName: l.Name, ReportDir: dir, LedgerDir: t.TempDir(),
		ConvergeTimeout: 30 * time.Second, Log: func(f string, a ...any) { t.Logf(f, a...) }})
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	return rep, filepath.Join(dir, "history.jsonl")
}

// A short run's report agrees with the history on disk and with the rows
// the database holds: every acknowledged insert is on both nodes, and no
// row exists that the history does not account for.
func TestRunReportMatchesHistoryAndDatabase(t *testing.T) {
	l := labtest.Start(t)
	sc := parseScenario(t, `
name: short
duration: 4s
seed: 7
workloads:
  - kind: insert
    concurrency: 2
    rate: 100/s
  - kind: bank
    targets: [primary1]
    rows: 5
assert:
  lag_p99: 5s
  divergent_rows: 0
  lost_writes: 0
  converged: true
  bank_invariant: true
`)
	rep, history := runOn(t, l, sc)
	if rep.Verdict != reports.VerdictPass {
		t.Errorf("verdict %s: %+v", rep.Verdict, rep.Assertions)
	}
	if rep.Scenario.Seed != 7 {
		t.Errorf("seed %d, want the scenario's 7", rep.Scenario.Seed)
	}

	// Counts in the report = counts in the history file.
	okByTarget := map[string]int64{}
	unknownByTarget := map[string]int64{}
	if err := workload.ReadHistory(history, func(op workload.Op) error {
		if op.Kind == scenario.KindInsert {
			switch op.Outcome {
			case workload.OK:
				okByTarget[op.Target]++
			case workload.Unknown:
				unknownByTarget[op.Target]++
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, w := range rep.Workloads {
		if w.Kind != scenario.KindInsert {
			continue
		}
		if w.OK != okByTarget[w.Target] || w.OK == 0 {
			t.Errorf("insert via %s: report says %d ok, history has %d", w.Target, w.OK, okByTarget[w.Target])
		}
		// 4 s at 100/s per target: the rate is a ceiling. How close a
		// loaded machine comes to it is not this test's business (the
		// schedule itself is unit-tested in workload/rate_test.go).
		if w.Ops > 420 {
			t.Errorf("insert via %s: %d ops in 4 s at 100/s", w.Target, w.Ops)
		}
	}

	// Rows in the database = acknowledged inserts (+ at most the unknown ones).
	var ok, unknown int64
	for tgt := range okByTarget {
		ok += okByTarget[tgt]
		unknown += unknownByTarget[tgt]
	}
	for _, node := range []string{lab.Primary1, lab.Primary2} {
		c, err := l.Connect(context.Background(), node)
		if err != nil {
			t.Fatal(err)
		}
		var rows int64
		err = c.QueryRow(context.Background(), "SELECT count(*) FROM pgchaos_insert WHERE workload = 'insert'").Scan(&rows)
		c.Close(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if rows < ok || rows > ok+unknown {
			t.Errorf("%s holds %d insert rows; the history acknowledged %d (+%d unknown)", node, rows, ok, unknown)
		}
	}

	if rep.Lag == nil || len(rep.Lag.Directions) != 2 {
		t.Fatalf("lag: %+v, want two directions", rep.Lag)
	}
	for _, d := range rep.Lag.Directions {
		// ~10 heartbeats a second for ~4 s plus the convergence wait.
		if d.Samples < 30 || d.Missing != 0 || d.P50 <= 0 || d.P50.D() > time.Second {
			t.Errorf("lag %s->%s: %d samples, %d missing, p50 %v", d.From, d.To, d.Samples, d.Missing, d.P50.D())
		}
	}
	if rep.Conflicts == nil || len(rep.Conflicts.Workload.Bank) != 2 {
		t.Fatalf("bank totals: %+v", rep.Conflicts)
	}
	for _, b := range rep.Conflicts.Workload.Bank {
		if b.Expected != 5*workload.InitialBalance || b.Actual != b.Expected {
			t.Errorf("bank on %s: %d, want %d", b.Node, b.Actual, 5*workload.InitialBalance)
		}
	}
}
