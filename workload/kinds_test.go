package workload

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/pgchaos/pgchaos/reports"
)

func TestInsertKey(t *testing.T) {
	tests := []struct {
		run, wl, target string
		worker          int
		seq             int64
		want            string
	}{
		{"m5x", "insert", "haproxy", 3, 17, "m5x/insert/haproxy/3/17"},
		{"", "ins", "primary1", 0, 1, "ins/primary1/0/1"},
	}
	for _, tt := range tests {
		if got := InsertKey(tt.run, tt.wl, tt.target, tt.worker, tt.seq); got != tt.want {
			t.Errorf("InsertKey = %q, want %q", got, tt.want)
		}
	}
}

func TestWorkersRepeatForASeedAndDifferPerWorker(t *testing.T) {
	draw := func(seed int64, wl, target string, id int) []uint64 {
		w := NewWorker(seed, "run", wl, KindInsert, target, id)
		out := make([]uint64, 5)
		for i := range out {
			out[i] = w.Rand.Uint64()
		}
		return out
	}
	a := draw(42, "ins", "primary1", 0)
	if !reflect.DeepEqual(a, draw(42, "ins", "primary1", 0)) {
		t.Fatal("same seed and worker gave different draws")
	}
	for name, other := range map[string][]uint64{
		"seed":     draw(43, "ins", "primary1", 0),
		"workload": draw(42, "ins2", "primary1", 0),
		"target":   draw(42, "ins", "primary2", 0),
		"worker":   draw(42, "ins", "primary1", 1),
	} {
		if reflect.DeepEqual(a, other) {
			t.Errorf("changing the %s did not change the draws", name)
		}
	}
	// The separator keeps ("ab","c") and ("a","bc") apart.
	if workerStream("ab", "c", 1) == workerStream("a", "bc", 1) {
		t.Error("workload/target boundary is ambiguous")
	}
}

func TestTransferPicksTwoAccountsLowerFirst(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	seen := make(map[[2]int]bool)
	for range 5000 {
		lo, hi, d := transfer(rnd, 4)
		if lo < 1 || hi > 4 || lo >= hi {
			t.Fatalf("accounts %d, %d: want 1 <= lo < hi <= 4", lo, hi)
		}
		if d == 0 || d < -100 || d > 100 {
			t.Fatalf("amount %d: want 1..100 either way", d)
		}
		seen[[2]int{lo, hi}] = true
	}
	if len(seen) != 6 { // C(4,2)
		t.Fatalf("saw %d account pairs, want all 6", len(seen))
	}
	if _, _, d := transfer(rand.New(rand.NewPCG(1, 2)), 2); d == 0 {
		t.Fatal("two accounts must still transfer")
	}
}

func TestNewAndConfigCheck(t *testing.T) {
	dsn := map[string]string{"primary1": "postgres://x", "haproxy": "postgres://y"}
	ok := Spec{Name: "a", Kind: KindInsert, Targets: []string{"primary1"}, Concurrency: 1}
	tests := []struct {
		name string
		spec []Spec
		want string
	}{
		{"valid", []Spec{ok}, ""},
		{"no workloads", nil, "none to run"},
		{"unknown kind", []Spec{{Name: "a", Kind: "delete", Targets: []string{"primary1"}, Concurrency: 1}}, `unknown kind "delete"`},
		{"duplicate name", []Spec{ok, ok}, "unique"},
		{"zero concurrency", []Spec{{Name: "a", Kind: KindInsert, Targets: []string{"primary1"}}}, "concurrency must be at least 1"},
		{"negative rate", []Spec{{Name: "a", Kind: KindInsert, Targets: []string{"primary1"}, Concurrency: 1, Rate: -1}}, "rate must be >= 0"},
		{"target without DSN", []Spec{{Name: "a", Kind: KindInsert, Targets: []string{"primary2"}, Concurrency: 1}}, `target "primary2" has no DSN`},
		{"bank of one account", []Spec{{Name: "b", Kind: KindBank, Targets: []string{"primary1"}, Concurrency: 1, Rows: 1}}, "at least 2 accounts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Workloads: tt.spec, DSN: dsn}
			err := cfg.check()
			if err == nil {
				for _, s := range tt.spec {
					if _, err = New(s); err != nil {
						break
					}
				}
			}
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	w, _ := New(Spec{Name: "h", Kind: KindUpdateHot})
	if w.(UpdateHot).Rows != DefaultRows {
		t.Errorf("update-hot default rows %d, want %d", w.(UpdateHot).Rows, DefaultRows)
	}
}

func TestBackoffDoublesToASecond(t *testing.T) {
	var d time.Duration
	var got []time.Duration
	for range 7 {
		d = nextBackoff(d)
		got = append(got, d)
	}
	ms := time.Millisecond
	want := []time.Duration{50 * ms, 100 * ms, 200 * ms, 400 * ms, 800 * ms, time.Second, time.Second}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("backoff %v, want %v", got, want)
	}
}

func TestLostUpdates(t *testing.T) {
	acked := map[string]int64{"1": 10, "2": 5, "10": 3, "4": 0}
	values := map[string]int64{"1": 10, "2": 7, "10": 1} // 2 above: unknown ops that committed
	got := LostUpdates("hot", "primary2", acked, values)
	want := []reports.LostUpdate{{Workload: "hot", Key: "10", Node: "primary2", Acked: 3, Value: 1}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestWorkerFinishClassifies(t *testing.T) {
	w := NewWorker(1, "r", "ins", KindInsert, "haproxy", 2)
	op := w.begin()
	op.ServedBy = "primary1"
	w.finish(&op, nil, true)
	if op.Outcome != OK || op.ServedBy != "primary1" || op.Worker != 2 || op.Target != "haproxy" || w.Seq() != 1 {
		t.Fatalf("ok op: %+v", op)
	}
	op = w.begin()
	op.ServedBy = "stale"
	w.finish(&op, errUnexpectedEOF(), true)
	if op.Outcome != Unknown || op.ServedBy != "" || op.Error == "" || op.End.Before(op.Start) {
		t.Fatalf("lost answer: %+v", op)
	}
}
