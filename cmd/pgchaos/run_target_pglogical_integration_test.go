package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
)

// targetFixture is a lab pgchaos built, pointed at as a user's target:
// a target file naming its nodes by the user's names, their DSNs on the
// lab's ports and their containers; the fault ledger in a directory of
// the test's own.
type targetFixture struct {
	t     *testing.T
	l     *lab.Lab
	work  string
	names []string // the user's names for l's nodes, in order
	file  string   // the target file
}

func newTargetFixture(t *testing.T, l *lab.Lab, names ...string) *targetFixture {
	t.Helper()
	f := &targetFixture{t: t, l: l, work: t.TempDir(), names: names}
	t.Setenv("XDG_STATE_HOME", filepath.Join(f.work, "state"))
	t.Setenv("PGPASSWORD", l.SuperuserPassword()) // the password's usual source, not the file
	var b strings.Builder
	b.WriteString("nodes:\n")
	for i, n := range l.Nodes {
		fmt.Fprintf(&b, "  - name: %s\n    dsn: \"postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable\"\n    container: %s\n", names[i], n.Port, n.Container)
	}
	f.file = f.write("cluster.yaml", b.String())
	return f
}

func (f *targetFixture) write(name, text string) string {
	f.t.Helper()
	return writeIn(f.t, f.work)(name, text)
}

// query runs sql on the lab node the user calls name and returns the
// first column of each row, as text.
func (f *targetFixture) query(name, sql string) []string {
	f.t.Helper()
	node := f.labNode(name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := f.l.Connect(ctx, node)
	if err != nil {
		f.t.Fatal(err)
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		f.t.Fatalf("%s: %s: %v", name, sql, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		f.t.Fatalf("%s: %s: %v", name, sql, err)
	}
	return out
}

// exec runs one statement on the lab node the user calls name.
func (f *targetFixture) exec(name, sql string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := f.l.Connect(ctx, f.labNode(name))
	if err != nil {
		f.t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		f.t.Fatalf("%s: %s: %v", name, sql, err)
	}
}

func (f *targetFixture) labNode(name string) string {
	for i, n := range f.names {
		if n == name {
			return f.l.Nodes[i].Name
		}
	}
	f.t.Fatalf("no node %s", name)
	return ""
}

// run runs `pgchaos run scenario --target <file> --allow-setup` and
// returns the JSON report; a run that does not exit 0 fails the test.
func (f *targetFixture) run(scenario string) *reports.Report {
	f.t.Helper()
	reportDir := filepath.Join(f.work, "report")
	var stdout, stderr bytes.Buffer
	code := runMain([]string{"run", scenario, "--target", f.file, "--allow-setup", "--format", "json", "--report-dir", reportDir}, &stdout, &stderr)
	raw, _ := os.ReadFile(filepath.Join(reportDir, "report.json"))
	var rep reports.Report
	if err := json.Unmarshal(raw, &rep); err != nil && code == exitcode.OK {
		f.t.Fatal(err)
	}
	if code != exitcode.OK {
		f.t.Fatalf("run --target exited %d\nfaults: %+v\nstderr:\n%s", code, rep.Faults, &stderr)
	}
	if strings.Contains(stdout.String()+stderr.String()+string(raw), ":"+f.l.SuperuserPassword()+"@") {
		f.t.Errorf("pgchaos printed the password")
	}
	stdout.Reset()
	if code := runMain([]string{"report", "show", filepath.Join(reportDir, "report.json")}, &stdout, &stderr); code != exitcode.OK {
		f.t.Fatalf("report show exited %d: %s", code, &stderr)
	}
	f.t.Logf("the report as a table:\n%s", &stdout)
	return &rep
}

// clean runs `pgchaos target clean --allow` and checks no schema pgchaos
// is left on any node.
func (f *targetFixture) clean() {
	f.t.Helper()
	var stdout, stderr bytes.Buffer
	if code := runMain([]string{"target", "clean", "--allow", f.file}, &stdout, &stderr); code != exitcode.OK {
		f.t.Fatalf("target clean exited %d: %s", code, &stderr)
	}
	for _, n := range f.names {
		if got := f.query(n, "SELECT count(*)::text FROM pg_namespace WHERE nspname = 'pgchaos'"); got[0] != "0" {
			f.t.Errorf("%s: schema pgchaos after target clean\n%s", n, &stderr)
		}
	}
}

func lagByPair(t *testing.T, rep *reports.Report) map[string]reports.LagDirection {
	t.Helper()
	if rep.Lag == nil {
		t.Fatalf("no lag measured; warnings: %v", rep.Warnings)
	}
	out := map[string]reports.LagDirection{}
	for _, d := range rep.Lag.Directions {
		out[d.From+"->"+d.To] = d
		t.Logf("lag %s->%s: %d samples, %d missing, p50 %v, p99 %v, max %v, bytes behind max %d (%d samples)%s",
			d.From, d.To, d.Samples, d.Missing, d.P50.D(), d.P99.D(), d.Max.D(), d.BytesMax, len(d.Bytes), map[bool]string{true: ", unknown: " + d.Unknown}[d.Unknown != ""])
	}
	return out
}

// pgchaos run --target on a pglogical cluster: a two-node pglogical lab
// pgchaos built, named east and west by the target file. Setup puts the
// heartbeat into pglogical's replication set; a sql workload updates the
// same rows from both nodes while pglogical's subscription is disabled
// (pglogical.alter_subscription_disable), a partition cuts the link, and
// the walsender of pglogical's slot and its apply worker are killed; the
// report
// measures lag both ways (bytes behind from pglogical's slots, found by
// their sub_slot_name), counts the conflicts pglogical logged (and says
// it keeps no counters), and finds the nodes converged with no divergent
// row. target clean leaves no schema pgchaos, and pglogical's replication
// sets lose only the heartbeat setup added.
func TestRunTargetOnAPglogicalCluster(t *testing.T) {
	l := labtest.Start(t, lab.WithEngine(lab.EnginePglogical, lab.ResolverLastUpdateWins))
	f := newTargetFixture(t, l, "east", "west")
	// The user's rows: ten written on east, replicated to west.
	f.query("east", "INSERT INTO test_table (name) SELECT 'row ' || g FROM generate_series(1, 10) g RETURNING id::text")
	sets := func(name string) string {
		return strings.Join(f.query(name, "SELECT s.set_name || ':' || t.set_reloid::text FROM pglogical.replication_set_table t JOIN pglogical.replication_set s USING (set_id) ORDER BY 1"), ",")
	}
	before := map[string]string{"east": sets("east"), "west": sets("west")}
	if !strings.Contains(before["east"], "test_table") {
		t.Fatalf("east's replication sets %q: the lab should replicate test_table", before["east"])
	}

	f.write("touch.sql", `-- updates the user's own rows from whichever node runs it
\set k random(0, 9)
UPDATE test_table SET name = 'touched ' || :k WHERE id = :k * 2 + 1;
`)
	f.write("add.sql", "INSERT INTO test_table (name) VALUES ('added');\n")
	scenario := f.write("on-pglogical.yaml", `name: on-pglogical
duration: 40s
seed: 11
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
  - {at: 3s, kind: disable-subscription, node: west, for: 4s}
  - {at: 11s, kind: partition, between: [east, west], for: 4s}
  - {at: 19s, kind: kill-walsender, node: east}
  - {at: 29s, kind: kill-apply-worker, node: west}
`)
	rep := f.run(scenario)

	if !rep.Lab.Target || rep.Lab.Engine != lab.EnginePglogical || len(rep.Lab.Nodes) != 2 || rep.Lab.Nodes[0].Name != "east" {
		t.Errorf("report's lab %+v: want a pglogical target with east and west", rep.Lab)
	}
	if len(rep.Faults) != 4 {
		t.Errorf("faults %+v: want the disable, the partition and the two kills", rep.Faults)
	}
	for _, f := range rep.Faults {
		if f.Healed != nil {
			t.Logf("fault %s %s: injected %v, healed %v, effects %q", f.Kind, f.Target, f.Injected.D(), f.Healed.D(), f.Effects)
		}
		if f.Healed == nil || f.HealError != "" || len(f.Effects) > 0 && strings.HasPrefix(f.Effects[0], "inject failed") {
			t.Errorf("fault %+v: want injected and healed", f)
		}
	}
	// The kills name the process they ended on pglogical's terms and the
	// time it took to come back.
	for i, want := range map[int][]string{2: {"(slot pgl_", "a new walsender was streaming"}, 3: {"(subscription sub_from_primary1)", "replicating (pglogical's status)"}} {
		if i < len(rep.Faults) {
			all := strings.Join(rep.Faults[i].Effects, "\n")
			for _, w := range want {
				if !strings.Contains(all, w) {
					t.Errorf("fault %d %s effects %q: want %q", i, rep.Faults[i].Kind, all, w)
				}
			}
		}
	}
	var okOps int64
	for _, w := range rep.Workloads {
		okOps += w.OK
	}
	if okOps == 0 {
		t.Fatalf("workloads %+v: no op succeeded", rep.Workloads)
	}
	dirs := lagByPair(t, rep)
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
	if ew, we := dirs["east->west"], dirs["west->east"]; winMax(ew, 0) <= ew.P50.D() || winMax(ew, 0) <= winMax(we, 0) {
		t.Errorf("lag east->west during the disable (max %v) should exceed its median (%v) and the other direction's (%v)", winMax(ew, 0), ew.P50.D(), winMax(we, 0))
	}
	for _, pair := range []string{"east->west", "west->east"} {
		d := dirs[pair]
		if d.Samples == 0 || d.Unknown != "" {
			t.Errorf("lag %s %+v: want heartbeats applied", pair, d)
		}
		// Bytes behind are read from the slot pglogical named on the
		// provider: a wrong name gives no sample at all.
		if len(d.Bytes) == 0 {
			t.Errorf("lag %s: no bytes-behind sample (the provider's slot was not found)", pair)
		}
		// Heartbeats sent while the partition held waited for its heal.
		if win := winMax(d, 1); win <= d.P50.D() {
			t.Errorf("lag %s during the partition (max %v) should exceed its median (%v)", pair, win, d.P50.D())
		}
	}
	c := rep.Conflicts
	if c == nil {
		t.Fatal("no conflicts section")
	}
	var logged int64
	for _, k := range c.Logged {
		logged += k.Count
		t.Logf("logged conflicts on %s: %s %d", k.Node, k.Kind, k.Count)
	}
	if logged == 0 {
		t.Errorf("no conflict logged: both nodes updated the same ten rows, pglogical logs each at LOG (warnings %q)", rep.Warnings)
	}
	if !strings.Contains(c.CountedUnknown, "pglogical") || len(c.Counted) != 0 || c.LoggedUnknown != "" {
		t.Errorf("conflicts counted %v (unknown %q), logs unread %q: want pglogical's reason, no count, every log read", c.Counted, c.CountedUnknown, c.LoggedUnknown)
	}
	if rep.Divergence == nil {
		t.Fatalf("divergence not measured; warnings: %v", rep.Warnings)
	}
	t.Logf("divergence: converged %v in %v, %d divergent rows", rep.Divergence.Converged, rep.Divergence.ConvergedIn.D(), rep.Divergence.DivergentRows)
	compared := false
	for _, tb := range rep.Divergence.Tables {
		compared = compared || tb.Table == "test_table"
		if tb.Table == "pgchaos.pgchaos_heartbeat" {
			t.Errorf("pgchaos's heartbeat was compared (each node stamps its own apply time in it)")
		}
	}
	if !compared || !rep.Divergence.Converged || rep.Divergence.DivergentRows != 0 {
		t.Errorf("divergence %+v: want test_table compared, converged, no divergent row (last_update_wins)", rep.Divergence)
	}

	during := sets("east")
	if !strings.Contains(during, "pgchaos.pgchaos_heartbeat") {
		t.Errorf("east's replication sets after setup %q: want the heartbeat in them", during)
	}
	f.clean()
	for _, n := range []string{"east", "west"} {
		if after := sets(n); after != before[n] {
			t.Errorf("%s: pglogical's replication sets before the run %q, after clean %q: want them as they were", n, before[n], after)
		}
	}
}

// pgchaos run --target on a partial mesh: a three-node lab named
// east, west and north, where the test drops north's subscription to west
// (north reads east only; east and west read everyone). The lag of the
// five links is measured, west->north is unknown with its reason (never a
// zero), convergence waits on the links that exist, and divergence still
// compares every node: west's rows, which nothing carries to north, are
// reported missing on north, exactly as many as there are.
// The same on pglogical, whose mesh subscriptions and slots name the
// subscriber too.
func TestRunTargetOnAPartialMesh(t *testing.T) {
	for _, engine := range []string{lab.EngineNative, lab.EnginePglogical} {
		t.Run(engine, func(t *testing.T) { runTargetOnAPartialMesh(t, engine) })
	}
}

func runTargetOnAPartialMesh(t *testing.T, engine string) {
	l := labtest.Start(t, lab.WithNodes(3), lab.WithEngine(engine, ""))
	f := newTargetFixture(t, l, "east", "west", "north")
	sub := l.Replication().SubscriptionName(l.Nodes[2].Name, l.Nodes[1].Name)
	if engine == lab.EnginePglogical {
		f.exec("north", "SELECT pglogical.drop_subscription('"+sub+"')")
	} else {
		f.exec("north", "DROP SUBSCRIPTION "+sub)
	}
	f.write("add.sql", "INSERT INTO test_table (name) VALUES ('added');\n")
	scenario := f.write("partial.yaml", `name: partial-mesh
duration: 12s
seed: 5
workloads:
  - {kind: sql, name: adds, script: add.sql, targets: [east, west], concurrency: 1, rate: 20/s}
`)
	rep := f.run(scenario)

	dirs := lagByPair(t, rep)
	if len(dirs) != 6 {
		t.Errorf("%d directions, want every ordered pair of three nodes", len(dirs))
	}
	for pair, d := range dirs {
		if pair == "west->north" {
			if d.Unknown != "no subscription from west to north" || d.Samples != 0 || d.Missing != 0 || d.P99 != 0 {
				t.Errorf("west->north %+v: want unknown, no subscription from west to north, and no figure", d)
			}
			continue
		}
		if d.Unknown != "" || d.Samples == 0 || len(d.Bytes) == 0 {
			t.Errorf("%s %+v: a subscription carries it: want heartbeats applied and bytes behind sampled", pair, d)
		}
	}
	d := rep.Divergence
	if d == nil {
		t.Fatalf("divergence not measured; warnings: %v", rep.Warnings)
	}
	if !d.Converged {
		t.Errorf("not converged (%s): convergence should wait on the existing links only", d.NotConverged)
	}
	// What north lacks is what west wrote: west and east hold every row.
	count := func(n string) int64 {
		var c int64
		fmt.Sscan(f.query(n, "SELECT count(*)::text FROM test_table")[0], &c)
		return c
	}
	east, west, north := count("east"), count("west"), count("north")
	var missingOnNorth int64 = -1
	for _, tb := range d.Tables {
		if tb.Table != "test_table" {
			continue
		}
		for _, n := range tb.Nodes {
			if n.Node == "north" {
				missingOnNorth = n.Missing
			}
		}
	}
	t.Logf("test_table rows: east %d, west %d, north %d; divergence says %d missing on north, %d divergent rows", east, west, north, missingOnNorth, d.DivergentRows)
	if east != west || west <= north || missingOnNorth != west-north {
		t.Errorf("missing on north %d, want west's rows north never got (%d - %d)", missingOnNorth, west, north)
	}
	f.clean()
}
