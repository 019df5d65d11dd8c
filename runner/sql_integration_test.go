package runner_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/runner"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// TestScenarioSQLOrdersRunsBothScriptsAndReplicatesTheRows runs the
// example's two weighted scripts and checks the history (every execution
// of either script, ok, served by a primary) against the rows each node
// holds after the run in the tables of the scenario's schema (shop.sql):
// an order and a line per ok execution of orders.sql, on both nodes.
func TestScenarioSQLOrdersRunsBothScriptsAndReplicatesTheRows(t *testing.T) {
	sc, err := scenario.Load(filepath.Join("..", "scenarios", "sql-orders.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sc.Duration = 8 * time.Second
	l := labtest.Start(t, lab.WithPostgres(sc.Lab.Postgres), lab.WithSequences(sc.Lab.Sequences),
		lab.WithSchema(&lab.Schema{File: sc.Schema.File, SQL: sc.Schema.SQL}))
	dir := t.TempDir()
	rep, err := runner.Run(t.Context(), sc, runner.Options{LabName: l.Name, ReportDir: dir, LedgerDir: t.TempDir(),
		ConvergeTimeout: 30 * time.Second, Log: func(f string, a ...any) { t.Logf(f, a...) }})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	reports.Table(&b, rep)
	t.Logf("report:\n%s", b.String())
	if rep.Verdict != reports.VerdictPass {
		t.Errorf("verdict %s, failed: %v", rep.Verdict, failed(rep))
	}

	count := map[string]map[workload.Outcome]int{}
	err = workload.ReadHistory(filepath.Join(dir, "history.jsonl"), func(op workload.Op) error {
		if op.Kind != scenario.KindSQL || op.Workload != "orders" {
			t.Errorf("an op of kind %q, workload %q in a run of one sql workload", op.Kind, op.Workload)
		}
		if count[op.Script] == nil {
			count[op.Script] = map[workload.Outcome]int{}
		}
		count[op.Script][op.Outcome]++
		if op.Outcome == workload.OK && op.ServedBy != lab.Primary1 && op.ServedBy != lab.Primary2 {
			t.Errorf("ok op served by %q", op.ServedBy)
		}
		if op.Outcome != workload.OK {
			t.Errorf("%s: %s %s %s", op.Script, op.Outcome, op.SQLState, op.Error)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("executions per script and outcome: %v", count)
	if len(count) != 2 || count["orders.sql"][workload.OK] == 0 || count["order-lookup.sql"][workload.OK] == 0 {
		t.Fatalf("want ok executions of both orders.sql and order-lookup.sql only, got %v", count)
	}
	var total int64
	for _, w := range rep.Workloads {
		total += w.Ops
	}
	if ops := count["orders.sql"][workload.OK] + count["order-lookup.sql"][workload.OK]; int64(ops) != total {
		t.Errorf("the report counts %d executions, the history %d", total, ops)
	}

	orders := count["orders.sql"][workload.OK]
	for _, n := range []string{lab.Primary1, lab.Primary2} {
		conn, err := pgx.Connect(t.Context(), l.MustDSN(n))
		if err != nil {
			t.Fatal(err)
		}
		var o, lines int
		err = conn.QueryRow(t.Context(), `SELECT (SELECT count(*) FROM shop.orders), (SELECT count(*) FROM shop.order_lines)`).Scan(&o, &lines)
		conn.Close(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if o != orders || lines != orders {
			t.Errorf("%s holds %d orders and %d lines, want %d of each (one per ok execution of orders.sql)", n, o, lines, orders)
		}
	}
}

// TestScenarioSQLRefusedStatementIsBadInputBeforeAnyOp pins the check
// before second 0: a statement the server cannot parse stops the run with
// exit code 2 at the script's file:line, and no execution is recorded.
func TestScenarioSQLRefusedStatementIsBadInputBeforeAnyOp(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("good.sql", "\\set id random(1, 10)\nSELECT :id;\n")
	write("bad.sql", "-- a typo the client cannot see\n\\set id random(1, 10)\nINSERT INTO test_table (name)\n  VALUSE (:id::text);\n")
	write("s.yaml", "duration: 5s\nworkloads:\n  - kind: sql\n    scripts: [good.sql, {file: bad.sql, weight: 2}]\n")
	sc, err := scenario.Load(filepath.Join(dir, "s.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	l := labtest.Start(t)
	out := t.TempDir()
	_, err = runner.Run(t.Context(), sc, runner.Options{LabName: l.Name, ReportDir: out, LedgerDir: t.TempDir(),
		ConvergeTimeout: 10 * time.Second, Log: func(f string, a ...any) { t.Logf(f, a...) }})
	if err == nil {
		t.Fatal("the run started with a statement the server refuses")
	}
	want := filepath.Join(dir, "bad.sql") + ":3: primary1 refused this statement"
	if exitcode.Of(err) != exitcode.BadInput || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "42601") {
		t.Fatalf("exit %d, error %v: want exit 2 naming %q and SQLSTATE 42601", exitcode.Of(err), err, want)
	}
	if strings.Contains(err.Error(), "good.sql") {
		t.Errorf("the good script was named too: %v", err)
	}
	ops := 0
	if err := workload.ReadHistory(filepath.Join(out, "history.jsonl"), func(workload.Op) error { ops++; return nil }); err != nil {
		t.Fatal(err)
	}
	if ops != 0 {
		t.Errorf("%d ops recorded before the run was refused", ops)
	}
}
