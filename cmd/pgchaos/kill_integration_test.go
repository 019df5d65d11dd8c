package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
)

// killScenario has every fault kind, one after the other, each in its own
// window (the node-wide delay needs netem, which CI's kernel lacks: the
// delay is on the link).
const killScenario = `
name: kill-me
duration: 5m
workloads:
  - kind: insert
    targets: [primary1, primary2]
    rate: 50/s
faults:
  - { kind: partition, at: 2s,  for: 4m, between: [primary1, primary2] }
  - { kind: loss,      at: 2s,  for: 4m, node: primary2, loss: 100% }
  - { kind: delay,     at: 2s,  for: 4m, between: [primary1, primary2], direction: primary1->primary2, delay: 100ms }
  - { kind: failover,  at: 2s,  for: 4m, from: primary1 }
  - { kind: stop,      at: 2s,  for: 4m, node: primary2 }
  - { kind: kill,      at: 2s,  for: 4m, node: primary1 }
  - { kind: pause,     at: 2s,  for: 4m, node: primary1 }
  - { kind: isolate,   at: 2s,  for: 4m, node: primary1 }
  - { kind: restart,   at: 2s,           node: primary2 }
`

// A pgchaos run killed with SIGKILL inside a fault's window leaves the
// fault in force; lab status lists it and says to heal; pgchaos lab heal
// then makes the lab whole: nodes up, subscriptions enabled and replicating
// both ways, both HAProxy backends up, no helper container, rule, qdisc or
// proxy left (a second heal finds nothing), and lab diff works. One lab
// for every kill point; each kill point runs a scenario holding one fault
// kind of killScenario (all at 2s, inside a 4 m window), so reaching it
// costs seconds, not the sum of the windows before it.
func TestSIGKILLMidFaultThenLabHealMakesTheLabWhole(t *testing.T) {
	l := labtest.Start(t)
	bin := buildBinary(t)
	state := t.TempDir()
	env := append(os.Environ(), "XDG_STATE_HOME="+state)
	var lines []string
	for _, line := range strings.Split(killScenario, "\n") {
		if strings.HasPrefix(line, "  - { kind:") {
			lines = append(lines, line)
		}
	}
	head := killScenario[:strings.Index(killScenario, "faults:")+len("faults:\n")]
	for _, fl := range lines {
		kind := strings.Fields(strings.TrimPrefix(fl, "  - { kind:"))[0]
		kind = strings.TrimSuffix(kind, ",")
		t.Run(kind, func(t *testing.T) {
			dir := t.TempDir()
			scen := filepath.Join(dir, "kill.yaml")
			if err := os.WriteFile(scen, []byte(head+fl+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			killMidFault(t, bin, env, scen, l, kind, dir)
			assertStatusListsFault(t, bin, env, l, kind)
			out, err := runBin(bin, env, "lab", "heal", "--name", l.Name)
			if err != nil {
				t.Fatalf("pgchaos lab heal: %v\n%s", err, out)
			}
			t.Logf("lab heal after killing mid-%s:\n%s", kind, out)
			assertWhole(t, bin, env, l, state)
		})
	}
}

func runBin(bin string, env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// killMidFault starts the run and SIGKILLs it a second after it logged the
// fault's inject (the run logs before it writes the ledger), or 300 ms after
// for a restart, whose window is its inject (a graceful stop, a start and
// the wait for the node: seconds).
func killMidFault(t *testing.T, bin string, env []string, scen string, l *lab.Lab, kind, dir string) {
	t.Helper()
	cmd := exec.Command(bin, "run", scen, "--lab", l.Name, "--report-dir", filepath.Join(dir, "out"), "--format", "none")
	cmd.Env = env
	w := startWatched(t, cmd)
	w.until("inject "+kind, 2*time.Minute)
	if kind == "restart" {
		time.Sleep(300 * time.Millisecond)
	} else {
		time.Sleep(time.Second)
	}
	if code := w.signal(os.Kill, time.Minute); code != -1 {
		t.Fatalf("pgchaos run ended with exit %d before the SIGKILL; stderr:\n%s", code, w.log())
	}
}

// assertStatusListsFault checks that lab status (JSON and table) lists the
// killed run's fault as still in force, with the heal command.
func assertStatusListsFault(t *testing.T, bin string, env []string, l *lab.Lab, kind string) {
	t.Helper()
	out, err := runBin(bin, env, "lab", "status", "--name", l.Name, "--format", "json")
	if err != nil {
		t.Fatalf("lab status --format json: %v\n%s", err, out)
	}
	var st lab.Status
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("lab status JSON: %v\n%s", err, out)
	}
	found := false
	for _, f := range st.FaultsInForce {
		found = found || f.Kind == kind && !f.InjectedAt.IsZero()
	}
	if !found {
		t.Fatalf("lab status lists faults in force %+v, want the %s", st.FaultsInForce, kind)
	}
	table, err := runBin(bin, env, "lab", "status", "--name", l.Name)
	if err != nil {
		t.Fatalf("lab status: %v\n%s", err, table)
	}
	if !strings.Contains(table, "FAULT IN FORCE") || !strings.Contains(table, "pgchaos lab heal --name "+l.Name) {
		t.Fatalf("lab status table does not list the %s with the heal command:\n%s", kind, table)
	}
}

// assertWhole checks the lab after the heal.
func assertWhole(t *testing.T, bin string, env []string, l *lab.Lab, state string) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(90 * time.Second)
	for {
		st := l.Status(ctx)
		faults.AddToStatus(&st, l, filepath.Join(state, "pgchaos"))
		up := 0
		for _, b := range st.Proxy.Backends {
			if b.Status == "UP" {
				up++
			}
		}
		enabled := 0
		for _, n := range st.Nodes {
			if n.State == "running" && len(n.Subscriptions) == 1 && n.Subscriptions[0].Enabled && n.Subscriptions[0].WorkerRunning {
				enabled++
			}
		}
		if len(st.Warnings) == 0 && up == 2 && enabled == 2 && len(st.FaultsInForce) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lab not whole after heal: %d backends up, %d subscriptions enabled and running, faults in force %+v, warnings %q",
				up, enabled, st.FaultsInForce, st.Warnings)
		}
		time.Sleep(500 * time.Millisecond)
	}
	// Replicating both ways.
	for _, from := range []string{lab.Primary1, lab.Primary2} {
		name := fmt.Sprintf("after-kill-%d", time.Now().UnixNano())
		if err := exec1(l, from, "INSERT INTO test_table (name) VALUES ($1)", name); err != nil {
			t.Fatalf("write on %s: %v", from, err)
		}
		arrived := false
		for end := time.Now().Add(60 * time.Second); time.Now().Before(end) && !arrived; time.Sleep(50 * time.Millisecond) {
			var n int
			arrived = query1(l, lab.Peer(from), "SELECT count(*) FROM test_table WHERE name = $1", name, &n) == nil && n == 1
		}
		if !arrived {
			t.Fatalf("row written on %s never reached %s after the heal", from, lab.Peer(from))
		}
	}
	// No helper (iptables runner or link proxy) container left.
	hs, err := l.Docker().ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(
		filters.Arg("label", lab.LabelLab+"="+l.Name), filters.Arg("label", lab.LabelRole+"="+lab.RoleHelper))})
	if err != nil || len(hs) != 0 {
		t.Fatalf("helper containers left after lab heal: %d (%v)", len(hs), err)
	}
	// Nothing left to sweep: no iptables chain, nat redirect, qdisc,
	// stopped, paused or disconnected node, nor a server in maint.
	hctx, cancel := faults.HealContext(ctx)
	defer cancel()
	if swept, err := faults.HealLab(hctx, l, filepath.Join(state, "pgchaos")); err != nil || len(swept) != 0 {
		t.Fatalf("after lab heal a second heal still found %q (%v)", swept, err)
	}
	out, err := runBin(bin, env, "lab", "diff", "--name", l.Name, "--format", "json")
	var exitErr *exec.ExitError
	if err != nil && !(errors.As(err, &exitErr) && exitErr.ExitCode() == 1) {
		t.Fatalf("lab diff after heal: %v\n%s", err, out)
	}
	if !json.Valid([]byte(out)) {
		t.Fatalf("lab diff --format json wrote no JSON:\n%s", out)
	}
}

func exec1(l *lab.Lab, target, sql string, args ...any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, l.MustDSN(target))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql, args...)
	return err
}

func query1(l *lab.Lab, target, sql, arg string, dst any) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, l.MustDSN(target))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.QueryRow(ctx, sql, arg).Scan(dst)
}
