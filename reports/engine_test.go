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
