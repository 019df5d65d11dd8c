package main

import (
	"context"
	"fmt"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/reports"
)

var reportShowCmd = command{
	summary: "re-render a saved report.json or compare.json",
	usage: `Usage: pgchaos report show FILE [--format table|json|junit|html]

Renders a report written by "pgchaos run" (report.json in its report
directory) again: as the terminal table, as JSON, as JUnit XML, or as one
offline HTML page with charts (lag per direction, bytes behind, ops/s and
errors per target, every fault window shaded).

Given the compare.json of "pgchaos compare", it renders the comparison:
its table, its JSON, or its page (which reads each variant's report.json
from the folders beside it); JUnit is for a run's report only.

Examples:
  pgchaos report show pgchaos-reports/20261126-142000-quickstart/report.json
  pgchaos report show out/report.json --format junit > junit.xml
  pgchaos report show out/report.json --format html > report.html
  pgchaos report show out/compare.json --format html > compare.html`,
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
		if reports.SchemaOf(fs.Arg(0)) == reports.CompareSchema {
			return showComparison(e, fs.Arg(0), *format)
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

// showComparison renders a saved compare.json as format.
func showComparison(e *env, path, format string) error {
	c, reps, err := reports.ReadComparison(path)
	if err != nil {
		return exitcode.BadInputErr(err)
	}
	switch format {
	case "table":
		return reports.CompareTable(e.stdout, c)
	case "json":
		return reports.CompareJSON(e.stdout, c)
	case "html":
		return reports.CompareHTML(e.stdout, c, reps)
	}
	return exitcode.BadInputErr(fmt.Errorf("%s is a comparison (%s): --format junit is for a run's report.json; use table, json or html, or show a variant's report.json", path, reports.CompareSchema))
}
