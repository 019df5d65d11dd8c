package analysis

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

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
	ctx := context.Background()
	db, rec := witnessFixture(t,
		workload.Spec{Name: "ka", Kind: workload.KindInsert, Targets: []string{lab.Primary1}, Concurrency: 1},
		workload.Spec{Name: "kb", Kind: workload.KindInsert, Targets: []string{lab.Primary1}, Concurrency: 1})
	path := rec.Path()
	now := time.Now()
	for i := 0; i < 24; i++ {
		key := fmt.Sprintf("ka/%02d", i)
		op := workload.Op{Workload: "ka", Kind: workload.KindInsert, Target: lab.Primary1, ServedBy: lab.Primary1,
			Keys: []string{key}, Start: now, End: now, Outcome: workload.OK}
		if i == 23 {
			op.Outcome = workload.Fail // never written: not a lost write
		} else if _, err := db[lab.Primary1].Exec(ctx, "INSERT INTO pgchaos_insert (id, workload, target, worker, seq) VALUES ($1, 'ka', 'primary1', 0, $2)", key, i); err != nil {
			t.Fatal(err)
		}
		rec.Record(op)
	}
	for i := 0; i < 2; i++ {
		key := fmt.Sprintf("kb/%02d", i)
		if _, err := db[lab.Primary1].Exec(ctx, "INSERT INTO pgchaos_insert (id, workload, target, worker, seq) VALUES ($1, 'kb', 'primary1', 0, $2)", key, i); err != nil {
			t.Fatal(err)
		}
		rec.Record(workload.Op{Workload: "kb", Kind: workload.KindInsert, Target: lab.Primary1, ServedBy: lab.Primary1,
			Keys: []string{key}, Start: now, End: now, Outcome: workload.OK})
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	// Let the rows replicate, then delete three on primary2 only.
	tamperOnPrimary2(t, db, "SELECT count(*) FROM pgchaos_insert WHERE workload IN ('ka', 'kb')", 25,
		"DELETE FROM pgchaos_insert WHERE id IN ('ka/04', 'ka/05', 'ka/17', 'kb/01')")

	got := map[string][]string{}
	err := missingInserts(ctx, db, path, 5, func(op workload.Op) bool { return op.Workload == "ka" },
		func(node string, missing []string) { got[node] = append(got[node], missing...) }, lab.Primary1, lab.Primary2)
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got[lab.Primary2])
	if len(got[lab.Primary1]) != 0 || !slices.Equal(got[lab.Primary2], []string{"ka/04", "ka/05", "ka/17"}) {
		t.Fatalf("missing %v, want ka/04, ka/05 and ka/17 on primary2 only", got)
	}

	run := Run{History: path, Nodes: []string{lab.Primary1, lab.Primary2},
		Workloads: []scenario.Workload{{Name: "ka", Kind: scenario.KindInsert}, {Name: "kb", Kind: scenario.KindInsert}}}
	w, errs := Witness(ctx, db, run, nil)
	if w.LostWrites != 4 || len(w.LostWriteSamples) != 4 || len(errs) != 0 {
		t.Fatalf("witness: %d lost writes %v, warnings %v; want the 4 deleted rows of ka and kb", w.LostWrites, w.LostWriteSamples, errs)
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
	ctx := context.Background()
	db, rec := witnessFixture(t,
		workload.Spec{Name: "ha", Kind: workload.KindUpdateHot, Targets: []string{lab.Primary1}, Concurrency: 1, Rows: 2},
		workload.Spec{Name: "hb", Kind: workload.KindUpdateHot, Targets: []string{lab.Primary1}, Concurrency: 1, Rows: 2})
	path := rec.Path()
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
		if _, err := db[lab.Primary1].Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	tamperOnPrimary2(t, db, "SELECT coalesce(sum(n), 0) FROM pgchaos_counter WHERE workload IN ('ha', 'hb')", 10,
		"UPDATE pgchaos_counter SET n = 1 WHERE workload = 'hb' AND id = 1")

	run := Run{History: path, Nodes: []string{lab.Primary1, lab.Primary2},
		Workloads: []scenario.Workload{{Name: "ha", Kind: scenario.KindUpdateHot}, {Name: "hb", Kind: scenario.KindUpdateHot}}}
	w, errs := Witness(ctx, db, run, nil)
	want := []reports.LostUpdate{{Workload: "hb", Key: "1", Node: lab.Primary2, Acked: 3, Value: 1}}
	if w.LostUpdates != 2 || !slices.Equal(w.LostUpdateRows, want) || len(errs) != 0 {
		t.Fatalf("witness: %d lost updates %+v, warnings %v; want 2, %+v", w.LostUpdates, w.LostUpdateRows, errs, want)
	}
}

// tamperOnPrimary2 waits until count (a query returning one number) reads
// want on primary2, so primary1's writes have replicated, then stops
// primary1 from applying primary2's changes and runs tamper on primary2:
// the change stays there alone.
func tamperOnPrimary2(t *testing.T, db Pools, count string, want int, tamper string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		if err := db[lab.Primary2].QueryRow(ctx, count).Scan(&n); err == nil && n == want {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("primary2: %s is %d after 10 s, want %d", count, n, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := db[lab.Primary1].Exec(ctx, "ALTER SUBSCRIPTION "+lab.SubscriptionOn(lab.Primary1)+" DISABLE"); err != nil {
		t.Fatal(err)
	}
	if _, err := db[lab.Primary2].Exec(ctx, tamper); err != nil {
		t.Fatal(err)
	}
}

// witnessFixture starts a lab with the workloads' tables, and returns pools
// on both primaries and a recorder writing a history in the test's folder,
// to fill by hand. All go when t ends.
func witnessFixture(t *testing.T, specs ...workload.Spec) (Pools, *workload.Recorder) {
	t.Helper()
	l := labtest.Start(t)
	ctx := context.Background()
	dsn := map[string]string{lab.Primary1: l.MustDSN(lab.Primary1), lab.Primary2: l.MustDSN(lab.Primary2)}
	if err := workload.Setup(ctx, workload.Config{Workloads: specs, DSN: dsn}); err != nil {
		t.Fatal(err)
	}
	pools := Pools{}
	for _, n := range []string{lab.Primary1, lab.Primary2} {
		p, err := pgxpool.New(ctx, l.MustDSN(n))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools[n] = p
	}
	rec, err := workload.NewRecorder(filepath.Join(t.TempDir(), "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Close() })
	return pools, rec
}
