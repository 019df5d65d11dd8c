package main

import (
	"context"
	"fmt"
	"strings"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/term"
	"github.com/pgchaos/pgchaos/scenario"
)

var validateCmd = command{
	summary: "check scenario files without touching Docker",
	usage: `Usage: pgchaos validate FILE...

Checks each scenario file: schema, types, durations, rates, targets and the
fault schedule. Every problem is reported as file:line:col: message. Exits 0
when all files are valid, 2 otherwise. Nothing is started.

Examples:
  pgchaos validate scenarios/quickstart.yaml
  pgchaos validate scenarios/*.yaml`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "validate", usage)
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			fs.Usage()
			return exitcode.BadInputErr(fmt.Errorf("name at least one scenario file"))
		}
		bad := 0
		for _, path := range fs.Args() {
			// A scenario with a target: section names the target's nodes.
			s, _, err := loadScenario(path, "")
			if err != nil {
				bad++
				// One problem a line; each line escaped, so a path or a
				// value with control characters cannot fake a line.
				for _, line := range strings.Split(err.Error(), "\n") {
					fmt.Fprintln(e.stderr, term.Escape(line))
				}
				continue
			}
			fmt.Fprintf(e.stdout, "%s: ok (%s: %s, %d workloads, %d faults, %d assertions)\n",
				term.Escape(path), term.Escape(s.Name), s.Duration, len(s.Workloads), len(s.Faults), countAsserts(s.Assert))
		}
		if bad > 0 {
			return exitcode.With(exitcode.BadInput, fmt.Errorf("%d of %d files invalid", bad, fs.NArg()))
		}
		return nil
	},
}

func countAsserts(a scenario.Assert) int {
	n := len(a.Conflicts)
	for _, set := range []bool{a.LagP50 != nil, a.LagP95 != nil, a.LagP99 != nil, a.LagMax != nil,
		a.DivergentRows != nil, a.LostWrites != nil, a.LostUpdates != nil, a.Stalls != nil, a.Errors != nil,
		a.Unavailability != nil, a.Converged != nil, a.BankInvariant != nil} {
		if set {
			n++
		}
	}
	return n
}
