package analysis

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/diverge"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/observe"
	"github.com/pgchaos/pgchaos/pglog"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// Known answers for the causes of divergence, on a real PostgreSQL 18 lab:
//
//   - A hot row updated on both sides of a partition (twice on primary1,
//     once on primary2) swaps its values when the partition heals: it
//     differs, and is explained by the update_origin_differs each node
//     logged for its key, during the partition (fault 0).
//   - A row inserted on primary1 and replicated, then updated on primary2
//     under a replication origin session (which origin = none does not
//     forward): nothing the run saw accounts for it, so it is unexplained.
func TestCausesOfDivergenceKnownAnswers(t *testing.T) {
	ctx := context.Background()
	l := labtest.Start(t)
	start := time.Now()
	dsn := map[string]string{lab.Primary1: l.MustDSN(lab.Primary1), lab.Primary2: l.MustDSN(lab.Primary2)}
	specs := []workload.Spec{
		{Name: "ka", Kind: workload.KindUpdateHot, Targets: []string{lab.Primary1, lab.Primary2}, Concurrency: 1, Rows: 1},
		{Name: "ki", Kind: workload.KindInsert, Targets: []string{lab.Primary1}, Concurrency: 1},
	}
	if err := workload.Setup(ctx, workload.Config{Workloads: specs, DSN: dsn}); err != nil {
		t.Fatal(err)
	}
	db := Pools{}
	for n, d := range dsn {
		p, err := pgxpool.New(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		db[n] = p
	}
	rec, err := workload.NewRecorder(filepath.Join(t.TempDir(), "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rec.Close() })
	// do runs one write on node and records it as the workload would.
	do := func(node string, op workload.Op, sql string, args ...any) {
		t.Helper()
		op.Target, op.ServedBy, op.Start = node, node, time.Now()
		if _, err := db[node].Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
		op.End, op.Outcome = time.Now(), workload.OK
		rec.Record(op)
	}

	const tampered = "ki/primary1/0/0"
	do(lab.Primary1, workload.Op{Workload: "ki", Kind: workload.KindInsert, Keys: []string{tampered}},
		"INSERT INTO pgchaos_insert (id, workload, target, worker, seq, payload) VALUES ($1, 'ki', 'primary1', 0, 0, 'original')", tampered)

	part, err := faults.New(l, scenario.Fault{Kind: scenario.FaultPartition, Between: []string{lab.Primary1, lab.Primary2}, Direction: scenario.DirBoth})
	if err != nil {
		t.Fatal(err)
	}
	injected := time.Since(start)
	if err := part.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	hctx, cancel := faults.HealContext(ctx)
	defer cancel()
	defer part.Heal(hctx)
	bump := workload.Op{Workload: "ka", Kind: workload.KindUpdateHot, Keys: []string{"1"}}
	const update = "UPDATE pgchaos_counter SET n = n + 1 WHERE workload = 'ka' AND id = 1"
	do(lab.Primary1, bump, update)
	do(lab.Primary1, bump, update)
	do(lab.Primary2, bump, update)
	if err := part.Heal(hctx); err != nil {
		t.Fatal(err)
	}
	healed := reports.Duration(time.Since(start))
	conv := observe.WaitConverged(ctx, db, func(_, pub string) string { return lab.SubscriptionFrom(pub) }, 30*time.Second)
	if !conv.Converged {
		t.Fatalf("after the heal: %s", conv)
	}

	// The change behind replication's back: a session with a replication
	// origin marks its writes, and subscriptions with origin = none skip them.
	c, err := db[lab.Primary2].Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"SELECT pg_replication_origin_create('pgchaos_tamper')",
		"SELECT pg_replication_origin_session_setup('pgchaos_tamper')",
		"UPDATE pgchaos_insert SET payload = 'tampered' WHERE id = '" + tampered + "'",
		"SELECT pg_replication_origin_session_reset()",
	} {
		if _, err := c.Exec(ctx, q); err != nil {
			c.Release()
			t.Fatalf("%s: %v", q, err)
		}
	}
	c.Release()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if conv := observe.WaitConverged(ctx, db, func(_, pub string) string { return lab.SubscriptionFrom(pub) }, 30*time.Second); !conv.Converged {
		t.Fatalf("after the tamper: %s", conv)
	}

	div, err := diverge.Diff(ctx, db[lab.Primary1], db[lab.Primary2], diverge.Options{Tables: []string{"pgchaos_counter", "pgchaos_insert"}})
	if err != nil {
		t.Fatal(err)
	}
	div.Converged = true
	// The apply workers log each conflict as they apply; the container's
	// log may trail by a moment.
	var logs map[string][]pglog.Event
	for try := 0; ; try++ {
		logs = map[string][]pglog.Event{}
		seen := 0
		for _, n := range l.Nodes {
			out, err := l.LogsSince(ctx, n.ID, start)
			if err != nil {
				t.Fatal(err)
			}
			evs, err := pglog.Parse(strings.NewReader(out))
			if err != nil {
				t.Fatal(err)
			}
			logs[n.Name] = evs
			for _, e := range evs {
				if e.Kind == pglog.KindUpdateOriginDiffers {
					seen++
					break
				}
			}
		}
		if seen == len(l.Nodes) || try == 50 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	writes, err := HistoryWrites(rec.Path(), div, []string{lab.Primary1, lab.Primary2}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ExplainDivergence(div, CauseEvidence{
		Start:     start,
		Faults:    []reports.Fault{{Kind: "partition", Target: "primary1<->primary2", Injected: reports.Duration(injected), Healed: &healed}},
		Converged: true, ConflictLogs: true, Logs: logs, Writes: writes,
	})

	got := map[RowRef]reports.DivergentRow{}
	for _, td := range div.Tables {
		for _, r := range td.Rows {
			got[RowRef{td.Table, r.Key}] = r
			t.Logf("%s %s %s: %s: %s", td.Table, r.Key, r.Kind, r.Cause, r.CauseDetail)
		}
	}
	if div.DivergentRows != 2 || len(got) != 2 {
		t.Fatalf("%d divergent rows %v, want the hot row and the tampered row", div.DivergentRows, got)
	}
	hot := got[RowRef{"pgchaos_counter", "(ka,1)"}]
	if hot.Kind != reports.Different || hot.Cause != reports.CauseConcurrentUpdate {
		t.Errorf("hot row: %s, cause %q (%s); want different, %s", hot.Kind, hot.Cause, hot.CauseDetail, reports.CauseConcurrentUpdate)
	}
	for _, want := range []string{"updated on primary1 and primary2 during fault 0 (partition primary1<->primary2)",
		"update_origin_differs at ", " on primary1", " on primary2"} {
		if !strings.Contains(hot.CauseDetail, want) {
			t.Errorf("hot row: detail %q does not say %q", hot.CauseDetail, want)
		}
	}
	tam := got[RowRef{"pgchaos_insert", tampered}]
	if tam.Kind != reports.Different || tam.Cause != reports.CauseUnexplained {
		t.Errorf("tampered row: %s, cause %q (%s); want different, %s", tam.Kind, tam.Cause, tam.CauseDetail, reports.CauseUnexplained)
	}
	if div.Unexplained == nil || *div.Unexplained != 1 {
		t.Errorf("unexplained = %v, want 1 (the tampered row)", div.Unexplained)
	}
}
