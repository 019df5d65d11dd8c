package workload_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/workload"
)

func connect(t *testing.T, l *lab.Lab, target string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, l.MustDSN(target))
	if err != nil {
		t.Fatalf("connect %s: %v", target, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// runFor runs cfg for d and returns the closed recorder.
func runFor(t *testing.T, cfg workload.Config, d time.Duration, during func()) *workload.Recorder {
	t.Helper()
	rec, err := workload.NewRecorder(filepath.Join(t.TempDir(), "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	cfg.OnStart = func(time.Time) { close(started) }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- workload.Run(ctx, cfg, rec) }()
	select {
	case <-started:
	case err := <-done:
		t.Fatalf("run ended before starting: %v", err)
	}
	if during != nil {
		during()
	}
	time.Sleep(d)
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return rec
}

func dsns(l *lab.Lab) map[string]string {
	return map[string]string{
		lab.Primary1: l.MustDSN(lab.Primary1),
		lab.Primary2: l.MustDSN(lab.Primary2),
		lab.HAProxy:  l.MustDSN(lab.HAProxy),
	}
}

// TestRunIntegration shares one lab between its subtests: a lab costs more
// than the runs.
func TestRunIntegration(t *testing.T) {
	l := labtest.Start(t)
	p1, p2 := connect(t, l, lab.Primary1), connect(t, l, lab.Primary2)

	t.Run("history counts match the rows on both nodes", func(t *testing.T) {
		const runID = "counts"
		cfg := workload.Config{
			DSN: dsns(l), Seed: 7, RunID: runID,
			Workloads: []workload.Spec{
				{Name: "ins", Kind: workload.KindInsert, Targets: []string{lab.Primary1, lab.Primary2, lab.HAProxy}, Concurrency: 2},
				{Name: "hot", Kind: workload.KindUpdateHot, Targets: []string{lab.Primary1}, Concurrency: 2, Rows: 3},
				{Name: "bank", Kind: workload.KindBank, Targets: []string{lab.Primary2}, Concurrency: 2, Rows: 4},
				{Name: "tut", Kind: workload.KindTutorial, Targets: []string{lab.Primary1, lab.Primary2}, Concurrency: 1, Rate: 20},
			},
		}
		rec := runFor(t, cfg, 3*time.Second, nil)
		ws, _ := rec.Summary(3 * time.Second)
		res := make(map[string]int64) // workload/target → ok
		unknown := make(map[string]int64)
		for _, w := range ws {
			t.Logf("%s on %s: ok %d fail %d unknown %d, %.0f ok/s, p50 %v, served %v, errors %v",
				w.Workload, w.Target, w.OK, w.Fail, w.Unknown, w.OpsPerSec, w.Latency.P50.D(), w.ServedBy, w.Errors)
			res[w.Workload+"/"+w.Target] = w.OK
			unknown[w.Workload] += w.Unknown
			if w.Fail != 0 {
				t.Errorf("%s on %s: %d failed ops in a calm run: %+v", w.Workload, w.Target, w.Fail, w.Errors)
			}
			var served int64
			for node, n := range w.ServedBy {
				served += n
				if w.Target != lab.HAProxy && node != w.Target {
					t.Errorf("%s on %s: %d ops served by %s", w.Workload, w.Target, n, node)
				}
			}
			if served != w.OK {
				t.Errorf("%s on %s: served_by sums to %d, ok is %d", w.Workload, w.Target, served, w.OK)
			}
		}
		if res["ins/primary1"] == 0 || res["ins/primary2"] == 0 || res["ins/haproxy"] == 0 || res["hot/primary1"] == 0 || res["bank/primary2"] == 0 || res["tut/primary1"] == 0 {
			t.Fatalf("some workload did nothing: %v", res)
		}

		// One pass for the three workloads, each counted on its own.
		ackedBy, err := workload.Acked(rec.Path(), "ins", "hot", "tut")
		acked := ackedBy["ins"]
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(acked)) != res["ins/primary1"]+res["ins/primary2"]+res["ins/haproxy"] {
			t.Fatalf("history has %d acked keys, summary %v", len(acked), res)
		}
		keys := make([]string, 0, len(acked))
		for k := range acked {
			keys = append(keys, k)
		}
		ctx := context.Background()
		// Every acknowledged insert reaches both nodes; rows beyond them can
		// only be unknown ops that committed.
		for _, c := range []*pgx.Conn{p1, p2} {
			waitFor(t, func() bool {
				missing, err := workload.MissingInserts(ctx, c, keys)
				if err != nil {
					t.Fatal(err)
				}
				return len(missing) == 0
			})
			var rows int64
			if err := c.QueryRow(ctx, `SELECT count(*) FROM pgchaos_insert WHERE id LIKE 'counts/%'`).Scan(&rows); err != nil {
				t.Fatal(err)
			}
			if rows < int64(len(keys)) || rows > int64(len(keys))+unknown["ins"] {
				t.Errorf("%d insert rows on a node, want %d acked (+ up to %d unknown)", rows, len(keys), unknown["ins"])
			}
		}

		// update-hot through one primary: every acked increment is there.
		hotAcked := ackedBy["hot"]
		for _, c := range []*pgx.Conn{p1, p2} {
			waitFor(t, func() bool {
				vals, err := workload.CounterValues(ctx, c, "hot")
				if err != nil {
					t.Fatal(err)
				}
				return len(workload.LostUpdates("hot", "", hotAcked, vals)) == 0
			})
		}
		if unknown["hot"] == 0 {
			vals, _ := workload.CounterValues(ctx, p1, "hot")
			var sum, ackSum int64
			for k, v := range vals {
				sum += v
				ackSum += hotAcked[k]
			}
			if sum != ackSum || ackSum != res["hot/primary1"] {
				t.Errorf("counters sum to %d, history acks %d, summary ok %d", sum, ackSum, res["hot/primary1"])
			}
		}

		// bank: the total holds on both nodes.
		for node, c := range map[string]*pgx.Conn{lab.Primary1: p1, lab.Primary2: p2} {
			waitFor(t, func() bool {
				bt, err := workload.BankTotal(ctx, c, "bank", node, 4)
				if err != nil {
					t.Fatal(err)
				}
				return bt.Actual == bt.Expected
			})
		}

		// tutorial: returned ids are the table's, and present.
		tutAcked := ackedBy["tut"]
		if int64(len(tutAcked)) != res["tut/primary1"]+res["tut/primary2"] {
			t.Errorf("tutorial: %d distinct ids for %d ok ops", len(tutAcked), res["tut/primary1"]+res["tut/primary2"])
		}
	})

	t.Run("every worker's session is open at second 0", func(t *testing.T) {
		want := map[string]int{lab.Primary1: 3, lab.Primary2: 2}
		cfg := workload.Config{
			DSN: dsns(l), Seed: 1, RunID: "warm",
			Workloads: []workload.Spec{
				{Name: "warm1", Kind: workload.KindInsert, Targets: []string{lab.Primary1}, Concurrency: want[lab.Primary1]},
				{Name: "warm2", Kind: workload.KindInsert, Targets: []string{lab.Primary2}, Concurrency: want[lab.Primary2]},
			},
		}
		rec, err := workload.NewRecorder(filepath.Join(t.TempDir(), "history.jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		defer rec.Close()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		before := time.Now()
		got := make(map[string]int)
		cfg.OnStart = func(time.Time) {
			defer cancel() // the workers need not run: second 0 is what this checks
			for node, c := range map[string]*pgx.Conn{lab.Primary1: p1, lab.Primary2: p2} {
				var n int
				err := c.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
					WHERE application_name = $1 AND backend_start >= $2`,
					workload.ApplicationName(node), before).Scan(&n)
				if err != nil {
					t.Errorf("sessions on %s: %v", node, err)
				}
				got[node] = n
			}
		}
		if err := workload.Run(ctx, cfg, rec); err != nil {
			t.Fatal(err)
		}
		for node, n := range want {
			if got[node] != n {
				t.Errorf("%s: %d of the run's sessions open at second 0, want %d (one per worker)", node, got[node], n)
			}
		}
	})

	t.Run("a worker survives pg_terminate_backend", func(t *testing.T) {
		cfg := workload.Config{
			DSN: dsns(l), Seed: 1, RunID: "kill",
			Workloads: []workload.Spec{{Name: "killed", Kind: workload.KindInsert, Targets: []string{lab.Primary1}, Concurrency: 2}},
		}
		var killedAt time.Time
		var killed int
		rec := runFor(t, cfg, 2*time.Second, func() {
			time.Sleep(time.Second)
			killedAt = time.Now()
			err := p1.QueryRow(context.Background(),
				`SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1) t`,
				workload.ApplicationName(lab.Primary1)).Scan(&killed)
			if err != nil {
				t.Errorf("terminate: %v", err)
			}
		})
		if killed != 2 {
			t.Fatalf("terminated %d backends, want the 2 workers'", killed)
		}
		lastErr := make(map[int]time.Time)
		lastOK := make(map[int]time.Time)
		var errs int
		err := workload.ReadHistory(rec.Path(), func(op workload.Op) error {
			switch op.Outcome {
			case workload.OK:
				lastOK[op.Worker] = op.End
			default:
				if op.Class == workload.ClassCanceled {
					return nil // the stop at the end
				}
				errs++
				t.Logf("worker %d: %s %s %s: %s", op.Worker, op.Outcome, op.Class, op.SQLState, op.Error)
				lastErr[op.Worker] = op.End
				if op.Class != workload.ClassAdminShutdown && op.Class != workload.ClassConnection {
					t.Errorf("op cut by the kill has class %q (%s), want admin_shutdown or connection", op.Class, op.Error)
				}
				if op.End.Before(killedAt) {
					t.Errorf("error before the kill: %+v", op)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if errs == 0 {
			t.Fatal("no op saw the terminated connection")
		}
		for w := range 2 {
			if e, ok := lastErr[w]; ok && !lastOK[w].After(e) {
				t.Errorf("worker %d: no ok op after its error at %v (last ok %v)", w, e, lastOK[w])
			}
		}
	})

	// lockInserts holds an exclusive lock on pgchaos_insert on primary1
	// until the returned func is called: every insert there waits.
	lockInserts := func(t *testing.T) (unlock func()) {
		t.Helper()
		c := connect(t, l, lab.Primary1)
		tx, err := c.Begin(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(context.Background(), `LOCK TABLE pgchaos_insert IN EXCLUSIVE MODE`); err != nil {
			t.Fatal(err)
		}
		return func() { _ = tx.Rollback(context.Background()) }
	}

	t.Run("an op held up past OpTimeout is an unknown timeout, and the worker goes on", func(t *testing.T) {
		const timeout = 300 * time.Millisecond
		cfg := workload.Config{
			DSN: dsns(l), Seed: 1, RunID: "timeout", OpTimeout: timeout,
			Workloads: []workload.Spec{{Name: "held", Kind: workload.KindInsert, Targets: []string{lab.Primary1}, Concurrency: 1}},
		}
		var unlock func()
		rec := runFor(t, cfg, 2*time.Second, func() {
			unlock = lockInserts(t)
			time.Sleep(time.Second)
			unlock()
		})
		var timeouts, okAfter int
		var lastTimeout time.Time
		err := workload.ReadHistory(rec.Path(), func(op workload.Op) error {
			switch {
			case op.Class == workload.ClassTimeout:
				timeouts++
				lastTimeout = op.End
				t.Logf("timeout: %s after %v: %s", op.Outcome, op.Latency(), op.Error)
				// On a fresh connection the INSERT is prepared first, and
				// preparing waits for the lock too: then nothing was sent.
				want := workload.Unknown
				if strings.HasPrefix(op.Error, "prepare: ") {
					want = workload.Fail
				}
				if op.Outcome != want {
					t.Errorf("timed-out insert is %s (%s), want %s", op.Outcome, op.Error, want)
				}
				// Each op runs under a context that ends after OpTimeout.
				if lat := op.Latency(); lat < timeout-timeout/64 || lat > timeout+time.Second {
					t.Errorf("timed-out op took %v, want about %v", lat, timeout)
				}
			case op.Outcome == workload.OK && !lastTimeout.IsZero() && op.Start.After(lastTimeout):
				okAfter++
			case op.Outcome != workload.OK && op.Class != workload.ClassCanceled:
				t.Errorf("unexpected %s op: %s %s", op.Outcome, op.Class, op.Error)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if timeouts < 2 || timeouts > 4 {
			t.Errorf("%d timeouts in a 1 s hold with a %v op timeout, want 2 to 4 (the backoff between)", timeouts, timeout)
		}
		if okAfter == 0 {
			t.Error("no ok op after the lock was released")
		}
	})

	t.Run("cancelling the run cuts a held-up op short", func(t *testing.T) {
		cfg := workload.Config{
			DSN: dsns(l), Seed: 1, RunID: "cut", OpTimeout: time.Minute,
			Workloads: []workload.Spec{{Name: "cut", Kind: workload.KindInsert, Targets: []string{lab.Primary1}, Concurrency: 2}},
		}
		unlock := lockInserts(t)
		defer unlock()
		start := time.Now()
		rec := runFor(t, cfg, 500*time.Millisecond, nil)
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("run took %v after its cancel, want it cut short, well under the 1m op timeout", took)
		}
		var canceled int
		err := workload.ReadHistory(rec.Path(), func(op workload.Op) error {
			if op.Outcome != workload.Unknown || op.Class != workload.ClassCanceled {
				t.Errorf("op during the hold: %s %s %s, want unknown canceled", op.Outcome, op.Class, op.Error)
			}
			canceled++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if canceled != 2 {
			t.Errorf("%d canceled ops, want one per worker", canceled)
		}
	})
}

// waitFor polls cond until it holds, failing the test after 15 s:
// replication needs a moment to catch up after a run.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition did not hold within 15s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
