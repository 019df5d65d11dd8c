package scenario

import (
	"testing"
)

func TestParseTxnWorkloads(t *testing.T) {
	sc, err := Parse("f.yaml", []byte(`duration: 1m
workloads:
  - kind: list-append
    targets: [primary1, primary2]
    keys: 8
    isolation: serializable
  - kind: rw-register
  - kind: insert
assert:
  anomalies: {G-single: 0, lost-append: 2, incompatible-order: 0}
`))
	if err != nil {
		t.Fatal(err)
	}
	la, rr, ins := sc.Workloads[0], sc.Workloads[1], sc.Workloads[2]
	if la.Kind != KindListAppend || la.Keys != 8 || la.Isolation != Serializable {
		t.Errorf("list-append = %+v", la)
	}
	if rr.Kind != KindRWRegister || rr.Keys != defaultKeys || rr.Isolation != ReadCommitted {
		t.Errorf("rw-register defaults = %+v, want keys %d, read-committed", rr, defaultKeys)
	}
	if ins.Keys != 0 || ins.Isolation != "" {
		t.Errorf("insert got txn options: %+v", ins)
	}
	want := map[string]int64{"G-single": 0, "lost-append": 2, "incompatible-order": 0}
	if len(sc.Assert.Anomalies) != len(want) {
		t.Fatalf("anomalies = %v, want %v", sc.Assert.Anomalies, want)
	}
	for k, v := range want {
		if got, ok := sc.Assert.Anomalies[k]; !ok || got != v {
			t.Errorf("anomalies[%s] = %d (%v), want %d", k, got, ok, v)
		}
	}
	if sc.Assert.AnomaliesAll != nil {
		t.Errorf("scalar form set by a mapping: %d", *sc.Assert.AnomaliesAll)
	}
	if p := sc.Assert.Pos["anomalies.lost-append"]; p != (Pos{Line: 10, Col: 28}) {
		t.Errorf("position of anomalies.lost-append = %+v, want 10:28", p)
	}
}

func TestParseAnomaliesScalarCoversTheDependencyClasses(t *testing.T) {
	sc, err := Parse("f.yaml", []byte("duration: 1m\nworkloads: [{kind: list-append}]\nassert: {anomalies: 0}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if sc.Assert.AnomaliesAll == nil || *sc.Assert.AnomaliesAll != 0 || sc.Assert.Anomalies != nil {
		t.Errorf("anomalies: 0 parsed as all=%v map=%v", sc.Assert.AnomaliesAll, sc.Assert.Anomalies)
	}
}

func TestParseRefusesBadTxnOptions(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string
	}{
		{"unknown anomaly class lists the allowed ones", "duration: 1m\nworkloads: [{kind: list-append}]\nassert:\n  anomalies: {G-singel: 0, G0: -1}\n", []string{
			`f.yaml:4:15: unknown key "G-singel" in assert.anomalies (allowed: G1a, G1b, lost-append, incompatible-order, duplicate-elements, garbage-read, G0, G1c, G-single, G2-item, G0-process, G1c-process, G-single-process, G2-item-process, G0-realtime, G1c-realtime, G-single-realtime, G2-item-realtime)`,
			`f.yaml:4:32: assert.anomalies.G0: -1 is too small (must be at least 0)`,
		}},
		{"anomalies as a list", "duration: 1m\nworkloads: [{kind: list-append}]\nassert:\n  anomalies: [G0]\n", []string{
			`f.yaml:4:14: assert.anomalies: want a count (anomalies: 0, for the classes G1a, G1b, lost-append, incompatible-order, duplicate-elements, garbage-read, G0, G1c, G-single, G2-item) or a mapping of class to count (anomalies: {G-single: 0, lost-append: 0})`,
		}},
		{"keys and isolation on an insert workload", "duration: 1m\nworkloads: [{kind: insert, keys: 4, isolation: serializable}]\n", []string{
			`f.yaml:2:28: workloads[0]: keys is not used by a insert workload (only by list-append and rw-register): remove it`,
			`f.yaml:2:37: workloads[0]: isolation is not used by a insert workload (only by list-append and rw-register): remove it`,
		}},
		{"keys out of bounds and unknown isolation", "duration: 1m\nworkloads: [{kind: rw-register, keys: 5000, isolation: snapshot}]\n", []string{
			`f.yaml:2:39: workloads[0].keys: 5000 is out of range (must be 1 to 4096)`,
			`f.yaml:2:56: workloads[0].isolation: "snapshot" is not an isolation level (allowed: read-committed, repeatable-read, serializable)`,
		}},
		{"zero keys", "duration: 1m\nworkloads: [{kind: list-append, keys: 0}]\n", []string{
			`f.yaml:2:39: workloads[0].keys: 0 is out of range (must be 1 to 4096)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("f.yaml", []byte(tt.yaml))
			checkErrors(t, err, tt.want)
		})
	}
}
