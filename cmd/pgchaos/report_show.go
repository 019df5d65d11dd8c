package main

import (
	"context"
	"fmt"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/reports"
)

var reportShowCmd = command{
	summary: "re-render a saved report.json",
	usage: `Usage: pgchaos report show FILE [--format table|json|junit|html]

Renders a report written by "pgchaos run" (report.json in its report
directory) again: as the terminal table, as JSON, as JUnit XML, or as one
offline HTML page with charts (lag per direction, bytes behind, ops/s and
errors per target, every fault window shaded).

Examples:
  pgchaos report show pgchaos-reports/20261126-142000-quickstart/report.json
  pgchaos report show out/report.json --format junit > junit.xml
  pgchaos report show out/report.json --format html > report.html`,
	run: func(ctx context.Context, e *env, usage string, args []string) error {
		fs := flags(e, "report show", usage)
		format := fs.String("format", "table", "output: table, json, junit or html")
		if err := parse(fs, args); err != nil {
			return err
		}
		if fs.NArg() != 1 {
			fs.Usage()
			return exitcode.BadInputErr(fmt.Errorf("name one report file"))
		}
		if err := oneOf("format", *format, "table", "json", "junit", "html"); err != nil {
			return err
		}
		r, err := reports.Read(fs.Arg(0))
		if err != nil {
			return exitcode.BadInputErr(err)
		}
		switch *format {
		case "table":
			return reports.Table(e.stdout, r)
		case "json":
			return reports.JSON(e.stdout, r)
		case "junit":
			return reports.JUnit(e.stdout, r)
		}
		return reports.HTML(e.stdout, r)
	},
}
