package analysis

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/pglog"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/workload"
)

var causeT0 = time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)

func causeAt(s float64) time.Time { return causeT0.Add(time.Duration(s * float64(time.Second))) }

// partition0 is a partition from 10 s to 25 s.
func partition0() []reports.Fault {
	healed := reports.Duration(25 * time.Second)
	return []reports.Fault{{Kind: "partition", Target: "primary1<->primary2", Injected: reports.Duration(10 * time.Second), Healed: &healed}}
}

func conflictEvent(kind, level, relation, key, lsn string, when time.Time) pglog.Event {
	return pglog.Event{Type: pglog.Conflict, Kind: kind, Level: level, Relation: relation, Key: key, FinishLSN: lsn, Time: when}
}

func write(node string, s float64) Write {
	return Write{Node: node, Start: causeAt(s), End: causeAt(s + 0.01), Outcome: workload.OK}
}

// explainOne runs ExplainDivergence on a one-row divergence and returns the
// row and the unexplained count.
func explainOne(t *testing.T, table string, row reports.DivergentRow, ev CauseEvidence) (reports.DivergentRow, int64) {
	t.Helper()
	div := &reports.Divergence{DivergentRows: 1, Tables: []reports.TableDivergence{{Table: table, Rows: []reports.DivergentRow{row}}}}
	ExplainDivergence(div, ev)
	if div.Unexplained == nil {
		t.Fatal("Unexplained not set")
	}
	return div.Tables[0].Rows[0], *div.Unexplained
}

func TestExplainDivergenceGivesEachCause(t *testing.T) {
	counter := RowRef{"pgchaos_counter", "(hot,3)"}
	insert := RowRef{"pgchaos_insert", "r/ins/primary1/0/7"}
	cases := []struct {
		name       string
		table      string
		row        reports.DivergentRow
		ev         CauseEvidence
		want       string
		wantDetail []string
	}{
		{
			name:  "hot row updated on both sides of a partition: the values swapped",
			table: "pgchaos_counter",
			row:   reports.DivergentRow{Key: "(hot,3)", Kind: reports.Different, LastWriter: "primary2"},
			ev: CauseEvidence{Start: causeT0, Faults: partition0(), Converged: true, ConflictLogs: true,
				Logs: map[string][]pglog.Event{
					"primary1": {conflictEvent(pglog.KindUpdateOriginDiffers, "LOG", "public.pgchaos_counter", "(workload, id)=(hot, 3)", "0/17D0AE0", causeAt(25.5))},
					"primary2": {conflictEvent(pglog.KindUpdateOriginDiffers, "LOG", "public.pgchaos_counter", "(workload, id)=(hot, 3)", "0/17D1000", causeAt(25.6))},
				},
				Writes: map[RowRef][]Write{counter: {write("primary1", 12), write("primary2", 11), write("primary2", 20)}}},
			want: reports.CauseConcurrentUpdate,
			wantDetail: []string{"updated on primary1 and primary2 during fault 0 (partition primary1<->primary2)",
				"each applied the other's row", "update_origin_differs at 0/17D0AE0 on primary1", "update_origin_differs at 0/17D1000 on primary2"},
		},
		{
			name:  "overlapping faults are all named; each node's last conflict is cited",
			table: "pgchaos_counter",
			row:   reports.DivergentRow{Key: "(hot,3)", Kind: reports.Different},
			ev: CauseEvidence{Start: causeT0, Converged: true, ConflictLogs: true,
				Faults: append(partition0(), reports.Fault{Kind: "failover", Target: "haproxy/primary1", Injected: reports.Duration(20 * time.Second)}),
				Logs: map[string][]pglog.Event{
					"primary1": {
						conflictEvent(pglog.KindUpdateOriginDiffers, "LOG", "public.pgchaos_counter", "(workload, id)=(hot, 3)", "0/10", causeAt(26)),
						conflictEvent(pglog.KindUpdateOriginDiffers, "LOG", "public.pgchaos_counter", "(workload, id)=(hot, 3)", "0/20", causeAt(40)),
					},
				},
				Writes: map[RowRef][]Write{counter: {write("primary1", 22), write("primary2", 23)}}},
			want: reports.CauseConcurrentUpdate,
			wantDetail: []string{"during fault 0 (partition primary1<->primary2) and fault 1 (failover haproxy/primary1)",
				"(update_origin_differs at 0/20 on primary1)"},
		},
		{
			name:  "concurrent updates with no fault: within the replication lag",
			table: "pgchaos_counter",
			row:   reports.DivergentRow{Key: "(hot,3)", Kind: reports.Different},
			ev: CauseEvidence{Start: causeT0, Faults: partition0(), Converged: true, ConflictLogs: true,
				Logs: map[string][]pglog.Event{
					"primary1": {conflictEvent(pglog.KindUpdateOriginDiffers, "LOG", "public.pgchaos_counter", "(workload, id)=(hot, 3)", "0/1", causeAt(3))},
				},
				Writes: map[RowRef][]Write{counter: {write("primary1", 2), write("primary2", 2.001)}}},
			want:       reports.CauseConcurrentUpdate,
			wantDetail: []string{"outside any fault window, within the replication lag"},
		},
		{
			name:  "PostgreSQL 17 logs no update conflict: the history alone explains a swap",
			table: "pgchaos_counter",
			row:   reports.DivergentRow{Key: "(hot,3)", Kind: reports.Different},
			ev: CauseEvidence{Start: causeT0, Faults: partition0(), Converged: true, ConflictLogs: false,
				Writes: map[RowRef][]Write{counter: {write("primary1", 12), write("primary2", 13)}}},
			want:       reports.CauseConcurrentUpdate,
			wantDetail: []string{"during fault 0", "from the history alone"},
		},
		{
			name:  "the same key inserted on both nodes: insert_exists stops the apply",
			table: "test_table",
			row:   reports.DivergentRow{Key: "300", Kind: reports.Different},
			ev: CauseEvidence{Start: causeT0, Converged: false, ConflictLogs: true,
				Logs: map[string][]pglog.Event{
					"primary1": {
						conflictEvent(pglog.KindInsertExists, "ERROR", "public.test_table", "(id)=(300)", "0/17B9ED8", causeAt(4)),
						conflictEvent(pglog.KindInsertExists, "ERROR", "public.test_table", "(id)=(300)", "0/17B9ED8", causeAt(5)),
					},
				}},
			want:       reports.CauseInsertCollision,
			wantDetail: []string{"insert_exists at 0/17B9ED8 on primary1", "the apply stopped on it"},
		},
		{
			name:  "updated on one node, deleted on the other",
			table: "test_table",
			row:   reports.DivergentRow{Key: "101", Kind: reports.MissingOnPrimary1},
			ev: CauseEvidence{Start: causeT0, Converged: true, ConflictLogs: true,
				Logs: map[string][]pglog.Event{
					"primary1": {conflictEvent(pglog.KindUpdateMissing, "LOG", "public.test_table", "(id)=(101)", "0/17B9998", causeAt(3))},
				}},
			want:       reports.CauseUpdateDelete,
			wantDetail: []string{"updated on one node while deleted on the other", "update_missing at 0/17B9998 on primary1"},
		},
		{
			name:  "written on primary1, primary2's apply stalled on another key",
			table: "pgchaos_insert",
			row:   reports.DivergentRow{Key: insert.Key, Kind: reports.MissingOnPrimary2},
			ev: CauseEvidence{Start: causeT0, Converged: false, ConflictLogs: true,
				Logs: map[string][]pglog.Event{
					"primary2": {conflictEvent(pglog.KindInsertExists, "ERROR", "public.test_table", "(id)=(5)", "0/AB", causeAt(8))},
				},
				Writes: map[RowRef][]Write{insert: {write("primary1", 9)}}},
			want:       reports.CauseStalled,
			wantDetail: []string{"written on primary1 at 9.0s", "never applied on primary2", "insert_exists for (id)=(5) at 0/AB"},
		},
		{
			name:  "written during a partition, nodes never converged",
			table: "pgchaos_insert",
			row:   reports.DivergentRow{Key: insert.Key, Kind: reports.MissingOnPrimary2},
			ev: CauseEvidence{Start: causeT0, Faults: partition0(), Converged: false, NotConverged: "primary1->primary2 3 MB behind", ConflictLogs: true,
				Writes: map[RowRef][]Write{insert: {write("primary1", 14)}}},
			want:       reports.CauseNotConverged,
			wantDetail: []string{"written on primary1 at 14.0s, during fault 0", "not yet applied on primary2", "3 MB behind"},
		},
		{
			name:  "a row changed outside replication: inserted and replicated, then differs with nothing logged",
			table: "pgchaos_insert",
			row:   reports.DivergentRow{Key: insert.Key, Kind: reports.Different, LastWriter: "primary1"},
			ev: CauseEvidence{Start: causeT0, Converged: true, ConflictLogs: true,
				Writes: map[RowRef][]Write{insert: {write("primary1", 2)}}},
			want:       reports.CauseUnexplained,
			wantDetail: []string{"no conflict logged for this key", "last written on primary1 at 2.0s", "the nodes converged"},
		},
		{
			name:  "an update conflict does not account for a missing row",
			table: "test_table",
			row:   reports.DivergentRow{Key: "100", Kind: reports.MissingOnPrimary2},
			ev: CauseEvidence{Start: causeT0, Converged: true, ConflictLogs: true,
				Logs: map[string][]pglog.Event{
					"primary1": {conflictEvent(pglog.KindUpdateOriginDiffers, "LOG", "public.test_table", "(id)=(100)", "0/1", causeAt(3))},
				}},
			want:       reports.CauseUnexplained,
			wantDetail: []string{"update_origin_differs at 0/1 on primary1, which does not account for a row missing on primary2"},
		},
		{
			name:  "a stall that ended does not explain a later write once converged",
			table: "pgchaos_insert",
			row:   reports.DivergentRow{Key: insert.Key, Kind: reports.MissingOnPrimary2},
			ev: CauseEvidence{Start: causeT0, Converged: true, ConflictLogs: true,
				Logs: map[string][]pglog.Event{
					"primary2": {conflictEvent(pglog.KindInsertExists, "ERROR", "public.test_table", "(id)=(5)", "0/AB", causeAt(8))},
				},
				Writes: map[RowRef][]Write{insert: {write("primary1", 30)}}},
			want: reports.CauseUnexplained,
		},
		{
			name:  "a conflict on another table's same key explains nothing",
			table: "pgchaos_insert",
			row:   reports.DivergentRow{Key: "100", Kind: reports.Different},
			ev: CauseEvidence{Start: causeT0, Converged: true, ConflictLogs: true,
				Logs: map[string][]pglog.Event{
					"primary1": {conflictEvent(pglog.KindUpdateOriginDiffers, "LOG", "public.test_table", "(id)=(100)", "0/1", causeAt(3))},
				}},
			want: reports.CauseUnexplained,
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			row, unexplained := explainOne(t, c.table, c.row, c.ev)
			if row.Cause != c.want {
				t.Fatalf("cause %q (%s), want %q", row.Cause, row.CauseDetail, c.want)
			}
			for _, w := range c.wantDetail {
				if !strings.Contains(row.CauseDetail, w) {
					t.Errorf("detail %q does not say %q", row.CauseDetail, w)
				}
			}
			if want := int64(0); c.want == reports.CauseUnexplained {
				if unexplained != 1 {
					t.Errorf("unexplained = %d, want 1", unexplained)
				}
			} else if unexplained != want {
				t.Errorf("unexplained = %d, want 0", unexplained)
			}
		})
	}
}

func TestExplainDivergenceCountsOnlyUnexplainedRows(t *testing.T) {
	div := &reports.Divergence{DivergentRows: 3, Tables: []reports.TableDivergence{
		{Table: "pgchaos_insert", Rows: []reports.DivergentRow{{Key: "a", Kind: reports.Different}, {Key: "b", Kind: reports.MissingOnPrimary1}}},
		{Table: "test_table", Rows: []reports.DivergentRow{{Key: "7", Kind: reports.Different}}},
	}}
	ExplainDivergence(div, CauseEvidence{Start: causeT0, Converged: true, ConflictLogs: true, Logs: map[string][]pglog.Event{
		"primary2": {conflictEvent(pglog.KindUpdateOriginDiffers, "LOG", "public.test_table", "(id)=(7)", "0/2", causeAt(1))},
	}})
	if *div.Unexplained != 2 {
		t.Errorf("unexplained = %d, want 2", *div.Unexplained)
	}
	if got := div.Tables[1].Rows[0].Cause; got != reports.CauseConcurrentUpdate {
		t.Errorf("test_table 7: %q", got)
	}
	var none *reports.Divergence
	ExplainDivergence(none, CauseEvidence{}) // no divergence check: nothing to do, no panic
	empty := &reports.Divergence{}
	ExplainDivergence(empty, CauseEvidence{})
	if empty.Unexplained == nil || *empty.Unexplained != 0 {
		t.Errorf("no divergent rows: unexplained %v, want 0", empty.Unexplained)
	}
}

// Over three nodes the rules read the row's versions: a conflict logged
// for the key names the cause; a node lacking a write is stalled only when
// its apply worker for the writer's subscription stopped (not another of
// its workers, and not when the subscriptions cannot be told apart); and
// Unexplained counts what is left.
func TestExplainDivergenceOverThreeNodes(t *testing.T) {
	three := []string{"primary1", "primary2", "primary3"}
	ref := RowRef{Table: "pgchaos_insert", Key: "k1"}
	missingOn3 := func() *reports.Divergence {
		return &reports.Divergence{DivergentRows: 1, Nodes: three, Tables: []reports.TableDivergence{{Table: "pgchaos_insert", Rows: []reports.DivergentRow{{
			Key: "k1", Kind: "missing_on_primary3",
			Versions: []reports.RowVersion{{Nodes: []string{"primary1", "primary2"}, Row: `{"id":"k1"}`}, {Nodes: []string{"primary3"}}}}}}}}
	}
	stopOn3 := func(sub string) map[string][]pglog.Event {
		e := conflictEvent(pglog.KindInsertExists, "ERROR", "public.test_table", "(id)=(5)", "0/AB", causeAt(8))
		e.Subscription = sub
		return map[string][]pglog.Event{"primary3": {e}}
	}
	publisher := func(node, sub string) string { return strings.TrimPrefix(sub, "sub_from_") }
	for _, tc := range []struct {
		name      string
		ev        CauseEvidence
		want      string
		wantWords string
	}{
		{"primary3's worker for primary1 stopped", CauseEvidence{Logs: stopOn3("sub_from_primary1"), Publisher: publisher},
			reports.CauseStalled, "never applied on primary3, whose apply worker stopped on insert_exists"},
		{"primary3's worker for primary2 stopped, not the one for the writer", CauseEvidence{Logs: stopOn3("sub_from_primary2"), Publisher: publisher, Converged: true},
			reports.CauseUnexplained, "no conflict logged"},
		{"the stop cannot be tied to a subscription's publisher", CauseEvidence{Logs: stopOn3("sub_from_primary1"), NotConverged: "primary1->primary3 behind"},
			reports.CauseNotConverged, "not yet applied on primary3"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			div := missingOn3()
			tc.ev.Start, tc.ev.Nodes, tc.ev.ConflictLogs = causeT0, three, true
			tc.ev.Writes = map[RowRef][]Write{ref: {write("primary1", 9)}}
			ExplainDivergence(div, tc.ev)
			row := div.Tables[0].Rows[0]
			if row.Cause != tc.want || !strings.Contains(row.CauseDetail, tc.wantWords) {
				t.Errorf("cause %q (%s), want %q with %q", row.Cause, row.CauseDetail, tc.want, tc.wantWords)
			}
			wantUnexplained := int64(0)
			if tc.want == reports.CauseUnexplained {
				wantUnexplained = 1
			}
			if div.Unexplained == nil || *div.Unexplained != wantUnexplained {
				t.Errorf("unexplained %v, want %d", div.Unexplained, wantUnexplained)
			}
		})
	}
	// A conflict logged for the key: several nodes updated it.
	div := &reports.Divergence{DivergentRows: 1, Nodes: three, Tables: []reports.TableDivergence{{Table: "test_table", Rows: []reports.DivergentRow{{Key: "7", Kind: reports.Different,
		Versions: []reports.RowVersion{{Nodes: []string{"primary1", "primary3"}, Row: `{"id":7}`}, {Nodes: []string{"primary2"}, Row: `{"id":7,"v":1}`}}}}}}}
	ExplainDivergence(div, CauseEvidence{Start: causeT0, Nodes: three, Converged: true, ConflictLogs: true,
		Logs:   map[string][]pglog.Event{"primary2": {conflictEvent(pglog.KindUpdateOriginDiffers, "LOG", "public.test_table", "(id)=(7)", "0/1", causeAt(12))}},
		Writes: map[RowRef][]Write{{Table: "test_table", Key: "7"}: {write("primary1", 12), write("primary2", 12)}}})
	if row := div.Tables[0].Rows[0]; row.Cause != reports.CauseConcurrentUpdate || !strings.Contains(row.CauseDetail, "updated on primary1 and primary2") || *div.Unexplained != 0 {
		t.Errorf("cause %q (%s), unexplained %v", row.Cause, row.CauseDetail, *div.Unexplained)
	}
	// Nothing diverged: nothing is unexplained, on any number of nodes.
	same := &reports.Divergence{Nodes: []string{"primary1", "primary2", "primary3"}, Tables: []reports.TableDivergence{{Table: "test_table"}}}
	ExplainDivergence(same, CauseEvidence{})
	if same.Unexplained == nil || *same.Unexplained != 0 {
		t.Errorf("three nodes, no divergent row: unexplained %v, want 0", same.Unexplained)
	}
}

// The keys PostgreSQL 18 logged in a real lab (pglog/testdata) join the
// divergence check's keys.
func TestExplainDivergenceJoinsRealPostgres18LogLines(t *testing.T) {
	f, err := os.Open("../pglog/testdata/pg18-conflicts-primary1.log")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	evs, err := pglog.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	div := &reports.Divergence{Tables: []reports.TableDivergence{{Table: "test_table", Rows: []reports.DivergentRow{
		{Key: "100", Kind: reports.Different},
		{Key: "101", Kind: reports.MissingOnPrimary1},
		{Key: "300", Kind: reports.Different},
		{Key: "999", Kind: reports.Different},
	}}}}
	ExplainDivergence(div, CauseEvidence{Start: evs[0].Time, Converged: true, ConflictLogs: true, Logs: map[string][]pglog.Event{"primary1": evs}})
	want := []string{reports.CauseConcurrentUpdate, reports.CauseUpdateDelete, reports.CauseInsertCollision, reports.CauseUnexplained}
	for i, r := range div.Tables[0].Rows {
		if r.Cause != want[i] {
			t.Errorf("key %s: cause %q (%s), want %q", r.Key, r.Cause, r.CauseDetail, want[i])
		}
	}
	if d := div.Tables[0].Rows[0].CauseDetail; !strings.Contains(d, "update_origin_differs at 0/17B9908 on primary1") {
		t.Errorf("key 100: detail %q does not cite the logged LSN", d)
	}
	// insert_exists was logged at every retry of one transaction: cited once.
	if d := div.Tables[0].Rows[2].CauseDetail; strings.Count(d, "insert_exists") != 1 {
		t.Errorf("key 300: detail %q cites the retries", d)
	}
}

func TestLoggedKeyMatchesTheDivergenceKey(t *testing.T) {
	cases := []struct {
		logged, want string
		ok           bool
	}{
		{"(id)=(100)", "100", true},
		{"(id)=(r/ins/primary1/0/7)", "r/ins/primary1/0/7", true},
		{"(workload, id)=(hot, 3)", "(hot,3)", true},
		{"(workload, id)=(my hot, 3)", `("my hot",3)`, true},
		{"(workload, id)=(a, b, 3)", "", false}, // a value holding ", ": ambiguous
		{"(100, upd-a)", "", false},             // replica identity full: no columns
		{"", "", false},
	}
	for _, c := range cases {
		got, ok := LoggedKey(c.logged)
		if got != c.want || ok != c.ok {
			t.Errorf("LoggedKey(%q) = %q, %v; want %q, %v", c.logged, got, ok, c.want, c.ok)
		}
	}
}

func TestRowLiteralQuotesAsPostgresRecordOutput(t *testing.T) {
	cases := map[string][]string{
		"(hot,3)":           {"hot", "3"},
		`("",3)`:            {"", "3"},
		`("a b",1)`:         {"a b", "1"},
		`("a,b",1)`:         {"a,b", "1"},
		`("say ""hi""",1)`:  {`say "hi"`, "1"},
		`("back\\slash",1)`: {`back\slash`, "1"},
		`("(x)",1)`:         {"(x)", "1"},
	}
	for want, vals := range cases {
		if got := RowLiteral(vals...); got != want {
			t.Errorf("RowLiteral(%q) = %s, want %s", vals, got, want)
		}
	}
}

func TestHistoryWritesKeepsOnlyTheDivergentRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	ops := []workload.Op{
		{Workload: "hot", Kind: "update-hot", Target: "primary1", ServedBy: "primary1", Keys: []string{"3"}, Start: causeAt(1), End: causeAt(1.1), Outcome: workload.OK},
		{Workload: "hot", Kind: "update-hot", Target: "primary2", ServedBy: "primary2", Keys: []string{"4"}, Start: causeAt(2), End: causeAt(2.1), Outcome: workload.OK},
		{Workload: "hot", Kind: "update-hot", Target: "primary2", Keys: []string{"3"}, Start: causeAt(3), End: causeAt(3.1), Outcome: workload.Unknown},
		{Workload: "hot", Kind: "update-hot", Target: "primary1", Keys: []string{"3"}, Start: causeAt(4), End: causeAt(4.1), Outcome: workload.Fail},
		{Workload: "ins", Kind: "insert", Target: "haproxy", Keys: []string{"k1"}, Start: causeAt(5), End: causeAt(5.1), Outcome: workload.Unknown},
		{Workload: "ins", Kind: "insert", Target: "haproxy", ServedBy: "primary2", Keys: []string{"k2"}, Start: causeAt(6), End: causeAt(6.1), Outcome: workload.OK},
		{Workload: "b", Kind: "bank", Target: "primary1", ServedBy: "primary1", Keys: []string{"1", "2"}, Start: causeAt(7), End: causeAt(7.1), Outcome: workload.OK},
	}
	var b strings.Builder
	for _, op := range ops {
		j, err := json.Marshal(op)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	div := &reports.Divergence{Tables: []reports.TableDivergence{
		{Table: "pgchaos_counter", Rows: []reports.DivergentRow{{Key: "(hot,3)"}}},
		{Table: "pgchaos_insert", Rows: []reports.DivergentRow{{Key: "k1"}}},
		{Table: "pgchaos_bank", Rows: []reports.DivergentRow{{Key: "(b,2)"}}},
	}}
	got, err := HistoryWrites(path, div, []string{"primary1", "primary2"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[RowRef][]string{
		{"pgchaos_counter", "(hot,3)"}: {"primary1", "primary2"}, // the failed op wrote nothing; the unknown one is its target's
		{"pgchaos_insert", "k1"}:       {""},                     // unknown through the proxy: no node
		{"pgchaos_bank", "(b,2)"}:      {"primary1"},
	}
	if len(got) != len(want) {
		t.Fatalf("kept %d rows, want %d: %v", len(got), len(want), got)
	}
	for ref, nodes := range want {
		ws := got[ref]
		if len(ws) != len(nodes) {
			t.Errorf("%v: %d writes, want %d", ref, len(ws), len(nodes))
			continue
		}
		for i, n := range nodes {
			if ws[i].Node != n {
				t.Errorf("%v write %d: node %q, want %q", ref, i, ws[i].Node, n)
			}
		}
	}
}

// A two-node target names its nodes its own way: the rules follow the
// evidence's names (east lacks what west wrote), not primary1 and primary2.
func TestExplainDivergenceUsesTheNodesNames(t *testing.T) {
	ref := RowRef{Table: "pgchaos_insert", Key: "k1"}
	div := &reports.Divergence{DivergentRows: 1, Tables: []reports.TableDivergence{{Table: "pgchaos.pgchaos_insert", Rows: []reports.DivergentRow{{Key: "k1", Kind: reports.MissingOnPrimary1}}}}}
	ExplainDivergence(div, CauseEvidence{Start: causeT0, Nodes: []string{"east", "west"}, ConflictLogs: true, NotConverged: "west->east behind",
		Writes: map[RowRef][]Write{ref: {write("west", 9)}}})
	if row := div.Tables[0].Rows[0]; row.Cause != reports.CauseNotConverged || !strings.Contains(row.CauseDetail, "written on west at 9.0s and not yet applied on east") {
		t.Errorf("cause %q (%s)", row.Cause, row.CauseDetail)
	}
}
