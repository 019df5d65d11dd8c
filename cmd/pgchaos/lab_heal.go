package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/target"
)

var labHealCmd = command{
	summary: "heal every fault a run left in a lab, or on a target",
	usage: `Usage: pgchaos lab heal [flags]

Heals the faults recorded in the lab's fault ledger (left behind by a
pgchaos that was killed), then sweeps the lab back to health whatever the
ledger says: starts stopped nodes, unpauses paused ones, reconnects
isolated ones, removes pgchaos's iptables rules and netem qdiscs, and puts
both HAProxy backends back to ready. Safe to run on a healthy lab.

With --target FILE it is ` + "`pgchaos target heal FILE`" + `: it heals what an
interrupted ` + "`pgchaos run --target FILE`" + ` left on your nodes, the faults in
the ledger target-<file base name>, each undone as the ledger recorded it,
on the node's own engine (docker_host) or through its DSN, and nothing
else (no sweep: pgchaos touches only what it recorded doing). The nodes
are looked at first with a read-only preflight, as run does; a stopped
node need not answer.

Examples:
  pgchaos lab heal
  pgchaos lab heal --name demo
  pgchaos lab heal --target cluster.yaml`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "lab heal", usage)
		name := labNameFlag(fs)
		targetFile := fs.String("target", "", "heal what an interrupted run left on the user's nodes this target file names (its ledger only)")
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := noArgs(fs, "lab heal"); err != nil {
			return err
		}
		if *targetFile != "" {
			if fs.Changed("name") {
				return exitcode.BadInputErr(errors.New("--name and --target exclude each other: heal either a lab or a target"))
			}
			t, err := target.Load(*targetFile)
			if err != nil {
				return err
			}
			return healTarget(ctx, e, t) // as pgchaos target heal
		}
		if err := checkLabName("name", *name); err != nil {
			return err
		}
		l, err := lab.Open(ctx, *name)
		if err != nil {
			return err
		}
		defer l.Close()
		hctx, cancel := faults.HealContext(ctx)
		defer cancel()
		healed, err := faults.HealLab(hctx, l, "")
		for _, h := range healed {
			fmt.Fprintf(e.stdout, "healed: %s\n", h)
		}
		what := "lab " + *name
		if err != nil {
			return exitcode.InfraErr(fmt.Errorf("heal %s: %w", what, err))
		}
		if len(healed) == 0 {
			fmt.Fprintf(e.stdout, "%s: nothing to heal\n", what)
		}
		return nil
	},
}
