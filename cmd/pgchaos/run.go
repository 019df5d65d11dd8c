package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/runner"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/target"
)

var runCmd = command{
	summary: "run a scenario: build the lab, write, inject faults, report",
	usage: `Usage: pgchaos run SCENARIO.yaml [flags]

Validates the scenario, brings a lab up (or uses --lab), runs the workloads
through every primary and HAProxy while injecting the scheduled faults,
heals every fault, waits for the nodes to converge, then reports lag,
divergence, conflicts and failover effects, and checks the scenario's
assert: thresholds.

Writes report.json and history.jsonl (every operation) to --report-dir and
the report to stdout. Progress goes to stderr. Ctrl-C stops the workloads,
heals every fault, writes what was recorded and exits 130.

Exit codes: 0 every assertion held (or none), 1 an assertion failed, 2 bad
scenario or flags, 3 lab or infrastructure error, 130 interrupted.

With --target (or a target: section in the scenario) the scenario runs on
your own nodes instead of a lab: a read-only preflight first, then every
workload and fault the target cannot take is refused (exit 2, at its
file:line:col) before anything is written. pgchaos touches only its own
schema pgchaos; when its heartbeat is missing the run prints the setup SQL
and stops, unless --allow-setup (or setup: allow in the target) lets it
run that SQL first. See docs/targets.md.

Examples:
  pgchaos run scenarios/quickstart.yaml
  pgchaos run my-scenario.yaml --target cluster.yaml --allow-setup
  pgchaos run scenarios/split-brain.yaml --lab demo --keep-lab
  pgchaos run scenarios/soak.yaml --format json --junit junit.xml --report-dir out
  pgchaos run scenarios/latency.yaml --html latency.html`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "run", usage)
		var opt runner.Options
		fs.StringVar(&opt.LabName, "lab", "", "use this lab (created when it is not up, and then kept); default: a fresh lab for this run, removed after it")
		fs.BoolVar(&opt.KeepLab, "keep-lab", false, "keep the lab this run created")
		fs.StringVar(&opt.ReportDir, "report-dir", "", "where report.json and history.jsonl go (default: pgchaos-reports/<time>-<scenario>)")
		format := fs.String("format", "table", "report on stdout: table, json or none")
		junit := fs.String("junit", "", "also write the assertions as JUnit XML to this file")
		html := fs.String("html", "", "also write the report as one offline HTML page (charts, fault windows shaded) to this file")
		seed := fs.Int64("seed", 0, "override the scenario's seed (repeat a run)")
		fs.DurationVar(&opt.ConvergeTimeout, "converge-timeout", 60*time.Second, "how long to wait for the nodes to converge after the run")
		quiet := fs.Bool("quiet", false, "no progress on stderr")
		targetFile := fs.String("target", "", "run on the user's nodes this target file names (see pgchaos target check) instead of a lab")
		fs.BoolVar(&opt.AllowSetup, "allow-setup", false, "with a target: create pgchaos's own schema and heartbeat first when they are missing")
		cpus := fs.Int("client-cpus", 0, "how many CPUs pgchaos's own Go code may use at once (GOMAXPROCS), 1 up to this machine's count; default: Go's default, or the GOMAXPROCS environment variable")
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			fs.Usage()
			return exitcode.BadInputErr(errors.New("name one scenario file"))
		}
		if err := oneOf("format", *format, "table", "json", "none"); err != nil {
			return err
		}
		if err := checkRunFlags(opt, *junit, *html); err != nil {
			return err
		}
		procs, source, err := clientCPUs(fs.Changed("client-cpus"), *cpus, os.Getenv("GOMAXPROCS"), runtime.NumCPU())
		if err != nil {
			return err
		}
		sc, tgt, err := loadScenario(fs.Arg(0), *targetFile)
		if err != nil {
			return exitcode.BadInputErr(err)
		}
		if tgt != nil && fs.Changed("lab") {
			return exitcode.BadInputErr(errors.New("--lab and a target exclude each other: a run uses either a lab or the target's nodes"))
		}
		opt.Target = tgt
		if fs.Changed("seed") {
			opt.Seed = seed
		}
		if opt.ReportDir == "" {
			opt.ReportDir = filepath.Join("pgchaos-reports", time.Now().Format("20060102-150405")+"-"+safeName(sc.Name))
		}
		opt.Version = version
		if procs > 0 {
			runtime.GOMAXPROCS(procs)
		}
		opt.Client = &reports.Client{GOMAXPROCS: runtime.GOMAXPROCS(0), Source: source, GoVersion: runtime.Version()}
		if opt.LabName != "" {
			opt.KeepLab = true
		}
		p := newProgress(e.stderr, *quiet)
		opt.Log = p.log
		opt.Progress = p.update

		created := missingDirs(opt.ReportDir)
		rep, runErr := runner.Run(ctx, sc, opt)
		p.done()
		if rep == nil {
			removeEmptyDirs(created)
			return runErr
		}
		reportPath := filepath.Join(opt.ReportDir, "report.json")
		if err := writeFile(reportPath, func(w io.Writer) error { return reports.JSON(w, rep) }); err != nil {
			return errors.Join(runErr, exitcode.InfraErr(err))
		}
		if *junit != "" {
			if err := writeFile(*junit, func(w io.Writer) error { return reports.JUnit(w, rep) }); err != nil {
				return errors.Join(runErr, exitcode.InfraErr(err))
			}
		}
		if *html != "" {
			if err := writeFile(*html, func(w io.Writer) error { return reports.HTML(w, rep) }); err != nil {
				return errors.Join(runErr, exitcode.InfraErr(err))
			}
		}
		switch *format {
		case "table":
			if err := reports.Table(e.stdout, rep); err != nil {
				return err
			}
		case "json":
			if err := reports.JSON(e.stdout, rep); err != nil {
				return err
			}
		}
		fmt.Fprintf(e.stderr, "pgchaos: report %s, history %s\n", reportPath, filepath.Join(opt.ReportDir, "history.jsonl"))
		if runErr != nil {
			return runErr
		}
		if code := reports.ExitCode(rep); code != exitcode.OK {
			fmt.Fprintf(e.stderr, "pgchaos: verdict %s\n", strings.ToUpper(rep.Verdict))
			return exitcode.With(code, errSilent)
		}
		return nil
	},
}

// loadScenario reads the scenario, and the target it runs on when there is
// one: the --target file, else the scenario's own target: section. On a
// target the scenario's node names are the target's.
func loadScenario(path, targetFile string) (*scenario.Scenario, *target.Target, error) {
	var t *target.Target
	var err error
	if targetFile != "" {
		t, err = target.Load(targetFile)
	} else {
		t, _, err = target.LoadSection(path)
	}
	if err != nil {
		return nil, nil, err
	}
	if t == nil {
		sc, err := scenario.Load(path)
		return sc, nil, err
	}
	ns := scenario.Nodes{HAProxy: t.HAProxy != nil && t.HAProxy.Address != ""}
	for _, n := range t.Nodes {
		ns.Primaries = append(ns.Primaries, n.Name)
	}
	sc, err := scenario.LoadFor(path, ns)
	return sc, t, err
}

// clientCPUs settles how many CPUs the run's own Go code may use. The
// default is Go's (the CPUs the process may use, a container's CPU limit
// included); the user may set it with --client-cpus (flagSet, n), which
// must lie within 1..ncpu, or with the GOMAXPROCS environment variable,
// which the runtime has already applied. It returns the value to apply, 0
// to leave the runtime as it is, and where the setting came from
// (reports.ClientDefault, ClientFlag or ClientEnv).
func clientCPUs(flagSet bool, n int, env string, ncpu int) (int, string, error) {
	if flagSet {
		if n < 1 || n > ncpu {
			return 0, "", exitcode.BadInputErr(fmt.Errorf("--client-cpus %d: use 1 to %d (this machine's CPUs), or leave it out for Go's default", n, ncpu))
		}
		return n, reports.ClientFlag, nil
	}
	// The runtime obeys GOMAXPROCS only when it is a positive number.
	if v, err := strconv.Atoi(env); err == nil && v > 0 {
		return 0, reports.ClientEnv, nil
	}
	return 0, reports.ClientDefault, nil
}

func safeName(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return b.String()
}

func writeFile(path string, fn func(io.Writer) error) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fn(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// progress shows the run on stderr: a live line redrawn every second on a
// terminal, a plain line every 5 seconds otherwise (CI logs).
type progress struct {
	mu       sync.Mutex
	w        io.Writer
	tty      bool
	quiet    bool
	live     bool // a live line is on screen
	lastLine time.Time
}

func newProgress(w io.Writer, quiet bool) *progress {
	p := &progress{w: w, quiet: quiet}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) log(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	fmt.Fprintln(p.w, "pgchaos: "+printable(fmt.Sprintf(format, args...)))
}

func (p *progress) clear() {
	if p.live {
		fmt.Fprint(p.w, "\r\033[K")
		p.live = false
	}
}

func (p *progress) update(pr runner.Progress) {
	if p.quiet {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	line := printable(progressLine(pr))
	if p.tty {
		fmt.Fprint(p.w, "\r\033[K"+line)
		p.live = true
		return
	}
	if time.Since(p.lastLine) >= 5*time.Second {
		fmt.Fprintln(p.w, "pgchaos: "+line)
		p.lastLine = time.Now()
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
}

// progressLine is one line: elapsed/total, ops/s and errors per target,
// active faults.
func progressLine(pr runner.Progress) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%3.0fs/%.0fs", pr.Elapsed.Seconds(), pr.Total.Seconds())
	for _, t := range pr.Workload.Targets {
		fmt.Fprintf(&b, " | %s %.0f ops/s", t.Target, t.OpsPerSec)
		if t.Errors > 0 {
			fmt.Fprintf(&b, " %d err", t.Errors)
		}
	}
	if len(pr.ActiveFaults) > 0 {
		f := append([]string(nil), pr.ActiveFaults...)
		sort.Strings(f)
		fmt.Fprintf(&b, " | faults: %s", strings.Join(f, ", "))
	}
	return b.String()
}
