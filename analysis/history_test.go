package analysis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// These tests feed histories written by hand (through workload's recorder,
// or as JSON lines) and nodes held in memory, and check the findings: no lab.

// memNodes answers Nodes from rows held in memory; a node in down answers
// every question with an error.
type memNodes struct {
	inserts  map[string][]string                    // node → keys it holds
	counters map[string]map[string]map[string]int64 // node → workload → key → value
	banks    map[string]map[string]int64            // node → workload → total
	down     map[string]bool
	asked    map[string][]int // node → the size of each MissingInserts batch
}

var errDown = errors.New("connection refused")

func (m *memNodes) MissingInserts(_ context.Context, node string, keys []string) ([]string, error) {
	if m.asked == nil {
		m.asked = map[string][]int{}
	}
	m.asked[node] = append(m.asked[node], len(keys))
	if m.down[node] {
		return nil, errDown
	}
	var missing []string
	for _, k := range keys {
		if !slices.Contains(m.inserts[node], k) {
			missing = append(missing, k)
		}
	}
	return missing, nil
}

func (m *memNodes) CounterValues(_ context.Context, node, wl string) (map[string]int64, error) {
	if m.down[node] {
		return nil, errDown
	}
	return m.counters[node][wl], nil
}

func (m *memNodes) BankTotal(_ context.Context, node, wl string, accounts int) (reports.BankTotal, error) {
	if m.down[node] {
		return reports.BankTotal{}, errDown
	}
	return reports.BankTotal{Workload: wl, Node: node, Expected: int64(accounts) * workload.InitialBalance, Actual: m.banks[node][wl]}, nil
}

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func at(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

// writeHistory records ops through workload's recorder, as a run does, and
// returns the file's path.
func writeHistory(t *testing.T, ops ...workload.Op) string {
	t.Helper()
	rec, err := workload.NewRecorder(filepath.Join(t.TempDir(), "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	rec.SetOrigin(t0)
	for _, op := range ops {
		rec.Record(op)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	return rec.Path()
}

func insert(wl, key, target, served string, endMs int, outcome workload.Outcome) workload.Op {
	return workload.Op{Workload: wl, Kind: scenario.KindInsert, Target: target, ServedBy: served,
		Keys: []string{key}, Start: at(endMs - 5), End: at(endMs), Outcome: outcome}
}

var twoNodes = []string{"primary1", "primary2"}

// A known lost write: c was acknowledged and is missing on primary2 only;
// e failed and exists nowhere, which loses nothing.
func TestWitnessFindsAKnownLostWrite(t *testing.T) {
	path := writeHistory(t,
		insert("ins", "a", "primary1", "primary1", 10, workload.OK),
		insert("ins", "b", "primary2", "primary2", 20, workload.OK),
		insert("ins", "c", "haproxy", "primary1", 30, workload.OK),
		insert("ins", "d", "primary2", "primary2", 40, workload.OK),
		insert("ins", "e", "primary1", "", 50, workload.Fail))
	db := &memNodes{inserts: map[string][]string{
		"primary1": {"a", "b", "c", "d"},
		"primary2": {"a", "b", "d"},
	}}
	run := Run{History: path, Nodes: twoNodes, Workloads: []scenario.Workload{{Name: "ins", Kind: scenario.KindInsert}}}
	w, errs := Witness(context.Background(), db, run, nil)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if w.LostWrites != 1 || !slices.Equal(w.LostWriteSamples, []string{"c missing on primary2"}) {
		t.Errorf("lost writes %d %v, want 1: c missing on primary2", w.LostWrites, w.LostWriteSamples)
	}
}

// The acknowledged keys go to each node in batches of the size asked, the
// last one short; a node that does not answer stops the check with an
// error that names it.
func TestMissingInsertsAsksEachNodeInBatches(t *testing.T) {
	var ops []workload.Op
	for i := range 7 {
		ops = append(ops, insert("ins", fmt.Sprintf("k%d", i), "primary1", "primary1", 10*i+10, workload.OK))
	}
	path := writeHistory(t, ops...)
	db := &memNodes{inserts: map[string][]string{"primary1": {"k0", "k1", "k2", "k3", "k4", "k5", "k6"}, "primary2": {"k0", "k1", "k2", "k4", "k5"}}}
	got := map[string][]string{}
	err := missingInserts(context.Background(), db, path, 3, func(workload.Op) bool { return true },
		func(node string, missing []string) { got[node] = append(got[node], missing...) }, twoNodes...)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, map[string][]string{"primary2": {"k3", "k6"}}) {
		t.Errorf("missing %v, want k3 and k6 on primary2", got)
	}
	if want := []int{3, 3, 1}; !slices.Equal(db.asked["primary1"], want) || !slices.Equal(db.asked["primary2"], want) {
		t.Errorf("batches asked %v, want %v of each node", db.asked, want)
	}

	db.down = map[string]bool{"primary2": true}
	err = missingInserts(context.Background(), db, path, 3, func(workload.Op) bool { return true }, func(string, []string) {}, twoNodes...)
	if !errors.Is(err, errDown) || !strings.HasPrefix(err.Error(), "primary2: ") {
		t.Errorf("node down: error %v, want it named and wrapping %v", err, errDown)
	}
}

// A known lost update: row 1 of hot was acknowledged 4 times; primary1
// holds 4, primary2 1 (3 lost); row 2 is 1 short on primary1. The headline
// is the worse node (3), not the sum over nodes (4); failed ops do not count.
func TestWitnessFindsAKnownLostUpdate(t *testing.T) {
	incr := func(key string, endMs int, outcome workload.Outcome) workload.Op {
		return workload.Op{Workload: "hot", Kind: scenario.KindUpdateHot, Target: "primary1", ServedBy: "primary1",
			Keys: []string{key}, Start: at(endMs - 1), End: at(endMs), Outcome: outcome}
	}
	path := writeHistory(t, incr("1", 10, workload.OK), incr("1", 20, workload.OK), incr("2", 25, workload.OK),
		incr("1", 30, workload.OK), incr("1", 40, workload.OK), incr("1", 50, workload.Fail), incr("2", 60, workload.Unknown))
	db := &memNodes{counters: map[string]map[string]map[string]int64{
		"primary1": {"hot": {"1": 4, "2": 0}},
		"primary2": {"hot": {"1": 1, "2": 1}},
	}}
	run := Run{History: path, Nodes: twoNodes, Workloads: []scenario.Workload{{Name: "hot", Kind: scenario.KindUpdateHot}}}
	w, errs := Witness(context.Background(), db, run, nil)
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	want := []reports.LostUpdate{
		{Workload: "hot", Key: "2", Node: "primary1", Acked: 1, Value: 0},
		{Workload: "hot", Key: "1", Node: "primary2", Acked: 4, Value: 1},
	}
	if w.LostUpdates != 3 || !slices.Equal(w.LostUpdateRows, want) {
		t.Errorf("lost updates %d %+v, want 3 %+v", w.LostUpdates, w.LostUpdateRows, want)
	}
}

// Duplicate keys come from the workloads' error summaries (SQLSTATE 23505
// only); bank totals are read per node; a node that does not answer is one
// error naming the check and the node, and the other node's findings stay.
func TestWitnessKeepsWhatTheNodesThatAnsweredSaid(t *testing.T) {
	path := writeHistory(t)
	seen := []reports.Workload{
		{Workload: "ins", Errors: []reports.ErrorCount{{SQLState: "23505", Count: 3}, {SQLState: "40001", Count: 7}}},
		{Workload: "t", Errors: []reports.ErrorCount{{SQLState: "23505", Count: 2}}},
	}
	db := &memNodes{banks: map[string]map[string]int64{"primary1": {"bank": 5 * workload.InitialBalance}}, down: map[string]bool{"primary2": true}}
	run := Run{History: path, Nodes: twoNodes, Workloads: []scenario.Workload{
		{Name: "bank", Kind: scenario.KindBank, Rows: 5}, {Name: "hot", Kind: scenario.KindUpdateHot}}}
	w, errs := Witness(context.Background(), db, run, seen)
	if w.DuplicateKeys != 5 {
		t.Errorf("duplicate keys %d, want 5", w.DuplicateKeys)
	}
	wantBank := []reports.BankTotal{{Workload: "bank", Node: "primary1", Expected: 5 * workload.InitialBalance, Actual: 5 * workload.InitialBalance}}
	if !slices.Equal(w.Bank, wantBank) {
		t.Errorf("bank %+v, want %+v", w.Bank, wantBank)
	}
	var msgs []string
	for _, err := range errs {
		msgs = append(msgs, err.Error())
	}
	want := []string{"counters on primary2 not read: connection refused", "bank total on primary2 not read: connection refused"}
	if !slices.Equal(msgs, want) {
		t.Errorf("errors %q, want %q", msgs, want)
	}
}

// A history cut short by a crash still gives its findings: the partial last
// line is ignored.
func TestLostWritesReadsAHistoryWrittenByHand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "history.jsonl")
	lines := `{"workload":"ins","kind":"insert","worker":0,"target":"primary1","served_by":"primary1","keys":["x"],"start":"2026-01-01T12:00:00Z","end":"2026-01-01T12:00:00.01Z","outcome":"ok"}
{"workload":"ins","kind":"insert","worker":0,"target":"primary1","served_by":"primary1","keys":["y"],"start":"2026-01-01T12:00:00.01Z","end":"2026-01-01T12:00:00.02Z","outcome":"ok"}
{"workload":"ins","kind":"insert","worker":0,"target":"primary1","served_by":"primary1","keys":["z"],"start":"2026-01-01T`
	if err := os.WriteFile(path, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	db := &memNodes{inserts: map[string][]string{"primary1": {"x", "y"}, "primary2": {"x"}}}
	lost, samples, err := LostWrites(context.Background(), db, Run{History: path, Nodes: twoNodes})
	if err != nil || lost != 1 || !slices.Equal(samples, []string{"y missing on primary2"}) {
		t.Errorf("lost %d %v (err %v), want y missing on primary2", lost, samples, err)
	}
}

// A failover read from a recorded history and the fault timeline: it was
// due at +1 s and injected at +1.2 s (after a fault due at the same
// instant), and measured from when it was due; clients through the proxy
// failed from +1.05 s to the first success at +1.4 s.
func TestFailoversFromARecordedHistory(t *testing.T) {
	op := func(target, served string, startMs, endMs int, outcome workload.Outcome, class string) workload.Op {
		return workload.Op{Workload: "ins", Kind: scenario.KindInsert, Target: target, ServedBy: served,
			Start: at(startMs), End: at(endMs), Outcome: outcome, Class: class}
	}
	path := writeHistory(t,
		op("haproxy", "primary1", 900, 980, workload.OK, ""),
		op("haproxy", "", 1000, 1050, workload.Unknown, "connection"), // before the injection, after it was due
		op("haproxy", "primary1", 1010, 1300, workload.OK, ""),        // a session left on the old primary
		op("haproxy", "", 1100, 1200, workload.Fail, "connection"),
		op("primary2", "primary2", 1100, 1110, workload.OK, ""), // not through the proxy
		op("haproxy", "primary2", 1350, 1400, workload.OK, ""),
		op("haproxy", "", 1500, 1600, workload.Fail, "timeout"), // after the window
	)
	healed := reports.Duration(3 * time.Second)
	run := Run{History: path, Start: t0, Duration: 5 * time.Second, Proxy: "haproxy", Peer: peerOf, Workloads: []scenario.Workload{{Name: "w", Kind: scenario.KindInsert}},
		Scheduled: []scenario.Fault{{Kind: scenario.FaultStop, At: time.Second, Node: "primary1"},
			{Kind: scenario.FaultFailover, At: time.Second, From: "primary1", For: 2 * time.Second}},
		Faults: []reports.Fault{{Kind: "stop", Target: "primary1", Injected: ms(1000)},
			{Kind: "failover", Target: "haproxy/primary1", Injected: ms(1200), Healed: &healed}},
	}
	got, err := Failovers(run)
	if err != nil {
		t.Fatal(err)
	}
	last, first := ms(980), ms(1300)
	want := []reports.Failover{{From: "primary1", To: "primary2", At: ms(1200),
		Unavailable: reports.Duration(250 * time.Millisecond), LastOKBefore: &last, FirstOKAfter: &first,
		ErrorsByClass: map[string]int64{"connection": 2}, OldPrimaryWrites: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("failovers\n got %+v\nwant %+v", got, want)
	}

	run.Faults = run.Faults[:1]
	if got, err := Failovers(run); got != nil || err != nil {
		t.Errorf("no failover fault: %+v, %v; want none", got, err)
	}
}

// On a target the nodes go by the user's names (east, west) while ops
// record the servers' cluster_name (primary1, primary2): the old
// primary's writes are counted by its cluster_name; a node without one,
// or two nodes sharing one, make them unknown (with why), never 0; so are
// stranded writes when no insert workload ran.
func TestFailoversOnATargetAttributeOpsByClusterName(t *testing.T) {
	op := func(served string, startMs, endMs int, outcome workload.Outcome) workload.Op {
		return workload.Op{Workload: "mine", Kind: scenario.KindSQL, Target: "haproxy", ServedBy: served,
			Start: at(startMs), End: at(endMs), Outcome: outcome, Class: map[bool]string{true: "", false: "connection"}[outcome == workload.OK]}
	}
	path := writeHistory(t,
		op("primary1", 900, 950, workload.OK),
		op("", 1100, 1150, workload.Fail),
		op("primary1", 1050, 1300, workload.OK), // a session left on east
		op("primary1", 1060, 1310, workload.OK), // another
		op("primary2", 1350, 1400, workload.OK),
	)
	healed := reports.Duration(3 * time.Second)
	run := Run{History: path, Start: t0, Duration: 5 * time.Second, Proxy: "haproxy", Peer: func(string) string { return "west" },
		Nodes: []string{"east", "west"}, Workloads: []scenario.Workload{{Name: "mine", Kind: scenario.KindSQL}},
		Faults: []reports.Fault{{Kind: "failover", Target: "haproxy/east", Injected: ms(1000), Healed: &healed}}}
	for _, c := range []struct {
		name     string
		servedAs map[string]string
		writes   int64
		unknown  string // part of the old-primary writes' reason; "" = measured
	}{
		{"cluster_name differs from the node's name", map[string]string{"east": "primary1", "west": "primary2"}, 2, ""},
		{"a lab's naming read as a target's would miss them", map[string]string{"east": "east", "west": "west"}, 0, ""},
		{"no cluster_name", map[string]string{"east": "", "west": "primary2"}, 0, "cluster_name is not set on east"},
		{"a shared cluster_name", map[string]string{"east": "pg", "west": "pg"}, 0, "east and west have the same cluster_name (pg)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			run.ServedAs = c.servedAs
			got, err := Failovers(run)
			if err != nil || len(got) != 1 {
				t.Fatalf("failovers %+v, %v", got, err)
			}
			fo := got[0]
			if fo.From != "east" || fo.OldPrimaryWrites != c.writes || fo.Unavailable != ms(150) {
				t.Errorf("from %s: %d old-primary writes, unavailable %v; want east, %d, 150 ms", fo.From, fo.OldPrimaryWrites, fo.Unavailable.D(), c.writes)
			}
			if why := fo.Unknown["old_primary_writes"]; (c.unknown == "") != (why == "") || !strings.Contains(why, c.unknown) {
				t.Errorf("old-primary writes unknown %q, want %q", why, c.unknown)
			}
			if !strings.Contains(fo.Unknown["stranded_writes"], c.unknown) || fo.Unknown["stranded_writes"] == "" {
				t.Errorf("stranded writes unknown %q: want a reason (no insert workload, or %q)", fo.Unknown["stranded_writes"], c.unknown)
			}
		})
	}
}

func peerOf(n string) string {
	if n == "primary1" {
		return "primary2"
	}
	return "primary1"
}

// Stranded writes are the inserts the old primary acknowledged since the
// given time that the survivor lacks; at failback, those the survivor holds
// by then count as arrived.
func TestStrandedWritesAndTheirArrivalAtFailback(t *testing.T) {
	path := writeHistory(t,
		insert("ins", "old", "primary1", "primary1", 100, workload.OK),      // before since: surely applied
		insert("ins", "s1", "haproxy", "primary1", 1100, workload.OK),       // stranded
		insert("ins", "p2", "primary2", "primary2", 1150, workload.OK),      // served by the survivor
		insert("ins", "here", "primary1", "primary1", 1200, workload.OK),    // after since, but applied
		insert("ins", "s2", "primary1", "primary1", 1700, workload.OK),      // stranded
		insert("ins", "never", "primary1", "primary1", 1800, workload.Fail)) // not acknowledged
	db := &memNodes{inserts: map[string][]string{"primary2": {"p2", "here"}}}
	s, err := StrandedWrites(context.Background(), db, path, "primary1", "primary2", at(1000))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(s.Keys, []string{"s1", "s2"}) || !s.First.Equal(at(1100)) || !s.Last.Equal(at(1700)) || s.Survivor != "primary2" {
		t.Fatalf("stranded %+v, want s1 and s2 on primary2, acknowledged from +1.1 s to +1.7 s", s)
	}

	s.At = at(4000)
	db.inserts["primary2"] = append(db.inserts["primary2"], "s2")
	var fo reports.Failover
	if err := Failback(context.Background(), db, t0, s, &fo); err != nil {
		t.Fatal(err)
	}
	if fo.StrandedWrites != 2 || fo.StrandedSpan != ms(600) || fo.StrandedOn != "primary2" || fo.Failback == nil ||
		fo.Failback.At != ms(4000) || fo.Failback.Arrived != 1 {
		t.Errorf("failback: stranded %d over %v on %q, failback %+v; want 2 over 600 ms on primary2, at +4 s, 1 arrived",
			fo.StrandedWrites, fo.StrandedSpan, fo.StrandedOn, fo.Failback)
	}
}
