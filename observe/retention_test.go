package observe

import (
	"testing"
	"time"
)

func i64(v int64) *int64 { return &v }

// A figure that was never measurable is reported unknown with the reason,
// never as 0; the window maximum covers only the samples inside it.
func TestRetentionReportUnknownIsNeverZero(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	s := NewRetentionSampler(t0, "pgchaos_counter")
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	s.nodes["primary1"] = []retentionSample{
		{at: at(1), slot: true, slotXminAge: i64(3), table: true, deadTuples: i64(10)},
		{at: at(2), slot: true, slotXminAge: i64(40), table: true, deadTuples: i64(900)},
		{at: at(3), slot: true, slotXminAge: nil, table: true, deadTuples: i64(950)},
		{at: at(5), slot: true, slotXminAge: i64(2), table: true, deadTuples: i64(5)},
	}
	s.nodes["primary2"] = []retentionSample{
		{at: at(1), slot: false, table: false},
	}
	rep := s.Report([]string{"primary1", "primary2", "primary3"}, []Window{{Fault: 0, Start: at(2), End: at(3)}})
	if rep.Table != "pgchaos_counter" || len(rep.Nodes) != 3 {
		t.Fatalf("report: %+v", rep)
	}
	p1 := rep.Nodes[0]
	if p1.Samples != 4 || *p1.SlotXminAgeMax != 40 || *p1.DeadTuplesMax != 950 || p1.SlotXminAgeUnknown != "" {
		t.Errorf("primary1: %+v", p1)
	}
	if len(p1.Windows) != 1 || *p1.Windows[0].SlotXminAgeMax != 40 || *p1.Windows[0].DeadTuplesMax != 950 {
		t.Errorf("primary1 window: %+v", p1.Windows)
	}
	if len(p1.Timeline) != 4 || p1.Timeline[2].SlotXminAge != nil || p1.Timeline[3].T != 5 {
		t.Errorf("primary1 timeline: %+v", p1.Timeline)
	}
	p2 := rep.Nodes[1]
	if p2.SlotXminAgeMax != nil || p2.DeadTuplesMax != nil {
		t.Errorf("primary2 has figures it never measured: %+v", p2)
	}
	for _, want := range []string{p2.SlotXminAgeUnknown, p2.DeadTuplesUnknown} {
		if want == "" {
			t.Errorf("primary2: unknown without a reason: %+v", p2)
		}
	}
	p3 := rep.Nodes[2]
	if p3.Samples != 0 || p3.SlotXminAgeUnknown != "no sample: the node never answered" || p3.DeadTuplesUnknown == "" {
		t.Errorf("primary3: %+v", p3)
	}
}

// A slot that exists but never had an xmin is not the same as no slot.
func TestRetentionReportSlotWithoutXmin(t *testing.T) {
	t0 := time.Now()
	s := NewRetentionSampler(t0, "test_table")
	s.nodes["primary1"] = []retentionSample{{at: t0, slot: true, table: true, deadTuples: i64(0)}}
	n := s.Report([]string{"primary1"}, nil).Nodes[0]
	if n.SlotXminAgeMax != nil || n.SlotXminAgeUnknown == "" || n.DeadTuplesMax == nil || *n.DeadTuplesMax != 0 {
		t.Errorf("%+v", n)
	}
}
