package observe

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/diverge"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/pglog"
)

// PglogicalImageEnv names the PostgreSQL image the pglogical tests use
// (default: the lab's own choice, which after `make images` carries
// pglogical).
const pglogicalImageEnv = "PGCHAOS_PGLOGICAL_IMAGE"

// splitUpdate is the known-answer experiment: the subscriptions are
// disabled (the link is cut), the same row is updated on primary1 then on
// primary2, the subscriptions are enabled again (healed). It returns each
// side's value and commit timestamp.
type splitUpdate struct {
	p1, p2   *pgx.Conn
	disable  func(ctx context.Context, c *pgx.Conn, node string) error
	enable   func(ctx context.Context, c *pgx.Conn, node string) error
	v1, v2   string
	ts1, ts2 time.Time
	id       int
}

func (s *splitUpdate) run(t *testing.T, ctx context.Context, id int, tag string) {
	t.Helper()
	s.id = id
	for _, c := range []struct {
		conn *pgx.Conn
		node string
	}{{s.p1, lab.Primary1}, {s.p2, lab.Primary2}} {
		if err := s.disable(ctx, c.conn, c.node); err != nil {
			t.Fatalf("cut the link on %s: %v", c.node, err)
		}
	}
	s.v1, s.v2 = tag+"-primary1", tag+"-primary2"
	for _, u := range []struct {
		conn *pgx.Conn
		v    string
		ts   *time.Time
	}{{s.p1, s.v1, &s.ts1}, {s.p2, s.v2, &s.ts2}} {
		if _, err := u.conn.Exec(ctx, "UPDATE test_table SET name = $1 WHERE id = $2", u.v, id); err != nil {
			t.Fatal(err)
		}
		if err := u.conn.QueryRow(ctx, "SELECT pg_xact_commit_timestamp(xmin) FROM test_table WHERE id = $1", id).Scan(u.ts); err != nil {
			t.Fatal(err)
		}
	}
	if !s.ts1.Before(s.ts2) {
		t.Fatalf("primary1's update (%s) should commit before primary2's (%s)", s.ts1, s.ts2)
	}
	for _, c := range []struct {
		conn *pgx.Conn
		node string
	}{{s.p1, lab.Primary1}, {s.p2, lab.Primary2}} {
		if err := s.enable(ctx, c.conn, c.node); err != nil {
			t.Fatalf("heal the link on %s: %v", c.node, err)
		}
	}
}

// settled waits until a marker written on each node after the heal has
// reached the other: changes apply in order, so the conflicting updates
// were applied (or resolved) by then. It reports whether they arrived.
func (s *splitUpdate) settled(ctx context.Context, timeout time.Duration) bool {
	seq := time.Now().UnixNano()
	for _, c := range []struct {
		conn *pgx.Conn
		node string
	}{{s.p1, lab.Primary1}, {s.p2, lab.Primary2}} {
		if _, err := c.conn.Exec(ctx, "INSERT INTO pgchaos_heartbeat (origin, seq) VALUES ($1, $2)", c.node, seq); err != nil {
			return false
		}
	}
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		var n1, n2 int
		e1 := s.p1.QueryRow(ctx, "SELECT count(*) FROM pgchaos_heartbeat WHERE origin = $1 AND seq = $2", lab.Primary2, seq).Scan(&n1)
		e2 := s.p2.QueryRow(ctx, "SELECT count(*) FROM pgchaos_heartbeat WHERE origin = $1 AND seq = $2", lab.Primary1, seq).Scan(&n2)
		if e1 == nil && e2 == nil && n1 == 1 && n2 == 1 {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func (s *splitUpdate) values(t *testing.T, ctx context.Context) (on1, on2 string) {
	t.Helper()
	if err := s.p1.QueryRow(ctx, "SELECT name FROM test_table WHERE id = $1", s.id).Scan(&on1); err != nil {
		t.Fatal(err)
	}
	if err := s.p2.QueryRow(ctx, "SELECT name FROM test_table WHERE id = $1", s.id).Scan(&on2); err != nil {
		t.Fatal(err)
	}
	return on1, on2
}

func dial(t *testing.T, l *lab.Lab, node string) *pgx.Conn {
	t.Helper()
	c, err := l.Connect(context.Background(), node)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// seedRows inserts the rows the experiments update and waits until both
// nodes have them.
func seedRows(t *testing.T, ctx context.Context, s *splitUpdate, ids []int) {
	t.Helper()
	for _, id := range ids {
		if _, err := s.p1.Exec(ctx, "INSERT INTO test_table (id, name) VALUES ($1, 'seed')", id); err != nil {
			t.Fatal(err)
		}
	}
	if !s.settled(ctx, time.Minute) {
		t.Fatal("seed rows did not replicate within a minute")
	}
	var n int
	if err := s.p2.QueryRow(ctx, "SELECT count(*) FROM test_table WHERE id = ANY($1)", ids).Scan(&n); err != nil || n != len(ids) {
		t.Fatalf("primary2 has %d of the %d seed rows (%v)", n, len(ids), err)
	}
}

// One pglogical lab serves every resolver: lab.SetResolver changes
// pglogical.conflict_resolution at runtime (ALTER SYSTEM, reload, and a
// restart of the apply workers, which do not reread it on SIGHUP).
func TestPglogicalResolversSettleASplitUpdateAsDocumented(t *testing.T) {
	labtest.RequireDocker(t)
	opts := []lab.Option{lab.WithEngine(lab.EnginePglogical, lab.ResolverLastUpdateWins)}
	if img := os.Getenv(pglogicalImageEnv); img != "" {
		opts = append(opts, func(c *lab.Config) { c.Images.Postgres = img })
	}
	l := labtest.Start(t, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	s := &splitUpdate{p1: dial(t, l, lab.Primary1), p2: dial(t, l, lab.Primary2),
		disable: func(ctx context.Context, c *pgx.Conn, node string) error {
			_, err := c.Exec(ctx, "SELECT pglogical.alter_subscription_disable($1, true)", lab.SubscriptionOn(node))
			return err
		},
		enable: func(ctx context.Context, c *pgx.Conn, node string) error {
			_, err := c.Exec(ctx, "SELECT pglogical.alter_subscription_enable($1, true)", lab.SubscriptionOn(node))
			return err
		},
	}
	t.Run("tutorial psql steps", func(t *testing.T) { tutorialSteps(t, l) })
	seedRows(t, ctx, s, []int{1001, 1002, 1003, 1004, 1005})

	// Each case: the resolver, the row, and what each node must end with
	// given primary1's value (earlier) and primary2's (later).
	cases := []struct {
		resolver string
		id       int
		want     func(v1, v2 string) (on1, on2 string)
		diverges bool
	}{
		{lab.ResolverLastUpdateWins, 1001, func(v1, v2 string) (string, string) { return v2, v2 }, false},
		{lab.ResolverFirstUpdateWins, 1002, func(v1, v2 string) (string, string) { return v1, v1 }, false},
		{lab.ResolverKeepLocal, 1003, func(v1, v2 string) (string, string) { return v1, v2 }, true},
		{lab.ResolverApplyRemote, 1004, func(v1, v2 string) (string, string) { return v2, v1 }, true},
	}
	for _, tc := range cases {
		t.Run(tc.resolver, func(t *testing.T) {
			if err := l.SetResolver(ctx, tc.resolver); err != nil {
				t.Fatal(err)
			}
			// Docker's log timestamps and the servers' share the host clock.
			start := time.Now()
			s.run(t, ctx, tc.id, tc.resolver)
			if !s.settled(ctx, time.Minute) {
				t.Fatalf("markers did not cross within a minute after the heal: %+v", l.Status(ctx).Warnings)
			}
			on1, on2 := s.values(t, ctx)
			w1, w2 := tc.want(s.v1, s.v2)
			if on1 != w1 || on2 != w2 {
				t.Fatalf("after the heal primary1 has %q, primary2 %q; %s should leave %q and %q (primary1 committed %s, primary2 %s)",
					on1, on2, tc.resolver, w1, w2, s.ts1.Format(time.RFC3339Nano), s.ts2.Format(time.RFC3339Nano))
			}
			d, err := diverge.DiffLab(ctx, l, diverge.Options{Tables: []string{"test_table"}})
			if err != nil {
				t.Fatal(err)
			}
			named := false
			for _, tb := range d.Tables {
				for _, r := range tb.Rows {
					named = named || strings.Contains(r.Key, fmt.Sprint(tc.id))
				}
			}
			if named != tc.diverges {
				t.Errorf("lab diff names row %d: %v, want %v (%+v)", tc.id, named, tc.diverges, d.Tables)
			}
			// pglogical logged this conflict on each node.
			for _, node := range []string{lab.Primary1, lab.Primary2} {
				n, _ := l.Node(node)
				out, err := l.LogsSince(ctx, n.ID, start)
				if err != nil {
					t.Fatal(err)
				}
				evs, _ := pglog.Parse(strings.NewReader(out))
				got := LoggedConflicts(node, evs)
				found := false
				for _, cc := range got {
					found = found || cc.Kind == pglog.KindUpdateUpdate && cc.Count > 0
				}
				if !found {
					t.Errorf("%s logged no update_update conflict: %+v", node, got)
				}
			}
		})
	}

	// error: the apply workers stop on the conflict and pgchaos reports the
	// stall; nothing converges until the resolver is changed.
	t.Run(lab.ResolverError, func(t *testing.T) {
		if err := l.SetResolver(ctx, lab.ResolverError); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		s.run(t, ctx, 1005, lab.ResolverError)
		if s.settled(ctx, 15*time.Second) {
			t.Fatal("markers crossed although both apply workers should be stopped on the conflict")
		}
		st := l.Status(ctx)
		for _, ns := range st.Nodes {
			var sub *lab.Subscription
			if len(ns.Subscriptions) == 1 {
				sub = ns.Subscriptions[0]
			}
			if sub == nil || sub.LastError == "" || !strings.Contains(sub.LastError, "cannot apply conflicting row") {
				t.Errorf("%s: status does not show the failing subscription: %+v", ns.Name, sub)
			}
		}
		warned := false
		for _, w := range st.Warnings {
			warned = warned || strings.Contains(w, "pg_replication_origin_advance")
		}
		if !warned {
			t.Errorf("no warning names the way past the stall: %q", st.Warnings)
		}
		logs := map[string][]pglog.Event{}
		for _, node := range []string{lab.Primary1, lab.Primary2} {
			n, _ := l.Node(node)
			out, err := l.LogsSince(ctx, n.ID, start)
			if err != nil {
				t.Fatal(err)
			}
			logs[node], _ = pglog.Parse(strings.NewReader(out))
		}
		stalls := DetectStalls(StallInput{Logs: logs, End: time.Now()})
		if len(stalls) != 2 {
			t.Errorf("got %d stalls, want one per node: %+v", len(stalls), stalls)
		}
		// Heal: another resolver restarts the workers and they get past it.
		if err := l.SetResolver(ctx, lab.ResolverApplyRemote); err != nil {
			t.Fatal(err)
		}
		if !s.settled(ctx, time.Minute) {
			t.Fatal("after switching to apply_remote the markers still do not cross")
		}
	})
}

// Native replication under the same steps (subscriptions disabled, the row
// updated on both nodes, enabled): each node applies the other's update,
// the values swap, as pglogical's apply_remote does.
func TestNativeSwapsASplitUpdate(t *testing.T) {
	l := labtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	s := &splitUpdate{p1: dial(t, l, lab.Primary1), p2: dial(t, l, lab.Primary2),
		disable: func(ctx context.Context, c *pgx.Conn, node string) error {
			_, err := c.Exec(ctx, "ALTER SUBSCRIPTION "+pgx.Identifier{lab.SubscriptionOn(node)}.Sanitize()+" DISABLE")
			return err
		},
		enable: func(ctx context.Context, c *pgx.Conn, node string) error {
			_, err := c.Exec(ctx, "ALTER SUBSCRIPTION "+pgx.Identifier{lab.SubscriptionOn(node)}.Sanitize()+" ENABLE")
			return err
		},
	}
	seedRows(t, ctx, s, []int{1001})
	s.run(t, ctx, 1001, "native")
	if !s.settled(ctx, time.Minute) {
		t.Fatalf("markers did not cross within a minute after the heal: %+v", l.Status(ctx).Warnings)
	}
	on1, on2 := s.values(t, ctx)
	if on1 != s.v2 || on2 != s.v1 {
		t.Fatalf("after the heal primary1 has %q, primary2 %q; native replication swaps them: want %q and %q", on1, on2, s.v2, s.v1)
	}
}

// An engine: pglogical lab on an image without pglogical fails before any
// server starts, naming the image and what to do.
func TestPglogicalLabOnAnImageWithoutItSaysWhichAndWhatToDo(t *testing.T) {
	labtest.RequireDocker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cli, err := lab.Docker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	// PostgreSQL 17's image has no pglogical for 18, whichever way it was
	// built: a lab of 18 on it lacks the extension. (The local HAProxy
	// image is no such case: it shares a Debian root filesystem with the
	// PostgreSQL 18 image, pglogical included.)
	imgs, err := lab.ResolveImages(ctx, cli, "17", lab.Images{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := labtest.Config(t, lab.WithPostgres("18"), lab.WithEngine(lab.EnginePglogical, ""), func(c *lab.Config) { c.Images.Postgres = imgs.Postgres })
	t.Cleanup(func() { labtest.Remove(t, cfg.Name) })
	_, err = lab.Up(ctx, cfg)
	if err == nil {
		t.Fatal("lab up succeeded on an image without pglogical")
	}
	for _, want := range []string{imgs.Postgres, "no pglogical for PostgreSQL 18", "make images"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q: %v", want, err)
		}
	}
}

// tutorialSteps runs the tutorial's psql commands on a lab: an insert on
// each primary and one through HAProxy, then every row on both nodes.
func tutorialSteps(t *testing.T, l *lab.Lab) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("psql not found and CI is set")
		}
		t.Skip("psql not installed")
	}
	run := func(port int, sql string) string {
		cmd := exec.Command(psql, "-h", "localhost", "-p", strconv.Itoa(port), "-U", "postgres", "-d", "postgres", "-c", sql)
		cmd.Env = append(os.Environ(), "PGPASSWORD=postgres")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("psql -p %d -c %q: %v\n%s", port, sql, err, out)
		}
		return string(out)
	}
	p1, p2, hp := l.Nodes[0].Port, l.Nodes[1].Port, l.Proxy.Port
	run(p1, "INSERT INTO test_table (name) VALUES ('test1');")
	run(p2, "INSERT INTO test_table (name) VALUES ('test2');")
	run(hp, "INSERT INTO test_table (name) VALUES ('via-loadbalancer');")
	deadline := time.Now().Add(30 * time.Second)
	for {
		a, b := run(p1, "SELECT * FROM test_table;"), run(p2, "SELECT * FROM test_table;")
		if strings.Contains(a, "(3 rows)") && strings.Contains(b, "(3 rows)") {
			for _, name := range []string{"test1", "test2", "via-loadbalancer"} {
				if !strings.Contains(a, name) || !strings.Contains(b, name) {
					t.Fatalf("row %s missing:\nprimary1:\n%s\nprimary2:\n%s", name, a, b)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("SELECTs did not both show 3 rows:\nprimary1:\n%s\nprimary2:\n%s", a, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
