package observe

import (
	"reflect"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/reports"
)

func TestConflictDeltaSequences(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	p := func(v int64) conflictPoint { return conflictPoint{value: v, subID: 1} }
	withSubReset := func(v int64, at time.Time) conflictPoint { c := p(v); c.subReset = at; return c }
	withNodeReset := func(v int64, at time.Time) conflictPoint { c := p(v); c.nodeReset = at; return c }
	cases := []struct {
		name   string
		points []conflictPoint
		want   int64 // total over the sequence
	}{
		{"a single reading is only the baseline", []conflictPoint{p(7)}, 0},
		{"monotone", []conflictPoint{p(3), p(3), p(5), p(9)}, 6},
		{"baseline is not counted", []conflictPoint{p(100), p(101)}, 1},
		{"reset by drop: the new value happened since", []conflictPoint{p(2), p(5), p(1), p(4)}, 3 + 1 + 3},
		{"reset to zero", []conflictPoint{p(5), p(0), p(0), p(2)}, 2},
		{"reset by stats_reset change even when the value grew", []conflictPoint{withSubReset(5, time.Time{}), withSubReset(8, t0)}, 8},
		{"stats_reset unchanged", []conflictPoint{withSubReset(5, t0), withSubReset(8, t0)}, 3},
		{"crash seen through the node-wide reset time", []conflictPoint{withNodeReset(5, t0), withNodeReset(6, t0.Add(time.Minute))}, 6},
		{"recreated subscription", []conflictPoint{{value: 4, subID: 1}, {value: 6, subID: 2}}, 6},
		{"missing samples only widen the interval", []conflictPoint{p(1), p(10)}, 9},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var total int64
			var prev conflictPoint
			for i, cur := range c.points {
				d := conflictDelta(prev, i > 0, cur)
				if d < 0 {
					t.Fatalf("negative delta %d at %d", d, i)
				}
				total += d
				prev = cur
			}
			if total != c.want {
				t.Errorf("total = %d, want %d", total, c.want)
			}
		})
	}
}

func TestConflictKind(t *testing.T) {
	for col, want := range map[string]string{
		"confl_insert_exists":             "insert_exists",
		"confl_multiple_unique_conflicts": "multiple_unique_conflicts",
		"apply_error_count":               "apply_error",
		"sync_error_count":                "sync_error",
	} {
		if got := conflictKind(col); got != want {
			t.Errorf("conflictKind(%q) = %q, want %q", col, got, want)
		}
	}
}

func TestStatsSamplerTotalsAndWindows(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	row := func(sub string, running bool, ins, apply int64) conflictRow {
		return conflictRow{sub: sub, subID: 1, enabled: true, workerRunning: running,
			values: map[string]int64{"confl_insert_exists": ins, "apply_error_count": apply}}
	}
	s := NewStatsSampler()
	s.observe("p1", at(0), t0, []conflictRow{row("sub_from_p2", true, 4, 4)}) // baseline from before the run
	s.observe("p2", at(0), t0, []conflictRow{row("sub_from_p1", true, 0, 0)})
	s.observe("p1", at(1), t0, []conflictRow{row("sub_from_p2", false, 6, 6)})
	// p1 crashes: its counters start again (lower values, new node reset time).
	s.observe("p1", at(3), at(2), []conflictRow{row("sub_from_p2", false, 1, 1)})
	s.observe("p1", at(4), at(2), []conflictRow{row("sub_from_p2", true, 3, 3)})
	s.observe("p2", at(4), t0, []conflictRow{row("sub_from_p1", true, 0, 0)})

	wantTotals := []reports.ConflictCount{
		{Node: "p1", Kind: "apply_error", Count: 2 + 1 + 2},
		{Node: "p1", Kind: "insert_exists", Count: 5},
		{Node: "p2", Kind: "apply_error", Count: 0},
		{Node: "p2", Kind: "insert_exists", Count: 0},
	}
	if got := s.Totals(); !reflect.DeepEqual(got, wantTotals) {
		t.Errorf("Totals = %+v\nwant %+v", got, wantTotals)
	}
	wantWindow := []reports.ConflictCount{
		{Node: "p1", Kind: "apply_error", Count: 1 + 2},
		{Node: "p1", Kind: "insert_exists", Count: 3},
		{Node: "p2", Kind: "apply_error", Count: 0},
		{Node: "p2", Kind: "insert_exists", Count: 0},
	}
	if got := s.Window(at(2), at(5)); !reflect.DeepEqual(got, wantWindow) {
		t.Errorf("Window = %+v\nwant %+v", got, wantWindow)
	}
	subs := s.SubSamples()
	var applied []int64
	for _, ss := range subs {
		if ss.Node == "p1" {
			applied = append(applied, ss.ApplyErrors)
		}
	}
	if !reflect.DeepEqual(applied, []int64{0, 2, 3, 5}) {
		t.Errorf("p1 cumulative apply errors = %v, want [0 2 3 5]", applied)
	}
}
