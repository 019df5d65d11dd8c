package reports

import (
	"reflect"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/scenario"
)

func ptr[T any](v T) *T { return &v }

// measured is a report in which every assertion has its data.
func measured() *Report {
	return &Report{
		Lab: Lab{Postgres: "18"},
		Workloads: []Workload{
			{Workload: "insert", Kind: scenario.KindInsert, Target: "primary1", Fail: 2, Unknown: 1},
			{Workload: "hot", Kind: scenario.KindUpdateHot, Target: "haproxy", Fail: 3, Unknown: 0},
		},
		Lag: &Lag{Directions: []LagDirection{
			{From: "primary1", To: "primary2", Samples: 10, P50: dur(2 * time.Millisecond), P95: dur(40 * time.Millisecond), P99: dur(900 * time.Millisecond), Max: dur(3 * time.Second)},
			{From: "primary2", To: "primary1", Samples: 10, P50: dur(3 * time.Millisecond), P95: dur(30 * time.Millisecond), P99: dur(1500 * time.Millisecond), Max: dur(2 * time.Second)},
		}},
		Divergence: &Divergence{Converged: true, DivergentRows: 4},
		Conflicts: &Conflicts{
			Counted: []ConflictCount{
				{Node: "primary1", Kind: "update_origin_differs", Count: 5},
				{Node: "primary2", Kind: "update_origin_differs", Count: 6},
				{Node: "primary2", Kind: "insert_exists", Count: 2},
			},
			Logged: []ConflictCount{{Node: "primary2", Kind: "insert_exists", Count: 100}}, // never counted by assertions
			Workload: WorkloadWitness{
				LostWrites: 3, LostUpdates: 7,
				Bank: []BankTotal{{Workload: "bank", Node: "primary1", Expected: 100, Actual: 100}, {Workload: "bank", Node: "primary2", Expected: 100, Actual: 100}},
			},
			Stalls: []Stall{{Node: "primary2", Subscription: "s", Resolved: false}, {Node: "primary1", Subscription: "t", Resolved: true}},
		},
		Failovers: []Failover{
			{From: "primary1", To: "primary2", Unavailable: dur(1200 * time.Millisecond)},
			{From: "primary2", To: "primary1", Unavailable: dur(3100 * time.Millisecond)},
		},
	}
}

func TestEvaluateEachThreshold(t *testing.T) {
	tests := []struct {
		name   string
		assert scenario.Assert
		edit   func(*Report) // nil: measured() as is
		want   Assertion
	}{
		{"lag_p50 pass", scenario.Assert{LagP50: ptr(3 * time.Millisecond)}, nil,
			Assertion{"lag_p50", "<= 3ms", "3ms (primary2->primary1)", true}},
		{"lag_p50 fail", scenario.Assert{LagP50: ptr(2 * time.Millisecond)}, nil,
			Assertion{"lag_p50", "<= 2ms", "3ms (primary2->primary1)", false}},
		{"lag_p95 worst direction", scenario.Assert{LagP95: ptr(35 * time.Millisecond)}, nil,
			Assertion{"lag_p95", "<= 35ms", "40ms (primary1->primary2)", false}},
		{"lag_p99 pass", scenario.Assert{LagP99: ptr(2 * time.Second)}, nil,
			Assertion{"lag_p99", "<= 2s", "1.5s (primary2->primary1)", true}},
		{"lag_p99 fail", scenario.Assert{LagP99: ptr(time.Second)}, nil,
			Assertion{"lag_p99", "<= 1s", "1.5s (primary2->primary1)", false}},
		{"lag_max pass", scenario.Assert{LagMax: ptr(3 * time.Second)}, nil,
			Assertion{"lag_max", "<= 3s", "3s (primary1->primary2)", true}},
		{"lag_max fail", scenario.Assert{LagMax: ptr(2999 * time.Millisecond)}, nil,
			Assertion{"lag_max", "<= 3s", "3s (primary1->primary2)", false}},
		{"lag absent", scenario.Assert{LagP99: ptr(2 * time.Second)}, func(r *Report) { r.Lag = nil },
			Assertion{"lag_p99", "<= 2s", "not measured (no lag samples)", false}},
		{"lag no directions", scenario.Assert{LagMax: ptr(2 * time.Second)}, func(r *Report) { r.Lag.Directions = nil },
			Assertion{"lag_max", "<= 2s", "not measured (no lag samples)", false}},
		{"lag direction without heartbeats", scenario.Assert{LagP50: ptr(time.Hour)}, func(r *Report) { r.Lag.Directions[1].Samples = 0 },
			Assertion{"lag_p50", "<= 1h0m0s", "not measured (primary2->primary1: no heartbeat applied)", false}},
		{"lag direction without a subscription is skipped", scenario.Assert{LagP50: ptr(time.Hour)}, func(r *Report) {
			r.Lag.Directions[1] = LagDirection{From: "primary2", To: "primary1", Unknown: "no subscription from primary2 to primary1"}
		}, Assertion{"lag_p50", "<= 1h0m0s", "2ms (primary1->primary2)", true}},
		{"lag every direction without a subscription", scenario.Assert{LagP50: ptr(time.Hour)}, func(r *Report) {
			for i := range r.Lag.Directions {
				r.Lag.Directions[i] = LagDirection{Unknown: "no subscription"}
			}
		}, Assertion{"lag_p50", "<= 1h0m0s", "not measured (no direction has a subscription)", false}},

		{"unavailability longest window pass", scenario.Assert{Unavailability: ptr(3100 * time.Millisecond)}, nil,
			Assertion{"unavailability", "<= 3.1s", "3.1s (primary2->primary1)", true}},
		{"unavailability fail", scenario.Assert{Unavailability: ptr(2 * time.Second)}, nil,
			Assertion{"unavailability", "<= 2s", "3.1s (primary2->primary1)", false}},
		{"unavailability without failover", scenario.Assert{Unavailability: ptr(2 * time.Second)}, func(r *Report) { r.Failovers = nil },
			Assertion{"unavailability", "<= 2s", "not measured (no failover in the run)", false}},

		{"errors sum fail+unknown pass", scenario.Assert{Errors: ptr(int64(6))}, nil,
			Assertion{"errors", "<= 6", "6", true}},
		{"errors fail", scenario.Assert{Errors: ptr(int64(5))}, nil,
			Assertion{"errors", "<= 5", "6", false}},
		{"errors without workloads", scenario.Assert{Errors: ptr(int64(0))}, func(r *Report) { r.Workloads = nil },
			Assertion{"errors", "<= 0", "not measured (no workload results)", false}},

		{"divergent_rows pass", scenario.Assert{DivergentRows: ptr(int64(4))}, nil,
			Assertion{"divergent_rows", "<= 4", "4", true}},
		{"divergent_rows fail", scenario.Assert{DivergentRows: ptr(int64(0))}, nil,
			Assertion{"divergent_rows", "<= 0", "4", false}},
		{"divergent_rows absent", scenario.Assert{DivergentRows: ptr(int64(0))}, func(r *Report) { r.Divergence = nil },
			Assertion{"divergent_rows", "<= 0", "not measured (no divergence check)", false}},

		{"converged pass", scenario.Assert{Converged: ptr(true)}, nil,
			Assertion{"converged", "== true", "true", true}},
		{"converged fail", scenario.Assert{Converged: ptr(true)}, func(r *Report) { r.Divergence.Converged = false },
			Assertion{"converged", "== true", "false", false}},
		{"converged false pins a known failure", scenario.Assert{Converged: ptr(false)}, func(r *Report) { r.Divergence.Converged = false },
			Assertion{"converged", "== false", "false", true}},
		{"converged absent", scenario.Assert{Converged: ptr(true)}, func(r *Report) { r.Divergence = nil },
			Assertion{"converged", "== true", "not measured (no divergence check)", false}},

		{"lost_writes pass", scenario.Assert{LostWrites: ptr(int64(3))}, nil,
			Assertion{"lost_writes", "<= 3", "3", true}},
		{"lost_writes fail", scenario.Assert{LostWrites: ptr(int64(0))}, nil,
			Assertion{"lost_writes", "<= 0", "3", false}},
		{"lost_writes tutorial workload counts", scenario.Assert{LostWrites: ptr(int64(0))}, func(r *Report) {
			r.Workloads[0].Kind = scenario.KindTutorial
			r.Conflicts.Workload.LostWrites = 0
		}, Assertion{"lost_writes", "<= 0", "0", true}},
		{"lost_writes no insert workload", scenario.Assert{LostWrites: ptr(int64(0))}, func(r *Report) { r.Workloads = r.Workloads[1:] },
			Assertion{"lost_writes", "<= 0", "not measured (no insert or tutorial workload ran)", false}},
		{"lost_writes no conflicts section", scenario.Assert{LostWrites: ptr(int64(0))}, func(r *Report) { r.Conflicts = nil },
			Assertion{"lost_writes", "<= 0", "not measured (no workload checks)", false}},

		{"lost_updates pass", scenario.Assert{LostUpdates: ptr(int64(7))}, nil,
			Assertion{"lost_updates", "<= 7", "7", true}},
		{"lost_updates fail", scenario.Assert{LostUpdates: ptr(int64(6))}, nil,
			Assertion{"lost_updates", "<= 6", "7", false}},
		{"lost_updates no update-hot workload", scenario.Assert{LostUpdates: ptr(int64(0))}, func(r *Report) { r.Workloads = r.Workloads[:1] },
			Assertion{"lost_updates", "<= 0", "not measured (no update-hot workload ran)", false}},
		{"lost_updates no conflicts section", scenario.Assert{LostUpdates: ptr(int64(0))}, func(r *Report) { r.Conflicts = nil },
			Assertion{"lost_updates", "<= 0", "not measured (no workload checks)", false}},

		{"bank_invariant pass", scenario.Assert{BankInvariant: ptr(true)}, nil,
			Assertion{"bank_invariant", "== true", "true", true}},
		{"bank_invariant fail", scenario.Assert{BankInvariant: ptr(true)}, func(r *Report) { r.Conflicts.Workload.Bank[1].Actual = 90 },
			Assertion{"bank_invariant", "== true", "false (bank on primary2: 90, expected 100)", false}},
		{"bank_invariant false expects a break", scenario.Assert{BankInvariant: ptr(false)}, nil,
			Assertion{"bank_invariant", "== false", "true", false}},
		{"bank_invariant no totals", scenario.Assert{BankInvariant: ptr(true)}, func(r *Report) { r.Conflicts.Workload.Bank = nil },
			Assertion{"bank_invariant", "== true", "not measured (no bank totals)", false}},

		{"stalls counts unresolved only, pass", scenario.Assert{Stalls: ptr(int64(1))}, nil,
			Assertion{"stalls", "<= 1", "1", true}},
		{"stalls fail", scenario.Assert{Stalls: ptr(int64(0))}, nil,
			Assertion{"stalls", "<= 0", "1", false}},
		{"stalls none", scenario.Assert{Stalls: ptr(int64(0))}, func(r *Report) { r.Conflicts.Stalls = nil },
			Assertion{"stalls", "<= 0", "0", true}},
		{"stalls absent", scenario.Assert{Stalls: ptr(int64(0))}, func(r *Report) { r.Conflicts = nil },
			Assertion{"stalls", "<= 0", "not measured (no subscription sampling)", false}},

		{"conflicts kind summed across nodes pass", scenario.Assert{Conflicts: map[string]int64{"update_origin_differs": 11}}, nil,
			Assertion{"conflicts.update_origin_differs", "<= 11", "11", true}},
		{"conflicts kind fail", scenario.Assert{Conflicts: map[string]int64{"insert_exists": 1}}, nil,
			Assertion{"conflicts.insert_exists", "<= 1", "2", false}},
		{"conflicts kind never counted is zero", scenario.Assert{Conflicts: map[string]int64{"delete_missing": 0}}, nil,
			Assertion{"conflicts.delete_missing", "<= 0", "0", true}},
		{"conflicts total sums every counted kind, not logged", scenario.Assert{Conflicts: map[string]int64{"total": 13}}, nil,
			Assertion{"conflicts.total", "<= 13", "13", true}},
		{"conflicts total fail", scenario.Assert{Conflicts: map[string]int64{"total": 12}}, nil,
			Assertion{"conflicts.total", "<= 12", "13", false}},
		{"conflicts absent", scenario.Assert{Conflicts: map[string]int64{"total": 0}}, func(r *Report) { r.Conflicts = nil },
			Assertion{"conflicts.total", "<= 0", "not measured (no conflict counts)", false}},
		{"conflicts update_deleted before PostgreSQL 19 is not measured", scenario.Assert{Conflicts: map[string]int64{"update_deleted": 0}}, func(r *Report) { r.Lab.Postgres = "18" },
			Assertion{"conflicts.update_deleted", "<= 0", "not measured (PostgreSQL 18 does not count update_deleted (new in 19, with retain_dead_tuples))", false}},
		{"conflicts update_deleted on PostgreSQL 19", scenario.Assert{Conflicts: map[string]int64{"update_deleted": 0}}, func(r *Report) {
			r.Lab.Postgres = "19"
			r.Conflicts.Counted = append(r.Conflicts.Counted, ConflictCount{Node: "primary1", Kind: "update_deleted", Count: 1})
		}, Assertion{"conflicts.update_deleted", "<= 0", "1", false}},
		{"conflicts kind PostgreSQL 17 does not count", scenario.Assert{Conflicts: map[string]int64{"insert_exists": 0}}, func(r *Report) { r.Lab.Postgres = "17" },
			Assertion{"conflicts.insert_exists", "<= 0", "not measured (PostgreSQL 17 does not count insert_exists)", false}},
		{"conflicts apply_error on PostgreSQL 17", scenario.Assert{Conflicts: map[string]int64{"apply_error": 0}}, func(r *Report) {
			r.Lab.Postgres = "17"
			r.Conflicts.Counted = []ConflictCount{{Node: "primary1", Kind: "apply_error", Count: 4}}
		}, Assertion{"conflicts.apply_error", "<= 0", "4", false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := measured()
			if tt.edit != nil {
				tt.edit(r)
			}
			Evaluate(r, tt.assert)
			if len(r.Assertions) != 1 {
				t.Fatalf("got %d assertions, want 1: %+v", len(r.Assertions), r.Assertions)
			}
			if r.Assertions[0] != tt.want {
				t.Errorf("got  %+v\nwant %+v", r.Assertions[0], tt.want)
			}
			wantVerdict := VerdictFail
			if tt.want.Pass {
				wantVerdict = VerdictPass
			}
			if r.Verdict != wantVerdict {
				t.Errorf("verdict %q, want %q", r.Verdict, wantVerdict)
			}
		})
	}
}

func TestEvaluateOrderIsStable(t *testing.T) {
	a := scenario.Assert{
		LagP50: ptr(time.Second), LagP95: ptr(time.Second), LagP99: ptr(time.Second), LagMax: ptr(time.Second),
		DivergentRows: ptr(int64(0)), LostWrites: ptr(int64(0)), LostUpdates: ptr(int64(0)), Stalls: ptr(int64(0)),
		Errors: ptr(int64(0)), Unavailability: ptr(time.Second), Converged: ptr(true), BankInvariant: ptr(true),
		Conflicts: map[string]int64{"update_origin_differs": 0, "total": 0, "insert_exists": 0},
	}
	want := []string{"lag_p50", "lag_p95", "lag_p99", "lag_max", "unavailability", "errors", "divergent_rows",
		"converged", "lost_writes", "lost_updates", "bank_invariant", "stalls",
		"conflicts.total", "conflicts.insert_exists", "conflicts.update_origin_differs"}
	for range 5 { // map order varies between runs; the output must not
		r := measured()
		Evaluate(r, a)
		var got []string
		for _, as := range r.Assertions {
			got = append(got, as.Name)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("order\n got  %v\n want %v", got, want)
		}
	}
}

func TestEvaluateVerdictAndExitCode(t *testing.T) {
	tests := []struct {
		name        string
		assert      scenario.Assert
		wantVerdict string
		wantCode    int
	}{
		{"nothing asserted", scenario.Assert{}, VerdictNone, exitcode.OK},
		{"all pass", scenario.Assert{Errors: ptr(int64(10)), Converged: ptr(true)}, VerdictPass, exitcode.OK},
		{"one fails", scenario.Assert{Errors: ptr(int64(10)), Converged: ptr(false)}, VerdictFail, exitcode.Failed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := measured()
			r.Assertions = []Assertion{{Name: "stale", Pass: false}} // replaced, not appended to
			Evaluate(r, tt.assert)
			if r.Verdict != tt.wantVerdict {
				t.Errorf("verdict %q, want %q", r.Verdict, tt.wantVerdict)
			}
			if got := ExitCode(r); got != tt.wantCode {
				t.Errorf("exit code %d, want %d", got, tt.wantCode)
			}
		})
	}
}

func TestExitCodeFailsOnAFailedAssertionEvenWithoutVerdict(t *testing.T) {
	r := &Report{Assertions: []Assertion{{Name: "lag_p99", Pass: true}, {Name: "errors", Pass: false}}}
	if got := ExitCode(r); got != exitcode.Failed {
		t.Errorf("exit code %d, want %d", got, exitcode.Failed)
	}
	if got := ExitCode(&Report{Verdict: VerdictFail}); got != exitcode.Failed {
		t.Errorf("verdict fail: exit code %d", got)
	}
	if got := ExitCode(&Report{}); got != exitcode.OK {
		t.Errorf("empty report: exit code %d", got)
	}
}
