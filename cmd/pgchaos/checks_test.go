package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/lab"
)

// TestBadCommandLinesStopBeforeDocker pins that each bad flag or argument
// ends with exit 2 and a message saying what to do, before any Docker call:
// DOCKER_HOST points at a port nothing listens on, so a check that let a
// command through would show as exit 3 instead.
func TestBadCommandLinesStopBeforeDocker(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
	dir := t.TempDir()
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("duration: 5s\nworkloads: [{kind: insert}]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	aFile := filepath.Join(dir, "file")
	if err := os.WriteFile(aFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		args   []string
		stderr string
	}{
		{"lab up with a positional name", []string{"lab", "up", "demo"}, `lab up takes no arguments, got "demo": to name the lab, pass --name demo`},
		{"lab down with two arguments", []string{"lab", "down", "a", "b"}, `lab down takes no arguments, got "a" "b"`},
		{"lab status with a positional name", []string{"lab", "status", "demo"}, "pass --name demo"},
		{"lab diff with a positional name", []string{"lab", "diff", "demo"}, "pass --name demo"},
		{"lab heal with a positional name", []string{"lab", "heal", "demo"}, "pass --name demo"},
		{"lab list with an argument", []string{"lab", "list", "demo"}, `lab list takes no arguments, got "demo"`},
		{"version with an argument", []string{"version", "x"}, `version takes no arguments`},
		{"lab down with a bad name", []string{"lab", "down", "--name", "Demo Lab"}, `--name: lab name "Demo Lab": use lower-case letters`},
		{"lab status with a bad name", []string{"lab", "status", "--name", "../x"}, `--name: lab name "../x"`},
		{"lab diff with a bad name", []string{"lab", "diff", "--name", "-x"}, `--name: lab name "-x"`},
		{"lab heal with a bad name", []string{"lab", "heal", "--name", strings.Repeat("a", 42)}, `--name: lab name`},
		{"lab diff with a negative limit", []string{"lab", "diff", "--limit", "-1"}, "--limit -1 is negative"},
		{"lab up with a bad name", []string{"lab", "up", "--name", "UP"}, `--name: lab name "UP"`},
		{"lab up with a listen that is no address", []string{"lab", "up", "--listen", "localhost:5432"}, `--listen "localhost:5432" is not an IP address`},
		{"lab up with a listen not on this machine", []string{"lab", "up", "--listen", "192.0.2.1"}, "--listen 192.0.2.1 is not an address of this machine"},
		{"lab up with port 0", []string{"lab", "up", "--port-primary1", "0"}, "--port-primary1 0 is out of range: use a port from 1 to 65535 (default 5442)"},
		{"lab up with port 70000", []string{"lab", "up", "--port-stats", "70000"}, "--port-stats 70000 is out of range"},
		{"lab up with a negative timeout", []string{"lab", "up", "--timeout", "-5s"}, "--timeout -5s is negative"},
		{"run with a bad lab name", []string{"run", good, "--lab", "My Lab"}, `--lab: lab name "My Lab"`},
		{"run with a negative converge timeout", []string{"run", good, "--converge-timeout", "-1m"}, "--converge-timeout -1m0s is negative"},
		{"run with a junit file in a missing tree", []string{"run", good, "--junit", filepath.Join(aFile, "x", "junit.xml")}, "is not a directory"},
		{"run with an html path that is a directory", []string{"run", good, "--html", dir}, "exists and is not a regular file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := runMain(c.args, &out, &errOut)
			if code != exitcode.BadInput {
				t.Errorf("exit %d, want %d\nstderr: %s", code, exitcode.BadInput, errOut.String())
			}
			if !strings.Contains(errOut.String(), c.stderr) {
				t.Errorf("stderr %q does not contain %q", errOut.String(), c.stderr)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("the checks left files behind in %s: %v", dir, entries)
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "old.xml")
	if err := os.WriteFile(existing, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ok := range []string{existing, filepath.Join(dir, "new.xml"), filepath.Join(dir, "sub", "deeper", "new.xml")} {
		if err := checkWritable("junit", ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep" {
		t.Errorf("an existing file was changed: %q", b)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("the probe left something behind: %v", entries)
	}
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o555)
		if err := checkWritable("html", filepath.Join(ro, "r.html")); err == nil || exitcode.Of(err) != exitcode.BadInput {
			t.Errorf("a read-only directory: %v", err)
		}
	}
}

func TestFailedRunLeavesNoEmptyReportDir(t *testing.T) {
	dir := t.TempDir()
	kept := filepath.Join(dir, "kept")
	os.Mkdir(kept, 0o755)
	report := filepath.Join(kept, "a", "b")
	created := missingDirs(report)
	if want := []string{report, filepath.Join(kept, "a")}; strings.Join(created, ",") != strings.Join(want, ",") {
		t.Fatalf("missingDirs = %v, want %v", created, want)
	}
	os.MkdirAll(report, 0o755)
	removeEmptyDirs(created)
	if _, err := os.Stat(filepath.Join(kept, "a")); !os.IsNotExist(err) {
		t.Errorf("created directories still there: %v", err)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("a directory that was there before was removed: %v", err)
	}
	os.MkdirAll(report, 0o755)
	os.WriteFile(filepath.Join(report, "history.jsonl"), []byte("{}\n"), 0o644)
	removeEmptyDirs(created)
	if _, err := os.Stat(filepath.Join(report, "history.jsonl")); err != nil {
		t.Errorf("a directory with a file in it was removed: %v", err)
	}
}

// TestPanicIsAnInternalError pins that a bug is not reported as bad input.
func TestPanicIsAnInternalError(t *testing.T) {
	cmds := map[string]command{"boom": {run: func(_ context.Context, _ *env, _ string, args []string) error {
		var s []int
		return fmt.Errorf("unreachable: %d", s[len(args)]) // an index out of range: the kind of bug a recover must catch
	}}}
	var out, errOut bytes.Buffer
	code := runCommands(cmds, []string{"boom"}, &out, &errOut)
	if code != exitcode.Infra {
		t.Errorf("exit %d, want %d", code, exitcode.Infra)
	}
	for _, want := range []string{"pgchaos: internal error: runtime error: index out of range [0] with length 0: please report it", "goroutine "} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr %q does not contain %q", errOut.String(), want)
		}
	}
}

// TestInterruptEndsLabCommands pins that Ctrl-C ends a lab command stuck
// on Docker with exit 130: DOCKER_HOST points at a listener that accepts
// and never answers, and SIGINT is sent once the command is waiting on it.
func TestInterruptEndsLabCommands(t *testing.T) {
	// While this is registered, SIGINT cannot kill the test binary.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, os.Interrupt)
	defer signal.Stop(sigs)
	for _, args := range [][]string{{"lab", "status"}, {"lab", "down"}, {"lab", "diff"}, {"lab", "heal"}, {"lab", "up", "--port-primary1", "1"}} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			t.Setenv("DOCKER_HOST", "tcp://"+ln.Addr().String())
			accepted := make(chan net.Conn, 1)
			go func() {
				if c, err := ln.Accept(); err == nil {
					accepted <- c
				}
			}()
			done := make(chan int, 1)
			var out, errOut bytes.Buffer
			go func() { done <- runMain(args, &out, &errOut) }()
			select {
			case c := <-accepted:
				defer c.Close()
			case code := <-done:
				t.Fatalf("ended with %d before reaching Docker: %s", code, errOut.String())
			}
			syscall.Kill(os.Getpid(), syscall.SIGINT)
			select {
			case code := <-done:
				if code != exitcode.Interrupted {
					t.Errorf("exit %d, want %d\nstderr: %s", code, exitcode.Interrupted, errOut.String())
				}
			case <-time.After(30 * time.Second): // a hang, not a timing goal
				t.Fatal("still running 30s after SIGINT")
			}
		})
	}
}

// TestProgressAndValidateEscapeControlCharacters pins that text from a
// file, a path or a server cannot move the cursor or fake a line.
func TestProgressAndValidateEscapeControlCharacters(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf, false)
	p.log("workload %s failed", "w\x1b[2J\nVERDICT: PASS")
	logf(&env{stderr: &buf})("lab %s", "\x1b]0;title\x07")
	if s := buf.String(); strings.ContainsAny(s, "\x1b\x07") || strings.Count(s, "\n") != 2 || !strings.Contains(s, `w\x1b[2J\nVERDICT: PASS`) {
		t.Errorf("progress output not escaped: %q", s)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "a\x1b[31mb.yaml")
	if err := os.WriteFile(path, []byte("duration: 5s\nworkloads: [{kind: insert}]\n"), 0o644); err != nil {
		t.Skip("file system refuses control characters in names:", err)
	}
	bad := filepath.Join(dir, "c\x1b[31md.yaml")
	os.WriteFile(bad, []byte("duration: 5s\n"), 0o644)
	var out, errOut bytes.Buffer
	code := runMain([]string{"validate", path, bad}, &out, &errOut)
	if code != exitcode.BadInput {
		t.Errorf("exit %d", code)
	}
	if strings.Contains(out.String()+errOut.String(), "\x1b") || !strings.Contains(out.String(), `a\x1b[31mb.yaml: ok`) || !strings.Contains(errOut.String(), `c\x1b[31md.yaml:1:1: workloads is required`) {
		t.Errorf("validate output not escaped:\nstdout %q\nstderr %q", out.String(), errOut.String())
	}
}

// TestListenOffLoopbackNeedsAPassword pins that publishing the lab beyond
// this machine never keeps the tutorial's password, and says so. Docker is
// unreachable here, so each case ends before a lab is built.
func TestListenOffLoopbackNeedsAPassword(t *testing.T) {
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
	var out, errOut bytes.Buffer
	code := runMain([]string{"lab", "up", "--listen", "0.0.0.0", "--password", "postgres"}, &out, &errOut)
	if code != exitcode.BadInput || !strings.Contains(errOut.String(), "--password postgres is the tutorial's well-known password, refused with --listen 0.0.0.0") {
		t.Errorf("the default password off loopback: exit %d, stderr %q", code, errOut.String())
	}

	out.Reset()
	errOut.Reset()
	code = runMain([]string{"lab", "up", "--listen", "0.0.0.0"}, &out, &errOut)
	if code != exitcode.Infra { // past every check, stopped by Docker
		t.Errorf("exit %d, want %d: %s", code, exitcode.Infra, errOut.String())
	}
	for _, want := range []string{"pgchaos: generated the superuser password ", "WARNING: --listen 0.0.0.0 publishes primary1, primary2 and HAProxy beyond this machine"} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr %q does not contain %q", errOut.String(), want)
		}
	}

	cfg := lab.Config{Listen: "127.0.0.1"}
	errOut.Reset()
	if err := offLoopback(&env{stderr: &errOut}, &cfg); err != nil || cfg.Password != "" || errOut.Len() > 0 {
		t.Errorf("loopback changed something: %v, %q, %q", err, cfg.Password, errOut.String())
	}
	cfg = lab.Config{Listen: "0.0.0.0", Password: "chosen"}
	errOut.Reset()
	if err := offLoopback(&env{stderr: &errOut}, &cfg); err != nil || cfg.Password != "chosen" || strings.Contains(errOut.String(), "generated") || !strings.Contains(errOut.String(), "WARNING") {
		t.Errorf("a chosen password: %v, %q, %q", err, cfg.Password, errOut.String())
	}
	if got := shellWord("it's"); got != `'it'\''s'` {
		t.Errorf("shellWord = %s", got)
	}
}
