package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/internal/term"
	"github.com/pgchaos/pgchaos/target"
)

var targetSetupCmd = command{
	summary: "print (or with --allow run) the SQL that adds pgchaos's schema to a target",
	usage: `Usage: pgchaos target setup [--allow] FILE

Prints the SQL that gives the target pgchaos's own objects: the schema
pgchaos, its heartbeat table (lag is measured with it) and the built-in
workloads' tables (pgchaos_insert, pgchaos_counter, pgchaos_bank,
pgchaos_register, pgchaos_list: the lab's DDL, each marked as pgchaos's by
a comment), all added to the replication preflight found (ALTER PUBLICATION … ADD TABLE for
publications that list their tables, pglogical.replication_set_add_table
for pglogical, then ALTER SUBSCRIPTION … REFRESH PUBLICATION). Nothing
else of the user's is changed. Without --allow nothing is run: run the SQL
yourself, or again with --allow.

Exits 0 on success, 3 when a node cannot be reached or a statement fails,
2 for a bad file.

Examples:
  pgchaos target setup cluster.yaml > setup.sql
  pgchaos target setup --allow cluster.yaml`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		return planCmd(ctx, e, usage, args, "target setup", target.SetupPlan)
	},
}

var targetCleanCmd = command{
	summary: "print (or with --allow run) the SQL that removes what target setup made",
	usage: `Usage: pgchaos target clean [--allow] FILE

Prints the SQL that removes what "pgchaos target setup" made: its tables
out of the publications that name them, then the tables (the heartbeat and
those carrying setup's marker comment), the heartbeat's function and the
schema pgchaos (without CASCADE: anything else in that schema stops the
drop). A schema pgchaos that setup did not create (it carries no marker
comment) is left alone. Without --allow nothing is run.

Examples:
  pgchaos target clean cluster.yaml
  pgchaos target clean --allow cluster.yaml`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		return planCmd(ctx, e, usage, args, "target clean", target.CleanPlan)
	},
}

func planCmd(ctx context.Context, e *env, usage string, args []string, name string, plan func(target.Report, map[string]bool) target.Plan) error {
	fs := flags(e, name, usage)
	allow := fs.Bool("allow", false, "run the SQL (without it, only print it)")
	if err := parse(fs, args); err != nil {
		return err
	}
	t, err := loadTarget(fs.Args())
	if err != nil {
		return err
	}
	r := target.Preflight(ctx, t)
	if err := unreached(r); err != nil {
		return err
	}
	marked, err := target.Marked(ctx, t)
	if err != nil {
		return exitcode.InfraErr(fmt.Errorf("%s: %w", name, err))
	}
	p := plan(r, marked)
	for _, n := range p.Notes {
		fmt.Fprintln(e.stderr, "pgchaos: "+term.Escape(n))
	}
	if len(p.Steps) == 0 {
		fmt.Fprintln(e.stderr, "pgchaos: "+name+": nothing to do")
		return nil
	}
	if !*allow {
		fmt.Fprint(e.stdout, term.Escape(p.SQL()))
		fmt.Fprintf(e.stderr, "pgchaos: %s: nothing was run; run the SQL above on each node, or again with --allow\n", name)
		return nil
	}
	if err := target.Apply(ctx, t, p, logf(e)); err != nil {
		return exitcode.InfraErr(fmt.Errorf("%s: %w (the statements before it were run)", name, err))
	}
	fmt.Fprintf(e.stdout, "%s: %d statements run on %s\n", name, len(p.Steps), strings.Join(nodesOf(p), ", "))
	return nil
}

func nodesOf(p target.Plan) []string {
	var out []string
	for _, s := range p.Steps {
		if !slices.Contains(out, s.Node) {
			out = append(out, s.Node)
		}
	}
	return out
}
