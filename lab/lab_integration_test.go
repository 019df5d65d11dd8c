package lab_test

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
)

func conn(t *testing.T, l *lab.Lab, target string) *pgx.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := l.Connect(ctx, target)
	if err != nil {
		t.Fatalf("connect %s: %v", target, err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

// waitRow polls until query returns want on c, or fails the test after 10 s.
func waitCount(t *testing.T, c *pgx.Conn, want int, query string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	var got int
	for time.Now().Before(deadline) {
		if err := c.QueryRow(context.Background(), query, args...).Scan(&got); err != nil {
			t.Fatalf("%s: %v", query, err)
		}
		if got == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("%s: got %d, want %d after 10s", query, got, want)
}

func TestLabReplicatesBothWaysAndServesThroughHAProxy(t *testing.T) {
	l := labtest.Start(t)
	ctx := context.Background()
	p1, p2, hp := conn(t, l, lab.Primary1), conn(t, l, lab.Primary2), conn(t, l, lab.HAProxy)

	var id1, id2 int
	if err := p1.QueryRow(ctx, "INSERT INTO test_table (name) VALUES ('on-primary1') RETURNING id").Scan(&id1); err != nil {
		t.Fatal(err)
	}
	if err := p2.QueryRow(ctx, "INSERT INTO test_table (name) VALUES ('on-primary2') RETURNING id").Scan(&id2); err != nil {
		t.Fatal(err)
	}
	// Interleaved sequences: odd ids on primary1, even on primary2.
	if id1%2 != 1 || id2%2 != 0 {
		t.Errorf("interleaved ids: primary1 gave %d, primary2 gave %d; want odd and even", id1, id2)
	}
	waitCount(t, p2, 1, "SELECT count(*) FROM test_table WHERE name = 'on-primary1'")
	waitCount(t, p1, 1, "SELECT count(*) FROM test_table WHERE name = 'on-primary2'")

	// Round robin: fresh connections through HAProxy reach both nodes, and
	// each says which one it is.
	seen := map[string]int{}
	for i := 0; i < 6; i++ {
		c := conn(t, l, lab.HAProxy)
		var node string
		if err := c.QueryRow(ctx, "INSERT INTO test_table (name) VALUES ('via-lb') RETURNING current_setting('cluster_name')").Scan(&node); err != nil {
			t.Fatal(err)
		}
		seen[node]++
	}
	if seen[lab.Primary1] == 0 || seen[lab.Primary2] == 0 {
		t.Errorf("through haproxy: served by %v, want both primaries", seen)
	}
	waitCount(t, p1, 6, "SELECT count(*) FROM test_table WHERE name = 'via-lb'")
	waitCount(t, p2, 6, "SELECT count(*) FROM test_table WHERE name = 'via-lb'")
	_ = hp

	st := l.Status(ctx)
	if len(st.Warnings) != 0 {
		t.Errorf("healthy lab has warnings: %v", st.Warnings)
	}
	for _, n := range st.Nodes {
		if len(n.Subscriptions) != 1 || !n.Subscriptions[0].Enabled || !n.Subscriptions[0].WorkerRunning {
			t.Errorf("%s subscriptions: %+v, want one, enabled and running", n.Name, n.Subscriptions)
		}
		if !strings.HasPrefix(n.ServerVersion, "18") {
			t.Errorf("%s version %q, want 18.x", n.Name, n.ServerVersion)
		}
	}
	if len(st.Proxy.Backends) != 2 {
		t.Errorf("backends: %+v, want primary1 and primary2", st.Proxy.Backends)
	}
}

// The tutorial's psql commands, verbatim but for the ports.
func TestTutorialPsqlStepsWork(t *testing.T) {
	psql, err := exec.LookPath("psql")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("psql not found and CI is set (.ci/run installs postgresql-client)")
		}
		t.Skip("psql not installed")
	}
	for _, seq := range []string{lab.SeqInterleaved, lab.SeqUUID} {
		t.Run(seq, func(t *testing.T) {
			l := labtest.Start(t, lab.WithSequences(seq))
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
			deadline := time.Now().Add(10 * time.Second)
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
		})
	}
}

// With the tutorial's serial ids both nodes hand out the same ids: a plain
// duplicate key for the client, and a stalled subscription when two inserts
// cross in flight. lab status must say so, with the LSN to skip.
func TestSerialSequencesCollideAndStatusShowsTheStall(t *testing.T) {
	l := labtest.Start(t, lab.WithSequences(lab.SeqSerial))
	ctx := context.Background()
	p1, p2 := conn(t, l, lab.Primary1), conn(t, l, lab.Primary2)

	if _, err := p1.Exec(ctx, "INSERT INTO test_table (name) VALUES ('test1')"); err != nil {
		t.Fatal(err)
	}
	waitCount(t, p2, 1, "SELECT count(*) FROM test_table")
	_, err := p2.Exec(ctx, "INSERT INTO test_table (name) VALUES ('test2')")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" {
		t.Fatalf("second insert on primary2: got %v, want a duplicate key (23505)", err)
	}

	// Cross two inserts in flight: primary2 does not apply primary1's row
	// before writing its own with the same id.
	if _, err := p2.Exec(ctx, "ALTER SUBSCRIPTION "+lab.SubscriptionOn(lab.Primary2)+" DISABLE"); err != nil {
		t.Fatal(err)
	}
	if _, err := p1.Exec(ctx, "INSERT INTO test_table (name) VALUES ('crossed-1')"); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Exec(ctx, "INSERT INTO test_table (name) VALUES ('crossed-2')"); err != nil {
		t.Fatal(err)
	}
	// primary2's row now reaches primary1, whose row with that id exists.
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := l.Status(ctx)
		var sub *lab.Subscription
		if len(st.Nodes[0].Subscriptions) == 1 {
			sub = st.Nodes[0].Subscriptions[0]
		}
		var warning string
		for _, w := range st.Warnings {
			if strings.Contains(w, lab.SubscriptionOn(lab.Primary1)) && strings.Contains(w, "is failing") {
				warning = w
			}
		}
		if sub != nil && sub.ApplyErrors > 0 && sub.SkipLSN != "" && warning != "" {
			if !strings.Contains(sub.LastError, "insert_exists") && !strings.Contains(sub.LastError, "duplicate key") {
				t.Errorf("last error %q: want the conflict named", sub.LastError)
			}
			if !strings.Contains(warning, "SKIP (lsn = '"+sub.SkipLSN+"')") {
				t.Errorf("warning %q does not give the SKIP command with %s", warning, sub.SkipLSN)
			}
			// The LSN is the right one: skipping it unsticks the subscription.
			if _, err := p1.Exec(ctx, "ALTER SUBSCRIPTION "+sub.Name+" SKIP (lsn = '"+sub.SkipLSN+"')"); err != nil {
				t.Fatalf("skip %s: %v", sub.SkipLSN, err)
			}
			if _, err := p2.Exec(ctx, "INSERT INTO test_table (id, name) VALUES (1000, 'after-skip')"); err != nil {
				t.Fatal(err)
			}
			waitCount(t, p1, 1, "SELECT count(*) FROM test_table WHERE name = 'after-skip'")
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no stall reported within 20s: subscription %+v, warnings %v", sub, st.Warnings)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestPostgres17LabReplicatesBothWays(t *testing.T) {
	l := labtest.Start(t, lab.WithPostgres("17"))
	ctx := context.Background()
	p1, p2 := conn(t, l, lab.Primary1), conn(t, l, lab.Primary2)
	var v string
	if err := p1.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil || !strings.HasPrefix(v, "17") {
		t.Fatalf("server_version %q (%v), want 17.x", v, err)
	}
	if _, err := p1.Exec(ctx, "INSERT INTO test_table (name) VALUES ('a')"); err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Exec(ctx, "INSERT INTO test_table (name) VALUES ('b')"); err != nil {
		t.Fatal(err)
	}
	waitCount(t, p1, 2, "SELECT count(*) FROM test_table")
	waitCount(t, p2, 2, "SELECT count(*) FROM test_table")
}

func TestDownRemovesEverythingAndIsSafeTwice(t *testing.T) {
	l := labtest.Start(t)
	ctx := context.Background()
	name := l.Name
	if err := lab.Down(ctx, name); err != nil {
		t.Fatal(err)
	}
	assertNothingLeft(t, name)
	if err := lab.Down(ctx, name); err != nil {
		t.Fatalf("second down: %v", err)
	}
	if _, err := lab.Open(ctx, name); !errors.Is(err, lab.ErrNotFound) {
		t.Fatalf("open after down: %v, want ErrNotFound", err)
	}
}

func assertNothingLeft(t *testing.T, name string) {
	t.Helper()
	ctx := context.Background()
	cli, err := lab.Docker(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	f := lab.LabelFilter(name)
	cs, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: f})
	ns, _ := cli.NetworkList(ctx, network.ListOptions{Filters: f})
	vs, _ := cli.VolumeList(ctx, volume.ListOptions{Filters: f})
	if len(cs)+len(ns)+len(vs.Volumes) != 0 {
		t.Fatalf("lab %s left %d containers, %d networks, %d volumes", name, len(cs), len(ns), len(vs.Volumes))
	}
}

func TestUpRefusesABusyPortAndLeavesNothing(t *testing.T) {
	labtest.RequireDocker(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().(*net.TCPAddr).Port
	cfg := labtest.Config(t)
	cfg.Ports.Primary2 = busy
	_, err = lab.Up(context.Background(), cfg)
	if err == nil {
		labtest.Remove(t, cfg.Name)
		t.Fatal("up on a busy port succeeded")
	}
	if exitcode.Of(err) != exitcode.Infra || !strings.Contains(err.Error(), strconv.Itoa(busy)) || !strings.Contains(err.Error(), "--port-primary2") {
		t.Errorf("error %q (exit %d): want exit 3 naming port %d and --port-primary2", err, exitcode.Of(err), busy)
	}
	assertNothingLeft(t, cfg.Name)
}

func TestUpRefusesALabNameAlreadyUp(t *testing.T) {
	l := labtest.Start(t)
	cfg := labtest.Config(t)
	cfg.Name = l.Name
	_, err := lab.Up(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "already exists") || exitcode.Of(err) != exitcode.Infra {
		t.Fatalf("second up with name %s: %v, want 'already exists' and exit 3", l.Name, err)
	}
	// The first lab is untouched.
	if st := l.Status(context.Background()); len(st.Warnings) != 0 {
		t.Fatalf("first lab damaged: %v", st.Warnings)
	}
}
