package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// A known answer for lost writes, across batch boundaries: 23 acknowledged
// inserts in the history, checked 5 at a time; 3 of them deleted on
// primary2 behind replication's back, 1 failed op whose row never existed.
// Exactly those 3 are missing, on primary2 only. A second insert workload
// shares the history, with one of its 2 rows deleted: the run's witness,
// which checks every insert workload in one pass, counts all 4.
func TestMissingInsertsStreamsTheHistoryInBatches(t *testing.T) {
	l := labtest.Start(t)
	ctx := context.Background()
	dsn := map[string]string{lab.Primary1: l.MustDSN(lab.Primary1), lab.Primary2: l.MustDSN(lab.Primary2)}
	spec := workload.Spec{Name: "ka", Kind: workload.KindInsert, Targets: []string{lab.Primary1}, Concurrency: 1}
	spec2 := workload.Spec{Name: "kb", Kind: workload.KindInsert, Targets: []string{lab.Primary1}, Concurrency: 1}
	if err := workload.Setup(ctx, workload.Config{Workloads: []workload.Spec{spec, spec2}, DSN: dsn}); err != nil {
		t.Fatal(err)
	}
	pools, err := openPools(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	defer closePools(pools)
	r := &run{lab: l, pools: pools}

	path := filepath.Join(t.TempDir(), "history.jsonl")
	rec, err := workload.NewRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for i := 0; i < 24; i++ {
		key := fmt.Sprintf("ka/%02d", i)
		op := workload.Op{Workload: "ka", Kind: workload.KindInsert, Target: lab.Primary1, ServedBy: lab.Primary1,
			Keys: []string{key}, Start: now, End: now, Outcome: workload.OK}
		if i == 23 {
			op.Outcome = workload.Fail // never written: not a lost write
		} else if _, err := pools[lab.Primary1].Exec(ctx, "INSERT INTO pgchaos_insert (id, workload, target, worker, seq) VALUES ($1, 'ka', 'primary1', 0, $2)", key, i); err != nil {
			t.Fatal(err)
		}
		rec.Record(op)
	}
	for i := 0; i < 2; i++ {
		key := fmt.Sprintf("kb/%02d", i)
		if _, err := pools[lab.Primary1].Exec(ctx, "INSERT INTO pgchaos_insert (id, workload, target, worker, seq) VALUES ($1, 'kb', 'primary1', 0, $2)", key, i); err != nil {
			t.Fatal(err)
		}
		rec.Record(workload.Op{Workload: "kb", Kind: workload.KindInsert, Target: lab.Primary1, ServedBy: lab.Primary1,
			Keys: []string{key}, Start: now, End: now, Outcome: workload.OK})
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	// Let the rows replicate, then delete three on primary2 only.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		pools[lab.Primary2].QueryRow(ctx, "SELECT count(*) FROM pgchaos_insert WHERE workload IN ('ka', 'kb')").Scan(&n)
		if n == 25 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of 25 rows reached primary2", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := pools[lab.Primary1].Exec(ctx, "ALTER SUBSCRIPTION "+lab.SubscriptionOn(lab.Primary1)+" DISABLE"); err != nil {
		t.Fatal(err)
	}
	if _, err := pools[lab.Primary2].Exec(ctx, "DELETE FROM pgchaos_insert WHERE id IN ('ka/04', 'ka/05', 'ka/17', 'kb/01')"); err != nil {
		t.Fatal(err)
	}

	got := map[string][]string{}
	err = r.missingInserts(ctx, path, 5, func(op workload.Op) bool { return op.Workload == "ka" },
		func(node string, missing []string) { got[node] = append(got[node], missing...) }, lab.Primary1, lab.Primary2)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got[lab.Primary2])
	if len(got[lab.Primary1]) != 0 || !slices.Equal(got[lab.Primary2], []string{"ka/04", "ka/05", "ka/17"}) {
		t.Fatalf("missing %v, want ka/04, ka/05 and ka/17 on primary2 only", got)
	}

	r.sc = &scenario.Scenario{Workloads: []scenario.Workload{{Name: "ka", Kind: scenario.KindInsert}, {Name: "kb", Kind: scenario.KindInsert}}}
	w := r.witness(ctx, &reports.Report{}, path)
	if w.LostWrites != 4 || len(w.LostWriteSamples) != 4 || len(r.warnings) != 0 {
		t.Fatalf("witness: %d lost writes %v, warnings %v; want the 4 deleted rows of ka and kb", w.LostWrites, w.LostWriteSamples, r.warnings)
	}
}

// A known answer for lost updates with two update-hot workloads, whose
// acknowledged increments the witness counts in one pass over the history:
// ha's row 1 holds all 5 of its increments on both nodes; hb's row 1 holds
// its 3 on primary1 but 1 on primary2 (set there behind replication's
// back), and its row 2 both of its 2 (a failed op does not count). Exactly
// hb row 1 on primary2 is short, by 2; counting one workload's increments
// as the other's would put both rows 1 short on both nodes.
func TestWitnessCountsEachUpdateHotWorkloadOnItsOwn(t *testing.T) {
	l := labtest.Start(t)
	ctx := context.Background()
	dsn := map[string]string{lab.Primary1: l.MustDSN(lab.Primary1), lab.Primary2: l.MustDSN(lab.Primary2)}
	specs := []workload.Spec{
		{Name: "ha", Kind: workload.KindUpdateHot, Targets: []string{lab.Primary1}, Concurrency: 1, Rows: 2},
		{Name: "hb", Kind: workload.KindUpdateHot, Targets: []string{lab.Primary1}, Concurrency: 1, Rows: 2},
	}
	if err := workload.Setup(ctx, workload.Config{Workloads: specs, DSN: dsn}); err != nil {
		t.Fatal(err)
	}
	pools, err := openPools(ctx, l)
	if err != nil {
		t.Fatal(err)
	}
	defer closePools(pools)
	r := &run{lab: l, pools: pools}

	path := filepath.Join(t.TempDir(), "history.jsonl")
	rec, err := workload.NewRecorder(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	record := func(wl, key string, n int, outcome workload.Outcome) {
		for range n {
			rec.Record(workload.Op{Workload: wl, Kind: workload.KindUpdateHot, Target: lab.Primary1, ServedBy: lab.Primary1,
				Keys: []string{key}, Start: now, End: now, Outcome: outcome})
		}
	}
	record("ha", "1", 5, workload.OK)
	record("hb", "1", 3, workload.OK)
	record("hb", "2", 2, workload.OK)
	record("hb", "2", 1, workload.Fail)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"UPDATE pgchaos_counter SET n = 5 WHERE workload = 'ha' AND id = 1",
		"UPDATE pgchaos_counter SET n = 3 WHERE workload = 'hb' AND id = 1",
		"UPDATE pgchaos_counter SET n = 2 WHERE workload = 'hb' AND id = 2",
	} {
		if _, err := pools[lab.Primary1].Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var sum int
		pools[lab.Primary2].QueryRow(ctx, "SELECT coalesce(sum(n), 0) FROM pgchaos_counter WHERE workload IN ('ha', 'hb')").Scan(&sum)
		if sum == 10 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("primary2's counters sum to %d, want 10", sum)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := pools[lab.Primary1].Exec(ctx, "ALTER SUBSCRIPTION "+lab.SubscriptionOn(lab.Primary1)+" DISABLE"); err != nil {
		t.Fatal(err)
	}
	if _, err := pools[lab.Primary2].Exec(ctx, "UPDATE pgchaos_counter SET n = 1 WHERE workload = 'hb' AND id = 1"); err != nil {
		t.Fatal(err)
	}

	r.sc = &scenario.Scenario{Workloads: []scenario.Workload{{Name: "ha", Kind: scenario.KindUpdateHot}, {Name: "hb", Kind: scenario.KindUpdateHot}}}
	w := r.witness(ctx, &reports.Report{}, path)
	want := []reports.LostUpdate{{Workload: "hb", Key: "1", Node: lab.Primary2, Acked: 3, Value: 1}}
	if w.LostUpdates != 2 || !slices.Equal(w.LostUpdateRows, want) || len(r.warnings) != 0 {
		t.Fatalf("witness: %d lost updates %+v, warnings %v; want 2, %+v", w.LostUpdates, w.LostUpdateRows, r.warnings, want)
	}
}
