package runner_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/node"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/runner"
	"github.com/pgchaos/pgchaos/scenario"
)

// runScenarioFile runs one of the shipped scenarios on a lab of its own
// (the scenario's postgres and sequences, free ports).
func runScenarioFile(t *testing.T, file string, converge time.Duration) *reports.Report {
	t.Helper()
	sc, err := scenario.Load(filepath.Join("..", "scenarios", file))
	if err != nil {
		t.Fatal(err)
	}
	var opts []lab.Option
	if sc.Lab.Postgres != "" {
		opts = append(opts, lab.WithPostgres(sc.Lab.Postgres))
	}
	if sc.Lab.Sequences != "" {
		opts = append(opts, lab.WithSequences(sc.Lab.Sequences))
	}
	if sc.Lab.Nodes != 0 {
		opts = append(opts, lab.WithNodes(sc.Lab.Nodes))
	}
	l := labtest.Start(t, opts...)
	rep, err := runner.Run(t.Context(), sc, runner.Options{LabName: l.Name, ReportDir: t.TempDir(), LedgerDir: t.TempDir(),
		ConvergeTimeout: converge, Log: func(f string, a ...any) { t.Logf(f, a...) }})
	if err != nil {
		t.Fatalf("run %s: %v", file, err)
	}
	var b strings.Builder
	reports.Table(&b, rep)
	t.Logf("report:\n%s", b.String())
	return rep
}

func failed(rep *reports.Report) map[string]bool {
	out := map[string]bool{}
	for _, a := range rep.Assertions {
		if !a.Pass {
			out[a.Name] = true
		}
	}
	return out
}

func TestScenarioQuickstartPasses(t *testing.T) {
	rep := runScenarioFile(t, "quickstart.yaml", 30*time.Second)
	if rep.Verdict != reports.VerdictPass {
		t.Fatalf("verdict %s, failed: %v", rep.Verdict, failed(rep))
	}
}

func TestScenarioTutorialSerialCollisionFindsTheStall(t *testing.T) {
	rep := runScenarioFile(t, "tutorial-serial-collision.yaml", 10*time.Second)
	f := failed(rep)
	if rep.Verdict != reports.VerdictFail || !f["stalls"] || !f["conflicts.insert_exists"] {
		t.Fatalf("verdict %s, failed %v: want the stalls and insert_exists assertions to fail", rep.Verdict, f)
	}
	if len(rep.Conflicts.Stalls) == 0 {
		t.Fatal("no stall reported")
	}
	for _, s := range rep.Conflicts.Stalls {
		if s.SkipLSN == "" || !strings.Contains(s.Error, "insert_exists") {
			t.Errorf("stall on %s: lsn %q error %q, want the LSN to skip and the insert_exists conflict", s.Node, s.SkipLSN, s.Error)
		}
	}
	if rep.Divergence == nil || rep.Divergence.Converged {
		t.Error("a stalled lab was reported converged")
	}
}

func TestScenarioNodeCrashLosesNoAcknowledgedWrite(t *testing.T) {
	rep := runScenarioFile(t, "node-crash.yaml", 30*time.Second)
	if rep.Verdict != reports.VerdictPass {
		t.Fatalf("verdict %s, failed: %v", rep.Verdict, failed(rep))
	}
	var p1errors int64
	for _, w := range rep.Workloads {
		if w.Target == lab.Primary1 {
			p1errors += w.Fail + w.Unknown
		}
	}
	if p1errors == 0 {
		t.Error("primary1 was killed for 10s but its writers saw no error")
	}
	if len(rep.Faults) != 1 || len(rep.Faults[0].Effects) == 0 {
		t.Errorf("the kill has no observed effects: %+v", rep.Faults)
	}
}

func TestScenarioFailoverFailbackMeasuresTheFailover(t *testing.T) {
	rep := runScenarioFile(t, "failover-failback.yaml", 30*time.Second)
	if rep.Verdict != reports.VerdictPass {
		t.Fatalf("verdict %s, failed: %v", rep.Verdict, failed(rep))
	}
	if len(rep.Failovers) != 1 {
		t.Fatalf("failovers: %+v, want one", rep.Failovers)
	}
	fo := rep.Failovers[0]
	if fo.From != lab.Primary1 || fo.To != lab.Primary2 || fo.Failback == nil {
		t.Fatalf("failover %+v: want primary1 -> primary2 with a failback", fo)
	}
	// Replication was cut 5 s before the crash: primary1 acknowledged
	// inserts primary2 lacked at failback, spanning most of those 5 s.
	if fo.StrandedWrites == 0 || fo.StrandedSpan.D() < 3*time.Second {
		t.Errorf("stranded %d writes over %v, want some over ~5s", fo.StrandedWrites, fo.StrandedSpan.D())
	}
	// Nothing is lost in the end: whatever the crash stranded arrived.
	if fo.Failback.Arrived != fo.StrandedWrites {
		t.Errorf("stranded %d, arrived after failback %d", fo.StrandedWrites, fo.Failback.Arrived)
	}
}

func TestScenarioSplitBrainDivergesAndLosesUpdates(t *testing.T) {
	rep := runScenarioFile(t, "split-brain.yaml", 30*time.Second)
	f := failed(rep)
	if rep.Verdict != reports.VerdictFail || !f["divergent_rows"] || !f["lost_updates"] || f["lost_writes"] {
		t.Fatalf("verdict %s, failed %v: want divergent_rows and lost_updates to fail and lost_writes to hold", rep.Verdict, f)
	}
	var counted int64
	for _, c := range rep.Conflicts.Counted {
		if c.Kind == "update_origin_differs" {
			counted += c.Count
		}
	}
	if counted == 0 {
		t.Error("PostgreSQL 18 counted no update_origin_differs in a split brain on hot rows")
	}
	// Every divergent row has a cause; the hot rows' is their conflicts.
	if f["unexplained_divergence"] || rep.Divergence.Unexplained == nil || *rep.Divergence.Unexplained != 0 {
		t.Errorf("unexplained divergent rows: %v (assertion failed: %v)", rep.Divergence.Unexplained, f["unexplained_divergence"])
	}
	hot := 0
	for _, td := range rep.Divergence.Tables {
		for _, r := range td.Rows {
			if td.Table != "pgchaos_counter" {
				continue
			}
			hot++
			if r.Cause != reports.CauseConcurrentUpdate || !strings.Contains(r.CauseDetail, "update_origin_differs") {
				t.Errorf("hot row %s: cause %q (%s), want %s from its logged conflicts", r.Key, r.Cause, r.CauseDetail, reports.CauseConcurrentUpdate)
			}
		}
	}
	if hot == 0 {
		t.Error("no hot row diverged")
	}
}

// The run-level known answer for lag: 200 ms on the link one way shows as a
// p50 of 200–240 ms in that direction and leaves the other alone.
func TestScenarioLatencyMeasuresTheDelay(t *testing.T) {
	rep := runScenarioFile(t, "latency.yaml", 30*time.Second)
	if rep.Verdict != reports.VerdictPass {
		t.Fatalf("verdict %s, failed: %v", rep.Verdict, failed(rep))
	}
	for _, d := range rep.Lag.Directions {
		p50 := d.P50.D()
		switch {
		case d.From == lab.Primary1 && (p50 < 200*time.Millisecond || p50 > 240*time.Millisecond):
			t.Errorf("primary1->primary2 p50 %v, want 200–240ms", p50)
		case d.From == lab.Primary2 && p50 > 50*time.Millisecond:
			t.Errorf("primary2->primary1 p50 %v, want the other direction unaffected (< 50ms)", p50)
		}
	}
}

// A partition between primary1 and primary3 of a three-node mesh, under
// inserts and hot-row updates on all three: only that link stops (the
// heartbeats of primary1->primary3 and back wait out the partition, which
// none of the four directions through primary2 does), every acknowledged
// insert is on all three nodes, the report has all six lag directions and
// the partition's effect on each, and conflicts counted on every node.
// Whether hot counters diverge is up to the timing, so only where they may
// is pinned: in the counters, never in the inserts.
func TestScenarioThreeNodePartitionCutsOnlyItsLink(t *testing.T) {
	rep := runScenarioFile(t, "three-node-partition.yaml", time.Minute)
	if rep.Verdict != reports.VerdictPass {
		t.Errorf("verdict %s, failed: %v", rep.Verdict, failed(rep))
	}
	p1, p2, p3 := lab.Primary1, lab.Primary2, node.Primary(3)
	if rep.Lag == nil || len(rep.Lag.Directions) != 6 {
		t.Fatalf("lag %+v, want the six directions of a three-node mesh", rep.Lag)
	}
	inFault := map[[2]string]time.Duration{}
	for _, d := range rep.Lag.Directions {
		if d.Samples == 0 {
			t.Errorf("%s->%s: no heartbeat applied", d.From, d.To)
		}
		for _, w := range d.Windows {
			if w.Fault == 0 {
				inFault[[2]string{d.From, d.To}] = w.Max.D()
			}
		}
	}
	sc, err := scenario.Load(filepath.Join("..", "scenarios", "three-node-partition.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cut := sc.Faults[0].For
	// A heartbeat sent as the partition began arrives only after the heal:
	// its lag is at least the partition's length, less a heartbeat
	// interval and the inject's own time; half of it is a safe floor.
	for _, d := range [][2]string{{p1, p3}, {p3, p1}} {
		if inFault[d] < cut/2 {
			t.Errorf("%s->%s lag during the partition: max %s, want at least %s (half the %s partition)", d[0], d[1], inFault[d], cut/2, cut)
		}
	}
	floor := min(inFault[[2]string{p1, p3}], inFault[[2]string{p3, p1}])
	for _, d := range [][2]string{{p1, p2}, {p2, p1}, {p2, p3}, {p3, p2}} {
		if got, ok := inFault[d]; !ok || got >= floor {
			t.Errorf("%s->%s lag during the partition: max %s (measured %v), want below the cut link's %s: primary2 talks to both", d[0], d[1], got, ok, floor)
		}
	}
	if len(rep.Faults) != 1 || len(rep.Faults[0].Effects) < 6 {
		t.Errorf("faults %+v, want the partition with an effect per direction", rep.Faults)
	}
	d := rep.Divergence
	if d == nil || !d.Converged || !slices.Equal(d.Nodes, []string{p1, p2, p3}) {
		t.Fatalf("divergence %+v, want the three nodes compared after they converged", d)
	}
	for _, tb := range d.Tables {
		if tb.DivergentRows > 0 && tb.Table != "pgchaos_counter" {
			t.Errorf("%d divergent rows in %s, want divergence (if any) only in the hot counters", tb.DivergentRows, tb.Table)
		}
		if tb.Table == "pgchaos_insert" {
			if len(tb.Nodes) != 3 || tb.Nodes[0].Rows == 0 || tb.Nodes[1].Rows != tb.Nodes[0].Rows || tb.Nodes[2].Rows != tb.Nodes[0].Rows {
				t.Errorf("insert rows per node %+v, want the same non-zero count on all three", tb.Nodes)
			}
		}
	}
	// Causes are sought over three nodes too: every divergent counter the
	// report lists is explained by the update conflicts logged for its key.
	if d.Unexplained == nil {
		t.Errorf("unexplained divergence not measured over three nodes")
	} else if *d.Unexplained != 0 {
		t.Errorf("%d divergent rows unexplained over three nodes", *d.Unexplained)
	}
	for _, tb := range d.Tables {
		for _, row := range tb.Rows {
			t.Logf("%s %s: %s (%s)", tb.Table, row.Key, row.Cause, row.CauseDetail)
			if row.Cause == "" {
				t.Errorf("%s %s: no cause", tb.Table, row.Key)
			}
		}
	}
	if rep.Conflicts == nil {
		t.Fatal("no conflicts section")
	}
	if lw := rep.Conflicts.Workload.LostWrites; lw != 0 {
		t.Errorf("lost writes %d, want 0", lw)
	}
	counted := map[string]int64{}
	for _, c := range rep.Conflicts.Counted {
		if c.Kind == "update_origin_differs" {
			counted[c.Node] += c.Count
		}
	}
	for _, n := range []string{p1, p2, p3} {
		if counted[n] == 0 {
			t.Errorf("update_origin_differs counted on %s: 0, want the remote updates of rows it last wrote counted on every node (%v)", n, counted)
		}
	}
}
