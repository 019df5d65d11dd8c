package reports

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// CompareTable writes the terminal view of c: the run, one row per variant,
// where each variant's report is, then the verdict in capitals. Like
// Table, it formats the model's numbers and computes none of its own.
func CompareTable(w io.Writer, c *Comparison) error {
	if c == nil {
		return errors.New("render comparison table: no comparison (nil)")
	}
	p := &printer{w: w}
	p.title("Comparison")
	scen := c.Scenario.Name
	if c.Scenario.File != "" {
		scen += " (" + c.Scenario.File + ")"
	}
	p.table(nil, [][]string{
		{"scenario", scen},
		{"seed", fmt.Sprint(c.Scenario.Seed) + " (every variant)"},
		{"duration", HumanDuration(c.Scenario.Duration.D())},
		{"interrupted", yesNo(c.Interrupted)},
	})
	p.title("Variants")
	p.table(CompareHeader(), CompareRows(c))
	p.printf("conflicts: as PostgreSQL counted them; \"logged\": from the server logs, where the engine keeps no counters. - : not measured.\n")
	p.title("Reports")
	var rows [][]string
	for _, v := range c.Variants {
		rows = append(rows, []string{v.Variant, v.Dir, compareWall(v)})
	}
	p.table([]string{"variant", "report.json and history.jsonl in", "wall time (lab up)"}, rows)
	for _, v := range c.Variants {
		for _, w := range v.Warnings {
			p.printf("warning: %s: %s\n", v.Variant, w)
		}
		if v.Error != "" {
			p.printf("error: %s: %s\n", v.Variant, v.Error)
		}
	}
	p.printf("VERDICT: %s\n", strings.ToUpper(dash(c.Verdict)))
	if p.err != nil {
		return fmt.Errorf("render comparison table: %w", p.err)
	}
	return nil
}

// CompareHeader is the header of the variants table, shared by the
// terminal and HTML views.
func CompareHeader() []string {
	return []string{"variant", "ops ok", "converged", "converged in", "divergent rows", "lost writes", "lost updates",
		"conflicts", "stalls", "lag p99", "unavailable", "verdict"}
}

// CompareRows are the variants table's cells, one row per variant; a cell
// of several lines (conflicts by kind, lag per direction) holds them
// separated by "\n".
func CompareRows(c *Comparison) [][]string {
	rows := make([][]string, 0, len(c.Variants))
	for _, v := range c.Variants {
		conv := "-"
		if v.Converged != nil {
			conv = yesNo(*v.Converged)
		}
		rows = append(rows, []string{
			v.Variant, opsCell(v), conv, optMillis(v.ConvergedIn), optCount(v.DivergentRows),
			optCount(v.LostWrites), optCount(v.LostUpdates), conflictsCell(v.Conflicts),
			optCount(v.Stalls), lagCell(v.LagP99), optMillis(v.Unavailability), variantVerdict(v),
		})
	}
	return rows
}

// opsCell is the acknowledged operations of all workloads, "-" without a report.
func opsCell(v VariantResult) string {
	if v.Lab == nil {
		return "-"
	}
	return count(v.OpsOK)
}

func optCount(n *int64) string {
	if n == nil {
		return "-"
	}
	return count(*n)
}

func optMillis(d *Duration) string {
	if d == nil {
		return "-"
	}
	return HumanDuration(d.D())
}

// conflictsCell lists the counted kinds, most first; where the engine
// counts nothing, the logged ones, marked so.
func conflictsCell(c *VariantConflicts) string {
	if c == nil {
		return "-"
	}
	m, mark := c.Counted, ""
	if c.Counted == nil {
		m, mark = c.Logged, "logged "
	}
	if len(m) == 0 {
		if mark != "" {
			return "logged: none"
		}
		return "none"
	}
	var lines []string
	for _, k := range sortedKinds(m) {
		lines = append(lines, fmt.Sprintf("%s%s %d", mark, k, m[k]))
	}
	return strings.Join(lines, "\n")
}

func lagCell(ds []DirectionP99) string {
	if len(ds) == 0 {
		return "-"
	}
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = fmt.Sprintf("%s->%s %s", d.From, d.To, HumanDuration(d.P99.D()))
	}
	return strings.Join(lines, "\n")
}

// variantVerdict is the verdict cell: the run's verdict with the failed
// assertions, or why there is none.
func variantVerdict(v VariantResult) string {
	switch v.Status {
	case VariantError:
		return "ERROR"
	case VariantNotRun:
		return "not run"
	}
	s := strings.ToUpper(dash(v.Verdict))
	if len(v.FailedAssertions) > 0 {
		s += "\n" + strings.Join(v.FailedAssertions, "\n")
	}
	if v.Status == VariantInterrupted {
		s += "\n(interrupted)"
	}
	return s
}

func compareWall(v VariantResult) string {
	if v.Status == VariantNotRun {
		return "-"
	}
	s := HumanDuration(v.Wall.D())
	if v.LabUp != nil {
		s += " (" + HumanDuration(v.LabUp.D()) + ")"
	}
	return s
}

// CompareJSON writes c as indented JSON under schema pgchaos.compare/v1,
// whatever c.Schema holds. Lists are written as [] when empty, never null.
func CompareJSON(w io.Writer, c *Comparison) error {
	if c == nil {
		return errors.New("write comparison JSON: no comparison (nil)")
	}
	cc := *c
	cc.Schema = CompareSchema
	cc.Variants = make([]VariantResult, len(c.Variants))
	for i, v := range c.Variants {
		v.LagP99 = nonNil(v.LagP99)
		v.FailedAssertions = nonNil(v.FailedAssertions)
		cc.Variants[i] = v
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&cc); err != nil {
		return fmt.Errorf("write comparison JSON: %w", err)
	}
	return nil
}
