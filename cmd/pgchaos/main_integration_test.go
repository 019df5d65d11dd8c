package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// watched is a pgchaos process a test started and whose stderr it reads
// line by line: the test waits for a line (a fault's inject), signals the
// process, and quotes everything it said when something goes wrong.
type watched struct {
	t     *testing.T
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	seen  int        // lines until has looked at
	done  chan error // cmd.Wait's result, once stderr is drained
}

// startWatched starts cmd, reading its stderr.
func startWatched(t *testing.T, cmd *exec.Cmd) *watched {
	t.Helper()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w := &watched{t: t, cmd: cmd, done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			w.mu.Lock()
			w.lines = append(w.lines, sc.Text())
			w.mu.Unlock()
		}
		w.done <- cmd.Wait()
	}()
	return w
}

// log is everything the process wrote to stderr so far.
func (w *watched) log() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return strings.Join(w.lines, "\n")
}

// until waits for the next line holding s and returns it; after timeout,
// or when the process ends first, it kills the process and fails the test.
func (w *watched) until(s string, timeout time.Duration) string {
	w.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		w.mu.Lock()
		for ; w.seen < len(w.lines); w.seen++ {
			if strings.Contains(w.lines[w.seen], s) {
				line := w.lines[w.seen]
				w.seen++
				w.mu.Unlock()
				return line
			}
		}
		w.mu.Unlock()
		select {
		case err := <-w.done:
			w.done <- err
			w.t.Fatalf("pgchaos ended (%v) before it said %q; stderr:\n%s", err, s, w.log())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			w.cmd.Process.Kill()
			w.t.Fatalf("pgchaos did not say %q within %v; stderr:\n%s", s, timeout, w.log())
		}
	}
}

// signal sends sig and waits up to timeout for the process to end,
// returning its exit code (-1 when a signal ended it).
func (w *watched) signal(sig os.Signal, timeout time.Duration) int {
	w.t.Helper()
	if err := w.cmd.Process.Signal(sig); err != nil {
		w.t.Fatal(err)
	}
	select {
	case err := <-w.done:
		w.done <- err
		var exitErr *exec.ExitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &exitErr):
			return exitErr.ExitCode()
		}
		w.t.Fatalf("waiting for pgchaos: %v", err)
	case <-time.After(timeout):
		w.cmd.Process.Kill()
		w.t.Fatalf("pgchaos did not end within %v of %v; stderr:\n%s", timeout, sig, w.log())
	}
	return 0
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
	w := startWatched(t, cmd)
	w.until("inject pause primary2", 90*time.Second)
	time.Sleep(time.Second) // mid-fault
	if code := w.signal(syscall.SIGINT, 2*time.Minute); code != exitcode.Interrupted {
		t.Fatalf("exit %d, want %d; stderr:\n%s", code, exitcode.Interrupted, w.log())
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
