package main

import (
	"context"
	"fmt"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/lab"
)

var labHealCmd = command{
	summary: "heal every fault a run left in a lab",
	usage: `Usage: pgchaos lab heal [flags]

Heals the faults recorded in the lab's fault ledger (left behind by a
pgchaos that was killed), then sweeps the lab back to health whatever the
ledger says: starts stopped nodes, unpauses paused ones, reconnects
isolated ones, removes pgchaos's iptables rules and netem qdiscs, and puts
both HAProxy backends back to ready. Safe to run on a healthy lab.

Examples:
  pgchaos lab heal
  pgchaos lab heal --name demo`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "lab heal", usage)
		name := labNameFlag(fs)
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := noArgs(fs, "lab heal"); err != nil {
			return err
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
		if err != nil {
			return exitcode.InfraErr(fmt.Errorf("heal lab %s: %w", *name, err))
		}
		if len(healed) == 0 {
			fmt.Fprintf(e.stdout, "lab %s: nothing to heal\n", *name)
		}
		return nil
	},
}
