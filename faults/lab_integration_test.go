package faults_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
)

// arrival bounds how long a row may take to replicate in a healthy (or just
// healed) lab before a test calls replication broken. Not a speed goal:
// the benchmark measures speed.
const arrival = 60 * time.Second

// absence is how long a test watches for a row that must NOT arrive while a
// fault holds; healthy replication delivers in milliseconds.
const absence = 2 * time.Second

func ctxT(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func uniq() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// query runs one statement on a target over a fresh connection, as a client
// would, within timeout.
func query(l *lab.Lab, target string, timeout time.Duration, sql string, args ...any) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, l.MustDSN(target))
	if err != nil {
		return "", err
	}
	defer conn.Close(context.Background())
	var s string
	err = conn.QueryRow(ctx, sql, args...).Scan(&s)
	return s, err
}

// write inserts a row named name on target through its host port.
func write(t testing.TB, l *lab.Lab, target, name string) {
	t.Helper()
	if _, err := query(l, target, 10*time.Second, "INSERT INTO test_table (name) VALUES ($1) RETURNING name", name); err != nil {
		t.Fatalf("write %s on %s: %v", name, target, err)
	}
}

func has(l *lab.Lab, target, name string) bool {
	n, err := query(l, target, 5*time.Second, "SELECT count(*)::text FROM test_table WHERE name = $1", name)
	return err == nil && n == "1"
}

// waitRow polls target until the row is there or within is over.
func waitRow(l *lab.Lab, target, name string, within time.Duration) bool {
	deadline := time.Now().Add(within)
	for {
		if has(l, target, name) {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func mustArrive(t testing.TB, l *lab.Lab, target, name string) {
	t.Helper()
	if !waitRow(l, target, name, arrival) {
		t.Fatalf("row %s never reached %s within %s", name, target, arrival)
	}
}

func mustNotArrive(t testing.TB, l *lab.Lab, target, name string) {
	t.Helper()
	if waitRow(l, target, name, absence) {
		t.Fatalf("row %s reached %s although the fault should stop it", name, target)
	}
}

// replicating proves both directions with a fresh row each way.
func replicating(t testing.TB, l *lab.Lab) {
	t.Helper()
	a, b := "r1-"+uniq(), "r2-"+uniq()
	write(t, l, lab.Primary1, a)
	write(t, l, lab.Primary2, b)
	mustArrive(t, l, lab.Primary2, a)
	mustArrive(t, l, lab.Primary1, b)
}

// restore heals whatever a failed subtest left and proves the lab healthy,
// so the next subtest starts clean.
func restore(t testing.TB, l *lab.Lab) {
	t.Helper()
	ctx := ctxT(t, 2*time.Minute)
	if healed, err := faults.HealLab(ctx, l, t.TempDir()); err != nil {
		t.Fatalf("heal lab: %v (healed %v)", err, healed)
	}
	waitBackendsUp(t, l)
	replicating(t, l)
}

func waitBackendsUp(t testing.TB, l *lab.Lab) {
	t.Helper()
	deadline := time.Now().Add(arrival)
	for {
		bs, err := l.Backends(ctxT(t, 10*time.Second))
		up := 0
		for _, b := range bs {
			if b.Status == "UP" {
				up++
			}
		}
		if err == nil && up == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy backends not both UP: %+v %v", bs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// servedBy opens n fresh connections through HAProxy and counts the nodes
// that answered.
func servedBy(t testing.TB, l *lab.Lab, n int) map[string]int {
	t.Helper()
	seen := map[string]int{}
	for range n {
		node, err := query(l, lab.HAProxy, 10*time.Second, "SELECT current_setting('cluster_name')")
		if err != nil {
			t.Fatalf("query through haproxy: %v", err)
		}
		seen[node]++
	}
	return seen
}

func mustNew(t testing.TB, l *lab.Lab, spec scenario.Fault) faults.Fault {
	t.Helper()
	f, err := faults.New(l, spec)
	if err != nil {
		t.Fatalf("new %+v: %v", spec, err)
	}
	return f
}

func inject(t testing.TB, f faults.Fault) {
	t.Helper()
	if err := f.Inject(ctxT(t, 2*time.Minute)); err != nil {
		t.Fatalf("inject: %v", err)
	}
}

// heal heals f twice: the second heal proves heal is idempotent.
func heal(t testing.TB, f faults.Fault) {
	t.Helper()
	for i := range 2 {
		ctx, cancel := faults.HealContext(context.Background())
		err := f.Heal(ctx)
		cancel()
		if err != nil {
			t.Fatalf("heal #%d of %s: %v", i+1, f, err)
		}
	}
}

// linkBoth is the replication link both ways.
var linkBoth = []string{lab.Primary1, lab.Primary2}

// TestFaults runs every fault kind against one real lab (two cores: one
// lab for all), restoring health between subtests.
func TestFaults(t *testing.T) {
	l := labtest.Start(t)

	t.Run("stop refuses connections and heal resumes replication", func(t *testing.T) {
		defer restore(t, l)
		stopOrKill(t, l, scenario.FaultStop)
	})
	t.Run("kill crashes the node and heal resumes replication", func(t *testing.T) {
		defer restore(t, l)
		stopOrKill(t, l, scenario.FaultKill)
	})
	t.Run("restart leaves a replicating node", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultRestart, Node: lab.Primary1})
		// A backend PID changes across a restart: proof it happened.
		before, _ := query(l, lab.Primary1, 5*time.Second, "SELECT pg_postmaster_start_time()::text")
		inject(t, f)
		after, err := query(l, lab.Primary1, 5*time.Second, "SELECT pg_postmaster_start_time()::text")
		if err != nil || after == before {
			t.Fatalf("postmaster start time %q -> %q (%v): the node did not restart", before, after, err)
		}
		heal(t, f)
		replicating(t, l)
	})
	t.Run("pause freezes queries and heal answers again", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultPause, Node: lab.Primary1})
		inject(t, f)
		_, err := query(l, lab.Primary1, time.Second, "SELECT 'answered'")
		if !errors.Is(err, context.DeadlineExceeded) && (err == nil || !strings.Contains(err.Error(), "timeout")) {
			t.Fatalf("a query to the paused node returned %v, want a timeout", err)
		}
		heal(t, f)
		if s, err := query(l, lab.Primary1, 5*time.Second, "SELECT 'answered'"); err != nil || s != "answered" {
			t.Fatalf("after heal: %q, %v", s, err)
		}
	})
	t.Run("isolate cuts the node off clients and haproxy", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultIsolate, Node: lab.Primary1})
		inject(t, f)
		if _, err := query(l, lab.Primary1, 3*time.Second, "SELECT 'reached'"); err == nil {
			t.Fatal("the isolated node answered on its host port")
		}
		waitBackend(t, l, lab.Primary1, "DOWN")
		if seen := servedBy(t, l, 10); seen[lab.Primary2] != 10 {
			t.Fatalf("through haproxy while primary1 is isolated: %v, want all 10 on primary2", seen)
		}
		row := "iso-" + uniq()
		write(t, l, lab.Primary2, row)
		heal(t, f)
		mustArrive(t, l, lab.Primary1, row)
		waitBackend(t, l, lab.Primary1, "UP")
	})
	t.Run("partition both ways: both accept writes, nothing flows, heal delivers", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultPartition, Between: linkBoth})
		if f.String() != "partition primary1<->primary2" {
			t.Errorf("String() = %q", f.String())
		}
		inject(t, f)
		a, b := "p1-"+uniq(), "p2-"+uniq()
		write(t, l, lab.Primary1, a)
		write(t, l, lab.Primary2, b)
		mustNotArrive(t, l, lab.Primary2, a)
		mustNotArrive(t, l, lab.Primary1, b)
		if seen := servedBy(t, l, 4); seen[lab.Primary1] == 0 || seen[lab.Primary2] == 0 {
			t.Fatalf("haproxy must keep serving both nodes during a partition: %v", seen)
		}
		heal(t, f)
		mustArrive(t, l, lab.Primary2, a)
		mustArrive(t, l, lab.Primary1, b)
	})
	t.Run("partition one way primary1->primary2", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultPartition, Between: linkBoth, Direction: scenario.DirOneToTwo})
		inject(t, f)
		a := "p1-" + uniq()
		write(t, l, lab.Primary1, a)
		mustNotArrive(t, l, lab.Primary2, a)
		heal(t, f)
		mustArrive(t, l, lab.Primary2, a)
	})
	t.Run("loss 100% on the link behaves like a partition", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultLoss, Between: linkBoth, Loss: 100})
		inject(t, f)
		a, b := "l1-"+uniq(), "l2-"+uniq()
		write(t, l, lab.Primary1, a)
		write(t, l, lab.Primary2, b)
		mustNotArrive(t, l, lab.Primary2, a)
		mustNotArrive(t, l, lab.Primary1, b)
		heal(t, f)
		mustArrive(t, l, lab.Primary2, a)
		mustArrive(t, l, lab.Primary1, b)
	})
	t.Run("loss 100% node-wide cuts the host port too", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultLoss, Node: lab.Primary2, Loss: 100})
		inject(t, f)
		if _, err := query(l, lab.Primary2, 2*time.Second, "SELECT 'reached'"); err == nil {
			t.Fatal("primary2 answered through its host port with 100% loss on its interface")
		}
		heal(t, f)
		if _, err := query(l, lab.Primary2, 5*time.Second, "SELECT 'reached'"); err != nil {
			t.Fatalf("after heal: %v", err)
		}
	})
	t.Run("delay on the link primary1->primary2", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultDelay, Between: linkBoth, Direction: scenario.DirOneToTwo, Delay: 200 * time.Millisecond})
		err := f.Inject(ctxT(t, time.Minute))
		if errors.Is(err, faults.ErrNoNetem) {
			heal(t, f)
			t.Skipf("delay cannot be proven on this Docker host: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		slow := applyLag(t, l, lab.Primary1)
		fast := applyLag(t, l, lab.Primary2)
		heal(t, f)
		// Effect, not speed: the delayed direction carries the delay.
		if slow < 200*time.Millisecond || fast >= 200*time.Millisecond {
			t.Fatalf("apply lag primary1->primary2 %s (want >= 200ms), primary2->primary1 %s (want < 200ms)", slow, fast)
		}
	})
	t.Run("failover sends every new connection to primary2, failback restores both", func(t *testing.T) {
		defer restore(t, l)
		f := mustNew(t, l, scenario.Fault{Kind: scenario.FaultFailover, From: lab.Primary1})
		inject(t, f)
		if seen := servedBy(t, l, 20); seen[lab.Primary2] != 20 {
			t.Fatalf("after failover: %v, want all 20 on primary2", seen)
		}
		heal(t, f)
		waitBackend(t, l, lab.Primary1, "UP")
		if seen := servedBy(t, l, 20); seen[lab.Primary1] == 0 || seen[lab.Primary2] == 0 {
			t.Fatalf("after failback: %v, want both nodes", seen)
		}
	})
	t.Run("HealLab sweeps faults no ledger knows of", func(t *testing.T) {
		defer restore(t, l)
		for _, spec := range []scenario.Fault{
			{Kind: scenario.FaultPartition, Between: linkBoth},
			{Kind: scenario.FaultFailover, From: lab.Primary2},
			{Kind: scenario.FaultPause, Node: lab.Primary2},
		} {
			inject(t, mustNew(t, l, spec))
		}
		healed, err := faults.HealLab(ctxT(t, 2*time.Minute), l, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"unpaused primary2", "removed iptables chain PGCHAOS on primary1", "removed iptables chain PGCHAOS on primary2", "haproxy pg/primary2 ready (was MAINT)"} {
			if !slices.Contains(healed, want) {
				t.Errorf("HealLab healed %q, missing %q", healed, want)
			}
		}
		replicating(t, l)
		again, err := faults.HealLab(ctxT(t, 2*time.Minute), l, t.TempDir())
		if err != nil || len(again) != 0 {
			t.Errorf("HealLab on a healthy lab healed %v (%v), want nothing", again, err)
		}
	})
	t.Run("HealLab heals a ledger left by a killed pgchaos", func(t *testing.T) {
		defer restore(t, l)
		dir := t.TempDir()
		g, err := faults.OpenLedger(l, faults.WithStateDir(dir))
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Inject(ctxT(t, time.Minute), mustNew(t, l, scenario.Fault{Kind: scenario.FaultPartition, Between: linkBoth})); err != nil {
			t.Fatal(err)
		}
		a := "c1-" + uniq()
		write(t, l, lab.Primary1, a)
		mustNotArrive(t, l, lab.Primary2, a)
		g = nil // the process "dies": only the file remains
		healed, err := faults.HealLab(ctxT(t, 2*time.Minute), l, dir)
		if err != nil {
			t.Fatal(err)
		}
		if len(healed) == 0 || healed[0] != "partition primary1<->primary2 (ledger)" {
			t.Fatalf("HealLab healed %q, want the ledger's partition first", healed)
		}
		for _, h := range healed[1:] {
			if strings.Contains(h, "PGCHAOS") {
				t.Errorf("the ledger heal left rules for the sweep: %q", h)
			}
		}
		mustArrive(t, l, lab.Primary2, a)
		if g2, _ := faults.OpenLedger(l, faults.WithStateDir(dir)); len(g2.Unhealed()) != 0 {
			t.Errorf("ledger still holds %+v", g2.Unhealed())
		}
	})
	// Three rounds in every run; the 100-round loop through the ledger is
	// loop_integration_test.go's, outside the default path (PGCHAOS_LONG=1).
	t.Run("inject and heal every kind a few times leaks nothing", func(t *testing.T) {
		defer restore(t, l)
		loop(t, l, 3)
	})
}

func stopOrKill(t *testing.T, l *lab.Lab, kind string) {
	f := mustNew(t, l, scenario.Fault{Kind: kind, Node: lab.Primary1})
	inject(t, f)
	if _, err := query(l, lab.Primary1, 3*time.Second, "SELECT 'reached'"); err == nil {
		t.Fatalf("primary1 answered after %s", kind)
	}
	row := kind + "-" + uniq()
	write(t, l, lab.Primary2, row)
	heal(t, f)
	mustArrive(t, l, lab.Primary1, row)
	replicating(t, l)
}

func waitBackend(t testing.TB, l *lab.Lab, server, status string) {
	t.Helper()
	deadline := time.Now().Add(arrival)
	for {
		bs, err := l.Backends(ctxT(t, 10*time.Second))
		for _, b := range bs {
			if b.Server == server && strings.HasPrefix(b.Status, status) {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy never reported %s %s: %+v %v", server, status, bs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// applyLag writes a heartbeat on from and returns applied_at - sent_at on
// the peer, both stamped by the servers' shared clock.
func applyLag(t testing.TB, l *lab.Lab, from string) time.Duration {
	t.Helper()
	seq := time.Now().UnixNano()
	if _, err := query(l, from, 10*time.Second, "INSERT INTO pgchaos_heartbeat (origin, seq) VALUES ($1, $2) RETURNING origin", from, seq); err != nil {
		t.Fatal(err)
	}
	to := lab.Peer(from)
	deadline := time.Now().Add(arrival)
	for {
		ms, err := query(l, to, 5*time.Second,
			"SELECT (extract(epoch FROM applied_at - sent_at) * 1000)::text FROM pgchaos_heartbeat WHERE origin = $1 AND seq = $2", from, seq)
		if err == nil {
			var f float64
			fmt.Sscan(ms, &f)
			return time.Duration(f * float64(time.Millisecond))
		}
		if !errors.Is(err, pgx.ErrNoRows) || time.Now().After(deadline) {
			t.Fatalf("heartbeat %s->%s: %v", from, to, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// loopSpecs is one fault of every kind.
func loopSpecs() []scenario.Fault {
	return []scenario.Fault{
		{Kind: scenario.FaultStop, Node: lab.Primary1},
		{Kind: scenario.FaultKill, Node: lab.Primary2},
		{Kind: scenario.FaultRestart, Node: lab.Primary1},
		{Kind: scenario.FaultPause, Node: lab.Primary2},
		{Kind: scenario.FaultIsolate, Node: lab.Primary1},
		{Kind: scenario.FaultPartition, Between: linkBoth},
		{Kind: scenario.FaultPartition, Between: linkBoth, Direction: scenario.DirTwoToOne},
		{Kind: scenario.FaultDelay, Between: linkBoth, Delay: 50 * time.Millisecond, Jitter: 5 * time.Millisecond},
		{Kind: scenario.FaultDelay, Node: lab.Primary2, Delay: 50 * time.Millisecond},
		{Kind: scenario.FaultLoss, Between: linkBoth, Loss: 30},
		{Kind: scenario.FaultLoss, Node: lab.Primary1, Loss: 100},
		{Kind: scenario.FaultFailover, From: lab.Primary1},
	}
}

// loop injects and heals every kind n times, then checks that no helper
// container or extra network is left and the lab replicates.
func loop(t *testing.T, l *lab.Lab, n int) {
	noNetem := false
	for _, spec := range loopSpecs() {
		f := mustNew(t, l, spec)
		for i := range n {
			err := f.Inject(ctxT(t, 2*time.Minute))
			if errors.Is(err, faults.ErrNoNetem) {
				noNetem = true
				heal(t, f)
				break
			}
			if err != nil {
				t.Fatalf("%s round %d: inject: %v", f, i+1, err)
			}
			heal(t, f)
		}
	}
	if noNetem {
		t.Logf("delay faults skipped: this Docker host's kernel has no netem")
	}
	ctx := ctxT(t, time.Minute)
	cli := l.Docker()
	hs, err := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", lab.LabelLab+"="+l.Name), filters.Arg("label", lab.LabelRole+"="+lab.RoleHelper))})
	if err != nil || len(hs) != 0 {
		t.Errorf("helper containers left: %d (%v)", len(hs), err)
	}
	ns, err := cli.NetworkList(ctx, network.ListOptions{Filters: filters.NewArgs(filters.Arg("label", lab.LabelLab+"="+l.Name))})
	if err != nil || len(ns) != 1 {
		t.Errorf("lab networks: %d (%v), want 1", len(ns), err)
	}
	// Healthy without any sweep: the heals alone restored it.
	waitBackendsUp(t, l)
	replicating(t, l)
	for _, node := range l.Nodes {
		ci, err := cli.ContainerInspect(ctx, node.ID)
		if err != nil || !ci.State.Running || ci.State.Paused {
			t.Errorf("%s after the loop: %+v %v", node.Name, ci.State, err)
		}
	}
}
