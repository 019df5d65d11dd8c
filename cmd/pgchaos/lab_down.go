package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pgchaos/pgchaos/lab"
)

var labDownCmd = command{
	summary: "remove a lab and everything it made",
	usage: `Usage: pgchaos lab down [flags]

Removes every container (helpers included), network and volume labelled
pgchaos.lab=NAME. Safe on a half-built or already-removed lab.

Examples:
  pgchaos lab down
  pgchaos lab down --name demo17`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "lab down", usage)
		name := labNameFlag(fs)
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := noArgs(fs, "lab down"); err != nil {
			return err
		}
		if err := checkLabName("name", *name); err != nil {
			return err
		}
		start := time.Now()
		r, err := lab.DownCount(ctx, *name)
		if err != nil {
			return err
		}
		if r.Containers+r.Networks+r.Volumes == 0 {
			fmt.Fprintf(e.stderr, "pgchaos: no lab %q: nothing to remove\n", *name)
			return nil
		}
		fmt.Fprintf(e.stderr, "pgchaos: lab %q removed (%d containers, %d networks, %d volumes) in %.1fs\n",
			*name, r.Containers, r.Networks, r.Volumes, time.Since(start).Seconds())
		return nil
	},
}
