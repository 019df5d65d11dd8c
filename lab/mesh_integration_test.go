package lab_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/node"
	"github.com/pgchaos/pgchaos/scenario"
)

// TestThreeNodeMeshCarriesRowsOnlyFromTheirOrigin builds a lab of three
// primaries. The tutorial's insert on each node reaches the other two.
// Then primary1 and primary3 are partitioned while primary2 still talks to
// both: rows written on primary1 and primary3 reach primary2, but not each
// other through it (origin = none sends only a node's own changes), until
// the partition heals. The waits poll without a deadline of their own; the
// test's only clock is go test's -timeout. Measured times are logged.
func TestThreeNodeMeshCarriesRowsOnlyFromTheirOrigin(t *testing.T) {
	l := labtest.Start(t, lab.WithNodes(3))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	p1, p2, p3 := node.Primary(1), node.Primary(2), node.Primary(3)
	conns := map[string]*pgx.Conn{}
	for _, n := range l.Primaries() {
		c, err := l.Connect(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(context.WithoutCancel(ctx))
		conns[n] = c
	}
	count := func(on, like string) int {
		t.Helper()
		var n int
		if err := conns[on].QueryRow(ctx, "SELECT count(*) FROM test_table WHERE name LIKE $1", like).Scan(&n); err != nil {
			t.Fatalf("count %q on %s: %v", like, on, err)
		}
		return n
	}
	// await polls until on holds want rows named like, and says how long
	// that took.
	await := func(on, like string, want int) time.Duration {
		t.Helper()
		start := time.Now()
		for count(on, like) != want {
			select {
			case <-ctx.Done():
				t.Fatalf("%s never held %d rows like %q (has %d)", on, want, like, count(on, like))
			case <-time.After(20 * time.Millisecond):
			}
		}
		return time.Since(start)
	}
	insert := func(on, name string) {
		t.Helper()
		if _, err := conns[on].Exec(ctx, "INSERT INTO test_table (name) VALUES ($1)", name); err != nil {
			t.Fatalf("insert %s on %s: %v", name, on, err)
		}
	}

	// The tutorial, on each node: INSERT INTO test_table (name) VALUES (…).
	for _, n := range l.Primaries() {
		insert(n, "tutorial-"+n)
	}
	for _, on := range l.Primaries() {
		took := await(on, "tutorial-%", 3)
		t.Logf("measured: %s holds the tutorial rows of all three nodes after %s", on, took.Round(time.Millisecond))
	}
	var ids []int64
	rows, _ := conns[p2].Query(ctx, "SELECT id FROM test_table WHERE name LIKE 'tutorial-%' ORDER BY id")
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) != 3 || ids[0] != 1 || ids[1] != 2 || ids[2] != 3 {
		t.Errorf("interleaved ids of three nodes: %v (%v), want 1, 2, 3", ids, err)
	}

	part, err := faults.New(l, scenario.Fault{Kind: scenario.FaultPartition, Between: []string{p1, p3}, Direction: scenario.DirBoth})
	if err != nil {
		t.Fatal(err)
	}
	if err := part.Inject(ctx); err != nil {
		t.Fatalf("inject %s: %v", part, err)
	}
	healed := false
	defer func() {
		if !healed {
			hctx, hcancel := faults.HealContext(ctx)
			defer hcancel()
			_ = part.Heal(hctx)
		}
	}()
	const rowsEach = 10
	for i := range rowsEach {
		insert(p1, fmt.Sprintf("part-%s-%d", p1, i))
		insert(p3, fmt.Sprintf("part-%s-%d", p3, i))
	}
	// primary2 talks to both ends.
	t.Logf("measured: during the partition %s got %d rows of %s in %s and %d of %s in %s", p2,
		rowsEach, p1, await(p2, "part-primary1-%", rowsEach).Round(time.Millisecond),
		rowsEach, p3, await(p2, "part-primary3-%", rowsEach).Round(time.Millisecond))
	// A marker written on primary2 after it applied both sets: apply is in
	// commit order, so once primary3 (and primary1) show it, anything
	// primary2 would have passed on has arrived too.
	insert(p2, "marker-after-both")
	await(p3, "marker-after-both", 1)
	await(p1, "marker-after-both", 1)
	if n := count(p3, "part-primary1-%"); n != 0 {
		t.Errorf("%s holds %d rows of %s during the partition: %s forwarded them (origin = none should not)", p3, n, p1, p2)
	}
	if n := count(p1, "part-primary3-%"); n != 0 {
		t.Errorf("%s holds %d rows of %s during the partition: %s forwarded them (origin = none should not)", p1, n, p3, p2)
	}
	t.Logf("measured: during the partition, after %s's marker arrived on both ends, %s held %d of %s's rows and %s held %d of %s's",
		p2, p3, count(p3, "part-primary1-%"), p1, p1, count(p1, "part-primary3-%"), p3)

	healStart := time.Now()
	if err := part.Heal(ctx); err != nil {
		t.Fatalf("heal %s: %v", part, err)
	}
	healed = true
	t.Logf("measured: heal took %s", time.Since(healStart).Round(time.Millisecond))
	t.Logf("measured: after heal %s got %s's %d rows in %s, %s got %s's in %s", p3, p1, rowsEach,
		await(p3, "part-primary1-%", rowsEach).Round(time.Millisecond), p1, p3,
		await(p1, "part-primary3-%", rowsEach).Round(time.Millisecond))
	for _, on := range l.Primaries() {
		if n := count(on, "part-%"); n != 2*rowsEach {
			t.Errorf("%s holds %d partition rows after heal, want %d", on, n, 2*rowsEach)
		}
	}
	st := l.Status(ctx)
	for _, ns := range st.Nodes {
		if len(ns.Subscriptions) != 2 {
			t.Errorf("%s has %d subscriptions, want one per peer", ns.Name, len(ns.Subscriptions))
		}
	}
	if len(st.Directions) != 6 {
		t.Errorf("status shows %d directions, want 6", len(st.Directions))
	}
}
