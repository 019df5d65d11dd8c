package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/pgchaos/pgchaos/diverge"
	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/faults"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
)

var labDiffCmd = command{
	summary: "compare the two primaries row by row, now",
	usage: `Usage: pgchaos lab diff [flags]

Compares every table with a primary key on primary1 and primary2 (the
heartbeat table excepted) by ranges of hashes computed inside PostgreSQL,
and names each row that differs: missing on primary1, missing on primary2,
or different (both versions, and which node wrote last). Memory does not
grow with table size. Exits 0 when the nodes agree, 1 when rows differ.

It compares what each node holds now: rows still in flight show as
differences. Run it on a quiet lab, or after "pgchaos run" ends.

Examples:
  pgchaos lab diff
  pgchaos lab diff --name demo --table test_table --format json
  pgchaos lab diff --limit 1000`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "lab diff", usage)
		name := labNameFlag(fs)
		format := fs.String("format", "table", "output: table or json")
		tables := fs.StringSlice("table", nil, "compare only these tables (repeat or comma-separate)")
		limit := fs.Int("limit", diverge.DefaultRowLimit, "list at most this many divergent rows per table (counts stay exact)")
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := oneOf("format", *format, "table", "json"); err != nil {
			return err
		}
		l, err := lab.Open(ctx, *name)
		if err != nil {
			return err
		}
		defer l.Close()
		d, err := diverge.DiffLab(ctx, l, diverge.Options{Tables: *tables, RowLimit: *limit})
		if err != nil {
			return exitcode.InfraErr(fmt.Errorf("compare lab %s: %w", *name, err))
		}
		if *format == "json" {
			// A diff on demand makes no claim about convergence: no such fields.
			err = writeJSON(e.stdout, struct {
				Lab           string                    `json:"lab"`
				ComparedAt    time.Time                 `json:"compared_at"`
				DivergentRows int64                     `json:"divergent_rows"`
				Tables        []reports.TableDivergence `json:"tables"`
			}{*name, time.Now().UTC(), d.DivergentRows, d.Tables})
		} else {
			err = reports.DivergenceTable(e.stdout, d)
		}
		if err != nil {
			return err
		}
		if d.DivergentRows > 0 {
			return exitcode.With(exitcode.Failed, errSilent)
		}
		return nil
	},
}

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

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
