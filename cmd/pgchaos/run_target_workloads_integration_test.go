package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/workload"
)

// pgchaos run --target with built-in workloads (insert, update-hot) and a
// lock-rows fault, on a lab pgchaos built and then pointed at as a user's
// cluster: its nodes go by the user's names (east, west), and its
// replication is reshaped as a user's often is, each node publishing only
// test_table (publication app_pub) to the other.
//
//   - Without --allow-setup the run prints the setup SQL (the workloads'
//     tables in schema pgchaos, added to app_pub) and exits 2 writing
//     nothing.
//   - With it, the run creates them, counts the ops, measures lag both
//     ways, compares pgchaos's workload tables (not its heartbeat) after
//     convergence, and the lock on east's pgchaos_counter holds east's
//     update-hot writers and east's apply of west's updates, not east's
//     inserts.
//   - target clean --allow leaves no schema pgchaos, app_pub as it was,
//     and the user's test_table and schema public unchanged.
func TestRunTargetWithBuiltInWorkloadsAndLockRows(t *testing.T) {
	l := labtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	east, west := l.Nodes[0], l.Nodes[1]
	psql := func(n lab.Node, sql string) string {
		t.Helper()
		out, err := exec.CommandContext(ctx, "docker", "exec", n.Container, "psql", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-tAc", sql).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %s: %v\n%s", n.Name, sql, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	// The user's replication: each node publishes test_table alone, and
	// subscribes to the other's app_pub (the lab's FOR ALL TABLES
	// publication stays, unread).
	for _, n := range l.Nodes {
		psql(n, "CREATE PUBLICATION app_pub FOR TABLE public.test_table")
	}
	for _, n := range l.Nodes {
		for _, sub := range strings.Fields(psql(n, "SELECT subname FROM pg_subscription")) {
			psql(n, fmt.Sprintf("ALTER SUBSCRIPTION %s SET PUBLICATION app_pub WITH (copy_data = false)", sub))
		}
	}
	// The user's own rows, replicated, and what they are before the run.
	psql(east, "INSERT INTO test_table (name) SELECT 'mine ' || g FROM generate_series(1, 20) g")
	snapshot := func() string {
		var b strings.Builder
		for _, n := range l.Nodes {
			b.WriteString(n.Name + ": " + psql(n, "SELECT count(*) || ' ' || md5(coalesce(string_agg(id || ':' || coalesce(name, '') || ':' || created_at, ',' ORDER BY id), '')) FROM test_table") + "\n")
			b.WriteString(psql(n, "SELECT string_agg(schemaname || '.' || tablename, ',' ORDER BY 1) FROM pg_publication_tables WHERE pubname = 'app_pub'") + "\n")
			out, err := exec.CommandContext(ctx, "docker", "exec", n.Container, "pg_dump", "-U", "postgres", "--schema-only", "--schema=public", "--restrict-key=pgchaostest", "postgres").CombinedOutput()
			if err != nil {
				t.Fatalf("pg_dump on %s: %v\n%s", n.Name, err, out)
			}
			b.Write(out)
		}
		return b.String()
	}
	deadline := time.Now().Add(30 * time.Second)
	for psql(west, "SELECT count(*) FROM test_table") != "20" {
		if time.Now().After(deadline) {
			t.Fatal("the user's 20 rows did not reach west through app_pub")
		}
		time.Sleep(100 * time.Millisecond)
	}
	before := snapshot()
	hasSchema := func() string {
		return psql(east, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgchaos'") + psql(west, "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgchaos'")
	}

	work := t.TempDir()
	write := writeIn(t, work)
	t.Setenv("PGPASSWORD", lab.Password)
	targetFile := write("cluster.yaml", fmt.Sprintf(`nodes:
  - name: east
    dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
    container: %s
  - name: west
    dsn: "host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable"
    container: %s
`, east.Port, east.Container, west.Port, west.Container))
	t.Cleanup(func() {
		var o, e bytes.Buffer
		runMain([]string{"target", "clean", "--allow", targetFile}, &o, &e)
	})
	scenarioFile := write("workloads.yaml", `name: built-in-on-target
duration: 24s
seed: 11
workloads:
  - {kind: insert, name: ins, targets: [east, west], concurrency: 2, rate: 40/s}
  - {kind: update-hot, name: hot, rows: 5, targets: [east, west], concurrency: 2, rate: 40/s}
faults:
  - {at: 8s, kind: lock-rows, node: east, table: pgchaos_counter, for: 4s}
  - {at: 16s, kind: lock-rows, node: west, table: public.test_table, mode: table, for: 3s}
`)
	// A table of the user's that is not there: refused at its table:,
	// before anything is written.
	noTable := write("no-table.yaml", `name: no-table
duration: 5s
workloads:
  - {kind: insert, targets: [east]}
faults:
  - {at: 1s, kind: lock-rows, node: west, table: public.nope, for: 1s}
`)

	var stdout, stderr bytes.Buffer
	code := runMain([]string{"run", noTable, "--target", targetFile, "--allow-setup", "--report-dir", filepath.Join(work, "r-1")}, &stdout, &stderr)
	if want := "no-table.yaml:6:50: faults[0] (kind: lock-rows): no table public.nope on west"; code != exitcode.BadInput || !strings.Contains(stderr.String(), want) {
		t.Fatalf("lock-rows on a missing table: exit %d, want 2 with %q\nstderr:\n%s", code, want, &stderr)
	}
	if got := hasSchema(); got != "00" {
		t.Fatalf("schema pgchaos on the nodes after a refused run: %s, want none", got)
	}

	// Without --allow-setup: the SQL, exit 2, nothing written.
	stdout.Reset()
	stderr.Reset()
	code = runMain([]string{"run", scenarioFile, "--target", targetFile, "--report-dir", filepath.Join(work, "r0")}, &stdout, &stderr)
	if code != exitcode.BadInput {
		t.Fatalf("run without --allow-setup: exit %d, want 2\nstderr:\n%s", code, &stderr)
	}
	for _, want := range []string{
		"CREATE TABLE pgchaos.pgchaos_insert (",
		"COMMENT ON TABLE pgchaos.pgchaos_counter IS 'pgchaos: created by pgchaos target setup",
		`ALTER PUBLICATION "app_pub" ADD TABLE pgchaos.pgchaos_counter;`,
		`ALTER PUBLICATION "app_pub" ADD TABLE pgchaos.pgchaos_heartbeat;`,
		"REFRESH PUBLICATION WITH (copy_data = false);",
		"--allow-setup",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("the refused run's message lacks %q\nstderr:\n%s", want, &stderr)
		}
	}
	if got := hasSchema(); got != "00" {
		t.Fatalf("schema pgchaos on the nodes after a refused run: %s, want none", got)
	}
	if after := snapshot(); after != before {
		t.Fatalf("the refused run changed the user's objects:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// The run itself.
	reportDir := filepath.Join(work, "report")
	stdout.Reset()
	stderr.Reset()
	code = runMain([]string{"run", scenarioFile, "--target", targetFile, "--allow-setup", "--format", "json", "--report-dir", reportDir}, &stdout, &stderr)
	raw, _ := os.ReadFile(filepath.Join(reportDir, "report.json"))
	var rep reports.Report
	if err := json.Unmarshal(raw, &rep); err != nil || code != exitcode.OK {
		t.Fatalf("run --target --allow-setup exited %d (%v)\nstderr:\n%s", code, err, &stderr)
	}
	for _, w := range rep.Warnings {
		t.Logf("warning: %s", w)
		if strings.Contains(w, "does not exist") {
			t.Errorf("a check read a table that is not there: %s", w)
		}
	}

	// Ops, per workload and target: the user's node names.
	ok := map[string]int64{}
	for _, w := range rep.Workloads {
		ok[w.Workload+"@"+w.Target] += w.OK
		t.Logf("workload %s (%s) on %s: %d ops, %d ok, %d fail, %d unknown, p50 %v, max %v", w.Workload, w.Kind, w.Target, w.Ops, w.OK, w.Fail, w.Unknown, w.Latency.P50.D(), w.Latency.Max.D())
	}
	for _, k := range []string{"ins@east", "ins@west", "hot@east", "hot@west"} {
		if ok[k] == 0 {
			t.Errorf("workload %s: no op succeeded (%v)", k, ok)
		}
	}

	// Lag both ways.
	if rep.Lag == nil {
		t.Fatalf("no lag measured; warnings %q", rep.Warnings)
	}
	dirs := map[string]reports.LagDirection{}
	for _, d := range rep.Lag.Directions {
		dirs[d.From+"->"+d.To] = d
		t.Logf("lag %s->%s: %d samples, p50 %v, p99 %v, max %v", d.From, d.To, d.Samples, d.P50.D(), d.P99.D(), d.Max.D())
	}
	ew, we := dirs["east->west"], dirs["west->east"]
	if ew.Samples == 0 || we.Samples == 0 {
		t.Fatalf("lag %+v: want heartbeats applied both ways", rep.Lag.Directions)
	}

	// Divergence: pgchaos's workload tables compared, its heartbeat not.
	if rep.Divergence == nil {
		t.Fatalf("divergence not measured; warnings %q", rep.Warnings)
	}
	compared := map[string]reports.TableDivergence{}
	for _, tb := range rep.Divergence.Tables {
		compared[tb.Table] = tb
		t.Logf("divergence %s: %d/%d rows, missing on east %d, missing on west %d, different %d", tb.Table, tb.RowsPrimary1, tb.RowsPrimary2, tb.MissingOnPrimary1, tb.MissingOnPrimary2, tb.Different)
	}
	t.Logf("divergence: converged %v in %v, %d divergent rows", rep.Divergence.Converged, rep.Divergence.ConvergedIn.D(), rep.Divergence.DivergentRows)
	for _, name := range []string{"pgchaos.pgchaos_insert", "pgchaos.pgchaos_counter", "test_table"} {
		if _, ok := compared[name]; !ok {
			t.Errorf("table %s was not compared (tables: %v)", name, rep.Divergence.Tables)
		}
	}
	if _, ok := compared["pgchaos.pgchaos_heartbeat"]; ok {
		t.Error("pgchaos's heartbeat was compared: each node stamps its own apply time in it")
	}
	if !rep.Divergence.Converged {
		t.Errorf("not converged: %s", rep.Divergence.NotConverged)
	}
	if ins := compared["pgchaos.pgchaos_insert"]; ins.MissingOnPrimary1+ins.MissingOnPrimary2+ins.Different != 0 {
		t.Errorf("pgchaos_insert diverged (%+v): unique keys, replicated both ways, must converge to the same rows", ins)
	}

	// lock-rows, by cause.
	if len(rep.Faults) != 2 {
		t.Fatalf("faults %+v: want the two lock-rows", rep.Faults)
	}
	for _, f := range rep.Faults {
		if f.Healed == nil || f.HealError != "" {
			t.Fatalf("lock-rows %+v: want injected and healed", f)
		}
	}
	lock := &rep.Faults[0]
	// A table lock on the user's own table, asked by its schema.table:
	// held (nothing wrote the table: the user's rows stay as they were,
	// checked after clean).
	t.Logf("lock-rows on public.test_table effects: %q", rep.Faults[1].Effects)
	if !slices.Contains(rep.Faults[1].Effects, "a session held an EXCLUSIVE lock on table public.test_table on west") {
		t.Errorf("lock-rows on public.test_table: effects %q", rep.Faults[1].Effects)
	}
	t.Logf("lock-rows effects: %q", lock.Effects)
	if !slices.Contains(lock.Effects, "a session held row locks on the 5 rows of pgchaos_counter on east") {
		t.Errorf("lock-rows effects %q: want the 5 hot rows of east's pgchaos_counter locked", lock.Effects)
	}
	winMax := func(d reports.LagDirection) time.Duration {
		for _, w := range d.Windows {
			if w.Fault == 0 {
				return w.Max.D()
			}
		}
		return 0
	}
	// East's apply worker waits for the locked rows when it applies
	// west's updates of them: west->east falls behind, east->west not.
	t.Logf("lag during the lock: west->east max %v, east->west max %v", winMax(we), winMax(ew))
	if winMax(we) <= winMax(ew) {
		t.Errorf("during the lock on east, lag west->east (max %v) should exceed east->west (max %v): east's apply waits for the locked rows", winMax(we), winMax(ew))
	}
	// East's update-hot writers wait; its inserts (another table) do not.
	var t0 time.Time
	var hist []workload.Op
	if err := workload.ReadHistory(filepath.Join(reportDir, "history.jsonl"), func(op workload.Op) error {
		if t0.IsZero() || op.Start.Before(t0) {
			t0 = op.Start
		}
		hist = append(hist, op)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	from, to := t0.Add(lock.Injected.D()), t0.Add(lock.Healed.D())
	mid := from.Add(to.Sub(from) / 2)
	var heldHot, insertsDuring, heldWestHot int
	for _, op := range hist {
		switch {
		case op.Workload == "hot" && op.Target == "east" && op.Start.Before(mid) && op.End.After(mid):
			heldHot++
			if op.End.Before(to.Add(-200 * time.Millisecond)) {
				t.Errorf("an update-hot op on east held across the lock's middle ended at %v, before the heal at %v", op.End.Sub(t0), to.Sub(t0))
			}
		case op.Workload == "hot" && op.Target == "west" && op.Start.Before(mid) && op.End.After(mid) && op.Outcome == workload.OK:
			heldWestHot++
		case op.Workload == "ins" && op.Target == "east" && op.Outcome == workload.OK && op.Start.After(from) && op.End.Before(to):
			insertsDuring++
		}
	}
	t.Logf("during the lock (%v to %v): %d update-hot ops on east held across its middle, %d on west; %d inserts on east committed", from.Sub(t0), to.Sub(t0), heldHot, heldWestHot, insertsDuring)
	if heldHot == 0 {
		t.Error("no update-hot op on east waited through the lock")
	}
	if insertsDuring == 0 {
		t.Error("no insert on east committed while pgchaos_counter was locked: the lock should hold that table only")
	}

	// target clean: no schema pgchaos, and the user's objects as before.
	stdout.Reset()
	stderr.Reset()
	if code := runMain([]string{"target", "clean", "--allow", targetFile}, &stdout, &stderr); code != exitcode.OK {
		t.Fatalf("target clean exited %d: %s", code, &stderr)
	}
	if got := hasSchema(); got != "00" {
		t.Errorf("schema pgchaos after target clean: %s, want none\n%s", got, &stderr)
	}
	if after := snapshot(); after != before {
		t.Errorf("the user's objects changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
