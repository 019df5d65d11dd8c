package main

import (
	"context"
	"fmt"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/runner"
	"github.com/pgchaos/pgchaos/target"
)

var targetHealCmd = command{
	summary: "heal the faults a run on a target left in its ledger",
	usage: `Usage: pgchaos target heal FILE

Heals the faults recorded in the target's fault ledger (target-<file>,
left by a pgchaos that was killed during pgchaos run --target), each as
the ledger recorded it: an HAProxy server put in maint is set ready, an
isolated container is reconnected with the endpoint settings it had, a
stopped one started, and so on. Unlike lab heal it sweeps nothing: on
your nodes pgchaos undoes only what its ledger says it did. The next run
on the same target does the same first. Safe when nothing is left.

Exits 0 when everything was healed (or nothing was left), 3 when a heal
failed, 2 for a bad file.

Examples:
  pgchaos target heal cluster.yaml`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "target heal", usage)
		if err := parse(fs, args); err != nil {
			return err
		}
		t, err := loadTarget(fs.Args())
		if err != nil {
			return err
		}
		return healTarget(ctx, e, t)
	},
}

func healTarget(ctx context.Context, e *env, t *target.Target) error {
	l, pre, err := runner.TargetLab(ctx, t)
	if err != nil {
		return err
	}
	defer l.Close()
	g, err := faults.OpenLedger(l)
	if err != nil {
		return exitcode.InfraErr(err)
	}
	before := g.Unhealed()
	if len(before) == 0 {
		fmt.Fprintf(e.stdout, "target %s: nothing to heal (ledger %s)\n", t.File, g.Path())
		return nil
	}
	if s := target.DescribeServers(pre.Facts.HAProxy); s != "" {
		fmt.Fprintln(e.stderr, s)
	}
	hctx, cancel := faults.HealContext(ctx)
	defer cancel()
	herr := g.HealAll(hctx)
	for _, r := range g.Records() {
		for _, b := range before {
			if b.ID == r.ID && r.HealedAt != nil {
				fmt.Fprintf(e.stdout, "healed: %s\n", r.Name)
			}
		}
	}
	if herr != nil {
		return exitcode.InfraErr(fmt.Errorf("heal target %s: %s", t.File, t.Scrub(herr.Error())))
	}
	return nil
}
