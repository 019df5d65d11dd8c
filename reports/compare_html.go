package reports

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"strings"
)

// CompareHTML writes c as one self-contained HTML page: the verdict, the
// variants table, then for each chart the report page draws (lag, bytes
// behind, throughput) every variant's chart one under the other, on the
// same time axis and the same y axis, each with its own fault windows.
// reps[i] is the report of c.Variants[i], nil when it has none. The page
// uses the report page's styles, table and chart templates.
func CompareHTML(w io.Writer, c *Comparison, reps []*Report) error {
	if c == nil {
		return errors.New("render comparison html: no comparison (nil)")
	}
	if len(reps) != len(c.Variants) {
		return fmt.Errorf("render comparison html: %d reports for %d variants", len(reps), len(c.Variants))
	}
	t, err := template.New("page").Parse(htmlPage)
	if err == nil {
		_, err = t.New("compare").Parse(comparePage)
	}
	if err != nil {
		// Both templates are constants: a parse error is a bug, which a test pins.
		return fmt.Errorf("render comparison html: parse template: %w", err)
	}
	if err := t.ExecuteTemplate(w, "compare", newCompareView(c, reps)); err != nil {
		return fmt.Errorf("render comparison html: %w", err)
	}
	return nil
}

// compareView is the comparison laid out for its template.
type compareView struct {
	Title       string
	Style       template.CSS
	Verdict     string
	VerdictCSS  string
	Scenario    string
	Run         htmlTable
	Interrupted bool
	Variants    htmlTable
	Charts      []compareChart
	Footer      string
}

// compareChart is one kind of chart, drawn once per variant.
type compareChart struct {
	Title string
	Rows  []compareChartRow
}

type compareChartRow struct {
	Variant string
	Chart   *chartView // nil: the variant has no data for this chart
	Missing string
}

func newCompareView(c *Comparison, reps []*Report) compareView {
	v := compareView{
		Style:       template.CSS(pageStyle()),
		Verdict:     strings.ToUpper(c.Verdict),
		VerdictCSS:  c.Verdict,
		Scenario:    c.Scenario.Name,
		Interrupted: c.Interrupted,
		Footer:      "comparison " + CompareSchema,
	}
	switch c.Verdict {
	case VerdictPass, VerdictFail, VerdictNone:
	default:
		v.Verdict, v.VerdictCSS = "NOT EVALUATED", VerdictNone
	}
	if c.Version != "" {
		v.Footer += ", pgchaos " + c.Version
	}
	v.Title = fmt.Sprintf("pgchaos compare %s: %s", dash(c.Scenario.Name), v.Verdict)
	v.Run = htmlTable{KV: true}
	add := func(k, val string) { v.Run.Rows = append(v.Run.Rows, []htmlCell{{Text: k}, {Text: val}}) }
	scen := c.Scenario.Name
	if c.Scenario.File != "" {
		scen += " (" + c.Scenario.File + ")"
	}
	add("scenario", scen)
	add("seed", fmt.Sprint(c.Scenario.Seed)+" (every variant)")
	add("duration", HumanDuration(c.Scenario.Duration.D()))
	add("interrupted", yesNo(c.Interrupted))

	v.Variants = htmlTable{Header: CompareHeader()}
	for i, row := range CompareRows(c) {
		cellsOut := make([]htmlCell, len(row))
		for j, text := range row {
			cell := htmlCell{Lines: strings.Split(text, "\n")}
			switch {
			case j == len(row)-1 && c.Variants[i].Verdict == VerdictFail:
				cell.CSS = "fail"
			case j == len(row)-1 && c.Variants[i].Verdict == VerdictPass:
				cell.CSS = "pass"
			case j > 0 && j < len(row)-1:
				cell.CSS = "num"
			}
			cellsOut[j] = cell
		}
		v.Variants.Rows = append(v.Variants.Rows, cellsOut)
	}
	v.Charts = compareCharts(c, reps)
	return v
}

// compareCharts draws each chart kind for every variant on shared axes:
// the longest run's time axis, and a y axis that holds every variant's
// values, so a line's height means the same in every variant.
func compareCharts(c *Comparison, reps []*Report) []compareChart {
	var order []string // chart IDs, first seen first
	specs := make([]map[string]chartSpec, len(reps))
	titles := map[string]string{}
	ys := map[string][]float64{}
	var xmax float64
	for i, r := range reps {
		if r == nil {
			continue
		}
		specs[i] = map[string]chartSpec{}
		for _, s := range chartSpecs(r) {
			if _, seen := titles[s.ID]; !seen {
				order = append(order, s.ID)
				titles[s.ID] = s.Title
			}
			specs[i][s.ID] = s
			ys[s.ID] = append(ys[s.ID], s.yValues()...)
			xmax = max(xmax, s.XMax)
		}
	}
	var out []compareChart
	for _, id := range order {
		cc := compareChart{Title: titles[id]}
		for i, vr := range c.Variants {
			row := compareChartRow{Variant: vr.Variant}
			s, ok := specs[i][id]
			if !ok {
				row.Missing = "no data: " + strings.ReplaceAll(vr.Status, "_", " ")
				if vr.Status == VariantDone {
					row.Missing = "no data"
				}
				cc.Rows = append(cc.Rows, row)
				continue
			}
			s.XMax = xmax
			s.ID = fmt.Sprintf("%s-%d", id, i+1)
			drawn := s.drawOn(ys[id])
			if len(s.yValues()) == 0 {
				drawn.Empty = "no samples"
			}
			row.Chart = &drawn
			cc.Rows = append(cc.Rows, row)
		}
		out = append(out, cc)
	}
	return out
}

// pageStyle is the report page's style sheet, so both pages look alike.
func pageStyle() string {
	_, rest, ok := strings.Cut(htmlPage, "<style>")
	if !ok {
		return ""
	}
	style, _, _ := strings.Cut(rest, "</style>")
	return style
}

// comparePage lays the comparison out with the report page's "table" and
// "chart" templates.
const comparePage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>{{.Style}}
h3 { font-size: 14px; margin: 14px 0 4px; }
main { max-width: 1200px; }
</style>
</head>
<body>
<main>
<header class="verdict v-{{.VerdictCSS}}">
<div class="badge">{{.Verdict}}</div>
<div>
<h1>{{.Scenario}}: comparison</h1>
{{template "table" .Run}}
{{if .Interrupted}}<div class="interrupted">interrupted: the variant that was running and those after it are incomplete</div>{{end}}
</div>
</header>
<section id="variants"><h2>Variants</h2>{{template "table" .Variants}}
<p>conflicts: as PostgreSQL counted them; "logged": from the server logs, where the engine keeps no counters. - : not measured.</p></section>
{{range .Charts}}<section class="chart-section"><h2>{{.Title}}</h2>
{{range .Rows}}<h3>{{.Variant}}</h3>{{with .Chart}}{{template "chart" .}}{{else}}<p>{{.Missing}}</p>{{end}}
{{end}}</section>
{{end}}
<footer>{{.Footer}}</footer>
</main>
</body>
</html>
`
