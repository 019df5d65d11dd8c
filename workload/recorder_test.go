package workload

import (
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/reports"
)

func newTestRecorder(t *testing.T) (*Recorder, time.Time) {
	t.Helper()
	r, err := NewRecorder(filepath.Join(t.TempDir(), "history.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	origin := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	r.SetOrigin(origin)
	return r, origin
}

func TestRecorderSummary(t *testing.T) {
	r, origin := newTestRecorder(t)
	at := func(s float64) time.Time { return origin.Add(time.Duration(s * float64(time.Second))) }
	ok := func(target, served string, start float64, lat time.Duration) Op {
		return Op{Workload: "ins", Kind: "insert", Target: target, ServedBy: served, Start: at(start), End: at(start).Add(lat), Outcome: OK}
	}
	bad := func(target string, end float64, out Outcome, class, state string) Op {
		return Op{Workload: "ins", Kind: "insert", Target: target, Start: at(end), End: at(end), Outcome: out, Class: class, SQLState: state}
	}
	// haproxy: 100 ok ops with latencies 1..100 ms, served 60/40, at second 0.
	for i := 1; i <= 100; i++ {
		served := "primary1"
		if i > 60 {
			served = "primary2"
		}
		r.Record(ok("haproxy", served, 0.1, time.Duration(i)*time.Millisecond))
	}
	r.Record(bad("haproxy", 2.5, Unknown, ClassConnection, ""))
	r.Record(bad("haproxy", 2.6, Fail, ClassConnection, ""))
	r.Record(bad("haproxy", 2.7, Fail, ClassConnection, ""))
	r.Record(bad("haproxy", 2.8, Fail, ClassAdminShutdown, "57P01"))
	// primary1 first seen after haproxy, but sorts before it; another workload after.
	r.Record(ok("primary1", "primary1", 0.2, 2*time.Millisecond))
	r.Record(Op{Workload: "bank", Kind: "bank", Target: "primary2", Start: at(1), End: at(1.5), Outcome: Fail, Class: ClassDeadlock, SQLState: "40P01"})

	ws, secs := r.Summary(4 * time.Second)
	if len(ws) != 3 {
		t.Fatalf("got %d workloads, want 3: %+v", len(ws), ws)
	}
	if ws[0].Target != "primary1" || ws[1].Target != "haproxy" || ws[2].Workload != "bank" {
		t.Fatalf("order: %s/%s %s/%s %s/%s", ws[0].Workload, ws[0].Target, ws[1].Workload, ws[1].Target, ws[2].Workload, ws[2].Target)
	}
	h := ws[1]
	if h.Ops != 104 || h.OK != 100 || h.Fail != 3 || h.Unknown != 1 || h.Kind != "insert" {
		t.Errorf("haproxy counts: %+v", h)
	}
	if h.OpsPerSec != 25 {
		t.Errorf("ops/s = %v, want 100 ok / 4 s = 25", h.OpsPerSec)
	}
	ms := func(d reports.Duration) float64 { return float64(d.D()) / float64(time.Millisecond) }
	// HdrHistogram at 3 significant figures: within 0.1%.
	for name, pair := range map[string][2]float64{
		"p50": {ms(h.Latency.P50), 50}, "p95": {ms(h.Latency.P95), 95}, "p99": {ms(h.Latency.P99), 99},
		"max": {ms(h.Latency.Max), 100}, "mean": {ms(h.Latency.Mean), 50.5},
	} {
		if d := pair[0] - pair[1]; d < -0.001*pair[1] || d > 0.001*pair[1] {
			t.Errorf("%s = %.3f ms, want %.1f ms", name, pair[0], pair[1])
		}
	}
	wantErrs := []reports.ErrorCount{
		{Class: ClassConnection, Count: 3},
		{Class: ClassAdminShutdown, SQLState: "57P01", Count: 1},
	}
	if !reflect.DeepEqual(h.Errors, wantErrs) {
		t.Errorf("errors %+v, want %+v", h.Errors, wantErrs)
	}
	if !reflect.DeepEqual(h.ServedBy, map[string]int64{"primary1": 60, "primary2": 40}) {
		t.Errorf("served_by %v", h.ServedBy)
	}
	if ws[2].OK != 0 || ws[2].Latency != (reports.Latency{}) || ws[2].Fail != 1 {
		t.Errorf("bank: %+v", ws[2])
	}

	// Timeline: 4 s elapsed → seconds 0..3 for each target seen, zeros included.
	want := []reports.Second{
		{T: 0, Target: "primary1", OK: 1}, {T: 0, Target: "primary2"}, {T: 0, Target: "haproxy", OK: 100},
		{T: 1, Target: "primary1"}, {T: 1, Target: "primary2", Errors: 1}, {T: 1, Target: "haproxy"},
		{T: 2, Target: "primary1"}, {T: 2, Target: "primary2"}, {T: 2, Target: "haproxy", Errors: 4},
		{T: 3, Target: "primary1"}, {T: 3, Target: "primary2"}, {T: 3, Target: "haproxy"},
	}
	if !reflect.DeepEqual(secs, want) {
		t.Errorf("timeline\n got %+v\nwant %+v", secs, want)
	}
}

// Record caches the previous op's entries: ops that alternate targets and
// workloads within one second must still land in their own counts.
func TestRecorderCountsInterleavedOpsApart(t *testing.T) {
	r, origin := newTestRecorder(t)
	seq := []struct {
		workload, target string
		sec              float64
	}{
		{"a", "primary1", 0.1}, {"a", "primary2", 0.2}, {"b", "primary1", 0.3}, {"a", "primary1", 0.4},
		{"a", "primary1", 1.1}, {"a", "primary2", 1.2}, {"a", "primary2", 1.3}, {"b", "primary1", 1.4},
	}
	for _, o := range seq {
		at := origin.Add(time.Duration(o.sec * float64(time.Second)))
		r.Record(Op{Workload: o.workload, Kind: "insert", Target: o.target, Start: at, End: at, Outcome: OK})
	}
	ws, secs := r.Summary(2 * time.Second)
	got := make(map[string]int64)
	for _, w := range ws {
		got[w.Workload+"/"+w.Target] = w.OK
	}
	if want := map[string]int64{"a/primary1": 3, "a/primary2": 3, "b/primary1": 2}; !reflect.DeepEqual(got, want) {
		t.Errorf("ok per workload/target %v, want %v", got, want)
	}
	wantSecs := []reports.Second{
		{T: 0, Target: "primary1", OK: 3}, {T: 0, Target: "primary2", OK: 1},
		{T: 1, Target: "primary1", OK: 2}, {T: 1, Target: "primary2", OK: 2},
	}
	if !reflect.DeepEqual(secs, wantSecs) {
		t.Errorf("timeline\n got %+v\nwant %+v", secs, wantSecs)
	}
}

func TestRecorderSummaryEmpty(t *testing.T) {
	r, _ := newTestRecorder(t)
	ws, secs := r.Summary(10 * time.Second)
	if len(ws) != 0 || len(secs) != 0 {
		t.Fatalf("empty recorder: %v %v", ws, secs)
	}
}

func TestRecorderLatencyClampedToHistogramRange(t *testing.T) {
	r, origin := newTestRecorder(t)
	r.Record(Op{Workload: "w", Target: "primary1", Start: origin, End: origin.Add(2 * time.Minute), Outcome: OK})
	r.Record(Op{Workload: "w", Target: "primary1", Start: origin, End: origin, Outcome: OK})
	ws, _ := r.Summary(time.Minute)
	if max := ws[0].Latency.Max.D(); max < 59*time.Second || max > 61*time.Second {
		t.Fatalf("max %v, want about 60s (the histogram's ceiling)", max)
	}
	if ws[0].OK != 2 {
		t.Fatalf("ok %d, want 2", ws[0].OK)
	}
}

func TestRecorderSnapshot(t *testing.T) {
	r, origin := newTestRecorder(t)
	for i := range 30 {
		end := origin.Add(time.Duration(i) * 100 * time.Millisecond) // seconds 0, 1, 2: 10 ops each
		out := OK
		if i%10 == 0 {
			out = Fail
		}
		r.Record(Op{Workload: "w", Target: "primary2", Start: end, End: end, Outcome: out})
	}
	r.Record(Op{Workload: "w", Target: "primary1", Start: origin, End: origin, Outcome: OK})
	p := r.snapshotAt(origin.Add(2500 * time.Millisecond)) // last full second: 1
	want := Progress{Elapsed: 2500 * time.Millisecond, Targets: []TargetProgress{
		{Target: "primary1", Ops: 1},
		{Target: "primary2", Ops: 30, Errors: 3, OpsPerSec: 10, ErrorsPerSec: 1},
	}}
	if !reflect.DeepEqual(p, want) {
		t.Fatalf("snapshot\n got %+v\nwant %+v", p, want)
	}
	if p := r.snapshotAt(origin.Add(500 * time.Millisecond)); p.Targets[1].OpsPerSec != 0 {
		t.Fatalf("no full second yet, got %v ops/s", p.Targets[1].OpsPerSec)
	}
}

func TestRecorderWritesEveryOpConcurrently(t *testing.T) {
	r, origin := newTestRecorder(t)
	const workers, each = 8, 500
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				r.Record(Op{Workload: "w", Worker: w, Target: "primary1", Keys: []string{"k"}, Start: origin, End: origin.Add(time.Duration(i)), Outcome: OK})
			}
		})
	}
	wg.Wait()
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	r.Record(Op{Workload: "late"}) // after Close: ignored, no panic
	perWorker := make(map[int]int)
	if err := ReadHistory(r.Path(), func(op Op) error { perWorker[op.Worker]++; return nil }); err != nil {
		t.Fatal(err)
	}
	for w := range workers {
		if perWorker[w] != each {
			t.Errorf("worker %d: %d lines, want %d", w, perWorker[w], each)
		}
	}
	ws, _ := r.Summary(time.Second)
	if len(ws) != 1 || ws[0].OK != workers*each {
		t.Fatalf("summary %+v, want %d ok", ws, workers*each)
	}
}
