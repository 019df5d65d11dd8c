package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
)

// hotPartition writes a scenario whose hot counters are updated on both
// primaries while the link between them is cut until the end of the
// workloads: each side's increments reach the other only after the heal.
// Its ports are free ones, so it never collides with a lab on the
// defaults; the variants run one after another on them.
func hotPartition(t *testing.T, dir, duration string, extra string) string {
	t.Helper()
	p := lab.FreePorts(lab.Ports{})
	scen := filepath.Join(dir, "hot.yaml")
	body := fmt.Sprintf(`name: hot-partition
lab:
  ports: {primary1: %d, primary2: %d, haproxy: %d, stats: %d}
duration: %s
seed: 5
workloads:
  - kind: update-hot
    targets: [primary1, primary2]
    rows: 3
    rate: 50/s
faults:
  - at: 2s
    kind: partition
    between: [primary1, primary2]
%s`, p.Primary1, p.Primary2, p.HAProxy, p.Stats, duration, extra)
	if err := os.WriteFile(scen, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return scen
}

// Native replication and pglogical's last_update_wins, same scenario and
// seed: after a partition under hot counters native swaps the rows'
// values (the nodes diverge), last_update_wins converges on the later
// commit; both lose increments. The comparison says so, and its exit code
// is native's failed divergent_rows assertion.
func TestCompareNativeAgainstLastUpdateWins(t *testing.T) {
	labtest.RequireDocker(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	scen := hotPartition(t, dir, "10s", "assert:\n  divergent_rows: 0\n")
	out := filepath.Join(dir, "out")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "compare", scen, "--variants", "native,pglogical:last_update_wins", "--report-dir", out, "--format", "json")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir())
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitcode.Failed {
		t.Fatalf("exit: %v, want %d (native fails divergent_rows); stderr:\n%s", err, exitcode.Failed, stderr.String())
	}
	t.Logf("stderr:\n%s", stderr.String())

	var c reports.Comparison
	if err := json.Unmarshal([]byte(stdout.String()), &c); err != nil {
		t.Fatalf("stdout is not the comparison JSON: %v\n%s", err, stdout.String())
	}
	onDisk, err := os.ReadFile(filepath.Join(out, "compare.json"))
	if err != nil || string(onDisk) != stdout.String() {
		t.Fatalf("compare.json (%v) differs from stdout", err)
	}
	if c.Schema != reports.CompareSchema || c.Verdict != reports.VerdictFail || c.Scenario.Seed != 5 || len(c.Variants) != 2 {
		t.Fatalf("comparison: %+v", c)
	}
	native, lww := c.Variants[0], c.Variants[1]
	for _, v := range c.Variants {
		if v.Status != reports.VariantDone || v.DivergentRows == nil || v.LostUpdates == nil || v.Conflicts == nil {
			t.Fatalf("%s: %+v", v.Variant, v)
		}
		rep, err := reports.Read(filepath.Join(out, v.Dir, "report.json"))
		if err != nil {
			t.Fatalf("%s: %v", v.Variant, err)
		}
		if rep.Scenario.Seed != 5 || *v.DivergentRows != rep.Divergence.DivergentRows {
			t.Errorf("%s: report seed %d, divergent rows %d; row says %d", v.Variant, rep.Scenario.Seed, rep.Divergence.DivergentRows, *v.DivergentRows)
		}
		if fi, err := os.Stat(filepath.Join(out, v.Dir, "history.jsonl")); err != nil || fi.Size() == 0 {
			t.Errorf("%s: history.jsonl: %v", v.Variant, err)
		}
		if *v.LostUpdates == 0 {
			t.Errorf("%s lost no increment under a partition", v.Variant)
		}
		t.Logf("%s: converged %v, divergent rows %d, lost updates %d, conflicts %+v, wall %s, lab up %s", v.Variant, *v.Converged,
			*v.DivergentRows, *v.LostUpdates, *v.Conflicts, v.Wall.D(), v.LabUp.D())
	}
	if native.Lab.Engine != "native" || lww.Lab.Engine != "pglogical" || lww.Lab.Resolver != "last_update_wins" {
		t.Errorf("labs: %+v, %+v", native.Lab, lww.Lab)
	}
	if *native.DivergentRows == 0 || *lww.DivergentRows != 0 {
		t.Errorf("divergent rows: native %d (want > 0: swapped), last_update_wins %d (want 0)", *native.DivergentRows, *lww.DivergentRows)
	}
	if native.Verdict != reports.VerdictFail || lww.Verdict != reports.VerdictPass {
		t.Errorf("verdicts: native %s, last_update_wins %s", native.Verdict, lww.Verdict)
	}
	if native.Conflicts.Counted["update_origin_differs"] == 0 || lww.Conflicts.Counted != nil || len(lww.Conflicts.Logged) == 0 {
		t.Errorf("conflicts: native %+v, last_update_wins %+v", native.Conflicts, lww.Conflicts)
	}
	page, err := os.ReadFile(filepath.Join(out, "compare.html"))
	if err != nil || !strings.Contains(string(page), `id="chart-lag-2"`) {
		t.Errorf("compare.html: %v, or no second lag chart", err)
	}
}

// Ctrl-C in the first variant's partition: compare heals it, removes its
// lab, writes the comparison (the first variant interrupted, the second
// not run) and exits 130.
func TestCompareInterruptedMidVariantHealsAndWrites(t *testing.T) {
	labtest.RequireDocker(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	scen := hotPartition(t, dir, "2m", "")
	out := filepath.Join(dir, "out")
	cmd := exec.Command(bin, "compare", scen, "--variants", "native,pglogical:keep_local", "--report-dir", out, "--format", "none")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir())
	w := startWatched(t, cmd)
	labName := regexp.MustCompile(`building lab (\S+)`).FindStringSubmatch(w.until("building lab ", 2*time.Minute))
	w.until("inject partition", 4*time.Minute)
	time.Sleep(2 * time.Second) // mid-partition, with increments on both sides
	if code := w.signal(syscall.SIGINT, 3*time.Minute); code != exitcode.Interrupted {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitcode.Interrupted, w.log())
	}
	t.Logf("stderr:\n%s", w.log())

	b, err := os.ReadFile(filepath.Join(out, "compare.json"))
	if err != nil {
		t.Fatalf("no comparison written on interrupt: %v", err)
	}
	var c reports.Comparison
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if !c.Interrupted || len(c.Variants) != 2 || c.Variants[0].Status != reports.VariantInterrupted || c.Variants[1].Status != reports.VariantNotRun {
		t.Fatalf("comparison: interrupted %v, variants %+v", c.Interrupted, c.Variants)
	}
	rep, err := reports.Read(filepath.Join(out, c.Variants[0].Dir, "report.json"))
	if err != nil {
		t.Fatalf("the interrupted variant's report: %v", err)
	}
	if !rep.Interrupted || len(rep.Faults) != 1 || rep.Faults[0].Healed == nil {
		t.Errorf("report: interrupted %v, faults %+v: want the partition healed", rep.Interrupted, rep.Faults)
	}
	if _, err := os.Stat(filepath.Join(out, c.Variants[1].Dir)); !os.IsNotExist(err) {
		t.Errorf("the variant not run has a folder (%v)", err)
	}
	if _, err := os.Stat(filepath.Join(out, "compare.html")); err != nil {
		t.Error(err)
	}
	if labName == nil {
		t.Fatal("the log named no lab")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if l, err := lab.Open(ctx, labName[1]); !errors.Is(err, lab.ErrNotFound) {
		if err == nil {
			l.Close()
		}
		t.Errorf("lab %s is still there after the interrupt (%v)", labName[1], err)
	}
}
