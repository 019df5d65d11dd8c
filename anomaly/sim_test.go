package anomaly

import (
	"bytes"
	"maps"
	"testing"
)

// A strictly serializable store shows no anomaly of any class, realtime
// included, even with failed and unknown transactions.
func TestSimulatedSerializableHistoriesAreValid(t *testing.T) {
	for _, reg := range []bool{false, true} {
		h := Simulate(SimOptions{Txns: 5000, Register: reg, FailRate: 0.02, UnknownRate: 0.02, Seed: 7})
		res, err := Check(h, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Verdict != "valid" {
			var b bytes.Buffer
			res.WriteText(&b)
			t.Fatalf("register=%v: %s", reg, b.String())
		}
		if res.Edges[WW] == 0 || res.Edges[WR] == 0 || res.Edges[RW] == 0 || res.Edges[Realtime] == 0 || res.Edges[Process] == 0 {
			t.Fatalf("register=%v: some edge kind never derived: %v", reg, res.Edges)
		}
	}
}

// Injected faults are found, exactly as many as injected where each
// makes one anomaly.
func TestSimulatedFaultsAreFound(t *testing.T) {
	h := Simulate(SimOptions{Txns: 20000, FailRate: 0.02, UnknownRate: 0.01, Seed: 3,
		LostAppends: 3, AbortedReads: 2})
	res, err := Check(h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[Class]int{LostAppend: 3, G1a: 2}
	if !maps.Equal(res.Counts, want) {
		t.Fatalf("counts = %v, want %v", res.Counts, want)
	}

	// Final reads in witnesses keep only the ops on the witness's keys.
	for _, f := range res.Anomalies {
		for _, wi := range f.Witnesses {
			for _, x := range wi.Txns {
				if x.Final && (x.OpsElided == 0 || len(x.Ops) > maxWitnessOps) {
					t.Errorf("%s witness shows final read T%d with %d ops, %d elided", f.Class, x.ID, len(x.Ops), x.OpsElided)
				}
			}
		}
	}

	h = Simulate(SimOptions{Txns: 20000, Seed: 4, StaleReads: 5})
	res, err = Check(h, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// A stale read of one key beside current reads and appends of others
	// is a snapshot no serial order gives: only cycles through its rw
	// edge can result, never direct evidence or cycles without rw.
	if res.Has(G1a, G1b, LostAppend, IncompatibleOrder, DuplicateElements, GarbageRead,
		G0, G1c, G0Process, G1cProcess, G0Realtime, G1cRealtime) {
		t.Errorf("stale reads made anomalies without an rw edge: %v", res.Counts)
	}
	if !res.Has(GSingle, GSingleProcess, GSingleRealtime) {
		t.Errorf("stale reads made no G-single of any kind: %v", res.Counts)
	}
}
