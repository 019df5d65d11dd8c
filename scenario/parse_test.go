package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
)

// TestParseRejectsBadFiles pins, for each kind of bad input, every message
// and the exact line:col it points at.
func TestParseRejectsBadFiles(t *testing.T) {
	tests := []struct {
		file string
		want []string // each without the "testdata/bad/" prefix
	}{
		{"unknown-key.yaml", []string{
			`unknown-key.yaml:7:5: unknown key "concurency" in workloads[1] (allowed: name, kind, targets, concurrency, rate, rows, keys, isolation)`,
		}},
		{"wrong-type.yaml", []string{
			`wrong-type.yaml:2:7: seed: "lucky" is not a whole number`,
			`wrong-type.yaml:5:18: workloads[0].concurrency: "four" is not a whole number`,
			`wrong-type.yaml:6:14: workloads[0].targets must be a list (e.g. [primary1, primary2, haproxy]), not the string "primary1"`,
			`wrong-type.yaml:8:14: assert.converged: "yes" is not true or false`,
			`wrong-type.yaml:9:11: assert.errors: -1 is too small (must be at least 0)`,
			`wrong-type.yaml:10:16: assert.lost_writes must be a single value, not a list`,
		}},
		{"bad-duration.yaml", []string{
			`bad-duration.yaml:3:11: duration: "10 sec" is not a duration (use e.g. 30s, 2m, 1h30m)`,
			`bad-duration.yaml:5:38: faults[0].at: 5 is not a duration: a number needs a unit (use e.g. 30s, 2m, 1h30m)`,
			`bad-duration.yaml:5:46: faults[0].for: "1 minute" is not a duration (use e.g. 30s, 2m, 1h30m)`,
			`bad-duration.yaml:7:12: assert.lag_p99: 2 is not a duration: a number needs a unit (use e.g. 30s, 2m, 1h30m)`,
		}},
		{"bad-rate.yaml", []string{
			`bad-rate.yaml:4:11: workloads[0].rate: "fast" is not a rate (use e.g. 500/s, 30/m, or 500 for per second)`,
			`bad-rate.yaml:6:11: workloads[1].rate: "0/s" must be more than 0 (omit rate to run as fast as possible)`,
			`bad-rate.yaml:8:11: workloads[2].rate: "500/day" is not a rate (use e.g. 500/s, 30/m, or 500 for per second)`,
		}},
		{"unknown-target.yaml", []string{
			`unknown-target.yaml:4:25: workloads[0].targets[1]: "primary3" is not a target (allowed: primary1, primary2, haproxy)`,
			`unknown-target.yaml:6:24: workloads[1].targets: haproxy is listed twice`,
			`unknown-target.yaml:9:11: faults[0].node: "primary3" is not a node (allowed: primary1, primary2, haproxy)`,
		}},
		{"nodes-one.yaml", []string{
			`nodes-one.yaml:2:10: lab.nodes: 1 is out of range (must be 2 to 5)`,
		}},
		{"nodes-nine.yaml", []string{
			`nodes-nine.yaml:1:14: lab.nodes: 9 is out of range (must be 2 to 5)`,
		}},
		{"unknown-node-of-three.yaml", []string{
			`unknown-node-of-three.yaml:3:27: lab.ports.primary4: the lab has 3 primaries (primary1, primary2, primary3), so there is no primary4: remove it or raise lab.nodes`,
			`unknown-node-of-three.yaml:6:40: workloads[0].targets[1]: "primary4" is not a target (allowed: primary1, primary2, primary3, haproxy)`,
			`unknown-node-of-three.yaml:8:24: faults[0].node: "primary4" is not a node (allowed: primary1, primary2, primary3, haproxy)`,
			`unknown-node-of-three.yaml:9:43: faults[1].between[1]: "primary4" is not a target (allowed: primary1, primary2, primary3)`,
			`unknown-node-of-three.yaml:10:6: faults[2]: between is required with 3 primaries: the two ends of the link (e.g. between: [primary1, primary3]; primaries: primary1, primary2, primary3)`,
			`unknown-node-of-three.yaml:11:65: faults[3].direction: "primary1->primary2" is not a direction of this link (allowed: both, primary1->primary3, primary3->primary1)`,
			`unknown-node-of-three.yaml:12:34: faults[4].node: "primary4" is not a publisher (allowed: primary1, primary2, primary3)`,
			`unknown-node-of-three.yaml:13:28: faults[5].from: "primary4" is not a backend (allowed: primary1, primary2, primary3)`,
		}},
		{"unknown-kind.yaml", []string{
			`unknown-kind.yaml:3:11: workloads[0].kind: "insrt" is not a workload kind (allowed: insert, update-hot, bank, tutorial, list-append, rw-register, sql)`,
			`unknown-kind.yaml:5:11: faults[0].kind: "explode" is not a fault kind (allowed: stop, kill, restart, pause, isolate, partition, delay, loss, failover, disable-subscription, kill-walsender, kill-apply-worker, kill-sessions, lock-rows)`,
			`unknown-kind.yaml:8:14: lab.sequences: "random" is not a sequence mode (allowed: interleaved, serial, uuid)`,
			`unknown-kind.yaml:9:13: lab.postgres: 16 is not a supported PostgreSQL major version (allowed: 18, 17, 19)`,
		}},
		{"missing-required.yaml", []string{
			`missing-required.yaml:1:1: duration is required: how long the workloads run (e.g. duration: 60s)`,
			`missing-required.yaml:3:5: workloads[0]: kind is required (one of: insert, update-hot, bank, tutorial, list-append, rw-register, sql)`,
			`missing-required.yaml:5:5: faults[0] (kind: stop): at is required: when the fault starts, from the start of the workloads (e.g. at: 10s)`,
			`missing-required.yaml:5:5: faults[0] (kind: stop): node is required (one of: primary1, primary2, haproxy)`,
			`missing-required.yaml:7:5: faults[1] (kind: delay): needs node (one of: primary1, primary2, haproxy) or between: [primary1, primary2]`,
			`missing-required.yaml:7:5: faults[1] (kind: delay): delay is required: how much latency to add (e.g. delay: 100ms)`,
			`missing-required.yaml:9:5: faults[2] (kind: failover): from is required (one of: primary1, primary2)`,
		}},
		{"fault-past-end.yaml", []string{
			`fault-past-end.yaml:9:9: faults[1] (kind: kill) at 1m starts at or after the end of the run (duration 1m): move at earlier or lengthen duration`,
			`fault-past-end.yaml:13:10: faults[2] (kind: stop) at 50s for 20s ends at 1m10s, after the run's duration 1m: shorten for or lengthen duration`,
		}},
		{"overlapping-failovers.yaml", []string{
			`overlapping-failovers.yaml:8:5: faults[1] (kind: failover, from: primary2) overlaps faults[0] (kind: failover, from: primary1) from 30s to 40s: both backends would be in maint and HAProxy would have no server; end one before the other starts`,
			`overlapping-failovers.yaml:15:5: faults[2] (kind: stop, node: primary1) takes down primary1 from 1m10s to 1m20s while faults[3] (kind: failover, from: primary2) sends all HAProxy traffic to it: HAProxy would have no working backend; move one of them`,
		}},
		{"key-not-for-kind.yaml", []string{
			`key-not-for-kind.yaml:5:5: key "node" is not valid for a partition fault in faults[0] (allowed: kind, at, for, between, direction)`,
			`key-not-for-kind.yaml:10:5: faults[1] (kind: restart): a restart has no duration, so for does not apply: remove it, or use stop with for to keep the node down`,
			`key-not-for-kind.yaml:13:5: faults[2] (kind: delay): give either node (the node's whole network) or between (the replication link), not both`,
			`key-not-for-kind.yaml:18:5: faults[3] (kind: loss): direction applies to a link (between: [primary1, primary2]), not to a node: remove it or use between`,
			`key-not-for-kind.yaml:19:11: faults[3].loss: "150%" is out of range (must be more than 0% and at most 100%)`,
			`key-not-for-kind.yaml:22:11: faults[4].from: "haproxy" is not a backend (allowed: primary1, primary2)`,
			`key-not-for-kind.yaml:24:5: key "delay" is not valid for a failover fault in faults[4] (allowed: kind, at, for, from)`,
		}},
		{"duplicates.yaml", []string{
			`duplicates.yaml:2:1: key "duration" appears twice at the top level (first at line 1): keep one`,
			`duplicates.yaml:6:5: workloads[1]: name "writer" is already used by workloads[0]: names must be unique`,
			`duplicates.yaml:10:37: lab.ports.primary2: port 6000 is already lab.ports.primary1: each needs its own port`,
			`duplicates.yaml:10:52: lab.ports.haproxy: 70000 is out of range (must be 1 to 65535)`,
		}},
		{"empty.yaml", []string{
			`empty.yaml:1:1: the file is empty: a scenario needs at least duration: and workloads:`,
		}},
		{"comment-only.yaml", []string{
			`comment-only.yaml:1:1: the file is empty: a scenario needs at least duration: and workloads:`,
		}},
		// yaml reports a line but no column for its own errors; the line
		// is yaml's (it blames the line where the item began).
		{"syntax-error.yaml", []string{
			`syntax-error.yaml:3: not valid YAML: did not find expected key`,
		}},
		{"not-yaml.yaml", []string{
			`not-yaml.yaml:1: not valid YAML: control characters are not allowed`,
		}},
		{"scalar-top.yaml", []string{
			`scalar-top.yaml:1:1: the top level is the string "just some words", not a mapping of keys (allowed: name, lab, schema, target, duration, seed, workloads, faults, assert, variants)`,
		}},
		{"list-top.yaml", []string{
			`list-top.yaml:1:1: the top level is a list, not a mapping of keys (allowed: name, lab, schema, target, duration, seed, workloads, faults, assert, variants)`,
		}},
		{"two-docs.yaml", []string{
			`two-docs.yaml:3:1: a second YAML document starts here: a scenario file holds one document (remove the extra ---)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join("testdata", "bad", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			s, err := Parse(tt.file, data)
			if s != nil {
				t.Errorf("Parse returned a scenario along with errors: %+v", s)
			}
			checkErrors(t, err, tt.want)
		})
	}
}

// checkErrors asserts that err carries exactly want, as formatted lines,
// and that each Error's fields agree with its line.
func checkErrors(t *testing.T, err error, want []string) {
	t.Helper()
	if err == nil {
		t.Fatalf("Parse succeeded, want errors:\n%s", strings.Join(want, "\n"))
	}
	var es Errors
	if !errors.As(err, &es) {
		t.Fatalf("error %T does not carry scenario.Errors: %v", err, err)
	}
	if code := exitcode.Of(err); code != exitcode.BadInput {
		t.Errorf("exit code %d, want %d (bad input)", code, exitcode.BadInput)
	}
	got := make([]string, len(es))
	for i, e := range es {
		got[i] = e.Error()
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if err.Error() != strings.Join(want, "\n") {
		t.Errorf("err.Error() = %q, want the errors joined one per line", err.Error())
	}
}

// TestParseInline covers inputs that read better inline than as files.
func TestParseInline(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown top-level key", "duration: 1s\nworkload: [{kind: insert}]\n", []string{
			`f.yaml:1:1: workloads is required: at least one workload (e.g. workloads: [{kind: insert}])`,
			`f.yaml:2:1: unknown key "workload" at the top level (allowed: name, lab, schema, target, duration, seed, workloads, faults, assert, variants)`,
		}},
		{"no workloads", "duration: 1s\nworkloads: []\n", []string{
			`f.yaml:2:12: workloads is empty: a scenario needs at least one workload (kinds: insert, update-hot, bank, tutorial, list-append, rw-register, sql)`,
		}},
		{"zero duration", "duration: 0s\nworkloads: [{kind: insert}]\n", []string{
			`f.yaml:1:11: duration: "0s" must be more than 0`,
		}},
		{"concurrency out of range", "duration: 1s\nworkloads: [{kind: insert, concurrency: 257}, {kind: bank, concurrency: 0}]\n", []string{
			`f.yaml:2:41: workloads[0].concurrency: 257 is out of range (must be 1 to 256)`,
			`f.yaml:2:73: workloads[1].concurrency: 0 is out of range (must be 1 to 256)`,
		}},
		{"rows on insert", "duration: 1s\nworkloads:\n  - kind: insert\n    rows: 5\n", []string{
			`f.yaml:4:5: workloads[0]: rows is not used by a insert workload (only by update-hot and bank): remove it`,
		}},
		{"update-hot needs a row", "duration: 1s\nworkloads: [{kind: update-hot, rows: 0}]\n", []string{
			`f.yaml:2:38: workloads[0].rows: 0 is too small (must be at least 1)`,
		}},
		{"empty targets", "duration: 1s\nworkloads: [{kind: insert, targets: []}]\n", []string{
			`f.yaml:2:37: workloads[0].targets is empty: name at least one of primary1, primary2, haproxy, or remove it for all of them`,
		}},
		{"null scalar", "name:\nduration: 1s\nworkloads: [{kind: insert}]\n", []string{
			`f.yaml:1:6: name has no value: give it one or remove the key`,
		}},
		{"merge key", "duration: 1s\nbase: &b {kind: insert}\nworkloads: [{<<: *b}]\n", []string{
			`f.yaml:2:1: unknown key "base" at the top level (allowed: name, lab, schema, target, duration, seed, workloads, faults, assert, variants)`,
			`f.yaml:3:13: workloads[0]: kind is required (one of: insert, update-hot, bank, tutorial, list-append, rw-register, sql)`,
			`f.yaml:3:14: merge keys (<<) are not supported in workloads[0]: write the keys out`,
		}},
		{"partition between a node and haproxy", "duration: 1m\nworkloads: [{kind: insert}]\nfaults: [{kind: partition, between: [primary1, haproxy], at: 1s}]\n", []string{
			`f.yaml:3:48: faults[0].between[1]: "haproxy" is not a target (allowed: primary1, primary2)`,
		}},
		{"partition between one node", "duration: 1m\nworkloads: [{kind: insert}]\nfaults: [{kind: partition, between: [primary1], at: 1s}]\n", []string{
			`f.yaml:3:37: faults[0].between: must be [primary1, primary2], the replication link between the two primaries`,
		}},
		{"negative at and zero for", "duration: 1m\nworkloads: [{kind: insert}]\nfaults: [{kind: stop, node: primary1, at: -1s, for: 0s}]\n", []string{
			`f.yaml:3:43: faults[0].at: "-1s" must be 0 or more (the offset from the start of the workloads)`,
			`f.yaml:3:53: faults[0].for: "0s" must be more than 0 (omit for to hold until the end of the run)`,
		}},
		{"isolate haproxy", "duration: 1m\nworkloads: [{kind: insert}]\nfaults: [{kind: isolate, node: haproxy, at: 1s}]\n", []string{
			`f.yaml:3:32: faults[0].node: "haproxy" is not a node that can be isolated (allowed: primary1, primary2)`,
		}},
		{"same-backend failovers overlap", "duration: 1m\nworkloads: [{kind: insert}]\nfaults:\n  - {kind: failover, from: primary1, at: 1s, for: 10s}\n  - {kind: failover, from: primary1, at: 5s}\n", []string{
			`f.yaml:5:5: faults[1] (kind: failover, from: primary1) overlaps faults[0] (kind: failover, from: primary1) from 5s to 11s, taking out the same backend twice: merge them into one failover`,
		}},
		{"failover open-ended overlaps a later pause of the other node", "duration: 1m\nworkloads: [{kind: insert}]\nfaults:\n  - {kind: failover, from: primary2, at: 1s}\n  - {kind: pause, node: primary1, at: 50s, for: 1s}\n", []string{
			`f.yaml:5:5: faults[1] (kind: pause, node: primary1) takes down primary1 from 50s to 51s while faults[0] (kind: failover, from: primary2) sends all HAProxy traffic to it: HAProxy would have no working backend; move one of them`,
		}},
		{"delay zero and negative jitter", "duration: 1m\nworkloads: [{kind: insert}]\nfaults: [{kind: delay, node: primary1, delay: 0s, jitter: -1ms, at: 1s}]\n", []string{
			`f.yaml:3:47: faults[0].delay: "0s" must be more than 0`,
			`f.yaml:3:59: faults[0].jitter: "-1ms" must be 0 or more`,
		}},
		{"unknown conflict kind and negative count", "duration: 1m\nworkloads: [{kind: insert}]\nassert:\n  conflicts: {insert_exist: 1, total: -2}\n", []string{
			`f.yaml:4:15: unknown key "insert_exist" in assert.conflicts (allowed: total, insert_exists, update_origin_differs, update_exists, update_missing, delete_origin_differs, delete_missing, multiple_unique_conflicts, apply_error, update_deleted)`,
			`f.yaml:4:39: assert.conflicts.total: -2 is too small (must be at least 0)`,
		}},
		{"non-scalar key", "duration: 1m\nworkloads: [{kind: insert}]\n[a]: 1\n", []string{
			`f.yaml:3:1: a key at the top level must be a plain name, not a list (allowed: name, lab, schema, target, duration, seed, workloads, faults, assert, variants)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml))
			checkErrors(t, err, tt.want)
		})
	}
}

func ptr[T any](v T) *T { return &v }

// TestParseGoodFiles compares whole structs, defaults included.
func TestParseGoodFiles(t *testing.T) {
	all := []string{Primary1, Primary2, HAProxy}
	link := []string{Primary1, Primary2}
	tests := []struct {
		file string
		want *Scenario
	}{
		{"minimal.yaml", &Scenario{
			File:     "testdata/good/minimal.yaml",
			Name:     "minimal",
			Duration: 45 * time.Second,
			Workloads: []Workload{
				{Name: "insert", Kind: KindInsert, Targets: all, Concurrency: 1, Pos: Pos{3, 5}},
				{Name: "insert-2", Kind: KindInsert, Targets: all, Concurrency: 1, Pos: Pos{4, 5}},
				{Name: "update-hot", Kind: KindUpdateHot, Targets: all, Concurrency: 1, Rows: 10, Pos: Pos{5, 5}},
				{Name: "bank", Kind: KindBank, Targets: all, Concurrency: 1, Rows: 10, Pos: Pos{6, 5}},
			},
		}},
		{"full.yaml", &Scenario{
			File: "testdata/good/full.yaml",
			Name: "everything",
			Lab: LabSpec{Postgres: "17", Sequences: "serial",
				Ports: Ports{Primary1: 6442, Primary2: 6443, HAProxy: 6020, Stats: 8020}},
			Duration: 2 * time.Minute,
			Seed:     42,
			SeedSet:  true,
			Workloads: []Workload{
				{Name: "writer", Kind: KindInsert, Targets: []string{HAProxy}, Concurrency: 8, Rate: 500, Pos: Pos{9, 5}},
				{Name: "insert-2", Kind: KindInsert, Targets: all, Concurrency: 1, Rate: 0.5, Pos: Pos{14, 5}},
				{Name: "bank", Kind: KindBank, Targets: all, Concurrency: 1, Rate: 250, Rows: 2, Pos: Pos{16, 5}},
				{Name: "tutorial", Kind: KindTutorial, Targets: []string{Primary2, Primary1}, Concurrency: 1, Pos: Pos{19, 5}},
			},
			Faults: []Fault{
				{Kind: FaultPartition, At: 10 * time.Second, For: 15 * time.Second, Between: link, Direction: DirBoth, Pos: Pos{22, 5}},
				{Kind: FaultPartition, At: 0, For: 5 * time.Second, Between: link, Direction: DirTwoToOne, Pos: Pos{23, 5}},
				{Kind: FaultDelay, At: 30 * time.Second, For: 10 * time.Second, Node: Primary1, Delay: 100 * time.Millisecond, Jitter: 10 * time.Millisecond, Pos: Pos{28, 5}},
				{Kind: FaultDelay, At: 46 * time.Second, For: 4 * time.Second, Between: link, Direction: DirOneToTwo, Delay: 50 * time.Millisecond, Pos: Pos{29, 5}},
				{Kind: FaultLoss, At: 50 * time.Second, For: 5 * time.Second, Node: HAProxy, Loss: 10, Pos: Pos{30, 5}},
				{Kind: FaultLoss, At: 50 * time.Second, For: 5 * time.Second, Between: link, Direction: DirBoth, Loss: 0.5, Pos: Pos{31, 5}},
				{Kind: FaultFailover, At: 35 * time.Second, For: 20 * time.Second, From: Primary1, Pos: Pos{32, 5}},
				{Kind: FaultStop, At: 35 * time.Second, For: 10 * time.Second, Node: Primary1, Pos: Pos{33, 5}},
				{Kind: FaultKill, At: time.Minute, For: 5 * time.Second, Node: Primary2, Pos: Pos{34, 5}},
				{Kind: FaultPause, At: 70 * time.Second, For: time.Second, Node: HAProxy, Pos: Pos{35, 5}},
				{Kind: FaultRestart, At: 80 * time.Second, Node: Primary1, Pos: Pos{36, 5}},
				{Kind: FaultIsolate, At: 90 * time.Second, For: 10 * time.Second, Node: Primary2, Pos: Pos{37, 5}},
				{Kind: FaultFailover, At: 90 * time.Second, From: Primary2, Pos: Pos{38, 5}},
			},
			Assert: Assert{
				LagP50:         ptr(10 * time.Millisecond),
				LagP95:         ptr(500 * time.Millisecond),
				LagP99:         ptr(2 * time.Second),
				LagMax:         ptr(5 * time.Second),
				Unavailability: ptr(3 * time.Second),
				DivergentRows:  ptr(int64(0)),
				LostWrites:     ptr(int64(0)),
				LostUpdates:    ptr(int64(0)),
				Stalls:         ptr(int64(0)),
				Errors:         ptr(int64(100)),
				Converged:      ptr(true),
				BankInvariant:  ptr(false),
				Conflicts:      map[string]int64{"total": 5, "insert_exists": 0, "update_origin_differs": 4},
				Pos: map[string]Pos{
					"lag_p50": {40, 3}, "lag_p95": {41, 3}, "lag_p99": {42, 3}, "lag_max": {43, 3}, "unavailability": {44, 3},
					"divergent_rows": {45, 3}, "lost_writes": {46, 3}, "lost_updates": {47, 3}, "stalls": {48, 3}, "errors": {49, 3},
					"converged": {50, 3}, "bank_invariant": {51, 3}, "conflicts": {52, 3},
					"conflicts.total": {52, 15}, "conflicts.insert_exists": {52, 25}, "conflicts.update_origin_differs": {52, 43},
				},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := Load(filepath.Join("testdata", "good", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestExamplesParse keeps every file in scenarios/ valid.
func TestExamplesParse(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "scenarios", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no example scenarios found in ../scenarios")
	}
	for _, f := range files {
		if _, err := Load(f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// TestQuickstart pins what the quickstart promises in its header.
func TestQuickstart(t *testing.T) {
	s, err := Load(filepath.Join("..", "scenarios", "quickstart.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	want := &Scenario{
		File:     filepath.Join("..", "scenarios", "quickstart.yaml"),
		Name:     "quickstart",
		Lab:      LabSpec{Postgres: "18", Sequences: "interleaved"},
		Duration: 30 * time.Second,
		Workloads: []Workload{
			{Name: "insert", Kind: KindInsert, Targets: []string{Primary1, Primary2, HAProxy}, Concurrency: 4, Rate: 200},
			{Name: "update-hot", Kind: KindUpdateHot, Targets: []string{Primary1, Primary2}, Concurrency: 2, Rate: 100, Rows: 10},
		},
		Assert: Assert{
			LagP99:     ptr(2 * time.Second),
			LostWrites: ptr(int64(0)),
			Errors:     ptr(int64(0)),
			Converged:  ptr(true),
		},
	}
	// Positions are pinned on testdata files; the example's header comment
	// may change length, so they are left out here.
	for i := range s.Workloads {
		s.Workloads[i].Pos = Pos{}
	}
	if len(s.Assert.Pos) != 4 {
		t.Errorf("assert positions: %v, want one per key", s.Assert.Pos)
	}
	s.Assert.Pos = nil
	if !reflect.DeepEqual(s, want) {
		t.Errorf("got  %+v\nwant %+v", s, want)
	}
}

func TestParseValues(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		got  func(*Scenario) any
		want any
	}{
		{"postgres as a YAML number", "lab: {postgres: 18}\n", func(s *Scenario) any { return s.Lab.Postgres }, "18"},
		{"rate per minute", "workloads: [{kind: insert, rate: 30/m}]\n", func(s *Scenario) any { return s.Workloads[0].Rate }, 0.5},
		{"rate per hour", "workloads: [{kind: insert, rate: 7200/h}]\n", func(s *Scenario) any { return s.Workloads[0].Rate }, 2.0},
		{"rate bare number", "workloads: [{kind: insert, rate: 500}]\n", func(s *Scenario) any { return s.Workloads[0].Rate }, 500.0},
		{"rate fractional", "workloads: [{kind: insert, rate: 0.5/s}]\n", func(s *Scenario) any { return s.Workloads[0].Rate }, 0.5},
		{"seed zero is still set", "seed: 0\n", func(s *Scenario) any { return s.SeedSet }, true},
		{"negative seed", "seed: -7\n", func(s *Scenario) any { return s.Seed }, int64(-7)},
		{"empty faults", "faults:\n", func(s *Scenario) any { return len(s.Faults) }, 0},
		{"default name from the file", "", func(s *Scenario) any { return s.Name }, "f"},
		{"loss as a bare number", "faults: [{kind: loss, node: primary1, loss: 100, at: 0s}]\n", func(s *Scenario) any { return s.Faults[0].Loss }, 100.0},
		{"at zero as a bare 0", "faults: [{kind: stop, node: primary1, at: 0}]\n", func(s *Scenario) any { return s.Faults[0].At }, time.Duration(0)},
		{"fault ending exactly at the end", "faults: [{kind: stop, node: primary1, at: 50s, for: 10s}]\n", func(s *Scenario) any { return s.Faults[0].Until(s.Duration) }, time.Minute},
		{"failovers back to back", "faults: [{kind: failover, from: primary1, at: 1s, for: 9s}, {kind: failover, from: primary2, at: 10s}]\n", func(s *Scenario) any { return len(s.Faults) }, 2},
		{"stop of the failed-over node is fine", "faults: [{kind: failover, from: primary1, at: 1s}, {kind: kill, node: primary1, at: 2s}]\n", func(s *Scenario) any { return len(s.Faults) }, 2},
		{"anchors and aliases", "workloads:\n  - {kind: insert, targets: &p [primary1, primary2]}\n  - {kind: bank, targets: *p}\n", func(s *Scenario) any { return s.Workloads[1].Targets }, []string{Primary1, Primary2}},
		{"default names skip explicit ones", "workloads: [{kind: insert}, {kind: insert}, {kind: insert, name: insert-2}]\n", func(s *Scenario) any {
			return []string{s.Workloads[0].Name, s.Workloads[1].Name, s.Workloads[2].Name}
		}, []string{"insert", "insert-3", "insert-2"}},
		{"numeric name", "name: 2024\n", func(s *Scenario) any { return s.Name }, "2024"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := tt.yaml
			if !strings.Contains(doc, "duration:") {
				doc += "duration: 1m\n"
			}
			if !strings.Contains(doc, "workloads:") {
				doc += "workloads: [{kind: insert}]\n"
			}
			s, err := Parse("dir/f.yaml", []byte(doc))
			if err != nil {
				t.Fatalf("%s\n%v", doc, err)
			}
			if got := tt.got(s); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.yaml"))
	if err == nil {
		t.Fatal("Load of a missing file succeeded")
	}
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("error %v does not wrap os.ErrNotExist", err)
	}
	if exitcode.Of(err) != exitcode.BadInput {
		t.Errorf("exit code %d, want %d", exitcode.Of(err), exitcode.BadInput)
	}
}

func TestErrorFormat(t *testing.T) {
	tests := []struct {
		e    Error
		want string
	}{
		{Error{File: "a.yaml", Pos: Pos{3, 11}, Msg: "m"}, "a.yaml:3:11: m"},
		{Error{File: "a.yaml", Pos: Pos{3, 0}, Msg: "m"}, "a.yaml:3: m"},
		{Error{File: "a.yaml", Msg: "m"}, "a.yaml: m"},
		{Error{Msg: "m"}, "m"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.e, got, tt.want)
		}
	}
}

// TestParseThreeNodesNamesEveryPrimary pins what lab.nodes opens up: a
// third primary's port, targets and faults, a link between any two
// primaries given in either order, and the default targets covering all.
func TestParseThreeNodesNamesEveryPrimary(t *testing.T) {
	s, err := Load(filepath.Join("testdata", "good", "three-nodes.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Lab.Nodes != 3 || s.Lab.NodesPos != (Pos{3, 10}) || !reflect.DeepEqual(s.Lab.Ports.Rest, []int{6444}) {
		t.Errorf("lab %+v", s.Lab)
	}
	if got := s.Workloads[0].Targets; !reflect.DeepEqual(got, []string{"primary1", "primary2", "primary3", "haproxy"}) {
		t.Errorf("default targets %v, want every primary and haproxy", got)
	}
	p := s.Faults[0]
	if !reflect.DeepEqual(p.Between, []string{"primary1", "primary3"}) || p.Direction != "primary3->primary1" {
		t.Errorf("partition between %v direction %s", p.Between, p.Direction)
	}
	if s.Faults[1].Node != "primary3" || s.Faults[2].Node != "primary3" || s.Faults[2].Peer != "primary1" || s.Faults[3].From != "primary3" {
		t.Errorf("faults %v", s.Faults)
	}
	two, err := Parse("two.yaml", []byte("duration: 10s\nworkloads: [{kind: insert}]\nfaults: [{kind: partition, at: 1s}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if two.Lab.NodeCount() != 2 || !reflect.DeepEqual(two.Faults[0].Between, []string{"primary1", "primary2"}) {
		t.Errorf("two-node default: lab %+v, between %v", two.Lab, two.Faults[0].Between)
	}
}

// Above two primaries a node has a link to each other one: the SQL faults
// on a link must name its other end (peer:), which must be another
// primary; with two it may be left out, and kill-sessions takes none.
func TestSQLLinkFaultsNamePeerAboveTwoNodes(t *testing.T) {
	for _, tc := range []struct{ faults, want string }{
		{"[{kind: kill-walsender, node: primary1, at: 1s}]", "p.yaml:4:10: faults[0] (kind: kill-walsender): with 3 primaries primary1 has a link to each other one: name the link with peer: (the subscriber whose walsender on primary1 is killed; one of: primary2, primary3)"},
		{"[{kind: kill-apply-worker, node: primary2, peer: primary2, at: 1s}]", `p.yaml:4:58: faults[0].peer: "primary2" is not the publisher whose apply worker on primary2 is killed (allowed: primary1, primary3)`},
		{"[{kind: disable-subscription, node: primary2, peer: primary3, at: 1s, for: 2s}]", ""},
		{"[{kind: kill-sessions, node: primary2, peer: primary3, at: 1s}]", `key "peer" is not valid for a kill-sessions fault`},
		{"[{kind: disable-subscription, node: primary2, peer: primary3, at: 1s, for: 5s}, {kind: disable-subscription, node: primary2, peer: primary1, at: 2s, for: 5s}]", ""},
		{"[{kind: disable-subscription, node: primary2, peer: primary3, at: 1s, for: 5s}, {kind: disable-subscription, node: primary2, peer: primary3, at: 2s, for: 5s}]", "faults[1]"},
	} {
		_, err := Parse("p.yaml", []byte("lab: {nodes: 3}\nduration: 10s\nworkloads: [{kind: insert}]\nfaults: "+tc.faults+"\n"))
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.faults, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s:\n got %v\nwant %s", tc.faults, err, tc.want)
		}
	}
	two, err := Parse("p.yaml", []byte("duration: 10s\nworkloads: [{kind: insert}]\nfaults: [{kind: kill-walsender, node: primary1, at: 1s}]\n"))
	if err != nil || two.Faults[0].Peer != "" {
		t.Errorf("two nodes without peer: %v, peer %q", err, two.Faults[0].Peer)
	}
}
