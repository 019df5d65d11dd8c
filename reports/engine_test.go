package reports

import (
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
