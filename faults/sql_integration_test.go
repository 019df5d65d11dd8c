package faults_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// named opens a session to node with an application_name, as a workload
// (or anyone else) would.
func named(t testing.TB, l *lab.Lab, node, appName string) *pgx.Conn {
	t.Helper()
	cfg, err := pgx.ParseConfig(l.MustDSN(node))
	if err != nil {
		t.Fatal(err)
	}
	cfg.RuntimeParams["application_name"] = appName
	conn, err := pgx.ConnectConfig(ctxT(t, 30*time.Second), cfg)
	if err != nil {
		t.Fatalf("connect to %s as %s: %v", node, appName, err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// heartbeat writes a heartbeat row on origin and returns its seq.
func heartbeat(t testing.TB, l *lab.Lab, origin string) int64 {
	t.Helper()
	s, err := query(l, origin, 10*time.Second,
		"INSERT INTO pgchaos_heartbeat (origin, seq) VALUES ('sqlfault-test', (extract(epoch FROM clock_timestamp()) * 1e6)::int8) RETURNING seq::text")
	if err != nil {
		t.Fatalf("heartbeat on %s: %v", origin, err)
	}
	var seq int64
	fmt.Sscan(s, &seq)
	return seq
}

// appliedAt waits for heartbeat seq to be applied on node and returns its
// sent and applied times (the servers share one clock).
func appliedAt(t testing.TB, l *lab.Lab, node string, seq int64) (sent, applied time.Time) {
	t.Helper()
	deadline := time.Now().Add(arrival)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		conn, err := l.Connect(ctx, node)
		if err == nil {
			err = conn.QueryRow(ctx, "SELECT sent_at, applied_at FROM pgchaos_heartbeat WHERE origin = 'sqlfault-test' AND seq = $1 AND applied_at IS NOT NULL", seq).Scan(&sent, &applied)
			conn.Close(ctx)
		}
		cancel()
		if err == nil {
			return sent, applied
		}
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat %d never applied on %s within %s: %v", seq, node, arrival, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writeMany inserts rows named prefix-N on node until stop is closed,
// and returns the names of those acknowledged.
func writeMany(l *lab.Lab, node, prefix string, stop <-chan struct{}) (acked []string) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return acked
		default:
		}
		name := fmt.Sprintf("%s-%d", prefix, i)
		if _, err := query(l, node, 10*time.Second, "WITH ins AS (INSERT INTO test_table (name) SELECT $1 FROM generate_series(1, 20) RETURNING name) SELECT min(name) FROM ins", name); err == nil {
			acked = append(acked, name)
		}
	}
}

// allArrive checks every acked row (20 copies each) reached node.
func allArrive(t testing.TB, l *lab.Lab, node string, acked []string) {
	t.Helper()
	if len(acked) == 0 {
		t.Fatal("no write was acknowledged around the kill: the test proves nothing")
	}
	for _, name := range acked {
		deadline := time.Now().Add(arrival)
		for {
			n, err := query(l, node, 5*time.Second, "SELECT count(*)::text FROM test_table WHERE name = $1", name)
			if err == nil && n == "20" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("row %s: %s of 20 copies on %s after %s (%v): lost across the kill", name, n, node, arrival, err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func effectsSay(t testing.TB, f faults.Fault, want string) {
	t.Helper()
	es := f.(faults.Measured).Effects()
	for _, e := range es {
		if strings.Contains(e, want) {
			t.Logf("%s: %s", f, strings.Join(es, "; "))
			return
		}
	}
	t.Errorf("%s: effects %q do not say %q", f, es, want)
}

// TestSQLFaults runs each SQL fault on one lab through the SQL backend
// (the lab's sessions, no Docker for the fault itself) and checks its
// known effect.
func TestSQLFaults(t *testing.T) {
	l := labtest.Start(t)
	replicating(t, l)

	t.Run("disable-subscription holds back one direction for its window, then everything arrives", func(t *testing.T) {
		defer restore(t, l)
		const window = 3 * time.Second
		f, err := faults.New(l, scenario.Fault{Kind: scenario.FaultDisableSubscription, Node: lab.Primary1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t, 2*time.Minute)
		if err := f.Inject(ctx); err != nil {
			t.Fatal(err)
		}
		seq := heartbeat(t, l, lab.Primary2)
		held := "held-" + uniq()
		write(t, l, lab.Primary2, held)
		other := "other-" + uniq()
		write(t, l, lab.Primary1, other)
		mustArrive(t, l, lab.Primary2, other) // the other direction flows
		time.Sleep(window)
		if has(l, lab.Primary1, held) {
			t.Fatalf("row %s reached primary1 through a disabled subscription", held)
		}
		healAt := time.Now()
		if err := f.Heal(ctx); err != nil {
			t.Fatal(err)
		}
		sent, applied := appliedAt(t, l, lab.Primary1, seq)
		t.Logf("heartbeat primary2->primary1 written %.2f s before the heal, lag %.2f s", healAt.Sub(sent).Seconds(), applied.Sub(sent).Seconds())
		if applied.Before(healAt) {
			t.Errorf("heartbeat applied at %s, before the heal at %s", applied, healAt)
		}
		mustArrive(t, l, lab.Primary1, held)
	})

	t.Run("lab heal after a killed run re-enables the subscription", func(t *testing.T) {
		defer restore(t, l)
		dir := t.TempDir()
		g, err := faults.OpenLedger(l, faults.WithStateDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		f, err := faults.New(l, scenario.Fault{Kind: scenario.FaultDisableSubscription, Node: lab.Primary2, For: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Inject(ctxT(t, time.Minute), f); err != nil {
			t.Fatal(err)
		}
		// The run "dies" here: no heal, the ledger entry stays.
		row := "crash-" + uniq()
		write(t, l, lab.Primary1, row)
		mustNotArrive(t, l, lab.Primary2, row)
		healed, err := faults.HealLab(ctxT(t, 2*time.Minute), l, dir)
		if err != nil {
			t.Fatalf("lab heal: %v", err)
		}
		if !strings.Contains(strings.Join(healed, "\n"), "disable-subscription primary2 (ledger)") {
			t.Errorf("lab heal says it healed %q, not the ledger's disable-subscription", healed)
		}
		mustArrive(t, l, lab.Primary2, row)
	})

	for _, kind := range []string{scenario.FaultKillWalsender, scenario.FaultKillApplyWorker} {
		t.Run(kind+" under writes: replication resumes and nothing is lost", func(t *testing.T) {
			defer restore(t, l)
			// The walsender of primary1 and the apply worker of primary2
			// carry the same direction, primary1->primary2.
			node := lab.Primary1
			if kind == scenario.FaultKillApplyWorker {
				node = lab.Primary2
			}
			f, err := faults.New(l, scenario.Fault{Kind: kind, Node: node})
			if err != nil {
				t.Fatal(err)
			}
			stop := make(chan struct{})
			var acked []string
			var wg sync.WaitGroup
			wg.Add(1)
			go func() { defer wg.Done(); acked = writeMany(l, lab.Primary1, "k-"+uniq(), stop) }()
			time.Sleep(500 * time.Millisecond)
			ctx := ctxT(t, 2*time.Minute)
			ierr := f.Inject(ctx)
			var herr error
			if ierr == nil {
				herr = f.Heal(ctx)
			}
			time.Sleep(500 * time.Millisecond)
			close(stop)
			wg.Wait()
			if ierr != nil || herr != nil {
				t.Fatalf("inject: %v, heal: %v", ierr, herr)
			}
			effectsSay(t, f, "after the kill")
			allArrive(t, l, lab.Primary2, acked)
			t.Logf("%d acknowledged writes of 20 rows each, all on primary2", len(acked))
		})
	}

	t.Run("kill-sessions ends the workloads' sessions and no other", func(t *testing.T) {
		defer restore(t, l)
		wl := named(t, l, lab.Primary1, workload.ApplicationName(lab.Primary1))
		viaProxy := named(t, l, lab.Primary1, workload.ApplicationName("haproxy"))
		bystander := named(t, l, lab.Primary1, "psql")
		otherNode := named(t, l, lab.Primary2, workload.ApplicationName(lab.Primary2))
		f, err := faults.New(l, scenario.Fault{Kind: scenario.FaultKillSessions, Node: lab.Primary1})
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t, time.Minute)
		if err := f.Inject(ctx); err != nil {
			t.Fatal(err)
		}
		effectsSay(t, f, "ended 2 of the workloads' 2 sessions on primary1")
		for name, c := range map[string]*pgx.Conn{"workload": wl, "workload via haproxy": viaProxy} {
			var one int
			err := c.QueryRow(ctx, "SELECT 1").Scan(&one)
			var pe *pgconn.PgError
			if err == nil {
				t.Errorf("%s session survived kill-sessions", name)
			} else if errors.As(err, &pe) && pe.Code != "57P01" {
				t.Errorf("%s session: %v, want admin shutdown (57P01)", name, err)
			}
		}
		for name, c := range map[string]*pgx.Conn{"psql on primary1": bystander, "workload on primary2": otherNode} {
			var one int
			if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil {
				t.Errorf("%s was ended by kill-sessions on primary1: %v", name, err)
			}
		}
	})

	t.Run("lock-rows makes writers of the table wait for the heal while others proceed", func(t *testing.T) {
		defer restore(t, l)
		row := "locked-" + uniq()
		write(t, l, lab.Primary1, row)
		f, err := faults.New(l, scenario.Fault{Kind: scenario.FaultLockRows, Node: lab.Primary1, Table: "test_table"})
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t, 2*time.Minute)
		if err := f.Inject(ctx); err != nil {
			t.Fatal(err)
		}
		effectsSay(t, f, "row locks on the")
		done := make(chan time.Time, 1)
		go func() {
			query(l, lab.Primary1, time.Minute, "UPDATE test_table SET name = name WHERE name = $1 RETURNING name", row)
			done <- time.Now()
		}()
		// A writer of another table is not held.
		if _, err := query(l, lab.Primary1, 10*time.Second, "INSERT INTO pgchaos_heartbeat (origin, seq) VALUES ('lock-test', 1) ON CONFLICT DO NOTHING RETURNING origin"); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			t.Fatalf("a write to another table failed while the lock held: %v", err)
		}
		// Nor is an insert into the locked table (row locks only).
		write(t, l, lab.Primary1, "beside-"+uniq())
		time.Sleep(2 * time.Second)
		healAt := time.Now()
		if err := f.Heal(ctx); err != nil {
			t.Fatal(err)
		}
		select {
		case end := <-done:
			if end.Before(healAt) {
				t.Errorf("the update of a locked row finished at %s, before the heal at %s", end, healAt)
			}
		case <-time.After(arrival):
			t.Fatalf("the update of a locked row did not finish within %s of the heal", arrival)
		}
	})

	t.Run("lock-rows from the ledger alone ends a holder left behind", func(t *testing.T) {
		defer restore(t, l)
		spec := scenario.Fault{Kind: scenario.FaultLockRows, Node: lab.Primary2, Table: "test_table", Mode: scenario.LockTable}
		holder, err := faults.New(l, spec)
		if err != nil {
			t.Fatal(err)
		}
		ctx := ctxT(t, time.Minute)
		if err := holder.Inject(ctx); err != nil {
			t.Fatal(err)
		}
		// Another process heals from the spec, as `lab heal` does.
		again, err := faults.New(l, faults.SpecOf(spec).Fault())
		if err != nil {
			t.Fatal(err)
		}
		if err := again.Heal(ctx); err != nil {
			t.Fatal(err)
		}
		write(t, l, lab.Primary2, "after-"+uniq()) // would wait on an EXCLUSIVE table lock
		holder.Heal(ctx)
	})
}
