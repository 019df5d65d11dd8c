package runner_test

import (
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/reports"
)

// Known answer: serializable transactions through one primary, no fault,
// show no dependency-class anomaly.
func TestScenarioListAppendSerializableIsClean(t *testing.T) {
	rep := runScenarioFile(t, "list-append-serializable.yaml", 30*time.Second)
	if len(rep.Anomalies) != 1 {
		t.Fatalf("anomalies sections: %d, want 1", len(rep.Anomalies))
	}
	a := rep.Anomalies[0]
	if a.Error != "" || a.OK == 0 || a.FinalReads != 2 {
		t.Fatalf("history: error %q, %d ok txns, %d final reads: want it checked, with ok txns and a final read per node", a.Error, a.OK, a.FinalReads)
	}
	if rep.Verdict != reports.VerdictPass || a.DependencyAnomalies != 0 {
		t.Fatalf("verdict %s, failed %v, counts %v: want no dependency anomaly", rep.Verdict, failed(rep), a.Counts)
	}
}

// Known answer: concurrent appends to the same lists on two primaries
// during a partition overwrite each other's rows when it heals; the
// checker names incompatible orders and lost appends.
func TestScenarioListAppendPartitionLosesAppends(t *testing.T) {
	rep := runScenarioFile(t, "list-append-partition.yaml", 30*time.Second)
	f := failed(rep)
	if rep.Verdict != reports.VerdictFail || !f["anomalies.lost-append"] || !f["anomalies.incompatible-order"] {
		t.Fatalf("verdict %s, failed %v: want lost-append and incompatible-order to fail", rep.Verdict, f)
	}
	a := rep.Anomalies[0]
	for _, c := range a.Classes {
		if (c.Class == "lost-append" || c.Class == "incompatible-order") && len(c.Witnesses) == 0 {
			t.Errorf("%s counted %d with no witness", c.Class, c.Count)
		}
		for _, w := range c.Witnesses {
			for _, tx := range w.Txns {
				if tx.Outcome == "ok" && tx.ServedBy == "" {
					t.Errorf("%s witness txn T%d: ok but no served_by", c.Class, tx.ID)
				}
			}
		}
	}
}

// Known answer: rw-register transactions at serializable through one
// primary run against a real lab (their SQL, their final reads) and show
// no dependency-class anomaly, while the checker did find dependencies to
// check: reads that saw writes (wr edges) and versions in order (ww).
func TestScenarioRWRegisterSerializableIsClean(t *testing.T) {
	rep := runScenarioFile(t, "rw-register-serializable.yaml", 30*time.Second)
	if len(rep.Anomalies) != 1 {
		t.Fatalf("anomalies sections: %d, want 1", len(rep.Anomalies))
	}
	a := rep.Anomalies[0]
	if a.Kind != "rw-register" || a.Error != "" || a.OK == 0 || a.FinalReads != 2 {
		t.Fatalf("history: kind %s, error %q, %d ok txns, %d final reads: want it checked, with ok txns and a final read per node", a.Kind, a.Error, a.OK, a.FinalReads)
	}
	if a.Edges["wr"] == 0 || a.Edges["ww"] == 0 {
		t.Fatalf("edges %v: want reads that saw writes and ordered versions, or the check proved nothing", a.Edges)
	}
	if rep.Verdict != reports.VerdictPass || a.DependencyAnomalies != 0 {
		t.Fatalf("verdict %s, failed %v, counts %v: want no dependency anomaly", rep.Verdict, failed(rep), a.Counts)
	}
}
