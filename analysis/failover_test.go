package analysis

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/workload"
)

// analyseFailover analyses one failover alone.
func analyseFailover(scan func(fn func(workload.Op)) error, from string, t, end time.Time) (failoverWindow, error) {
	ws, err := analyseFailovers(scan, "haproxy", []failoverSpan{{from: from, servedAs: from, t: t, end: end}})
	return ws[0], err
}

func TestAnalyseFailover(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	op := func(target, served string, startMs, endMs int, outcome workload.Outcome, class string) workload.Op {
		return workload.Op{Target: target, ServedBy: served, Start: at(startMs), End: at(endMs), Outcome: outcome, Class: class}
	}
	ops := []workload.Op{
		op("haproxy", "primary1", 900, 990, workload.OK, ""),          // last ok before the failover at 1000
		op("primary1", "primary1", 995, 1200, workload.Fail, "x"),     // direct target: ignored
		op("haproxy", "", 1000, 1050, workload.Unknown, "connection"), // first failure
		op("haproxy", "", 1050, 1100, workload.Fail, "connection"),
		op("haproxy", "", 1100, 1180, workload.Fail, "admin_shutdown"),
		op("haproxy", "primary1", 1005, 1190, workload.OK, ""),  // a session still on the old primary
		op("haproxy", "primary2", 1190, 1250, workload.OK, ""),  // first ok after: window 1050..1250? no: from first failure end 1050
		op("haproxy", "", 1300, 1320, workload.Fail, "timeout"), // after the window: not counted
		op("haproxy", "primary2", 5000, 5010, workload.OK, ""),  // after the end
	}
	scanOf := func(ops []workload.Op) func(func(workload.Op)) error {
		return func(fn func(workload.Op)) error {
			for _, op := range ops {
				fn(op)
			}
			return nil
		}
	}
	w, _ := analyseFailover(scanOf(ops), "primary1", at(1000), at(4000))
	if w.lastOKBefore == nil || !w.lastOKBefore.Equal(at(990)) {
		t.Errorf("last ok before: %v, want +990ms", w.lastOKBefore)
	}
	// The first ok op after the first failure ends at 1190 (the old
	// primary's session): that ends the window.
	if w.firstOKAfter == nil || !w.firstOKAfter.Equal(at(1190)) {
		t.Errorf("first ok after: %v, want +1190ms", w.firstOKAfter)
	}
	if w.unavailable != 140*time.Millisecond {
		t.Errorf("unavailable %v, want 140ms (first failure ended at 1050, first ok after at 1190)", w.unavailable)
	}
	want := map[string]int64{"connection": 2, "admin_shutdown": 1}
	if len(w.errorsByClass) != len(want) {
		t.Errorf("errors by class %v, want %v", w.errorsByClass, want)
	}
	for k, v := range want {
		if w.errorsByClass[k] != v {
			t.Errorf("errors by class %v, want %v", w.errorsByClass, want)
		}
	}
	if w.oldPrimaryWrites != 1 {
		t.Errorf("old primary writes %d, want 1", w.oldPrimaryWrites)
	}

	// The history is in completion order only roughly: the answer must not
	// depend on the order ops are read in.
	reversed := slices.Clone(ops)
	slices.Reverse(reversed)
	if r, _ := analyseFailover(scanOf(reversed), "primary1", at(1000), at(4000)); r.unavailable != w.unavailable ||
		!r.firstOKAfter.Equal(*w.firstOKAfter) || !r.lastOKBefore.Equal(*w.lastOKBefore) ||
		r.oldPrimaryWrites != w.oldPrimaryWrites || len(r.errorsByClass) != len(w.errorsByClass) {
		t.Errorf("reversed input gave %+v, want %+v", r, w)
	}

	clean, _ := analyseFailover(scanOf([]workload.Op{op("haproxy", "primary2", 1001, 1010, workload.OK, "")}), "primary1", at(1000), at(2000))
	if clean.unavailable != 0 || clean.firstOKAfter != nil {
		t.Errorf("no failures: unavailable %v, first ok after %v; want 0 and none", clean.unavailable, clean.firstOKAfter)
	}
	never, _ := analyseFailover(scanOf([]workload.Op{op("haproxy", "", 1001, 1010, workload.Fail, "connection")}), "primary1", at(1000), at(2000))
	if never.unavailable != 990*time.Millisecond {
		t.Errorf("never recovered: unavailable %v, want until the end (990ms)", never.unavailable)
	}
}

// Several failovers are analysed in two passes over the history in all, and
// each comes out as it does analysed alone.
func TestAnalyseFailoversTogether(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	op := func(served string, startMs, endMs int, outcome workload.Outcome, class string) workload.Op {
		return workload.Op{Target: "haproxy", ServedBy: served, Start: at(startMs), End: at(endMs), Outcome: outcome, Class: class}
	}
	ops := []workload.Op{
		op("primary1", 900, 990, workload.OK, ""),
		op("", 1000, 1040, workload.Fail, "connection"),
		op("primary2", 1100, 1130, workload.OK, ""), // first failover: 1040..1130
		op("primary2", 5900, 5990, workload.OK, ""),
		op("", 6000, 6070, workload.Unknown, "connection"),
		op("", 6070, 6100, workload.Fail, "admin_shutdown"),
		op("primary2", 6010, 6150, workload.OK, ""), // a session still on primary2 after the second
		op("primary1", 6300, 6310, workload.OK, ""),
		op("primary1", 9500, 9510, workload.OK, ""), // after both ends
	}
	passes := 0
	scan := func(fn func(workload.Op)) error {
		passes++
		for _, o := range ops {
			fn(o)
		}
		return nil
	}
	spans := []failoverSpan{{"primary1", "primary1", at(1000), at(4000)}, {"primary2", "primary2", at(6000), at(9000)}}
	got, err := analyseFailovers(scan, "haproxy", spans)
	if err != nil || passes != 2 || len(got) != 2 {
		t.Fatalf("%d windows after %d passes (err %v), want 2 after 2", len(got), passes, err)
	}
	wantUnavailable := []time.Duration{90 * time.Millisecond, 80 * time.Millisecond}
	wantOld := []int64{0, 1}
	for i, sp := range spans {
		alone, err := analyseFailover(scan, sp.from, sp.t, sp.end)
		if err != nil || !reflect.DeepEqual(got[i], alone) {
			t.Errorf("failover %d together %+v, alone %+v (err %v)", i, got[i], alone, err)
		}
		if got[i].unavailable != wantUnavailable[i] || got[i].oldPrimaryWrites != wantOld[i] {
			t.Errorf("failover %d: unavailable %v, old primary writes %d; want %v and %d",
				i, got[i].unavailable, got[i].oldPrimaryWrites, wantUnavailable[i], wantOld[i])
		}
	}
}
