package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/internal/labtest"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
)

// buildBinary builds pgchaos once per test into a temp dir.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pgchaos")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// Ctrl-C in the middle of a fault: pgchaos heals it, writes what it
// recorded, and exits 130; the lab is healthy and the ledger empty.
func TestInterruptMidFaultHealsTheLab(t *testing.T) {
	l := labtest.Start(t)
	bin := buildBinary(t)
	dir := t.TempDir()
	state := t.TempDir()
	scen := filepath.Join(dir, "pause.yaml")
	if err := os.WriteFile(scen, []byte(`
name: interrupt-me
duration: 2m
workloads:
  - kind: insert
    targets: [primary1, primary2]
    rate: 50/s
faults:
  - kind: pause
    node: primary2
    at: 1s
    for: 100s
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", scen, "--lab", l.Name, "--report-dir", filepath.Join(dir, "out"), "--format", "none")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+state)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	injected := make(chan struct{})
	var log strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), "inject pause primary2") {
				close(injected)
			}
		}
	}()
	select {
	case <-injected:
	case <-time.After(90 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the fault was never injected; stderr:\n%s", log.String())
	}
	time.Sleep(time.Second) // mid-fault
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	var exitErr *exec.ExitError
	select {
	case err = <-done:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("pgchaos did not stop within 2 minutes of SIGINT; stderr:\n%s", log.String())
	}
	if !errors.As(err, &exitErr) || exitErr.ExitCode() != exitcode.Interrupted {
		t.Fatalf("exit: %v, want code %d; stderr:\n%s", err, exitcode.Interrupted, log.String())
	}

	// The node is unpaused and the lab replicates both ways again.
	ctx := context.Background()
	if err := l.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := l.Node(lab.Primary2); n.State != "running" {
		t.Fatalf("primary2 is %s after the interrupt, want running", n.State)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := l.Status(ctx)
		if len(st.Warnings) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("lab not healthy after the interrupt: %v", st.Warnings)
		}
		time.Sleep(200 * time.Millisecond)
	}
	g, err := faults.OpenLedger(l, faults.WithStateDir(state))
	if err != nil {
		t.Fatal(err)
	}
	if un := g.Unhealed(); len(un) != 0 {
		t.Fatalf("ledger still holds %d unhealed faults: %+v", len(un), un)
	}
	rep, err := reports.Read(filepath.Join(dir, "out", "report.json"))
	if err != nil {
		t.Fatalf("no report written on interrupt: %v", err)
	}
	if !rep.Interrupted || len(rep.Faults) != 1 || rep.Faults[0].Healed == nil {
		t.Fatalf("report: interrupted=%v faults=%+v, want interrupted and the pause healed", rep.Interrupted, rep.Faults)
	}
	var ops int64
	for _, w := range rep.Workloads {
		ops += w.Ops
	}
	if ops == 0 {
		t.Fatal("the report recorded no operations")
	}
}
