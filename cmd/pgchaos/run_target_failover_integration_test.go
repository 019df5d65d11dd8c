package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/runner"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/target"
	"github.com/pgchaos/pgchaos/workload"
)

// A failover and an isolate on the tutorial's compose setup, brought up
// without pgchaos, as a user's target: nodes east and west, HAProxy
// servers primary1 and primary2 (matched to the nodes by the containers'
// addresses, which preflight prints), the runtime API reached on the
// HAProxy container's address (compose does not publish it). During the
// failover of east every op through haproxy is served by west (by
// served_by, the servers' cluster_name); after the failback and a
// kill-sessions on west that makes the sessions reconnect, east serves
// again; the report's failover cost has measured figures. The isolate
// cuts east off: west's heartbeats wait for the heal, rows west wrote
// meanwhile reach east, and east's endpoint on its network has exactly its
// aliases again. Ctrl-C during a failover and an isolate heals both (exit
// 130). Finally a failover and an isolate left in the target's ledger (a
// pgchaos that died) are healed by pgchaos target heal from what the
// ledger recorded: the server is ready, the aliases are back.
func TestRunFailoverAndIsolateOnTheTutorialComposeSetup(t *testing.T) {
	run, free := tutorialCompose(t, "pgchaosfailover")
	inspect := func(format, c string) string {
		return strings.TrimSpace(run("docker", "inspect", "-f", format, c))
	}
	adminIP := inspect("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", "haproxy-primary-primary")
	network := inspect("{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}", "postgres-primary1")
	endpoint := func() string {
		var eps map[string]struct {
			Aliases    []string
			IPAMConfig any
			Links      []string
		}
		if err := json.Unmarshal([]byte(inspect("{{json .NetworkSettings.Networks}}", "postgres-primary1")), &eps); err != nil {
			t.Fatal(err)
		}
		ep, ok := eps[network]
		if !ok || len(eps) != 1 {
			return fmt.Sprintf("networks %v", eps)
		}
		slices.Sort(ep.Aliases)
		return fmt.Sprintf("%s aliases %v ipam %v links %v", network, ep.Aliases, ep.IPAMConfig, ep.Links)
	}
	before := endpoint()
	t.Logf("east's endpoint before: %s; HAProxy admin at %s:9999", before, adminIP)

	work := t.TempDir()
	t.Setenv("XDG_STATE_HOME", filepath.Join(work, "state")) // the target's ledger
	write := writeIn(t, work)
	targetFile := write("cluster.yaml", fmt.Sprintf(`nodes:
  - name: east
    dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
    container: postgres-primary1
  - name: west
    dsn: "postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable"
    container: postgres-primary2
haproxy: { address: "127.0.0.1:%d", admin: "%s:9999" }
setup: allow
`, free.Primary1, free.Primary2, free.HAProxy, adminIP))
	t.Setenv("PGPASSWORD", "postgres")
	write("add.sql", "INSERT INTO test_table (name) VALUES ('added ' || clock_timestamp());\n")
	scenarioFile := write("failover.yaml", `name: failover-isolate
duration: 40s
seed: 11
workloads:
  - kind: sql
    name: mine
    script: add.sql
    targets: [east, west, haproxy]
    concurrency: 3
    rate: 60/s
faults:
  - {at: 4s, kind: failover, from: east, for: 8s}
  - {at: 14s, kind: kill-sessions, node: west}
  - {at: 22s, kind: isolate, node: east, for: 8s}
`)

	// Preflight prints the servers it will use.
	var stdout, stderr bytes.Buffer
	if code := runMain([]string{"target", "check", targetFile}, &stdout, &stderr); code != exitcode.OK {
		t.Fatalf("target check exited %d: %s%s", code, &stdout, &stderr)
	}
	t.Logf("target check:\n%s", &stdout)
	for _, want := range []string{"east = pg/primary1 (by address", "west = pg/primary2 (by address"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("target check does not say %q", want)
		}
	}

	reportDir := filepath.Join(work, "report")
	stdout.Reset()
	stderr.Reset()
	code := runMain([]string{"run", scenarioFile, "--target", targetFile, "--format", "json", "--report-dir", reportDir}, &stdout, &stderr)
	raw, _ := os.ReadFile(filepath.Join(reportDir, "report.json"))
	var rep reports.Report
	if err := json.Unmarshal(raw, &rep); err != nil || code != exitcode.OK {
		t.Fatalf("run --target exited %d (%v)\nstderr:\n%s", code, err, &stderr)
	}
	if !strings.Contains(stderr.String(), "HAProxy servers for failover: east = pg/primary1") {
		t.Errorf("the run does not print the server mapping:\n%s", &stderr)
	}
	if len(rep.Faults) != 3 {
		t.Fatalf("faults %+v: want the failover, the kill-sessions and the isolate", rep.Faults)
	}
	for _, f := range rep.Faults {
		t.Logf("fault %s %s: injected %v, healed %v, effects %q", f.Kind, f.Target, f.Injected.D(), f.Healed, f.Effects)
		if f.HealError != "" || slices.ContainsFunc(f.Effects, func(e string) bool { return strings.HasPrefix(e, "inject failed") }) {
			t.Errorf("fault %+v: want injected and healed", f)
		}
	}
	fo, iso := rep.Faults[0], rep.Faults[2]
	if fo.Kind != scenario.FaultFailover || iso.Kind != scenario.FaultIsolate || fo.Healed == nil || iso.Healed == nil {
		t.Fatalf("faults %+v", rep.Faults)
	}

	// The history: second 0 is when the workers started, the first op's
	// start (milliseconds after it).
	var ops []workload.Op
	if err := workload.ReadHistory(filepath.Join(reportDir, "history.jsonl"), func(op workload.Op) error {
		ops = append(ops, op)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	t0 := ops[0].Start
	for _, op := range ops {
		if op.Start.Before(t0) {
			t0 = op.Start
		}
	}
	at := func(d reports.Duration) time.Time { return t0.Add(d.D()) }
	// Ops through haproxy that started after the failover and ended half
	// a second before its heal began, and those after the kill-sessions.
	during, after := map[string]int{}, map[string]int{}
	for _, op := range ops {
		if op.Target != lab.HAProxy || op.Outcome != workload.OK {
			continue
		}
		switch {
		case op.Start.After(at(fo.Injected)) && op.End.Before(at(*fo.Healed).Add(-500*time.Millisecond)):
			during[op.ServedBy]++
		case op.Start.After(at(rep.Faults[1].Injected)) && op.End.Before(at(iso.Injected)):
			after[op.ServedBy]++
		}
	}
	t.Logf("ops through haproxy served by: during the failover %v, after failback and kill-sessions %v", during, after)
	if during["primary2"] == 0 || len(during) != 1 {
		t.Errorf("during the failover of east, ops through haproxy were served by %v: want west (primary2) only", during)
	}
	if after["primary1"] == 0 {
		t.Errorf("after the failback, ops through haproxy were served by %v: want east (primary1) among them", after)
	}
	if len(rep.Failovers) != 1 {
		t.Fatalf("failovers %+v: want one", rep.Failovers)
	}
	f := rep.Failovers[0]
	t.Logf("failover cost: %+v (unknown %v)", f, f.Unknown)
	if f.From != "east" || f.To != "west" || f.LastOKBefore == nil || f.Unknown["old_primary_writes"] != "" {
		t.Errorf("failover %+v: want east -> west, measured", f)
	}
	if f.Unknown["stranded_writes"] == "" {
		t.Errorf("failover %+v: stranded writes need an insert workload: want unknown with why", f)
	}
	if f.FirstOKAfter != nil && f.FirstOKAfter.D() < f.LastOKBefore.D() {
		t.Errorf("failover: first ok after %v before last ok before %v", f.FirstOKAfter.D(), f.LastOKBefore.D())
	}

	// The isolate: west's heartbeats waited for east to come back.
	if rep.Lag == nil {
		t.Fatalf("no lag; warnings %q", rep.Warnings)
	}
	for _, d := range rep.Lag.Directions {
		for _, w := range d.Windows {
			t.Logf("lag %s->%s in fault %d: max %v (p50 overall %v)", d.From, d.To, w.Fault, w.Max.D(), d.P50.D())
		}
		if d.From == "west" && d.To == "east" {
			var max time.Duration
			for _, w := range d.Windows {
				if w.Fault == 2 {
					max = w.Max.D()
				}
			}
			if max < 2*time.Second || max <= d.P50.D() {
				t.Errorf("lag west->east during the isolate of east: max %v, want the heartbeats held back (over 2 s, above the median %v)", max, d.P50.D())
			}
		}
	}
	// Rows west wrote while east was cut off reached east.
	psql := func(c, sql string) string {
		return strings.TrimSpace(run("docker", "exec", c, "psql", "-U", "postgres", "-d", "postgres", "-tAc", sql))
	}
	from, to := at(iso.Injected).Add(time.Second).UTC().Format(time.RFC3339Nano), at(*iso.Healed).Add(-time.Second).UTC().Format(time.RFC3339Nano)
	q := fmt.Sprintf("SELECT count(*) FROM test_table WHERE name LIKE 'added %%' AND substr(name, 7)::timestamptz BETWEEN '%s' AND '%s'", from, to)
	onWest, onEast := psql("postgres-primary2", q), psql("postgres-primary1", q)
	t.Logf("rows written during the isolate: %s on west, %s on east", onWest, onEast)
	if onWest == "0" || onWest != onEast {
		t.Errorf("rows written during the isolate: %s on west, %s on east: want some, all replicated", onWest, onEast)
	}
	if got := endpoint(); got != before {
		t.Errorf("east's endpoint after the heal: %s, want %s", got, before)
	}
	if rep.Divergence == nil || !rep.Divergence.Converged {
		t.Errorf("divergence %+v: want converged", rep.Divergence)
	}

	// Ctrl-C during a failover and an isolate: both healed, exit 130.
	bin := buildBinary(t)
	interrupt := write("interrupt.yaml", `name: interrupt-me
duration: 2m
workloads:
  - {kind: sql, script: add.sql, targets: [west], rate: 20/s}
faults:
  - {at: 1s, kind: failover, from: east, for: 100s}
  - {at: 1s, kind: isolate, node: east, for: 100s}
`)
	cmd := exec.Command(bin, "run", interrupt, "--target", targetFile, "--report-dir", filepath.Join(work, "r-int"), "--format", "none")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(work, "state"), "PGPASSWORD=postgres")
	w := startWatched(t, cmd)
	w.until("inject isolate east", 90*time.Second)
	time.Sleep(time.Second) // mid-fault
	if code := w.signal(syscall.SIGINT, 2*time.Minute); code != exitcode.Interrupted {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitcode.Interrupted, w.log())
	}
	if got := endpoint(); got != before {
		t.Errorf("east's endpoint after Ctrl-C: %s, want %s", got, before)
	}

	// Faults left by a pgchaos that died: a failover and an isolate
	// injected through the target's ledger, then healed by another
	// process's pgchaos target heal from what the ledger recorded.
	ctx := context.Background()
	tg, err := target.Load(targetFile)
	if err != nil {
		t.Fatal(err)
	}
	l, _, err := runner.TargetLab(ctx, tg)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	g, err := faults.OpenLedger(l)
	if err != nil {
		t.Fatal(err)
	}
	state := func() string {
		bs, err := l.Backends(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range bs {
			if b.Server == "primary1" {
				return b.Status
			}
		}
		return "no primary1 in " + fmt.Sprint(bs)
	}
	stateBefore := state()
	if left := g.Unhealed(); len(left) > 0 {
		t.Errorf("the ledger after Ctrl-C holds %+v, want nothing unhealed", left)
	}
	for _, spec := range []scenario.Fault{{Kind: scenario.FaultFailover, From: "east"}, {Kind: scenario.FaultIsolate, Node: "east"}} {
		f, err := faults.New(l, spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := g.Inject(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if st := stateBefore; strings.HasPrefix(st, "MAINT") {
		t.Errorf("pg/primary1 after Ctrl-C: %s, want out of MAINT", st)
	}
	if got, st := endpoint(), state(); !strings.HasPrefix(got, "networks map[]") || !strings.HasPrefix(st, "MAINT") {
		t.Errorf("after failover and isolate: east on %s, pg/primary1 %s; want no network, MAINT", got, st)
	}
	stdout.Reset()
	stderr.Reset()
	if code := runMain([]string{"target", "heal", targetFile}, &stdout, &stderr); code != exitcode.OK {
		t.Fatalf("target heal exited %d: %s%s", code, &stdout, &stderr)
	}
	t.Logf("target heal:\n%s%s", &stdout, &stderr)
	for _, want := range []string{"healed: failover haproxy/east", "healed: isolate east"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("target heal does not say %q", want)
		}
	}
	if got, st := endpoint(), state(); got != before || strings.HasPrefix(st, "MAINT") {
		t.Errorf("after target heal: east's endpoint %s (want %s), pg/primary1 %s (want out of MAINT)", got, before, st)
	}
	stdout.Reset()
	if code := runMain([]string{"target", "heal", targetFile}, &stdout, &stderr); code != exitcode.OK || !strings.Contains(stdout.String(), "nothing to heal") {
		t.Errorf("a second target heal: exit %d, %q; want nothing to heal", code, &stdout)
	}
}
