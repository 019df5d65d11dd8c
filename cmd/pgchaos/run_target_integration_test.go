package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/reports"
)

// pgchaos run --target on the tutorial's compose setup, brought up as a
// user would (docker-compose and setup-replication.sh, no pgchaos): the
// nodes go by the user's names (east, west), a sql workload updates the
// user's own test_table, a disable-subscription, a kill, a stop and a
// partition (through the nettools helper in the containers' namespaces) run;
// the report measures lag both ways (and the disable's), divergence and
// conflicts; the user's schema is unchanged, no password shows, and
// target clean leaves no schema pgchaos. Without --allow-setup the run
// prints the setup SQL and writes nothing; a stop on a node without a
// container is refused at its line before anything runs.
func TestRunTargetOnTheTutorialComposeSetup(t *testing.T) {
	run, free := tutorialCompose(t, "pgchaosruntarget")
	psql := func(c, sql string) string {
		t.Helper()
		return strings.TrimSpace(run("docker", "exec", c, "psql", "-U", "postgres", "-d", "postgres", "-tAc", sql))
	}
	// The user's own rows: ten on primary1 (odd ids), replicated.
	psql("postgres-primary1", "INSERT INTO test_table (name) SELECT 'row ' || g FROM generate_series(1, 10) g")
	dump := func() map[string]string {
		out := map[string]string{}
		for _, c := range []string{"postgres-primary1", "postgres-primary2"} {
			out[c] = run("docker", "exec", c, "pg_dump", "-U", "postgres", "--schema-only", "--schema=public", "--restrict-key=pgchaostest", "postgres")
		}
		return out
	}
	before := dump()

	work := t.TempDir()
	write := writeIn(t, work)
	targetFile := write("cluster.yaml", fmt.Sprintf(`nodes:
  - name: east
    dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
    container: postgres-primary1
  - name: west
    dsn: "host=127.0.0.1 port=%d user=postgres dbname=postgres sslmode=disable"
    container: postgres-primary2
haproxy: { address: "127.0.0.1:%d" }
`, free.Primary1, free.Primary2, free.HAProxy))
	t.Setenv("PGPASSWORD", "postgres") // the password's usual source, not the file
	write("touch.sql", `-- updates the user's own rows from whichever node runs it
\set k random(0, 9)
UPDATE test_table SET name = 'touched ' || :k WHERE id = :k * 2 + 1;
`)
	write("add.sql", "INSERT INTO test_table (name) VALUES ('added');\n")
	scenarioFile := write("on-target.yaml", `name: on-target
duration: 50s
seed: 7
workloads:
  - kind: sql
    name: mine
    scripts:
      - {file: touch.sql, weight: 3}
      - {file: add.sql, weight: 1}
    targets: [east, west]
    concurrency: 2
    rate: 30/s
faults:
  - {at: 3s, kind: disable-subscription, node: west, for: 5s}
  - {at: 10s, kind: kill, node: east, for: 1s}
  - {at: 20s, kind: stop, node: west, for: 1s}
  - {at: 30s, kind: partition, between: [east, west], for: 2s}
  - {at: 38s, kind: delay, between: [east, west], direction: east->west, delay: 1500ms, for: 6s}
`)
	// The faults are ten seconds apart: a lifecycle fault's heal (start,
	// recovery, ready) took up to ten seconds on a loaded 2-core machine,
	// and the timeline runs its steps one after another.
	hasSchema := func() string {
		return psql("postgres-primary1", "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgchaos'") +
			psql("postgres-primary2", "SELECT count(*) FROM pg_namespace WHERE nspname = 'pgchaos'")
	}
	var all strings.Builder // everything pgchaos printed, to look for the password

	// Without --allow-setup: the SQL, exit 2, nothing written.
	var stdout, stderr bytes.Buffer
	code := runMain([]string{"run", scenarioFile, "--target", targetFile, "--report-dir", filepath.Join(work, "r0")}, &stdout, &stderr)
	all.WriteString(stdout.String() + stderr.String())
	if code != exitcode.BadInput || !strings.Contains(stderr.String(), "CREATE SCHEMA \"pgchaos\"") || !strings.Contains(stderr.String(), "--allow-setup") {
		t.Fatalf("run without --allow-setup: exit %d, want 2 with the setup SQL\nstderr:\n%s", code, &stderr)
	}
	if got := hasSchema(); got != "00" {
		t.Fatalf("schema pgchaos on the nodes after a refused run: %s, want none", got)
	}

	// A target without containers: a stop is refused at its line, before
	// anything is written (the scenario carries the target: section).
	noContainer := write("no-container.yaml", fmt.Sprintf(`name: no-container
target:
  nodes:
    - {name: east, dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"}
    - {name: west, dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"}
  setup: allow
duration: 5s
workloads:
  - {kind: sql, script: add.sql, targets: [east]}
faults:
  - {at: 1s, kind: stop, node: west, for: 1s}
`, free.Primary1, free.Primary2))
	stdout.Reset()
	stderr.Reset()
	code = runMain([]string{"run", noContainer, "--report-dir", filepath.Join(work, "r1")}, &stdout, &stderr)
	all.WriteString(stdout.String() + stderr.String())
	if code != exitcode.BadInput || !strings.Contains(stderr.String(), "no-container.yaml:11:5") || !strings.Contains(stderr.String(), "container") {
		t.Fatalf("stop on a node without a container: exit %d, want 2 naming no-container.yaml:11:5\nstderr:\n%s", code, &stderr)
	}
	if got := hasSchema(); got != "00" {
		t.Fatalf("schema pgchaos on the nodes after a refused run: %s, want none", got)
	}

	// The run itself.
	reportDir := filepath.Join(work, "report")
	stdout.Reset()
	stderr.Reset()
	code = runMain([]string{"run", scenarioFile, "--target", targetFile, "--allow-setup", "--format", "json", "--report-dir", reportDir}, &stdout, &stderr)
	all.WriteString(stdout.String() + stderr.String())
	if code != exitcode.OK {
		raw, _ := os.ReadFile(filepath.Join(reportDir, "report.json"))
		var rep reports.Report
		json.Unmarshal(raw, &rep)
		t.Fatalf("run --target exited %d\nfaults: %+v\nstderr:\n%s", code, rep.Faults, &stderr)
	}
	raw, err := os.ReadFile(filepath.Join(reportDir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	all.Write(raw)
	var rep reports.Report
	if err := json.Unmarshal(raw, &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Lab.Target || rep.Lab.Name != "target-cluster" || len(rep.Lab.Nodes) != 2 || rep.Lab.Nodes[0].Name != "east" ||
		rep.Lab.Nodes[0].Address != fmt.Sprintf("127.0.0.1:%d", free.Primary1) || rep.Lab.Nodes[0].User != "postgres" {
		t.Errorf("report's nodes: %+v, want target-cluster with east at 127.0.0.1:%d as postgres", rep.Lab, free.Primary1)
	}
	for _, f := range rep.Faults {
		if f.Healed == nil || f.HealError != "" || (len(f.Effects) > 0 && strings.HasPrefix(f.Effects[0], "inject failed")) {
			t.Errorf("fault %+v: want injected and healed", f)
		}
	}
	if len(rep.Faults) != 5 {
		t.Errorf("faults %+v: want the disable, the kill, the stop, the partition and the delay", rep.Faults)
	}
	for _, f := range rep.Faults {
		t.Logf("fault %s %s: injected %v, effects %q", f.Kind, f.Target, f.Injected.D(), f.Effects)
		if f.Kind == "kill" && !slices.ContainsFunc(f.Effects, func(e string) bool {
			return strings.HasPrefix(e, "failed or unknown operations while it held: east ")
		}) {
			t.Errorf("kill east: effects %q should count the ops that failed on east", f.Effects)
		}
	}
	if len(rep.Workloads) == 0 {
		t.Fatal("no workload results")
	}
	var okOps int64
	for _, w := range rep.Workloads {
		okOps += w.OK
	}
	if okOps == 0 {
		t.Errorf("workloads %+v: no op succeeded", rep.Workloads)
	}
	if rep.Lag == nil {
		t.Fatalf("no lag measured; warnings: %v", rep.Warnings)
	}
	dirs := map[string]reports.LagDirection{}
	for _, d := range rep.Lag.Directions {
		dirs[d.From+"->"+d.To] = d
		t.Logf("lag %s->%s: %d samples, p50 %v, p99 %v, max %v, bytes behind max %d", d.From, d.To, d.Samples, d.P50.D(), d.P99.D(), d.Max.D(), d.BytesMax)
	}
	ew, we := dirs["east->west"], dirs["west->east"]
	if ew.Samples == 0 || we.Samples == 0 {
		t.Fatalf("lag directions %+v: want heartbeats applied both ways", rep.Lag.Directions)
	}
	// The disable holds east's changes back from west: heartbeats east
	// sent in its window waited for the enable; the other way did not.
	winMax := func(d reports.LagDirection, fault int) time.Duration {
		for _, w := range d.Windows {
			if w.Fault == fault {
				return w.Max.D()
			}
		}
		return 0
	}
	t.Logf("during the disable: east->west max %v, west->east max %v", winMax(ew, 0), winMax(we, 0))
	if winMax(ew, 0) <= ew.P50.D() || winMax(ew, 0) <= winMax(we, 0) {
		t.Errorf("lag east->west during the disable (max %v) should exceed its median (%v) and the other direction's (%v)", winMax(ew, 0), ew.P50.D(), winMax(we, 0))
	}
	// The link delay runs pgchaos's proxy beside east, on the port west's
	// subscription uses: every change east sends in its window arrives at
	// least 1.5 s late; west's changes to east are not delayed.
	winP50 := func(d reports.LagDirection, fault int) time.Duration {
		for _, w := range d.Windows {
			if w.Fault == fault {
				return w.P50.D()
			}
		}
		return 0
	}
	t.Logf("during the delay: east->west p50 %v max %v, west->east p50 %v", winP50(ew, 4), winMax(ew, 4), winP50(we, 4))
	if winMax(ew, 4) < 1500*time.Millisecond || winP50(ew, 4) <= winP50(we, 4) {
		t.Errorf("lag east->west during the 1.5 s link delay: max %v (want >= 1.5 s), p50 %v (want above west->east's %v)", winMax(ew, 4), winP50(ew, 4), winP50(we, 4))
	}
	if rep.Divergence == nil {
		t.Fatalf("divergence not measured; warnings: %v", rep.Warnings)
	}
	t.Logf("divergence: converged %v in %v, %d divergent rows, tables %d", rep.Divergence.Converged, rep.Divergence.ConvergedIn.D(), rep.Divergence.DivergentRows, len(rep.Divergence.Tables))
	compared := false
	for _, tb := range rep.Divergence.Tables {
		if tb.Table == "test_table" {
			compared = true
			if n := tb.MissingOnPrimary1 + tb.MissingOnPrimary2 + tb.Different; n > 0 && len(tb.Rows) == 0 {
				t.Errorf("test_table: %d divergent rows but none named", n)
			}
		}
		if tb.Table == "pgchaos.pgchaos_heartbeat" {
			t.Errorf("pgchaos's heartbeat was compared: each node stamps its own apply time in it")
		}
	}
	if !compared || !rep.Divergence.Converged {
		t.Errorf("divergence %+v: want test_table compared after convergence", rep.Divergence)
	}
	var counted int64
	for _, c := range rep.Conflicts.Counted {
		counted += c.Count
	}
	var logged int64
	for _, c := range rep.Conflicts.Logged {
		logged += c.Count
	}
	t.Logf("conflicts: %d counted, %d logged (read from the containers' logs); warnings: %q", counted, logged, rep.Warnings)
	if counted == 0 {
		t.Errorf("no conflict counted: both nodes updated the same ten rows (update_origin_differs expected)")
	}

	// The user's schema is as it was; no password anywhere.
	after := dump()
	for c := range before {
		if before[c] != after[c] {
			t.Errorf("%s: schema public changed under the run:\nbefore:\n%s\nafter:\n%s", c, before[c], after[c])
		}
	}
	for _, leak := range []string{"password=postgres", ":postgres@"} {
		if strings.Contains(all.String(), leak) {
			t.Errorf("pgchaos printed a password (%q)", leak)
		}
	}

	// The table names the user's nodes.
	stdout.Reset()
	stderr.Reset()
	if code := runMain([]string{"report", "show", filepath.Join(reportDir, "report.json")}, &stdout, &stderr); code != exitcode.OK {
		t.Fatalf("report show exited %d: %s", code, &stderr)
	}
	t.Logf("the report as a table:\n%s", &stdout)
	for _, want := range []string{"east", "west", "target-cluster", "rows east", "missing on west"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("the table lacks %q", want)
		}
	}
	all.WriteString(stdout.String())

	// target clean removes pgchaos's schema.
	stdout.Reset()
	stderr.Reset()
	if code := runMain([]string{"target", "clean", "--allow", targetFile}, &stdout, &stderr); code != exitcode.OK {
		t.Fatalf("target clean exited %d: %s", code, &stderr)
	}
	if got := hasSchema(); got != "00" {
		t.Errorf("schema pgchaos after target clean: %s, want none\n%s", got, &stderr)
	}
}
