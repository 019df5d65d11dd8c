package main

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/inputfile"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/runner"
	"github.com/pgchaos/pgchaos/scenario"
)

var compareCmd = command{
	summary: "run one scenario on several lab variants and compare them",
	usage: `Usage: pgchaos compare SCENARIO.yaml [--variants V1,V2,...] [flags]

Runs the scenario once per variant, one after another, each on a fresh lab
and all with the same seed, then writes one comparison: a table with a row
per variant (operations acknowledged, converged, convergence time, divergent
rows, lost writes, lost updates, conflicts by kind, stalls, lag p99 per
direction, unavailability, verdict) to stdout, compare.json (schema pgchaos.compare/v1) and
compare.html (every variant's charts one under the other, on the same axes)
to --report-dir. Each variant's report.json and history.jsonl are in their
own folder there (1-native, 2-pglogical-keep_local, …).

A variant is one or more terms joined by +; a term it does not name keeps
the scenario's lab setting:
  native                 native logical replication (origin = none)
  pglogical              pglogical with its default resolver (last_update_wins)
  pglogical:RESOLVER     last_update_wins, first_update_wins, apply_remote, keep_local or error
  nodes=N                N primaries, 2 to 5
  postgres=MAJOR         18, 17 or 19 (19: no pglogical)
  sequences=MODE         interleaved, serial or uuid
  retain_dead_tuples=B   true or false (PostgreSQL 19, native only)
--variants takes them comma-separated; without it the scenario's variants:
list is used. A variant that does not parse is an error (exit 2) before any
lab is built.

Ctrl-C stops the variant that is running, heals its faults, removes its
lab and writes the comparison of what was recorded so far (the variants
after it are "not run"), then exits 130.

Exit codes: 0 every variant held every assertion (or none asserted), 1 a
variant failed an assertion, 2 bad scenario, variant or flags, 3 a variant's
lab or infrastructure failed (the other variants still ran), 130
interrupted.

Examples:
  pgchaos compare scenarios/hot-counters-partition.yaml
  pgchaos compare scenarios/quickstart.yaml --variants native,pglogical:last_update_wins,pglogical:keep_local,nodes=3
  pgchaos compare scenarios/split-brain.yaml --variants native,pglogical:keep_local+nodes=3 --report-dir out
  pgchaos compare scenarios/latency.yaml --variants postgres=17,postgres=18 --format json`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "compare", usage)
		variantsFlag := fs.String("variants", "", "the variants to compare, comma-separated (default: the scenario's variants:)")
		reportDir := fs.String("report-dir", "", "where compare.json, compare.html and a folder per variant go (default: pgchaos-reports/<time>-compare-<scenario>)")
		format := fs.String("format", "table", "comparison on stdout: table, json or none")
		seed := fs.Int64("seed", 0, "the seed every variant runs with (default: the scenario's, else one picked at random)")
		convergeTimeout := fs.Duration("converge-timeout", 60*time.Second, "how long to wait for the nodes to converge after each variant's run")
		quiet := fs.Bool("quiet", false, "no progress on stderr")
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
		if err := notNegative("converge-timeout", *convergeTimeout); err != nil {
			return err
		}
		sc, err := scenario.Load(fs.Arg(0))
		if err != nil {
			return exitcode.BadInputErr(err)
		}
		variants := sc.Variants
		if fs.Changed("variants") {
			if variants, err = scenario.ParseVariants(*variantsFlag); err != nil {
				return exitcode.BadInputErr(fmt.Errorf("--variants: %w", err))
			}
		}
		if len(variants) == 0 {
			return exitcode.BadInputErr(fmt.Errorf("%s names no variants: pass --variants (e.g. --variants native,pglogical:keep_local) or add variants: to the scenario", sc.File))
		}
		if err := checkVariants(sc.File, variants); err != nil {
			return err
		}
		s := sc.Seed
		switch {
		case fs.Changed("seed"):
			s = *seed
		case !sc.SeedSet:
			s = randomSeed()
		}
		dir := *reportDir
		if dir == "" {
			dir = filepath.Join("pgchaos-reports", time.Now().Format("20060102-150405")+"-compare-"+safeName(sc.Name))
		}
		p := newProgress(e.stderr, *quiet)
		c := &comparison{sc: sc, variants: variants, seed: s, dir: dir, p: p,
			convergeTimeout: *convergeTimeout}
		cmp, runErr := c.run(ctx)
		p.done()
		if werr := c.write(cmp); werr != nil {
			return errors.Join(runErr, exitcode.InfraErr(werr))
		}
		switch *format {
		case "table":
			if err := reports.CompareTable(e.stdout, cmp); err != nil {
				return err
			}
		case "json":
			if err := reports.CompareJSON(e.stdout, cmp); err != nil {
				return err
			}
		}
		fmt.Fprintf(e.stderr, "pgchaos: comparison %s, %s\n", filepath.Join(dir, "compare.json"), filepath.Join(dir, "compare.html"))
		if runErr != nil {
			return runErr
		}
		if code := reports.CompareExitCode(cmp); code != exitcode.OK {
			fmt.Fprintf(e.stderr, "pgchaos: verdict %s\n", strings.ToUpper(cmp.Verdict))
			return exitcode.With(code, errSilent)
		}
		return nil
	},
}

// comparison runs the variants one after another.
type comparison struct {
	sc              *scenario.Scenario
	variants        []scenario.Variant
	seed            int64
	dir             string
	p               *progress
	convergeTimeout time.Duration
	reps            []*reports.Report // by variant; nil: no report
}

// run runs every variant in turn, each on a fresh lab it removes after.
// A variant whose lab fails does not stop the others; Ctrl-C does (the
// runner heals and reports the variant it stops). The error is the first
// variant's error, or the interruption.
func (c *comparison) run(ctx context.Context) (*reports.Comparison, error) {
	out := &reports.Comparison{
		Schema: reports.CompareSchema, Version: version, StartedAt: time.Now(),
		Scenario: reports.Scenario{Name: c.sc.Name, File: c.sc.File, Seed: c.seed, Duration: reports.Duration(c.sc.Duration)},
	}
	c.reps = make([]*reports.Report, len(c.variants))
	for i, v := range c.variants {
		out.Variants = append(out.Variants, reports.VariantOf(v.Name, nil))
		out.Variants[i].Dir = variantDir(i, v)
	}
	var firstErr error
	for i, v := range c.variants {
		if ctx.Err() != nil {
			break
		}
		row, err := c.one(ctx, i, v)
		out.Variants[i] = row
		if err != nil && ctx.Err() == nil {
			c.p.log("variant %s: %v", v.Name, err)
			if firstErr == nil {
				firstErr = fmt.Errorf("variant %s: %w", v.Name, err)
			}
		}
		// What is done so far is on disk, whatever happens to the rest.
		out.EndedAt = time.Now()
		out.Summarise()
		if werr := c.write(out); werr != nil {
			return out, exitcode.InfraErr(werr)
		}
	}
	out.EndedAt = time.Now()
	out.Interrupted = ctx.Err() != nil
	out.Summarise()
	if out.Interrupted {
		return out, exitcode.With(exitcode.Interrupted, context.Canceled)
	}
	return out, firstErr
}

// one runs variant i and writes its report.json; the row says what it found.
func (c *comparison) one(ctx context.Context, i int, v scenario.Variant) (reports.VariantResult, error) {
	dir := filepath.Join(c.dir, variantDir(i, v))
	name := fmt.Sprintf("[%d/%d %s]", i+1, len(c.variants), v.Name)
	log := func(format string, args ...any) { c.p.log(name+" "+format, args...) }
	log("running on a fresh lab, seed %d, report in %s", c.seed, dir)
	sc := c.sc.WithVariant(v)
	seed := c.seed
	opt := runner.Options{
		ReportDir: dir, Seed: &seed, ConvergeTimeout: c.convergeTimeout, Version: version,
		Log: log, Progress: c.p.update,
	}
	start := time.Now()
	rep, err := runner.Run(ctx, sc, opt)
	c.p.done()
	wall := time.Since(start)
	row := reports.VariantOf(v.Name, rep)
	row.Dir = variantDir(i, v)
	row.Wall = reports.Duration(wall)
	if rep != nil && !rep.StartedAt.IsZero() {
		up := reports.Duration(rep.StartedAt.Sub(start))
		row.LabUp = &up
	}
	if rep != nil {
		c.reps[i] = rep
		if werr := writeFile(filepath.Join(dir, "report.json"), func(w io.Writer) error { return reports.JSON(w, rep) }); werr != nil {
			err = errors.Join(err, exitcode.InfraErr(werr))
		}
		if want := sc.Lab.Nodes; want != 0 && len(rep.Lab.Nodes) != want && err == nil {
			// A build that does not build n-node labs must not pass
			// a two-node run off as nodes=n.
			err = exitcode.InfraErr(fmt.Errorf("asked for %d nodes, the lab had %d", want, len(rep.Lab.Nodes)))
		}
	}
	switch {
	case ctx.Err() != nil && rep != nil:
		row.Status = reports.VariantInterrupted
	case ctx.Err() != nil:
		row.Status = reports.VariantInterrupted
		row.Error = "interrupted before its run started"
	case err != nil:
		row.Status = reports.VariantError
		row.Error = err.Error()
	}
	log("done in %s", reports.HumanDuration(wall))
	return row, err
}

// write puts compare.json and compare.html in the comparison's folder.
func (c *comparison) write(out *reports.Comparison) error {
	if err := writeFile(filepath.Join(c.dir, "compare.json"), func(w io.Writer) error { return reports.CompareJSON(w, out) }); err != nil {
		return err
	}
	return writeFile(filepath.Join(c.dir, "compare.html"), func(w io.Writer) error { return reports.CompareHTML(w, out, c.reps) })
}

// variantDir is variant i's folder in the comparison's: its place in the
// list keeps two names that read alike apart.
func variantDir(i int, v scenario.Variant) string {
	return fmt.Sprintf("%d-%s", i+1, safeName(v.Name))
}

// randomSeed picks the seed every variant shares when neither the
// scenario nor --seed names one.
func randomSeed() int64 {
	var b [8]byte
	crand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]) >> 1)
}

// checkVariants validates the scenario file once per variant, with the
// variant's lab in place of the file's, so a workload or fault naming
// primary3 under nodes=2 stops the comparison before any lab is built.
func checkVariants(file string, variants []scenario.Variant) error {
	data, err := inputfile.Read(file, "scenario", scenario.MaxFileSize)
	if err != nil {
		return exitcode.BadInputErr(err)
	}
	var errs []error
	for _, v := range variants {
		if _, err := scenario.ParseAs(file, data, v); err != nil {
			errs = append(errs, fmt.Errorf("variant %s:\n%w", v.Name, err))
		}
	}
	if len(errs) > 0 {
		return exitcode.BadInputErr(errors.Join(errs...))
	}
	return nil
}
