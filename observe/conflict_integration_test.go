package observe

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/pglog"
)

// conflictLab is one real lab shared by the known-answer steps below: a
// lab takes seconds to build on this machine, and the steps build on each
// other (the counters must survive a crash after conflicts were counted).
type conflictLab struct {
	t     *testing.T
	l     *lab.Lab
	pools map[string]*pgxpool.Pool
	stats *StatsSampler
	wal   *WALSampler
}

func (c *conflictLab) exec(ctx context.Context, node, sql string, args ...any) {
	c.t.Helper()
	if _, err := c.pools[node].Exec(ctx, sql, args...); err != nil {
		c.t.Fatalf("%s: %s: %v", node, sql, err)
	}
}

func (c *conflictLab) sample(ctx context.Context) {
	for _, n := range []string{lab.Primary1, lab.Primary2} {
		_ = c.stats.Sample(ctx, n, c.pools[n]) // a node may be down: the next sample catches up
		_ = c.wal.Sample(ctx, lab.Peer(n), n, c.pools[lab.Peer(n)])
	}
}

func (c *conflictLab) logs(ctx context.Context, node string) []pglog.Event {
	c.t.Helper()
	n, _ := c.l.Node(node)
	out, err := c.l.Logs(ctx, n.ID, 100000)
	if err != nil {
		c.t.Fatalf("logs of %s: %v", node, err)
	}
	ev, err := pglog.Parse(strings.NewReader(out))
	if err != nil {
		c.t.Fatal(err)
	}
	return ev
}

func (c *conflictLab) total(node, kind string) int64 {
	for _, cc := range c.stats.Totals() {
		if cc.Node == node && cc.Kind == kind {
			return cc.Count
		}
	}
	return 0
}

// waitFor samples every 300 ms until cond holds or 30 s pass.
func (c *conflictLab) waitFor(ctx context.Context, what string, cond func() bool) {
	c.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c.sample(ctx)
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %s; totals %+v", what, c.stats.Totals())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func (c *conflictLab) setEnabled(ctx context.Context, on bool) {
	verb := "DISABLE"
	if on {
		verb = "ENABLE"
	}
	for _, n := range []string{lab.Primary1, lab.Primary2} {
		c.exec(ctx, n, fmt.Sprintf("ALTER SUBSCRIPTION %s %s", lab.SubscriptionOn(n), verb))
	}
}

func TestKnownAnswersOnRealLab(t *testing.T) {
	l := labtest.Start(t, lab.WithSequences("serial"))
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	c := &conflictLab{t: t, l: l, pools: map[string]*pgxpool.Pool{}, stats: NewStatsSampler()}
	for _, n := range []string{lab.Primary1, lab.Primary2} {
		p, err := pgxpool.New(ctx, l.MustDSN(n))
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close()
		c.pools[n] = p
	}
	var now time.Time
	if err := c.pools[lab.Primary1].QueryRow(ctx, "SELECT now()").Scan(&now); err != nil {
		t.Fatal(err)
	}
	c.wal = NewWALSampler(now)
	c.sample(ctx) // baseline

	t.Run("lag from two seconds of heartbeats", func(t *testing.T) {
		var start time.Time
		if err := c.pools[lab.Primary1].QueryRow(ctx, "SELECT clock_timestamp()").Scan(&start); err != nil {
			t.Fatal(err)
		}
		hctx, hcancel := context.WithTimeout(ctx, 2*time.Second)
		counts := Heartbeat(hctx, c.pools, 100*time.Millisecond)
		hcancel()
		time.Sleep(500 * time.Millisecond) // let the last ones apply
		lag, err := LagFromHeartbeats(ctx, c.pools, start, []Window{{Fault: 0, Start: start, End: start.Add(time.Second)}})
		if err != nil {
			t.Fatal(err)
		}
		if len(lag.Directions) != 2 {
			t.Fatalf("directions %+v", lag.Directions)
		}
		for _, d := range lag.Directions {
			if int64(d.Samples) != counts.Sent[d.From] || d.Samples < 15 || d.Samples > 25 {
				t.Errorf("%s->%s: %d samples, %d sent (want about 20)", d.From, d.To, d.Samples, counts.Sent[d.From])
			}
			if d.Missing != 0 {
				t.Errorf("%s->%s: %d missing", d.From, d.To, d.Missing)
			}
			if d.P50 <= 0 || d.P50.D() >= time.Second || d.Max < d.P99 || d.P99 < d.P50 {
				t.Errorf("%s->%s: p50 %v p99 %v max %v", d.From, d.To, d.P50.D(), d.P99.D(), d.Max.D())
			}
			if len(d.Windows) != 1 || d.Windows[0].Samples < 5 || d.Windows[0].Samples > 15 {
				t.Errorf("%s->%s: window %+v (want about 10 samples)", d.From, d.To, d.Windows)
			}
		}
	})

	var stallLSN = map[string]string{}
	t.Run("serial ids on both nodes stall both subscriptions until skipped", func(t *testing.T) {
		// Two open transactions take id 1 from each node's own sequence;
		// neither can see the other's row before both commit.
		var txs []func() error
		for _, n := range []string{lab.Primary1, lab.Primary2} {
			tx, err := c.pools[n].Begin(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var id int
			if err := tx.QueryRow(ctx, "INSERT INTO test_table (name) VALUES ($1) RETURNING id", n).Scan(&id); err != nil {
				t.Fatal(err)
			}
			if id != 1 {
				t.Fatalf("%s handed out id %d, want 1 (serial)", n, id)
			}
			txs = append(txs, func() error { return tx.Commit(ctx) })
		}
		for _, commit := range txs {
			if err := commit(); err != nil {
				t.Fatal(err)
			}
		}
		// Rows written behind the stall must pile up on the publisher.
		c.exec(ctx, lab.Primary1, "INSERT INTO test_table (id, name) SELECT g, 'behind' FROM generate_series(100, 2099) g")

		var stalls = map[string]string{}
		c.waitFor(ctx, "a stall on each node in the logs", func() bool {
			for _, n := range []string{lab.Primary1, lab.Primary2} {
				for _, st := range DetectStalls(StallInput{Logs: map[string][]pglog.Event{n: c.logs(ctx, n)}, End: time.Now()}) {
					stalls[n] = st.SkipLSN
				}
			}
			return len(stalls) == 2 && c.total(lab.Primary1, "insert_exists") >= 2 && c.total(lab.Primary2, "insert_exists") >= 2
		})
		for _, n := range []string{lab.Primary1, lab.Primary2} {
			ev := c.logs(ctx, n)
			var lsns []string
			for _, e := range ev {
				if e.Kind == pglog.KindInsertExists && e.Key == "(id)=(1)" {
					lsns = append(lsns, e.FinishLSN)
				}
			}
			if len(lsns) < 2 || lsns[0] != stalls[n] {
				t.Errorf("%s: insert_exists lines for id 1 at %v, stall LSN %s", n, lsns, stalls[n])
			}
			stallLSN[n] = stalls[n]
		}
		end := time.Now()
		all := DetectStalls(StallInput{
			Logs: map[string][]pglog.Event{lab.Primary2: c.logs(ctx, lab.Primary2)},
			Subs: c.stats.SubSamples(), WAL: c.wal, End: end,
		})
		var found bool
		for _, st := range all {
			if st.Node != lab.Primary2 {
				continue // primary1's log was not given: its stall is seen in the samples only
			}
			found = true
			if st.Resolved || st.SkipLSN != stalls[lab.Primary2] || st.WALBehind < 2000*50 {
				t.Errorf("stall on primary2 = %+v, want unresolved at %s with the 2000 rows' WAL behind it", st, stalls[lab.Primary2])
			}
		}
		if !found {
			t.Errorf("no stall on primary2 in %+v", all)
		}
		for _, n := range []string{lab.Primary1, lab.Primary2} {
			c.exec(ctx, n, fmt.Sprintf("ALTER SUBSCRIPTION %s SKIP (lsn = '%s')", lab.SubscriptionOn(n), stallLSN[n]))
		}
		c.waitFor(ctx, "the rows behind the stall on primary2", func() bool {
			var n int
			_ = c.pools[lab.Primary2].QueryRow(ctx, "SELECT count(*) FROM test_table WHERE name = 'behind'").Scan(&n)
			return n == 2000
		})
		time.Sleep(stallResolveGrace + 500*time.Millisecond)
		c.sample(ctx)
		for _, st := range DetectStalls(StallInput{
			Logs: map[string][]pglog.Event{lab.Primary1: c.logs(ctx, lab.Primary1), lab.Primary2: c.logs(ctx, lab.Primary2)},
			Subs: c.stats.SubSamples(), End: time.Now(),
		}) {
			if !st.Resolved {
				t.Errorf("after SKIP, stall still unresolved: %+v", st)
			}
		}
	})

	t.Run("one row updated on both while paused counts update_origin_differs once on each", func(t *testing.T) {
		c.exec(ctx, lab.Primary1, "INSERT INTO test_table (id, name) VALUES (5000, 'x')")
		c.waitFor(ctx, "row 5000 on primary2", func() bool {
			var n int
			_ = c.pools[lab.Primary2].QueryRow(ctx, "SELECT count(*) FROM test_table WHERE id = 5000").Scan(&n)
			return n == 1
		})
		before := map[string]int64{lab.Primary1: c.total(lab.Primary1, "update_origin_differs"), lab.Primary2: c.total(lab.Primary2, "update_origin_differs")}
		c.setEnabled(ctx, false)
		c.exec(ctx, lab.Primary1, "UPDATE test_table SET name = 'p1' WHERE id = 5000")
		c.exec(ctx, lab.Primary2, "UPDATE test_table SET name = 'p2' WHERE id = 5000")
		c.setEnabled(ctx, true)
		c.waitFor(ctx, "update_origin_differs on both", func() bool {
			return c.total(lab.Primary1, "update_origin_differs") > before[lab.Primary1] && c.total(lab.Primary2, "update_origin_differs") > before[lab.Primary2]
		})
		time.Sleep(time.Second)
		c.sample(ctx)
		for _, n := range []string{lab.Primary1, lab.Primary2} {
			if d := c.total(n, "update_origin_differs") - before[n]; d != 1 {
				t.Errorf("%s: update_origin_differs +%d, want +1", n, d)
			}
			var logged int
			for _, e := range c.logs(ctx, n) {
				if e.Kind == pglog.KindUpdateOriginDiffers && e.Key == "(id)=(5000)" && e.Subscription == lab.SubscriptionOn(n) {
					logged++
				}
			}
			if logged != 1 {
				t.Errorf("%s: %d update_origin_differs log lines for id 5000, want 1", n, logged)
			}
		}
	})

	t.Run("counters survive a killed and restarted node", func(t *testing.T) {
		n2, _ := l.Node(lab.Primary2)
		beforeIns := c.total(lab.Primary2, "insert_exists")
		beforeUpd := c.total(lab.Primary2, "update_origin_differs")
		if beforeIns == 0 || beforeUpd == 0 {
			t.Skip("earlier steps counted nothing to lose")
		}
		var rawBefore int64
		if err := c.pools[lab.Primary2].QueryRow(ctx, "SELECT sum(confl_insert_exists) FROM pg_stat_subscription_stats").Scan(&rawBefore); err != nil {
			t.Fatal(err)
		}
		if err := l.Docker().ContainerKill(ctx, n2.ID, "KILL"); err != nil {
			t.Fatal(err)
		}
		c.sample(ctx) // fails on primary2: a missing sample
		if err := l.Docker().ContainerStart(ctx, n2.ID, container.StartOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := l.WaitReady(ctx, lab.Primary2, time.Minute); err != nil {
			t.Fatal(err)
		}
		var rawAfter int64
		if err := c.pools[lab.Primary2].QueryRow(ctx, "SELECT coalesce(sum(confl_insert_exists), 0) FROM pg_stat_subscription_stats").Scan(&rawAfter); err != nil {
			t.Fatal(err)
		}
		if rawAfter >= rawBefore {
			t.Fatalf("confl_insert_exists %d after the kill, %d before: the counters were not reset, the test proves nothing", rawAfter, rawBefore)
		}
		// One more conflict after the crash, at a value below the old one.
		c.setEnabled(ctx, false)
		c.exec(ctx, lab.Primary1, "UPDATE test_table SET name = 'p1b' WHERE id = 5000")
		c.exec(ctx, lab.Primary2, "UPDATE test_table SET name = 'p2b' WHERE id = 5000")
		c.setEnabled(ctx, true)
		c.waitFor(ctx, "update_origin_differs after the restart", func() bool {
			return c.total(lab.Primary2, "update_origin_differs") > beforeUpd
		})
		if got := c.total(lab.Primary2, "update_origin_differs"); got != beforeUpd+1 {
			t.Errorf("update_origin_differs total %d, want %d (before the kill) + 1", got, beforeUpd)
		}
		if got := c.total(lab.Primary2, "insert_exists"); got != beforeIns {
			t.Errorf("insert_exists total %d after the kill, want %d: the reset was taken for a drop", got, beforeIns)
		}
	})
}
