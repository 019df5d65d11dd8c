package runner_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/observe"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// A known answer for the conflict and lost-update figures: during a
// partition primary1 increments a counter 5 times and primary2 3 times.
// Logical replication ships whole new rows, so after the heal each node
// holds the other's last value (the values swap): primary1 ends at 3,
// primary2 at 5. Of 8 acknowledged increments primary1 lost 5, primary2 3;
// the lost-update witness is 5 (the worse node). PostgreSQL 18 counts one
// update_origin_differs on each node: only the first remote update finds a
// row last written locally.
func TestPartitionedIncrementsGiveExactLostUpdatesAndConflicts(t *testing.T) {
	l := labtest.Start(t)
	ctx := context.Background()
	dsn := map[string]string{lab.Primary1: l.MustDSN(lab.Primary1), lab.Primary2: l.MustDSN(lab.Primary2)}
	spec := workload.Spec{Name: "ka", Kind: workload.KindUpdateHot, Targets: []string{lab.Primary1, lab.Primary2}, Concurrency: 1, Rows: 1}
	if err := workload.Setup(ctx, workload.Config{Workloads: []workload.Spec{spec}, DSN: dsn}); err != nil {
		t.Fatal(err)
	}
	pools := map[string]*pgxpool.Pool{}
	for node, d := range dsn {
		p, err := pgxpool.New(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		pools[node] = p
	}
	stats := observe.NewStatsSampler()
	sample := func() {
		for node, p := range pools {
			if err := stats.Sample(ctx, node, p); err != nil {
				t.Fatal(err)
			}
		}
	}
	sample()

	part, err := faults.New(l, scenario.Fault{Kind: scenario.FaultPartition, Between: []string{lab.Primary1, lab.Primary2}, Direction: scenario.DirBoth})
	if err != nil {
		t.Fatal(err)
	}
	if err := part.Inject(ctx); err != nil {
		t.Fatal(err)
	}
	hctx, cancel := faults.HealContext(ctx)
	defer cancel()
	defer part.Heal(hctx)
	for node, times := range map[string]int{lab.Primary1: 5, lab.Primary2: 3} {
		for i := 0; i < times; i++ {
			if _, err := pools[node].Exec(ctx, "UPDATE pgchaos_counter SET n = n + 1 WHERE workload = 'ka' AND id = 1"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := part.Heal(hctx); err != nil {
		t.Fatal(err)
	}
	conv := observe.WaitConverged(ctx, pools, func(_, pub string) string { return lab.SubscriptionFrom(pub) }, 30*time.Second)
	if !conv.Converged {
		t.Fatalf("after the heal: %s", conv)
	}

	acked := map[string]int64{"1": 8}
	want := map[string]struct{ value, lost int64 }{lab.Primary1: {3, 5}, lab.Primary2: {5, 3}}
	var worst int64
	for node, w := range want {
		c, err := pools[node].Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		vals, err := workload.CounterValues(ctx, c.Conn(), "ka")
		c.Release()
		if err != nil {
			t.Fatal(err)
		}
		if vals["1"] != w.value {
			t.Errorf("%s counter = %d, want %d (the peer's last value)", node, vals["1"], w.value)
		}
		lost := workload.LostUpdates("ka", node, acked, vals)
		if len(lost) != 1 || lost[0].Acked-lost[0].Value != w.lost {
			t.Errorf("%s lost updates %+v, want %d", node, lost, w.lost)
		}
		worst = max(worst, w.lost)
	}
	if worst != 5 {
		t.Errorf("worst node lost %d, want 5", worst)
	}
	// An apply worker flushes its statistics at most once a second, after a
	// later transaction: keep replicating markers until the counts settle.
	got := map[string]int64{}
	for i := 0; i < 20; i++ {
		observe.WaitConverged(ctx, pools, func(_, pub string) string { return lab.SubscriptionFrom(pub) }, 10*time.Second)
		sample()
		for _, c := range stats.Totals() {
			if c.Kind == "update_origin_differs" {
				got[c.Node] = c.Count
			}
		}
		if got[lab.Primary1] >= 1 && got[lab.Primary2] >= 1 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	if got[lab.Primary1] != 1 || got[lab.Primary2] != 1 {
		t.Errorf("update_origin_differs counted %v, want 1 on each node", got)
	}
}
