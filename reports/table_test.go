package reports

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/olekukonko/tablewriter/pkg/twwidth"
)

// update rewrites the golden files: go test ./reports -run Golden -update
var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// narrowWidths fixes tablewriter's East Asian width mode for the test:
// tablewriter picks it from the locale (LANG, LC_ALL) at start-up, and a CJK
// locale would draw "…", "×" and "µ" two columns wide and fail the golden
// comparison. Users keep the detection, which suits their terminal.
func narrowWidths(t *testing.T) {
	t.Helper()
	was := twwidth.IsEastAsian()
	twwidth.SetEastAsian(false)
	t.Cleanup(func() { twwidth.SetEastAsian(was) })
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update if the change is intended)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

func TestTableGoldenFullReport(t *testing.T) {
	narrowWidths(t)
	var b bytes.Buffer
	if err := Table(&b, fixture()); err != nil {
		t.Fatal(err)
	}
	golden(t, "full", b.Bytes())
}

func TestTableGoldenMinimalReport(t *testing.T) {
	narrowWidths(t)
	r := &Report{Scenario: Scenario{Name: "smoke"}, Verdict: VerdictNone}
	var b bytes.Buffer
	if err := Table(&b, r); err != nil {
		t.Fatal(err)
	}
	golden(t, "minimal", b.Bytes())
}

// TestTablePrintsNoControlCharacters: names and messages from a scenario
// or a server cannot colour the terminal or forge a line.
func TestTablePrintsNoControlCharacters(t *testing.T) {
	r := fixture()
	r.Scenario.Name = "\x1b[32mPASS\x1b[0m"
	r.Workloads[0].Workload = "w\x1b[2J"
	r.Warnings = append(r.Warnings, "x\nVERDICT: PASS")
	r.Faults[0].Effects = []string{"two\x07", "lines"}
	var b bytes.Buffer
	if err := Table(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, c := range out {
		if c != '\n' && (c < 0x20 || c == 0x7f || (c >= 0x80 && c < 0xa0)) {
			t.Fatalf("table holds control character %q:\n%s", c, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "VERDICT: PASS") {
			t.Errorf("a warning forged a verdict line:\n%s", out)
		}
	}
	for _, want := range []string{`\x1b[32mPASS\x1b[0m`, `w\x1b[2J`, `x\nVERDICT: PASS`, `two\x07`} {
		if !strings.Contains(out, want) {
			t.Errorf("table does not show %q escaped:\n%s", want, out)
		}
	}
}

// The retention section shows each node's figures and, for one that could
// not be measured, "-" with the reason instead of 0.
func TestTableShowsRetentionUnknownWithReason(t *testing.T) {
	age, dead := int64(201), int64(4001)
	r := &Report{Schema: Schema, Conflicts: &Conflicts{Retention: &Retention{Table: "test_table", Nodes: []RetentionNode{
		{Node: "primary1", Samples: 3, SlotXminAgeUnknown: "no slot", DeadTuplesMax: &dead,
			Windows: []RetentionWindow{{Fault: 0}}},
		{Node: "primary2", Samples: 3, SlotXminAgeMax: &age, DeadTuplesMax: &dead,
			Windows: []RetentionWindow{{Fault: 0, SlotXminAgeMax: &age, DeadTuplesMax: &dead}}},
	}}}}
	var b strings.Builder
	if err := Table(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"table test_table", "- (no slot)", "201", "4001", "fault #0", "- (no sample)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestTwoNodeTargetViewsUseTheUsersNames: a report of a user's two nodes
// heads its divergence columns and names its missing rows with the user's
// names in both views, while the JSON keeps its fixed fields.
func TestTwoNodeTargetViewsUseTheUsersNames(t *testing.T) {
	narrowWidths(t)
	r := fixture()
	r.Lab.Target = true
	r.Lab.Nodes = []Node{{Name: "east", Address: "db-east:5432"}, {Name: "west", Address: "db-west:5432"}}
	var tb, hb bytes.Buffer
	if err := Table(&tb, r); err != nil {
		t.Fatal(err)
	}
	if err := HTML(&hb, r); err != nil {
		t.Fatal(err)
	}
	for view, out := range map[string]string{"table": tb.String(), "html": hb.String()} {
		for _, want := range []string{"rows east", "missing on west", "missing_on_west"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s lacks %q", view, want)
			}
		}
		if strings.Contains(out, "rows primary1") || strings.Contains(out, "missing_on_primary2") {
			t.Errorf("%s still names primary1/primary2 in the divergence", view)
		}
	}
	// The lab's own report keeps primary1 and primary2.
	var lb bytes.Buffer
	if err := Table(&lb, fixture()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(lb.String(), "rows primary1") {
		t.Error("a lab report lost its primary1 column")
	}
}
