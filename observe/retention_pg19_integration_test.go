package observe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
)

// requirePostgres19 skips when no PostgreSQL 19 image is on the machine
// (it is opt-in: make images ARGS=postgres19), except under CI, where
// asking for this test and not building the image is a mistake.
func requirePostgres19(t *testing.T) {
	t.Helper()
	labtest.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cli, err := lab.Docker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for _, ref := range []string{"postgres:19", lab.LocalRepo + "/postgres:19"} {
		if _, err := cli.ImageInspect(ctx, ref); err == nil {
			return
		}
	}
	msg := "no PostgreSQL 19 image (postgres:19 or " + lab.LocalRepo + "/postgres:19): build it with `make images ARGS=postgres19`"
	if os.Getenv("CI") != "" && os.Getenv("PGCHAOS_PG19") != "" {
		t.Fatal(msg + " (PGCHAOS_PG19 is set under CI)")
	}
	t.Skip(msg)
}

// The known answer of PostgreSQL 19's retain_dead_tuples: one row updated
// on primary1 and deleted on primary2 while the replication link is
// partitioned. When the link heals, primary2 applies the update to a row
// it no longer has: with retain_dead_tuples it still has the dead tuple
// and counts update_deleted; without, it counts update_missing. Meanwhile,
// with retention, primary2's pg_conflict_detection slot holds VACUUM back
// for every transaction run during the partition, so the dead tuples of the
// table survive a VACUUM; without it they are removed.
func TestRetainDeadTuplesTurnsUpdateMissingIntoUpdateDeleted(t *testing.T) {
	requirePostgres19(t)
	for _, retain := range []bool{true, false} {
		t.Run(fmt.Sprintf("retain_dead_tuples=%v", retain), func(t *testing.T) {
			updateVersusDeleteDuringPartition(t, retain)
		})
	}
}

// burn is how many transactions primary2 runs during the partition, each
// updating every row of a side range: the slot's xmin falls behind by at
// least that many, and each leaves dead tuples behind.
const burn = 200

func updateVersusDeleteDuringPartition(t *testing.T, retain bool) {
	l := labtest.Start(t, lab.WithPostgres("19"), lab.WithRetainDeadTuples(retain))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	pools := map[string]*pgxpool.Pool{}
	for _, n := range []string{lab.Primary1, lab.Primary2} {
		p, err := pgxpool.New(ctx, l.MustDSN(n))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		pools[n] = p
	}
	exec := func(node, sql string, args ...any) {
		t.Helper()
		if _, err := pools[node].Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %s: %v", node, sql, err)
		}
	}
	var t0 time.Time
	if err := pools[lab.Primary2].QueryRow(ctx, "SELECT now()").Scan(&t0); err != nil {
		t.Fatal(err)
	}
	stats := NewStatsSampler()
	ret := NewRetentionSampler(t0, "test_table")
	sample := func() {
		for _, n := range []string{lab.Primary1, lab.Primary2} {
			_ = stats.Sample(ctx, n, pools[n])
			_ = ret.Sample(ctx, n, pools[n])
		}
	}
	total := func(node, kind string) int64 {
		for _, c := range stats.Totals() {
			if c.Node == node && c.Kind == kind {
				return c.Count
			}
		}
		return 0
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(90 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %s; counted %+v", what, stats.Totals())
			}
			time.Sleep(300 * time.Millisecond)
			sample()
		}
	}

	// The row in dispute and a side range, on both nodes before the split.
	exec(lab.Primary1, "INSERT INTO test_table (id, name) VALUES (1001, 'both')")
	exec(lab.Primary1, "INSERT INTO test_table (id, name) SELECT g, 'side' FROM generate_series(2001, 2020) g")
	waitFor("the rows on primary2", func() bool {
		var n int
		err := pools[lab.Primary2].QueryRow(ctx, "SELECT count(*) FROM test_table WHERE id = 1001 OR id BETWEEN 2001 AND 2020").Scan(&n)
		return err == nil && n == 21
	})
	sample() // baseline of the counters

	part, err := faults.New(l, scenario.Fault{Kind: scenario.FaultPartition, Between: []string{lab.Primary1, lab.Primary2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := part.Inject(ctx); err != nil {
		t.Fatalf("partition: %v", err)
	}
	healed := false
	heal := func() {
		if healed {
			return
		}
		hctx, hcancel := faults.HealContext(ctx)
		defer hcancel()
		if err := part.Heal(hctx); err != nil {
			t.Fatalf("heal the partition: %v", err)
		}
		healed = true
	}
	defer heal()
	start := time.Now()

	// The update first, the delete a moment later: a true race in the
	// partition, neither node sees the other's change.
	exec(lab.Primary1, "UPDATE test_table SET name = 'updated on primary1' WHERE id = 1001")
	exec(lab.Primary2, "DELETE FROM test_table WHERE id = 1001")
	for i := range burn {
		exec(lab.Primary2, "UPDATE test_table SET name = $1 WHERE id BETWEEN 2001 AND 2020", fmt.Sprintf("side %d", i))
	}
	// n_dead_tup is fed by each backend's statistics, flushed about once
	// a second: wait until the updates show (n_tup_upd, which page pruning
	// does not take back as it does n_dead_tup), or a flush after the
	// VACUUM would add them on top of what the VACUUM found (seen: 8002
	// after a VACUUM that kept 4001).
	waitFor("primary2's statistics to show the updates", func() bool {
		var n int64
		err := pools[lab.Primary2].QueryRow(ctx, "SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = 'test_table'").Scan(&n)
		return err == nil && n >= burn*20
	})
	// VACUUM removes what no snapshot and no slot still needs.
	exec(lab.Primary2, "VACUUM test_table")
	// The statistics of the updates and the VACUUM reach the view within a
	// second or so; sample until the VACUUM shows.
	waitFor("the VACUUM in primary2's statistics", func() bool {
		var v *time.Time
		err := pools[lab.Primary2].QueryRow(ctx, "SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = 'test_table'").Scan(&v)
		return err == nil && v != nil
	})
	sample()
	end := time.Now()
	heal()

	// Both changes cross once the link is back.
	waitFor("primary2 to count the remote update of the row it deleted", func() bool {
		return total(lab.Primary2, "update_deleted")+total(lab.Primary2, "update_missing") >= 1 &&
			total(lab.Primary1, "delete_origin_differs") >= 1
	})
	sample()
	want, other := "update_missing", "update_deleted"
	if retain {
		want, other = other, want
	}
	t.Logf("primary2 counted update_deleted %d, update_missing %d; primary1 delete_origin_differs %d",
		total(lab.Primary2, "update_deleted"), total(lab.Primary2, "update_missing"), total(lab.Primary1, "delete_origin_differs"))
	if got := total(lab.Primary2, want); got != 1 {
		t.Errorf("primary2 counted %s %d times, want 1", want, got)
	}
	if got := total(lab.Primary2, other); got != 0 {
		t.Errorf("primary2 counted %s %d times, want 0", other, got)
	}
	for _, n := range []string{lab.Primary1, lab.Primary2} {
		var name string
		err := pools[n].QueryRow(ctx, "SELECT name FROM test_table WHERE id = 1001").Scan(&name)
		if !errors.Is(err, pgx.ErrNoRows) {
			t.Errorf("%s: row 1001 is %q (%v), want it deleted on both (the update is lost)", n, name, err)
		}
	}

	rep := ret.Report([]string{lab.Primary1, lab.Primary2}, []Window{{Fault: 0, Start: start, End: end}})
	p2 := rep.Nodes[1]
	w := p2.Windows[0]
	show := func(v *int64) string {
		if v == nil {
			return "unknown"
		}
		return fmt.Sprint(*v)
	}
	t.Logf("primary2 during the partition: slot xmin age max %s (%s), dead tuples of test_table max %s, max within the partition window %s; %d samples",
		show(w.SlotXminAgeMax), p2.SlotXminAgeUnknown, show(p2.DeadTuplesMax), show(w.DeadTuplesMax), p2.Samples)
	last := p2.Timeline[len(p2.Timeline)-1]
	var afterVacuum *int64
	for _, pt := range p2.Timeline {
		if pt.T <= end.Sub(t0).Seconds() {
			afterVacuum = pt.DeadTuples
		}
	}
	t.Logf("primary2: dead tuples at the last sample before the heal %s, at the last sample %s", show(afterVacuum), show(last.DeadTuples))
	if retain {
		if w.SlotXminAgeMax == nil || *w.SlotXminAgeMax < burn {
			t.Errorf("slot xmin age during the partition %s, want at least %d (one per transaction primary2 ran)", show(w.SlotXminAgeMax), burn)
		}
		// Every row of the side range was updated burn times: the VACUUM
		// could remove none of those versions.
		if afterVacuum == nil || *afterVacuum < burn {
			t.Errorf("dead tuples after VACUUM during the partition %s, want at least %d kept by the slot", show(afterVacuum), burn)
		}
		return
	}
	if p2.SlotXminAgeMax != nil || p2.SlotXminAgeUnknown == "" {
		t.Errorf("without retain_dead_tuples the slot age must be unknown with a reason, got %s %q", show(p2.SlotXminAgeMax), p2.SlotXminAgeUnknown)
	}
	if afterVacuum == nil || *afterVacuum >= burn {
		t.Errorf("dead tuples after VACUUM without retention %s, want fewer than %d", show(afterVacuum), burn)
	}
}
