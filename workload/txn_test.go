package workload

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/anomaly"
)

func TestMicroOpsStayInTheKeySpaceWithFreshValues(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	var v int64
	next := func() int64 { v++; return v }
	sizes := map[int]int{}
	seen := map[int64]bool{}
	var writes, reads int
	for range 2000 {
		ops := microOps(rnd, 5, anomaly.Append, anomaly.ReadList, next)
		sizes[len(ops)]++
		for _, o := range ops {
			if o.Key < 1 || o.Key > 5 {
				t.Fatalf("key %d outside 1..5", o.Key)
			}
			switch o.F {
			case anomaly.Append:
				writes++
				if seen[o.Value] {
					t.Fatalf("value %d written twice", o.Value)
				}
				seen[o.Value] = true
			case anomaly.ReadList:
				reads++
			default:
				t.Fatalf("unexpected op %q", o.F)
			}
		}
	}
	for n := 1; n <= 4; n++ {
		if sizes[n] == 0 {
			t.Errorf("no transaction of %d ops in 2000", n)
		}
	}
	if len(sizes) != 4 {
		t.Errorf("sizes = %v, want only 1..4", sizes)
	}
	if writes == 0 || reads == 0 {
		t.Errorf("writes %d, reads %d: want both", writes, reads)
	}
}

func TestRegisterSlotsRetireAfterEnoughWrites(t *testing.T) {
	s := newRegisterSlots(4)
	var keys []int
	for i := range RetireAfter + 1 {
		ops := []anomaly.Op{{F: anomaly.ReadRegister, Key: 2}, {F: anomaly.Write, Key: 2, Value: int64(i)}}
		s.place(ops)
		if ops[0].Key != ops[1].Key && i != RetireAfter-1 {
			t.Errorf("write %d: read of key %d and write of key %d in one slot", i, ops[0].Key, ops[1].Key)
		}
		keys = append(keys, ops[1].Key)
	}
	if keys[0] != 2 || keys[RetireAfter-1] != 2 {
		t.Errorf("first %d writes went to %v, want register 2", RetireAfter, keys[:RetireAfter])
	}
	if keys[RetireAfter] != 4+2 {
		t.Errorf("write %d went to register %d, want 6 (generation 1 of slot 2)", RetireAfter+1, keys[RetireAfter])
	}
	other := []anomaly.Op{{F: anomaly.Write, Key: 3}}
	s.place(other)
	if other[0].Key != 3 {
		t.Errorf("slot 3 moved to register %d with its neighbour, want 3", other[0].Key)
	}
}

func TestRegisterSlotsStayOnTheLastGeneration(t *testing.T) {
	s := newRegisterSlots(1)
	var last int
	for range RetireAfter*Generations + 10 {
		ops := []anomaly.Op{{F: anomaly.Write, Key: 1}}
		s.place(ops)
		last = ops[0].Key
	}
	if last != Generations {
		t.Errorf("last register %d, want %d (Keys×Generations rows are seeded)", last, Generations)
	}
}

func TestTxnLogWritesWhatTheCheckerReads(t *testing.T) {
	path := filepath.Join(t.TempDir(), "txns.jsonl")
	l, err := CreateTxnLog(path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	l.Record(anomaly.Txn{Target: "primary1", ServedBy: "primary1", Start: t0, End: t0.Add(time.Millisecond), Outcome: anomaly.OK,
		Ops: []anomaly.Op{{F: anomaly.Append, Key: 1, Value: l.nextValue()}, {F: anomaly.ReadList, Key: 1, List: []int64{1}}}})
	l.Record(anomaly.Txn{Target: "haproxy", Worker: 1, Start: t0, End: t0, Outcome: anomaly.Unknown,
		Ops: []anomaly.Op{{F: anomaly.Append, Key: 2, Value: l.nextValue()}}})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	a, err := AppendTxnLog(path)
	if err != nil {
		t.Fatal(err)
	}
	a.Record(anomaly.Txn{Target: "primary2", Worker: -1, Final: true, Outcome: anomaly.OK, Start: t0.Add(time.Second), End: t0.Add(time.Second),
		Ops: []anomaly.Op{{F: anomaly.ReadList, Key: 1, List: []int64{1}}, {F: anomaly.ReadList, Key: 2, List: []int64{2}}}})
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h, err := anomaly.ReadHistory(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(h) != 3 {
		t.Fatalf("%d txns read back, want 3", len(h))
	}
	for i, want := range []int64{1, 2, 3} {
		if h[i].ID != want {
			t.Errorf("txn %d has id %d, want %d", i, h[i].ID, want)
		}
	}
	if h[0].Ops[1].List[0] != 1 || h[1].Outcome != anomaly.Unknown || !h[2].Final {
		t.Errorf("history read back differs: %+v", h)
	}
	r, err := anomaly.Check(h, anomaly.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != "valid" {
		t.Errorf("verdict %q, want valid: %v", r.Verdict, r.Counts)
	}
}

func TestNewTxnWorkloads(t *testing.T) {
	for _, c := range []struct {
		spec    Spec
		iso     pgx.TxIsoLevel
		keys    int
		wantErr bool
	}{
		{Spec{Name: "a", Kind: KindListAppend}, pgx.ReadCommitted, DefaultKeys, false},
		{Spec{Name: "a", Kind: KindListAppend, Keys: 4, Isolation: Serializable}, pgx.Serializable, 4, false},
		{Spec{Name: "r", Kind: KindRWRegister, Isolation: RepeatableRead}, pgx.RepeatableRead, DefaultKeys, false},
		{Spec{Name: "r", Kind: KindRWRegister, Isolation: "snapshot"}, "", 0, true},
		{Spec{Name: "r", Kind: KindRWRegister, Keys: -1}, "", 0, true},
	} {
		w, err := New(c.spec)
		if c.wantErr {
			if err == nil {
				t.Errorf("%+v: no error", c.spec)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", c.spec, err)
			continue
		}
		switch w := w.(type) {
		case ListAppend:
			if w.Isolation != c.iso || w.Keys != c.keys {
				t.Errorf("%+v: got %+v", c.spec, w)
			}
		case RWRegister:
			if w.Isolation != c.iso || w.Keys != c.keys {
				t.Errorf("%+v: got %+v", c.spec, w)
			}
		default:
			t.Errorf("%+v: made a %T", c.spec, w)
		}
	}
}

func TestOpKeysAreDistinctInOrder(t *testing.T) {
	got := opKeys([]anomaly.Op{{Key: 3}, {Key: 1}, {Key: 3}, {Key: 2}})
	want := []string{"3", "1", "2"}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}
