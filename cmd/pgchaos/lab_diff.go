package main

import (
	"context"
	"fmt"
	"time"

	"github.com/pgchaos/pgchaos/diverge"
	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
)

var labDiffCmd = command{
	summary: "compare the lab's primaries row by row, now",
	usage: `Usage: pgchaos lab diff [flags]

Compares every table with a primary key, in every schema but the system's
and the replication engine's (the heartbeat table excepted), across all
the lab's primaries at once, by ranges of hashes computed inside
PostgreSQL, and names each row that differs: missing on a node, or
different (each version with the nodes holding it, and which node wrote
last). Tables without a primary key are listed as not compared, with why.
Memory does not grow with table size. Exits 0 when the nodes agree, 1
when rows differ.

It compares what each node holds now: rows still in flight show as
differences. Run it on a quiet lab, or after "pgchaos run" ends.

Examples:
  pgchaos lab diff
  pgchaos lab diff --name demo --table test_table --table app.orders --format json
  pgchaos lab diff --limit 1000`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "lab diff", usage)
		name := labNameFlag(fs)
		format := fs.String("format", "table", "output: table or json")
		tables := fs.StringSlice("table", nil, "compare only these tables, schema.table outside schema public (repeat or comma-separate)")
		limit := fs.Int("limit", diverge.DefaultRowLimit, "list at most this many divergent rows per table (counts stay exact)")
		if err := parse(fs, args); err != nil {
			return err
		}
		if err := noArgs(fs, "lab diff"); err != nil {
			return err
		}
		if err := checkLabName("name", *name); err != nil {
			return err
		}
		if *limit < 0 {
			return exitcode.BadInputErr(fmt.Errorf("--limit %d is negative: give how many divergent rows to list per table (0 lists none; counts stay exact)", *limit))
		}
		if err := oneOf("format", *format, "table", "json"); err != nil {
			return err
		}
		l, err := lab.Open(ctx, *name)
		if err != nil {
			return err
		}
		defer l.Close()
		rowLimit := *limit
		if rowLimit == 0 {
			rowLimit = -1 // diverge reads 0 as its default; on the command line 0 means none
		}
		d, err := diverge.DiffLab(ctx, l, diverge.Options{Tables: *tables, RowLimit: rowLimit})
		if err != nil {
			return exitcode.InfraErr(fmt.Errorf("compare lab %s: %w", *name, err))
		}
		if *format == "json" {
			// A diff on demand makes no claim about convergence: no such fields.
			// The other fields are the report's (docs/report.md).
			err = writeJSON(e.stdout, struct {
				Lab           string                    `json:"lab"`
				ComparedAt    time.Time                 `json:"compared_at"`
				DivergentRows int64                     `json:"divergent_rows"`
				Tables        []reports.TableDivergence `json:"tables"`
				Nodes         []string                  `json:"nodes,omitempty"`
				NotCompared   []reports.NotCompared     `json:"not_compared,omitempty"`
			}{*name, time.Now().UTC(), d.DivergentRows, d.Tables, d.Nodes, d.NotCompared})
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
