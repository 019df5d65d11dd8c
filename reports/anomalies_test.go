package reports

import (
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/anomaly"
	"github.com/pgchaos/pgchaos/scenario"
)

// anomalyReport is a report whose list-append history held one lost
// append, checked by the real checker.
func anomalyReport(t *testing.T) *Report {
	t.Helper()
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := []anomaly.Txn{
		{ID: 1, Target: "primary1", ServedBy: "primary1", Start: t0, End: t0.Add(time.Millisecond), Outcome: anomaly.OK,
			Ops: []anomaly.Op{{F: anomaly.Append, Key: 1, Value: 1}}},
		{ID: 2, Target: "primary2", ServedBy: "primary2", Start: t0, End: t0.Add(time.Millisecond), Outcome: anomaly.OK,
			Ops: []anomaly.Op{{F: anomaly.Append, Key: 1, Value: 2}}},
		{ID: 3, Target: "primary1", Worker: -1, ServedBy: "primary1", Final: true, Start: t0.Add(time.Second), End: t0.Add(time.Second), Outcome: anomaly.OK,
			Ops: []anomaly.Op{{F: anomaly.ReadList, Key: 1, List: []int64{2}}}},
	}
	res, err := anomaly.Check(h, anomaly.Options{})
	if err != nil {
		t.Fatal(err)
	}
	a := Anomalies{Workload: "la", Kind: "list-append", Isolation: "serializable", History: "txns-la.jsonl", FinalReads: 1}
	a.FromCheck(res)
	return &Report{Schema: Schema, Anomalies: []Anomalies{a}}
}

func TestAnomaliesRenderInTableAndHTML(t *testing.T) {
	r := anomalyReport(t)
	if r.Anomalies[0].Counts["lost-append"] != 1 || r.Anomalies[0].DependencyAnomalies != 1 {
		t.Fatalf("counts %v, dependency %d: want one lost append", r.Anomalies[0].Counts, r.Anomalies[0].DependencyAnomalies)
	}
	var tb strings.Builder
	if err := Table(&tb, r); err != nil {
		t.Fatal(err)
	}
	var hb strings.Builder
	if err := HTML(&hb, r); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Anomalies: la (list-append, serializable)", "verdict: invalid", "lost-append", "T1 primary1/0", "append 1 1", "read_list 1 [2]"} {
		if !strings.Contains(tb.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, tb.String())
		}
	}
	for _, want := range []string{`<section id="anomalies-la">`, "lost-append witness 1", "<td>T1</td>", "append 1 1", "read_list 1 [2]"} {
		if !strings.Contains(hb.String(), want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
}

func TestAnomalyAssertions(t *testing.T) {
	zero, two := int64(0), int64(2)
	r := anomalyReport(t)
	Evaluate(r, scenario.Assert{AnomaliesAll: &zero, Anomalies: map[string]int64{"lost-append": 2, "G-single": 0}})
	want := []Assertion{
		{Name: "anomalies", Expected: "<= 0", Actual: "1", Pass: false},
		{Name: "anomalies.lost-append", Expected: "<= 2", Actual: "1", Pass: true},
		{Name: "anomalies.G-single", Expected: "<= 0", Actual: "0", Pass: true},
	}
	if len(r.Assertions) != len(want) {
		t.Fatalf("assertions %+v, want %+v", r.Assertions, want)
	}
	for i := range want {
		if r.Assertions[i] != want[i] {
			t.Errorf("assertion %d = %+v, want %+v", i, r.Assertions[i], want[i])
		}
	}
	empty := &Report{}
	Evaluate(empty, scenario.Assert{AnomaliesAll: &two})
	if a := empty.Assertions[0]; a.Pass || !strings.HasPrefix(a.Actual, NotMeasured+" (") {
		t.Errorf("without a transactional workload: %+v, want a failed not measured", a)
	}
	broken := &Report{Anomalies: []Anomalies{{Workload: "la", Error: "line 3: bad json"}}}
	Evaluate(broken, scenario.Assert{AnomaliesAll: &two})
	if a := broken.Assertions[0]; a.Pass || !strings.Contains(a.Actual, "line 3: bad json") {
		t.Errorf("with an unreadable history: %+v, want a failed not measured naming the error", a)
	}
}
