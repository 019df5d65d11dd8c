package reports

import (
	"github.com/pgchaos/pgchaos/scenario"
	"slices"
	"strings"
	"testing"
)

// An engine without conflict counters: the counted columns say "-" and
// why, never 0, in the table and in HTML.
func TestConflictsCountedUnknownShowsTheReason(t *testing.T) {
	c := &Conflicts{
		CountedUnknown: "pglogical keeps no conflict counters",
		Logged:         []ConflictCount{{Node: "primary1", Kind: "update_update", Count: 2}},
	}
	var b strings.Builder
	p := &printer{w: &b}
	p.conflicts(c)
	if out := b.String(); !strings.Contains(out, "counted by PostgreSQL: - (pglogical keeps no conflict counters)") {
		t.Errorf("table lacks the reason:\n%s", out)
	}
	header, rows := conflictGrid(c)
	if len(rows) != 1 || rows[0][slices.Index(header, "counted primary1")] != "-" || rows[0][slices.Index(header, "logged primary1")] != "2" {
		t.Errorf("grid %v %v: want counted '-' and logged 2", header, rows)
	}
	var h strings.Builder
	for _, bl := range conflictsSection(c).Blocks {
		h.WriteString(bl.Text)
	}
	if !strings.Contains(h.String(), "counted by PostgreSQL: - (pglogical keeps no conflict counters)") {
		t.Errorf("HTML section lacks the reason: %s", h.String())
	}
}

// The run's lab line names a non-native engine and its resolver.
func TestTableNamesTheEngine(t *testing.T) {
	r := &Report{Lab: Lab{Name: "l", Sequences: "interleaved", Engine: "pglogical", Resolver: "keep_local"}}
	var b strings.Builder
	if err := Table(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "l, sequences interleaved, engine pglogical (resolver keep_local)") {
		t.Errorf("no engine in:\n%s", b.String())
	}
}

// A conflicts assertion on an engine without counters is not measured,
// never a pass on an unmeasured zero.
func TestConflictAssertionsOnAnEngineWithoutCounters(t *testing.T) {
	r := &Report{Lab: Lab{Postgres: "18", Engine: "pglogical"},
		Conflicts: &Conflicts{CountedUnknown: "pglogical keeps no conflict counters"}}
	Evaluate(r, scenario.Assert{Conflicts: map[string]int64{"total": 0, "insert_exists": 0}})
	if len(r.Assertions) != 2 {
		t.Fatalf("got %d assertions, want 2: %+v", len(r.Assertions), r.Assertions)
	}
	for _, a := range r.Assertions {
		if a.Pass || !strings.HasPrefix(a.Actual, NotMeasured) || !strings.Contains(a.Actual, "pglogical keeps no conflict counters") {
			t.Errorf("%s: pass %v, actual %q: want not measured, with the reason", a.Name, a.Pass, a.Actual)
		}
	}
}

// A direction no subscription carries shows "-" and its reason, never a
// zero, in the list, the matrix and HTML; a log not read is said too.
func TestLagUnknownDirectionShowsTheReason(t *testing.T) {
	l := &Lag{Directions: []LagDirection{
		{From: "east", To: "north", Samples: 10, P99: Duration(3 * 1e6)},
		{From: "east", To: "west", Samples: 10, P99: Duration(2 * 1e6)},
		{From: "west", To: "north", Unknown: "no subscription from west to north"},
	}}
	var b strings.Builder
	p := &printer{w: &b}
	p.lag(l, nil)
	p.conflicts(&Conflicts{LoggedUnknown: "log of north not read: no container"})
	out := b.String()
	for _, want := range []string{"west -> north: unknown: no subscription from west to north", "logged: partly unknown (log of north not read: no container)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if row := lagRow(l.Directions[2]); slices.ContainsFunc(row[1:], func(c string) bool { return c != "-" }) {
		t.Errorf("unknown direction's row %q: want only '-'", row)
	}
	header, rows := lagMatrix(l)
	if got := rows[slices.Index(header, "west")-1][slices.Index(header, "north")]; got != "unknown" {
		t.Errorf("matrix west->north = %q, want unknown (matrix %v %v)", got, header, rows)
	}
	var h strings.Builder
	for _, bl := range lagSection(l, nil).Blocks {
		h.WriteString(bl.Text)
	}
	if !strings.Contains(h.String(), "west -> north: unknown: no subscription from west to north") {
		t.Errorf("HTML section lacks the reason: %s", h.String())
	}
}
