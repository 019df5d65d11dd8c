package reports

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// threeNodes is a report of a three-node run: lag in all six directions,
// a table compared across the three with a row of each kind, and a table
// left out.
func threeNodes() *Report {
	r := fixture()
	nodes := []string{"primary1", "primary2", "primary3"}
	r.Lab.Nodes = append(r.Lab.Nodes, Node{Name: "primary3", Address: "127.0.0.1:25444", Image: "pgchaos-local/postgres:18", ServerVersion: "18.6"})
	r.Lag = &Lag{}
	i := 0
	for _, from := range nodes {
		for _, to := range nodes {
			if from == to {
				continue
			}
			i++
			d := LagDirection{From: from, To: to, Samples: 100 + i, P50: dur(time.Duration(i) * time.Millisecond), P99: dur(time.Duration(10*i) * time.Millisecond)}
			for s := range 5 {
				d.Timeline = append(d.Timeline, LagPoint{T: s, Max: dur(time.Duration(i*(s+1)) * time.Millisecond)})
			}
			r.Lag.Directions = append(r.Lag.Directions, d)
		}
	}
	r.Divergence = &Divergence{
		Converged: true, ConvergedIn: dur(1200 * time.Millisecond), DivergentRows: 3, Nodes: nodes,
		NotCompared: []NotCompared{{Table: "app.audit", Reason: "no primary key: rows cannot be matched across nodes without one"}},
		Tables: []TableDivergence{{
			Table: "app.orders", RowsPrimary1: 10, RowsPrimary2: 9, MissingOnPrimary1: 0, MissingOnPrimary2: 2, Different: 1, DivergentRows: 3,
			Nodes: []TableNode{{Node: "primary1", Rows: 10}, {Node: "primary2", Rows: 9, Missing: 2}, {Node: "primary3", Rows: 10, Missing: 1}},
			Rows: []DivergentRow{
				{Key: "7", Kind: Different, Primary1: `{"id":7,"v":"a"}`, Primary2: `{"id":7,"v":"b"}`, LastWriter: "primary2",
					Versions: []RowVersion{{Nodes: []string{"primary1", "primary3"}, Row: `{"id":7,"v":"a"}`}, {Nodes: []string{"primary2"}, Row: `{"id":7,"v":"b"}`}}},
				{Key: "8", Kind: MissingOn("primary2", "primary3"), Primary1: `{"id":8,"v":"only on 1"}`,
					Versions: []RowVersion{{Nodes: []string{"primary1"}, Row: `{"id":8,"v":"only on 1"}`}, {Nodes: []string{"primary2", "primary3"}}}},
				{Key: "9", Kind: MissingOn("primary2"), Primary1: `{"id":9}`,
					Versions: []RowVersion{{Nodes: []string{"primary1", "primary3"}, Row: `{"id":9}`}, {Nodes: []string{"primary2"}}}},
			},
		}},
	}
	r.Assertions = nil
	return r
}

func TestTableShowsLagMatrixDivergencePerNodeAndVersions(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, threeNodes()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`Lag p99 from each node \(row\) to each other \(column\)`),
		// Row primary2: to primary1 is the third direction (30 ms), to primary3 the fourth.
		regexp.MustCompile(`│ primary2\s+│ 30 ms\s+│\s+│ 40 ms\s+│`),
		regexp.MustCompile(`│ app\.audit\s+│ no primary key: rows cannot be matched across nodes without one`),
		regexp.MustCompile(`│ app\.orders\s+│ 3\s+│ 1\s+│ primary1 │ 10\s+│ 0\s+│`),
		regexp.MustCompile(`│\s+│\s+│\s+│ primary3 │ 10\s+│ 1\s+│`),
		regexp.MustCompile(`│ app\.orders\s+│ 7\s+│ different\s+│ primary1, primary3 │ \{"id":7,"v":"a"\}\s+│ primary2\s+│`),
		regexp.MustCompile(`│\s+│\s+│\s+│ primary2\s+│ \{"id":7,"v":"b"\}\s+│\s+│`),
		regexp.MustCompile(`│ app\.orders\s+│ 8\s+│ missing_on_primary2,primary3 │ primary1\s+│ \{"id":8,"v":"only on 1"\}\s+│ -\s+│`),
		regexp.MustCompile(`│\s+│\s+│\s+│ primary2, primary3 │ -\s+│\s+│`),
	} {
		if !want.MatchString(out) {
			t.Errorf("the table lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "rows primary1") {
		t.Errorf("a three-node divergence kept the two-node columns:\n%s", out)
	}
}

func TestTwoNodeViewsHaveNoMatrixNorNodeColumns(t *testing.T) {
	var b bytes.Buffer
	if err := Table(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); strings.Contains(out, "Lag p99 from each node") || strings.Contains(out, "not compared") {
		t.Errorf("a two-node report grew three-node parts:\n%s", out)
	}
	if page := renderHTML(t, fixture()); strings.Contains(page, "Lag p99 from each node") || strings.Contains(page, "Tables not compared") {
		t.Error("a two-node page grew three-node parts")
	}
}

var (
	polylineRE = regexp.MustCompile(`<polyline fill="none" stroke="(#[0-9a-f]{6})"[^>]*><title>([^<]*)</title>`)
	legendRE   = regexp.MustCompile(`<rect x="([0-9.]+)" y="([0-9.]+)" width="16" height="10" fill="(#[0-9a-f]{6})"[^>]*/><text[^>]*>([^<]*)</text>`)
)

func TestHTMLShowsEveryNodeAndEveryDirection(t *testing.T) {
	page := renderHTML(t, threeNodes())
	checkBalanced(t, page)
	text := cellText(page)
	for _, want := range []string{
		"|Lag p99 from each node (row) to each other (column)|from \\ to|primary1|primary2|primary3|",
		"|primary2|30 ms|40 ms|",
		"|Tables not compared|table|why|app.audit|no primary key: rows cannot be matched across nodes without one|",
		"|app.orders|3|1|primary1|10|0|",
		"|7|different|primary1, primary3|primary2|{\"id\":7,\"v\":\"a\"}|{\"id\":7,\"v\":\"b\"}|primary2|",
		"|8|missing_on_primary2,primary3|primary1|primary2, primary3|{\"id\":8,\"v\":\"only on 1\"}|-|",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	var lag string
	for _, c := range charts(page) {
		if strings.Contains(c, `id="chart-lag"`) {
			lag = c
		}
	}
	lines := polylineRE.FindAllStringSubmatch(lag, -1)
	if len(lines) != 6 {
		t.Fatalf("the lag chart draws %d lines, want 6 (every ordered pair of 3 nodes)", len(lines))
	}
	colours := map[string]string{}
	for _, l := range lines {
		if other, dup := colours[l[1]]; dup {
			t.Errorf("%s and %s share colour %s", other, l[2], l[1])
		}
		colours[l[1]] = l[2]
	}
	legend := legendRE.FindAllStringSubmatch(lag, -1)
	for _, l := range lines {
		found := false
		for _, e := range legend {
			found = found || e[3] == l[1] && e[4] == l[2]
		}
		if !found {
			t.Errorf("the legend has no entry for %s in %s", l[2], l[1])
		}
	}
}

// TestLagChartOfFiveNodesKeepsTwentyColoursAndItsLegendInside pins the
// largest topology: twenty directions, each its own colour, and a legend
// that wraps inside the chart rather than running off its right edge.
func TestLagChartOfFiveNodesKeepsTwentyColoursAndItsLegendInside(t *testing.T) {
	r := threeNodes()
	r.Lag = &Lag{}
	for f := 1; f <= 5; f++ {
		for to := 1; to <= 5; to++ {
			if f != to {
				r.Lag.Directions = append(r.Lag.Directions, LagDirection{From: fmt.Sprintf("primary%d", f), To: fmt.Sprintf("primary%d", to),
					Timeline: []LagPoint{{T: 0, Max: dur(time.Duration(f*to) * time.Millisecond)}, {T: 1, Max: dur(time.Millisecond)}}})
			}
		}
	}
	var lag string
	for _, c := range charts(renderHTML(t, r)) {
		if strings.Contains(c, `id="chart-lag"`) {
			lag = c
		}
	}
	lines := polylineRE.FindAllStringSubmatch(lag, -1)
	colours := map[string]bool{}
	for _, l := range lines {
		colours[l[1]] = true
	}
	if len(lines) != 20 || len(colours) != 20 {
		t.Fatalf("%d lines in %d colours, want 20 in 20", len(lines), len(colours))
	}
	height, _ := strconv.ParseFloat(regexp.MustCompile(`height="([0-9]+)"`).FindStringSubmatch(lag)[1], 64)
	rowsSeen := map[string]bool{}
	for _, e := range legendRE.FindAllStringSubmatch(lag, -1) {
		x, _ := strconv.ParseFloat(e[1], 64)
		y, _ := strconv.ParseFloat(e[2], 64)
		rowsSeen[e[2]] = true
		if end := x + 21 + 7*float64(len(e[4])); end > chartWidth || y > height {
			t.Errorf("legend entry %s ends at x %.0f, y %.0f: outside the %d×%.0f chart", e[4], end, y, chartWidth, height)
		}
	}
	if len(rowsSeen) < 2 {
		t.Errorf("twenty directions' legend on %d row, want it wrapped", len(rowsSeen))
	}
}

func TestReadChecksThatADivergenceNamesItsNodesConsistently(t *testing.T) {
	write := func(t *testing.T, r *Report) string {
		var b bytes.Buffer
		if err := JSON(&b, r); err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(t.TempDir(), "report.json")
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	got, err := Read(write(t, threeNodes()))
	if err != nil {
		t.Fatalf("a three-node report does not read back: %v", err)
	}
	if !reflect.DeepEqual(got.Divergence, threeNodes().Divergence) {
		t.Errorf("read back %+v\nwant %+v", got.Divergence, threeNodes().Divergence)
	}
	tests := []struct {
		name   string
		change func(d *Divergence)
		want   string
	}{
		{"a kind naming no node", func(d *Divergence) { d.Tables[0].Rows[2].Kind = MissingOn("primary4") }, `tables[0].rows[2]: kind "missing_on_primary4" names "primary4"`},
		{"a kind the versions contradict", func(d *Divergence) { d.Tables[0].Rows[1].Kind = MissingOn("primary2") }, "but the versions say primary2, primary3 lack the row"},
		{"different with one version", func(d *Divergence) { d.Tables[0].Rows[2].Kind = Different }, "different means two or more"},
		{"a node left out of the versions", func(d *Divergence) { d.Tables[0].Rows[0].Versions[1].Nodes = nil }, "versions name 2 of the 3 nodes"},
		{"a node in two versions", func(d *Divergence) { d.Tables[0].Rows[0].Versions[1].Nodes = []string{"primary1"} }, `versions name "primary1" twice`},
		{"table nodes out of order", func(d *Divergence) {
			d.Tables[0].Nodes[0], d.Tables[0].Nodes[1] = d.Tables[0].Nodes[1], d.Tables[0].Nodes[0]
		}, `tables[0].nodes[0].node: "primary2", want "primary1"`},
		{"a two-node kind in a three-node divergence", func(d *Divergence) { d.Tables[0].Rows[2].Kind = "missing" }, `kind "missing": want "different" or missing_on_`},
		{"two nodes listed", func(d *Divergence) { d.Nodes = d.Nodes[:2] }, "the list is for more than two nodes"},
		{"a not-compared table without a reason", func(d *Divergence) { d.NotCompared[0].Reason = "" }, "not_compared[0]: a table not compared needs"},
		{"versions in a two-node divergence", func(d *Divergence) {
			d.Nodes = nil
			for i := range d.Tables {
				d.Tables[i].Nodes = nil
			}
			d.Tables[0].Rows = d.Tables[0].Rows[:1]
		}, "versions in a two-node divergence"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := threeNodes()
			tt.change(r.Divergence)
			_, err := Read(write(t, r))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Read = %v, want an error saying %q", err, tt.want)
			}
		})
	}
}
