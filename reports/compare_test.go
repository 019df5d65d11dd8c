package reports

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
)

// compareFixture is a comparison of three variants: the fixture's failing
// run, a passing pglogical run with no counters, and one never run.
func compareFixture() (*Comparison, []*Report) {
	a := fixture()
	b := fixture()
	b.Lab.Engine, b.Lab.Resolver = "pglogical", "keep_local"
	b.Conflicts.Counted = nil
	b.Conflicts.CountedUnknown = "pglogical keeps no conflict counters"
	b.Conflicts.Workload.LostUpdates = 0
	b.Divergence.DivergentRows = 0
	b.Failovers = nil
	b.Lag.Directions[0].Timeline = []LagPoint{{T: 0, Max: dur(40 * time.Millisecond)}, {T: 90, Max: dur(80 * time.Millisecond)}}
	b.Assertions = []Assertion{{Name: "converged", Expected: "== true", Actual: "true", Pass: true}}
	b.Verdict = VerdictPass
	b.Warnings = nil
	c := &Comparison{
		Version:  "v-test",
		Scenario: a.Scenario,
		Variants: []VariantResult{VariantOf("native", a), VariantOf("pglogical:keep_local", b), VariantOf("nodes=3", nil)},
	}
	c.Variants[0].Dir, c.Variants[0].Wall, c.Variants[0].LabUp = "1-native", dur(80*time.Second), pdur(9*time.Second)
	c.Variants[1].Dir, c.Variants[1].Wall = "2-pglogical-keep_local", dur(81*time.Second)
	c.Variants[2].Dir = "3-nodes-3"
	c.Summarise()
	return c, []*Report{a, b, nil}
}

func TestVariantOfPicksTheReportsFigures(t *testing.T) {
	c, _ := compareFixture()
	v := c.Variants[0]
	if v.Status != VariantDone || *v.Converged != true || v.ConvergedIn.D() != 2100*time.Millisecond ||
		*v.DivergentRows != 27 || *v.LostWrites != 1 || *v.LostUpdates != 9 || *v.Stalls != 1 ||
		v.Unavailability.D() != 3400*time.Millisecond || v.Verdict != VerdictFail || v.Lab.Nodes != 2 || v.Lab.Engine != "native" {
		t.Errorf("native row: %+v", v)
	}
	if got := strings.Join(v.FailedAssertions, ","); got != "lag_p99,divergent_rows" {
		t.Errorf("failed assertions %q", got)
	}
	if v.Conflicts.Counted["update_origin_differs"] != 26 || v.Conflicts.Logged["insert_exists"] != 3 {
		t.Errorf("conflicts summed over nodes: %+v", v.Conflicts)
	}
	if len(v.LagP99) != 2 || v.LagP99[1].P99.D() != 3100*time.Millisecond {
		t.Errorf("lag p99 %+v", v.LagP99)
	}
	p := c.Variants[1]
	if p.Conflicts.Counted != nil || p.Conflicts.CountedUnknown == "" || p.Unavailability != nil {
		t.Errorf("pglogical row: %+v", p)
	}
	if n := c.Variants[2]; n.Status != VariantNotRun || n.Converged != nil || n.Lab != nil {
		t.Errorf("a variant without a report measured something: %+v", n)
	}
}

// A variant's lab says it retained dead tuples exactly when its report
// measured the retention.
func TestVariantLabSaysWhetherItRetained(t *testing.T) {
	r := fixture()
	if r.Conflicts == nil {
		r.Conflicts = &Conflicts{}
	}
	r.Conflicts.Retention = nil
	if VariantOf("off", r).Lab.RetainDeadTuples {
		t.Error("no retention measured, yet the lab says it retained")
	}
	r.Conflicts.Retention = &Retention{Table: "test_table"}
	if !VariantOf("on", r).Lab.RetainDeadTuples {
		t.Error("retention measured, yet the lab says it did not retain")
	}
}

// A workload that did not run leaves its figure unmeasured, not zero.
func TestVariantOfLeavesUnmeasuredFiguresNull(t *testing.T) {
	r := fixture()
	r.Workloads = []Workload{{Workload: "bank", Kind: "bank", Target: "primary1"}}
	r.Divergence, r.Lag, r.Failovers = nil, nil, nil
	v := VariantOf("x", r)
	if v.LostWrites != nil || v.LostUpdates != nil || v.Converged != nil || v.DivergentRows != nil || v.Unavailability != nil || v.LagP99 != nil {
		t.Errorf("unmeasured figures set: %+v", v)
	}
}

func TestCompareVerdictAndExitCode(t *testing.T) {
	row := func(verdict string, failed ...string) VariantResult {
		return VariantResult{Status: VariantDone, Verdict: verdict, FailedAssertions: failed}
	}
	for _, tc := range []struct {
		name    string
		rows    []VariantResult
		verdict string
		code    int
	}{
		{"all pass", []VariantResult{row(VerdictPass), row(VerdictPass)}, VerdictPass, exitcode.OK},
		{"one fails", []VariantResult{row(VerdictPass), row(VerdictFail, "lost_updates")}, VerdictFail, exitcode.Failed},
		{"first fails", []VariantResult{row(VerdictFail, "lag_p99"), row(VerdictPass)}, VerdictFail, exitcode.Failed},
		{"nothing asserted", []VariantResult{row(VerdictNone), row(VerdictNone)}, VerdictNone, exitcode.OK},
		{"a failed assertion without a verdict", []VariantResult{row("", "stalls"), row(VerdictPass)}, VerdictFail, exitcode.Failed},
		{"pass and not run", []VariantResult{row(VerdictPass), {Status: VariantNotRun}}, VerdictPass, exitcode.OK},
	} {
		c := &Comparison{Variants: tc.rows}
		c.Summarise()
		if c.Verdict != tc.verdict || CompareExitCode(c) != tc.code {
			t.Errorf("%s: verdict %q exit %d, want %q %d", tc.name, c.Verdict, CompareExitCode(c), tc.verdict, tc.code)
		}
	}
}

func TestCompareTableShowsARowPerVariant(t *testing.T) {
	c, _ := compareFixture()
	var b bytes.Buffer
	if err := CompareTable(&b, c); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"42 (every variant)",
		"converged in", "lost updates", "unavailable",
		"update_origin_differs 26", // counted, summed over nodes
		"│ 41980  │",               // ops ok of the fixture: 29990 + 11990
		"logged insert_exists 3",   // pglogical: no counters, the log's
		"primary2->primary1 3.1 s",
		"FAIL", "lag_p99", "PASS", "not run",
		"2-pglogical-keep_local", "1m20s (9 s)",
		"VERDICT: FAIL",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	// One row per variant: each variant's name starts a row of the table.
	for _, v := range []string{"native", "pglogical:keep_local", "nodes=3"} {
		if !regexp.MustCompile(`(?m)^│ ` + regexp.QuoteMeta(v) + ` +│`).MatchString(out) {
			t.Errorf("no row starts with %s:\n%s", v, out)
		}
	}
}

// The JSON carries what the table shows, nulls for what was not measured,
// and [] rather than null for lists.
func TestCompareJSON(t *testing.T) {
	c, _ := compareFixture()
	var b bytes.Buffer
	if err := CompareJSON(&b, c); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["schema"] != CompareSchema || doc["verdict"] != "fail" {
		t.Errorf("schema %v verdict %v", doc["schema"], doc["verdict"])
	}
	vs := doc["variants"].([]any)
	first, third := vs[0].(map[string]any), vs[2].(map[string]any)
	if first["lost_updates"] != 9.0 || first["converged_in_ms"] != 2100.0 || first["lab_up_ms"] != 9000.0 ||
		first["conflicts"].(map[string]any)["counted"].(map[string]any)["update_origin_differs"] != 26.0 {
		t.Errorf("first variant: %v", first)
	}
	if third["status"] != VariantNotRun || third["converged"] != nil || third["lost_writes"] != nil {
		t.Errorf("a variant not run: %v", third)
	}
	if !strings.Contains(b.String(), `"lag_p99": []`) || !strings.Contains(b.String(), `"failed_assertions": []`) {
		t.Errorf("empty lists written as null:\n%s", b.String())
	}
	var back Comparison
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if *back.Variants[0].LostWrites != 1 || back.Variants[1].Conflicts.CountedUnknown == "" {
		t.Errorf("round trip: %+v", back.Variants)
	}
}

// The variants' charts of one kind share the time axis and the y axis:
// the same ticks, the longest run's end.
func TestCompareHTMLSharesAxes(t *testing.T) {
	c, reps := compareFixture()
	v := newCompareView(c, reps)
	var lag *compareChart
	for i := range v.Charts {
		if strings.HasPrefix(v.Charts[i].Title, "Replication lag") {
			lag = &v.Charts[i]
		}
	}
	if lag == nil || len(lag.Rows) != 3 {
		t.Fatalf("lag charts: %+v", v.Charts)
	}
	a, b := lag.Rows[0].Chart, lag.Rows[1].Chart
	if a == nil || b == nil || lag.Rows[2].Chart != nil || lag.Rows[2].Missing == "" {
		t.Fatalf("rows: %+v", lag.Rows)
	}
	if a.ID == b.ID {
		t.Errorf("two charts with id %s", a.ID)
	}
	ticks := func(ts []tickView) (s []string) {
		for _, t := range ts {
			s = append(s, t.Label)
		}
		return s
	}
	if strings.Join(ticks(a.YTicks), " ") != strings.Join(ticks(b.YTicks), " ") ||
		strings.Join(ticks(a.XTicks), " ") != strings.Join(ticks(b.XTicks), " ") {
		t.Errorf("axes differ: y %v vs %v, x %v vs %v", ticks(a.YTicks), ticks(b.YTicks), ticks(a.XTicks), ticks(b.XTicks))
	}
	// The second variant ran to 90 s: the first one's axis reaches it too.
	if last := ticks(a.XTicks); last[len(last)-1] != "1m30s" {
		t.Errorf("x ticks of the shorter run: %v", last)
	}
	var b2 bytes.Buffer
	if err := CompareHTML(&b2, c, reps); err != nil {
		t.Fatal(err)
	}
	page := b2.String()
	for _, want := range []string{`id="chart-lag-1"`, `id="chart-lag-2"`, "<h3>pglogical:keep_local</h3>", "no data: not run", "svg.chart {", "update_origin_differs 26"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestCompareDocsDescribeEveryJSONField pins docs/compare.md to
// compare.go as TestDocsDescribeEveryJSONField pins docs/report.md; the
// types a comparison shares with a report (Scenario) are documented there.
func TestCompareDocsDescribeEveryJSONField(t *testing.T) {
	model := map[string][]string{}
	jsonFields(reflect.TypeFor[Comparison](), model)
	docs := docFields(t, "../docs/compare.md")
	report := docFields(t, "../docs/report.md")
	for typ, fields := range model {
		documented, ok := docs[typ]
		if !ok {
			if _, ok := report[typ]; !ok {
				t.Errorf("docs/compare.md has no section \"### %s: …\"", typ)
			}
			continue
		}
		for _, f := range fields {
			if !slices.Contains(documented, f) {
				t.Errorf("docs/compare.md, section %s: JSON field %q is not documented", typ, f)
			}
		}
		for _, f := range documented {
			if !slices.Contains(fields, f) {
				t.Errorf("docs/compare.md, section %s: documents %q, which %s does not have", typ, f, typ)
			}
		}
	}
	for typ := range docs {
		if _, ok := model[typ]; !ok {
			t.Errorf("docs/compare.md has a section for %s, which is not a type of the comparison", typ)
		}
	}
}

// A kind PostgreSQL counted zero times is left out: the cell lists what happened.
func TestVariantConflictsLeaveOutZeroKinds(t *testing.T) {
	r := fixture()
	r.Conflicts.Counted = append(r.Conflicts.Counted, ConflictCount{Node: "primary1", Kind: "delete_missing", Count: 0})
	v := VariantOf("x", r)
	if _, ok := v.Conflicts.Counted["delete_missing"]; ok || v.Conflicts.Counted["insert_exists"] != 1 {
		t.Errorf("counted: %v", v.Conflicts.Counted)
	}
	if cell := conflictsCell(&VariantConflicts{Counted: map[string]int64{}}); cell != "none" {
		t.Errorf("no conflicts counted: %q", cell)
	}
}

// A compare.json written by CompareJSON reads back as it was, with the
// reports of the variants that have one (from their folders beside it);
// a variant without a report has nil, and a run's report.json is not a
// comparison.
func TestReadComparisonRoundTrips(t *testing.T) {
	c, reps := compareFixture()
	dir := t.TempDir()
	for i, v := range c.Variants {
		if reps[i] == nil {
			continue
		}
		if err := os.MkdirAll(filepath.Join(dir, v.Dir), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(filepath.Join(dir, v.Dir, "report.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := JSON(f, reps[i]); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	path := filepath.Join(dir, "compare.json")
	var b bytes.Buffer
	if err := CompareJSON(&b, c); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if SchemaOf(path) != CompareSchema {
		t.Fatalf("SchemaOf = %q", SchemaOf(path))
	}
	got, greps, err := ReadComparison(path)
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	if err := CompareJSON(&again, got); err != nil {
		t.Fatal(err)
	}
	if again.String() != b.String() {
		t.Errorf("the comparison read back differs:\n%s\nwant\n%s", &again, &b)
	}
	if len(greps) != 3 || greps[0] == nil || greps[1] == nil || greps[2] != nil || greps[1].Lab.Resolver != "keep_local" {
		t.Errorf("reports read: %v", greps)
	}
	var page bytes.Buffer
	if err := CompareHTML(&page, got, greps); err != nil || !strings.Contains(page.String(), "pglogical:keep_local") {
		t.Errorf("page from the read comparison: %v", err)
	}
	// A run's report is not a comparison, and says what it is.
	if _, _, err := ReadComparison(filepath.Join(dir, c.Variants[0].Dir, "report.json")); err == nil || !strings.Contains(err.Error(), `schema is "pgchaos.report/v1", expected "pgchaos.compare/v1"`) {
		t.Errorf("a report read as a comparison: %v", err)
	}
	// An unknown field is refused, not dropped.
	bad := strings.Replace(b.String(), `"verdict"`, `"verdikt": 1, "verdict"`, 1)
	os.WriteFile(path, []byte(bad), 0o644)
	if _, _, err := ReadComparison(path); err == nil || !strings.Contains(err.Error(), "verdikt") {
		t.Errorf("unknown field: %v", err)
	}
}
