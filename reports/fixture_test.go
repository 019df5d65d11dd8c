package reports

import (
	"fmt"
	"time"
)

func dur(d time.Duration) Duration { return Duration(d) }

func pdur(d time.Duration) *Duration { v := Duration(d); return &v }

// fixture is a report with every section and every field set to a
// distinct value, so a view or a round trip that drops or swaps one shows.
func fixture() *Report {
	start := time.Date(2026, 11, 26, 14, 0, 0, 0, time.UTC)
	rows := []DivergentRow{
		{Key: "7", Kind: Different, Primary1: `{"id":7,"n":41}`, Primary2: `{"id":7,"n":40}`, LastWriter: "primary2"},
		{Key: "12", Kind: MissingOnPrimary2, Primary1: `{"id":12,"name":"a row whose text is long enough to be cut in the terminal view"}`, LastWriter: "primary1"},
	}
	for i := range 20 {
		rows = append(rows, DivergentRow{Key: fmt.Sprint(100 + i), Kind: MissingOnPrimary1, Primary2: fmt.Sprintf(`{"id":%d}`, 100+i), LastWriter: "primary2"})
	}
	return &Report{
		Schema:      Schema,
		Version:     "v0.1.0-test",
		Scenario:    Scenario{Name: "split-brain", File: "scenarios/split-brain.yaml", Seed: 42, Duration: dur(60 * time.Second)},
		StartedAt:   start,
		EndedAt:     start.Add(75 * time.Second),
		Interrupted: false,
		Lab: Lab{
			Name: "ci", Postgres: "18", Sequences: "interleaved", HAProxy: "127.0.0.1:25020",
			Nodes: []Node{
				{Name: "primary1", Address: "127.0.0.1:25442", Image: "pgchaos-local/postgres:18", ServerVersion: "18.6"},
				{Name: "primary2", Address: "127.0.0.1:25443", Image: "pgchaos-local/postgres:18", ServerVersion: "18.6"},
			},
		},
		Client: &Client{GOMAXPROCS: 3, Source: ClientFlag, GoVersion: "go1.26.8"},
		Workloads: []Workload{
			{
				Workload: "insert", Kind: "insert", Target: "primary1", Ops: 30000, OK: 29990, Fail: 7, Unknown: 3, OpsPerSec: 499.8,
				Latency: Latency{Mean: dur(1300 * time.Microsecond), P50: dur(1240 * time.Microsecond), P95: dur(3100 * time.Microsecond), P99: dur(12500 * time.Microsecond), Max: dur(2100 * time.Millisecond)},
				Errors: []ErrorCount{
					{Class: "connection", Count: 2},
					{Class: "unique_violation", SQLState: "23505", Count: 5},
					{Class: "timeout", Count: 2},
					{Class: "admin_shutdown", SQLState: "57P01", Count: 1},
				},
			},
			{
				Workload: "hot", Kind: "update-hot", Target: "haproxy", Ops: 12000, OK: 11990, Fail: 0, Unknown: 10, OpsPerSec: 200,
				Latency:  Latency{Mean: dur(900 * time.Microsecond), P50: dur(412 * time.Microsecond), P95: dur(880 * time.Microsecond), P99: dur(1 * time.Millisecond), Max: dur(45 * time.Millisecond)},
				ServedBy: map[string]int64{"primary2": 5990, "primary1": 6000},
			},
		},
		Throughput: []Second{{T: 0, Target: "primary1", OK: 500, Errors: 0}, {T: 1, Target: "primary1", OK: 498, Errors: 2}},
		Faults: []Fault{
			{Kind: "partition", Target: "primary1<->primary2", Params: map[string]string{"direction": "both"}, Injected: dur(10 * time.Second), Healed: pdur(25*time.Second + 250*time.Millisecond), Effects: []string{"subscriptions reconnecting", "slot inactive"}},
			{Kind: "delay", Target: "primary2", Params: map[string]string{"delay": "100ms", "jitter": "10ms"}, Injected: dur(40 * time.Second), HealError: "tc: no such device"},
		},
		Lag: &Lag{Directions: []LagDirection{
			{
				From: "primary1", To: "primary2", Samples: 590, Missing: 2,
				P50: dur(2 * time.Millisecond), P95: dur(9 * time.Millisecond), P99: dur(1800 * time.Millisecond), Max: dur(15200 * time.Millisecond),
				Timeline: []LagPoint{{T: 0, Max: dur(2 * time.Millisecond)}, {T: 1, Max: dur(3 * time.Millisecond)}},
				Windows:  []LagWindow{{Fault: 0, Samples: 150, P50: dur(7 * time.Second), P99: dur(15 * time.Second), Max: dur(15200 * time.Millisecond)}},
				BytesMax: 3*1024*1024 + 900*1024, Bytes: []BytesPoint{{T: 0.5, Bytes: 1024}, {T: 1.5, Bytes: 4096}},
				SlotWALStatus: "extended",
			},
			{
				From: "primary2", To: "primary1", Samples: 600, Missing: 0,
				P50: dur(1500 * time.Microsecond), P95: dur(4 * time.Millisecond), P99: dur(3100 * time.Millisecond), Max: dur(14 * time.Second),
				BytesMax: 512, SlotWALStatus: "reserved",
			},
		}},
		Divergence: &Divergence{
			Converged: true, ConvergedIn: dur(2100 * time.Millisecond), DivergentRows: 27,
			Tables: []TableDivergence{
				{Table: "public.hot", RowsPrimary1: 10, RowsPrimary2: 10, Different: 1, Rows: rows[:1]},
				{Table: "public.insert_rows", RowsPrimary1: 29990, RowsPrimary2: 29966, MissingOnPrimary1: 25, MissingOnPrimary2: 1, Rows: rows[1:], Truncated: true},
			},
		},
		Conflicts: &Conflicts{
			Counted: []ConflictCount{
				{Node: "primary1", Kind: "update_origin_differs", Count: 14},
				{Node: "primary2", Kind: "update_origin_differs", Count: 12},
				{Node: "primary2", Kind: "insert_exists", Count: 1},
				{Node: "primary2", Kind: "apply_error", Count: 3},
			},
			Logged: []ConflictCount{
				{Node: "primary2", Kind: "insert_exists", Count: 3},
				{Node: "primary1", Kind: "update_origin_differs", Count: 14},
			},
			Samples: []LogSample{{Node: "primary2", Time: start.Add(12 * time.Second), Kind: "insert_exists", Key: "(id)=(12)", LSN: "0/17A5B18", Message: `conflict detected on relation "public.insert_rows": conflict=insert_exists`}},
			Workload: WorkloadWitness{
				DuplicateKeys: 5, LostUpdates: 9,
				LostUpdateRows:   []LostUpdate{{Workload: "hot", Key: "3", Node: "primary1", Acked: 1200, Value: 1191}},
				Bank:             []BankTotal{{Workload: "bank", Node: "primary1", Expected: 10000, Actual: 10000}, {Workload: "bank", Node: "primary2", Expected: 10000, Actual: 9950}},
				LostWrites:       1,
				LostWriteSamples: []string{"insert_rows id=12"},
			},
			Stalls: []Stall{
				{Node: "primary2", Subscription: "sub_from_primary1", Since: start.Add(12 * time.Second), Error: "conflict=insert_exists", SkipLSN: "0/17A5B18", WALBehind: 73 * 1024 * 1024},
				{Node: "primary1", Subscription: "Sub2", Since: start.Add(30 * time.Second), Error: "update_exists", SkipLSN: "0/2000", WALBehind: 100, Resolved: true},
			},
		},
		Failovers: []Failover{{
			From: "primary1", To: "primary2", At: dur(35 * time.Second), Unavailable: dur(3400 * time.Millisecond),
			LastOKBefore: pdur(35*time.Second + 2*time.Millisecond), FirstOKAfter: pdur(38*time.Second + 402*time.Millisecond),
			ErrorsByClass:    map[string]int64{"connection": 12, "admin_shutdown": 3},
			OldPrimaryWrites: 40, StrandedWrites: 6, StrandedSpan: dur(850 * time.Millisecond),
			Failback: &Failback{At: dur(45 * time.Second), Arrived: 6, Conflicts: 2, Converged: true},
		}},
		Assertions: []Assertion{
			{Name: "lag_p99", Expected: "<= 2s", Actual: "3.1s (primary2->primary1)", Pass: false},
			{Name: "divergent_rows", Expected: "<= 0", Actual: "27", Pass: false},
			{Name: "converged", Expected: "== true", Actual: "true", Pass: true},
		},
		Verdict:  VerdictFail,
		Warnings: []string{"PostgreSQL clock skew not measured"},
	}
}
