package anomaly

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)

// tx builds a transaction; times are milliseconds after t0. Unless a test
// is about order, transactions get distinct workers and all overlap
// (0..100 ms), so no process or realtime edge exists.
func tx(id int64, o Outcome, ops ...Op) Txn {
	return Txn{ID: id, Worker: int(id), Target: "primary1", ServedBy: "primary1",
		Start: t0, End: t0.Add(100 * time.Millisecond), Outcome: o, Ops: ops}
}

// at sets a transaction's worker and time span.
func at(t Txn, worker, startMS, endMS int) Txn {
	t.Worker = worker
	t.Start = t0.Add(time.Duration(startMS) * time.Millisecond)
	t.End = t0.Add(time.Duration(endMS) * time.Millisecond)
	return t
}

func final(t Txn, node string) Txn {
	t.Final, t.ServedBy, t.Target = true, node, node
	return t
}

func ap(k int, v int64) Op           { return Op{F: Append, Key: k, Value: v} }
func rl(k int, vs ...int64) Op       { return Op{F: ReadList, Key: k, List: vs} }
func w(k int, v int64) Op            { return Op{F: Write, Key: k, Value: v} }
func r(k int, v int64) Op            { return Op{F: ReadRegister, Key: k, Value: v} }
func rnil(k int) Op                  { return Op{F: ReadRegister, Key: k, Nil: true} }
func h(ts ...Txn) []Txn              { return ts }
func counts(kv ...any) map[Class]int { return pairs(kv) }

func pairs(kv []any) map[Class]int {
	m := map[Class]int{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(Class)] = kv[i+1].(int)
	}
	return m
}

// cycleString renders a witness cycle rotated to start at its smallest
// id, so tests do not depend on where the search entered it.
func cycleString(steps []Step) string {
	if len(steps) == 0 {
		return ""
	}
	m := 0
	for i, s := range steps {
		if s.From < steps[m].From {
			m = i
		}
	}
	var b strings.Builder
	for i := range steps {
		s := steps[(m+i)%len(steps)]
		fmt.Fprintf(&b, "T%d -%s-> ", s.From, s.Kind)
	}
	fmt.Fprintf(&b, "T%d", steps[m].From)
	return b.String()
}

func TestCheckKnownAnswers(t *testing.T) {
	cases := []struct {
		name   string
		h      []Txn
		want   map[Class]int
		class  Class  // the class whose first witness is checked
		cycle  string // its cycle, rotated to the smallest id ("" for direct classes)
		txns   []int64
		phrase string // a substring of the first witness's summary or an edge's why
	}{
		{
			name: "list G0: two appenders ordered differently on two keys",
			h: h(tx(1, OK, ap(1, 1), ap(2, 2)), tx(2, OK, ap(1, 3), ap(2, 4)),
				tx(3, OK, rl(1, 1, 3)), tx(4, OK, rl(2, 4, 2))),
			want:   counts(G0, 1),
			class:  G0,
			cycle:  "T1 -ww-> T2 -ww-> T1",
			txns:   []int64{1, 2},
			phrase: "T1 appended 1 to key 1 and T2 appended 3 right after it (key 1 was read as [1 3]), so T1 -ww-> T2",
		},
		{
			name:   "list G1c: each reads the other's append",
			h:      h(tx(1, OK, ap(1, 1), rl(2, 2)), tx(2, OK, ap(2, 2), rl(1, 1))),
			want:   counts(G1c, 1),
			class:  G1c,
			cycle:  "T1 -wr-> T2 -wr-> T1",
			txns:   []int64{1, 2},
			phrase: "T1 appended 1 to key 1; T2 read key 1 as [1], so T1 -wr-> T2",
		},
		{
			name: "list G-single: read skew, one of two appends seen",
			h: h(tx(1, OK, rl(1), rl(2, 1)), tx(2, OK, ap(1, 1), ap(2, 1)),
				tx(3, OK, rl(1, 1))),
			want:   counts(GSingle, 1),
			class:  GSingle,
			cycle:  "T1 -rw-> T2 -wr-> T1",
			txns:   []int64{1, 2},
			phrase: "T1 read key 1 as []; T2 appended 1, its first element, so T1 -rw-> T2",
		},
		{
			name: "list G2-item: write skew, each misses the other's append",
			h: h(tx(1, OK, rl(1), ap(2, 1)), tx(2, OK, rl(2), ap(1, 1)),
				tx(3, OK, rl(1, 1)), tx(4, OK, rl(2, 1))),
			want:  counts(G2Item, 1),
			class: G2Item,
			cycle: "T1 -rw-> T2 -rw-> T1",
			txns:  []int64{1, 2},
		},
		{
			name:   "list G1a: a failed append is read",
			h:      h(tx(1, Fail, ap(1, 1)), tx(2, OK, rl(1, 1))),
			want:   counts(G1a, 1),
			class:  G1a,
			txns:   []int64{1, 2},
			phrase: "T1 appended 1 to key 1 and failed; T2 read key 1 as [1]",
		},
		{
			name:   "list G1b: a read ends at a txn's first of two appends",
			h:      h(tx(1, OK, ap(1, 1), ap(1, 2)), tx(2, OK, rl(1, 1)), tx(3, OK, rl(1, 1, 2))),
			want:   counts(G1b, 1),
			class:  G1b,
			txns:   []int64{1, 2},
			phrase: "T2 read key 1 as [1], a state that never committed",
		},
		{
			name: "lost append: a final read misses an acknowledged append (and is stale in realtime)",
			h: h(at(tx(1, OK, ap(1, 1)), 1, 0, 10), at(tx(2, OK, ap(1, 2)), 2, 20, 30),
				final(at(tx(3, OK, rl(1, 1, 2)), 3, 100, 110), "primary1"),
				final(at(tx(4, OK, rl(1, 1)), 4, 100, 110), "primary2")),
			want:   counts(LostAppend, 1, GSingleRealtime, 1),
			class:  LostAppend,
			txns:   []int64{2, 4},
			phrase: "T2 appended 2 to key 1 and was acknowledged; the final read of key 1 on primary2 does not contain it",
		},
		{
			name: "incompatible order: two reads disagree on the order",
			h: h(tx(1, OK, ap(1, 1)), tx(2, OK, ap(1, 2)), tx(3, OK, rl(1, 1, 2)),
				tx(4, OK, rl(1, 2, 1))),
			want:   counts(IncompatibleOrder, 1),
			class:  IncompatibleOrder,
			txns:   []int64{4, 3},
			phrase: "T4 read key 1 as [2 1] and T3 read it as [1 2]",
		},
		{
			name:   "duplicate elements: one value twice in a read",
			h:      h(tx(1, OK, ap(1, 1)), tx(2, OK, rl(1, 1, 1))),
			want:   counts(DuplicateElements, 1),
			class:  DuplicateElements,
			txns:   []int64{2},
			phrase: "1 appears more than once",
		},
		{
			name:   "list garbage read: a value nobody appended",
			h:      h(tx(1, OK, ap(1, 1)), tx(2, OK, rl(1, 1, 9))),
			want:   counts(GarbageRead, 1),
			class:  GarbageRead,
			txns:   []int64{2},
			phrase: "no transaction appended 9 to key 1",
		},
		{
			name:   "register G-single: a nil read beside a read of the same txn's write",
			h:      h(tx(1, OK, w(1, 1), w(2, 1)), tx(2, OK, rnil(1), r(2, 1))),
			want:   counts(GSingle, 1),
			class:  GSingle,
			cycle:  "T1 -wr-> T2 -rw-> T1",
			txns:   []int64{1, 2},
			phrase: "T2 read register 1 as nil (never written); T1 wrote 1 to it, and every write follows nil, so T2 -rw-> T1",
		},
		{
			name:  "register G2-item: write skew from nil",
			h:     h(tx(1, OK, rnil(1), w(2, 1)), tx(2, OK, rnil(2), w(1, 1))),
			want:  counts(G2Item, 1),
			class: G2Item,
			cycle: "T1 -rw-> T2 -rw-> T1",
			txns:  []int64{1, 2},
		},
		{
			name:   "register G0 and G1c: read-then-write orders the versions both ways",
			h:      h(tx(1, OK, w(1, 1), r(2, 4), w(2, 2)), tx(2, OK, r(1, 1), w(1, 3), w(2, 4))),
			want:   counts(G0, 1, G1c, 1),
			class:  G0,
			cycle:  "T1 -ww-> T2 -ww-> T1",
			txns:   []int64{1, 2},
			phrase: "T1 wrote 1 to register 1; T2 read 1 there and then wrote 3, so 3 follows 1 and T1 -ww-> T2",
		},
		{
			name:   "register G1a",
			h:      h(tx(1, Fail, w(1, 1)), tx(2, OK, r(1, 1))),
			want:   counts(G1a, 1),
			class:  G1a,
			txns:   []int64{1, 2},
			phrase: "T1 wrote 1 to register 1 and failed",
		},
		{
			name:   "register G1b",
			h:      h(tx(1, OK, w(1, 1), w(1, 2)), tx(2, OK, r(1, 1))),
			want:   counts(G1b, 1),
			class:  G1b,
			txns:   []int64{1, 2},
			phrase: "T2 read register 1 as 1, a state that never committed",
		},
		{
			name:   "register garbage read",
			h:      h(tx(1, OK, r(1, 7))),
			want:   counts(GarbageRead, 1),
			class:  GarbageRead,
			txns:   []int64{1},
			phrase: "no transaction wrote 7 to register 1",
		},
		{
			name: "G-single-realtime: a stale read after the append was acknowledged",
			h: h(at(tx(1, OK, ap(1, 1)), 1, 0, 10), at(tx(2, OK, rl(1)), 2, 20, 30),
				at(tx(3, OK, rl(1, 1)), 3, 40, 50)),
			want:   counts(GSingleRealtime, 1),
			class:  GSingleRealtime,
			cycle:  "T1 -realtime-> T2 -rw-> T1",
			txns:   []int64{1, 2},
			phrase: "T1 committed at 12:00:00.010000 before T2 began at 12:00:00.020000, so T1 -realtime-> T2",
		},
		{
			name: "G-single-process: a process does not see its own append",
			h: h(at(tx(1, OK, ap(1, 1)), 7, 0, 10), at(tx(2, OK, rl(1)), 7, 20, 30),
				at(tx(3, OK, rl(1, 1)), 3, 40, 50)),
			want:  counts(GSingleProcess, 1),
			class: GSingleProcess,
			cycle: "T1 -process-> T2 -rw-> T1",
			txns:  []int64{1, 2},
		},
		{
			name: "G0-realtime: a later append ordered before an acknowledged one",
			h: h(at(tx(1, OK, ap(1, 2)), 1, 0, 10), at(tx(2, OK, ap(1, 1)), 2, 20, 30),
				at(tx(3, OK, rl(1, 1, 2)), 3, 40, 50)),
			want:  counts(G0Realtime, 1),
			class: G0Realtime,
			cycle: "T1 -realtime-> T2 -ww-> T1",
			txns:  []int64{1, 2},
		},
		{
			name: "G0-process: the same, in one process",
			h: h(at(tx(1, OK, ap(1, 2)), 1, 0, 10), at(tx(2, OK, ap(1, 1)), 1, 20, 30),
				at(tx(3, OK, rl(1, 1, 2)), 3, 40, 50)),
			want:  counts(G0Process, 1),
			class: G0Process,
			cycle: "T1 -process-> T2 -ww-> T1",
			txns:  []int64{1, 2},
		},
		{
			name:  "G1c-realtime: a read of an append that began later",
			h:     h(at(tx(1, OK, rl(1, 1)), 1, 0, 10), at(tx(2, OK, ap(1, 1)), 2, 20, 30)),
			want:  counts(G1cRealtime, 1),
			class: G1cRealtime,
			cycle: "T1 -realtime-> T2 -wr-> T1",
			txns:  []int64{1, 2},
		},
		{
			name:  "G1c-process: the same, in one process",
			h:     h(at(tx(1, OK, rl(1, 1)), 1, 0, 10), at(tx(2, OK, ap(1, 1)), 1, 20, 30)),
			want:  counts(G1cProcess, 1),
			class: G1cProcess,
			cycle: "T1 -process-> T2 -wr-> T1",
			txns:  []int64{1, 2},
		},
		{
			name: "G2-item-process: two anti-dependencies closed by process order",
			h: h(at(tx(1, OK, rl(1)), 3, 20, 30), at(tx(2, OK, ap(1, 1), rl(2)), 2, 0, 100),
				at(tx(3, OK, ap(2, 1)), 3, 0, 10),
				at(tx(4, OK, rl(1, 1), rl(2, 1)), 4, 200, 210)),
			want:  counts(G2ItemProcess, 1),
			class: G2ItemProcess,
			cycle: "T1 -rw-> T2 -rw-> T3 -process-> T1",
			txns:  []int64{1, 2, 3},
		},
		{
			name: "G2-item-realtime: two anti-dependencies closed by realtime",
			// T1 -rw-> T2 -rw-> T3, and T3 was acknowledged before T1
			// began; T2 overlaps both, so no cycle has fewer rw edges.
			h: h(at(tx(1, OK, rl(1)), 1, 20, 30), at(tx(2, OK, ap(1, 1), rl(2)), 2, 0, 100),
				at(tx(3, OK, ap(2, 1)), 3, 0, 10),
				at(tx(4, OK, rl(1, 1), rl(2, 1)), 4, 200, 210)),
			want:  counts(G2ItemRealtime, 1),
			class: G2ItemRealtime,
			cycle: "T1 -rw-> T2 -rw-> T3 -realtime-> T1",
			txns:  []int64{1, 2, 3},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Check(tc.h, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(res.Counts, tc.want) {
				t.Fatalf("counts = %v, want %v", res.Counts, tc.want)
			}
			if res.Verdict != "invalid" {
				t.Errorf("verdict = %q, want invalid", res.Verdict)
			}
			var f *Finding
			for i := range res.Anomalies {
				if res.Anomalies[i].Class == tc.class {
					f = &res.Anomalies[i]
				}
			}
			if f == nil || len(f.Witnesses) == 0 {
				t.Fatalf("no witness for %s", tc.class)
			}
			wi := f.Witnesses[0]
			if got := cycleString(wi.Cycle); got != tc.cycle {
				t.Errorf("cycle = %q, want %q", got, tc.cycle)
			}
			if tc.txns != nil {
				var ids []int64
				for _, x := range wi.Txns {
					ids = append(ids, x.ID)
				}
				if tc.cycle != "" {
					slices.Sort(ids)
				}
				if !slices.Equal(ids, tc.txns) {
					t.Errorf("witness txns = %v, want %v", ids, tc.txns)
				}
			}
			if tc.phrase != "" {
				text := wi.Summary
				for _, s := range wi.Cycle {
					text += "\n" + s.Why
				}
				if !strings.Contains(text, tc.phrase) {
					t.Errorf("witness does not say %q:\n%s", tc.phrase, text)
				}
			}
		})
	}
}

func TestCheckCleanHistories(t *testing.T) {
	cases := []struct {
		name string
		h    []Txn
	}{
		{
			name: "serial list-append with unknowns, a failed append nobody read, and final reads",
			h: h(
				at(tx(1, OK, ap(1, 1)), 1, 0, 10),
				at(tx(2, Unknown, ap(1, 2)), 1, 20, 30), // never read: did not happen
				at(tx(3, Fail, ap(1, 3)), 2, 40, 50),    // nobody read it
				at(tx(4, OK, rl(1, 1)), 2, 60, 70),
				at(tx(5, Unknown, ap(1, 4)), 3, 80, 90), // read later: happened
				at(tx(6, OK, rl(1, 1, 4), ap(2, 1)), 4, 100, 110),
				final(at(tx(7, OK, rl(1, 1, 4), rl(2, 1)), 5, 200, 210), "primary1"),
				final(at(tx(8, OK, rl(1, 1, 4), rl(2, 1)), 6, 200, 210), "primary2"),
			),
		},
		{
			name: "concurrent list-append that serializes",
			h: h(
				at(tx(1, OK, ap(1, 1), rl(3)), 1, 0, 50),
				at(tx(2, OK, rl(1), ap(2, 1)), 2, 10, 60), // concurrent with T1: may precede it
				at(tx(3, OK, rl(1, 1), rl(2, 1)), 3, 70, 80),
			),
		},
		{
			name: "register with read-then-write chains, nil reads and an unknown write",
			h: h(
				at(tx(1, OK, rnil(1), w(1, 1)), 1, 0, 10),
				at(tx(2, OK, r(1, 1), w(1, 2)), 1, 20, 30),
				at(tx(3, Unknown, w(2, 5)), 2, 20, 30),
				at(tx(4, OK, r(1, 2), rnil(2)), 3, 40, 50),
				at(tx(5, Fail, w(1, 9)), 3, 60, 70),
				at(tx(6, OK, r(1, 2), w(2, 6), r(2, 6)), 4, 80, 90),
			),
		},
		{
			name: "empty history",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Check(tc.h, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Verdict != "valid" || len(res.Counts) != 0 {
				var b bytes.Buffer
				res.WriteText(&b)
				t.Fatalf("verdict %s, counts %v\n%s", res.Verdict, res.Counts, b.String())
			}
		})
	}
}

func TestCheckRejectsUninterpretableHistories(t *testing.T) {
	cases := []struct {
		name string
		h    []Txn
		want string
	}{
		{"duplicate id", h(tx(1, OK), tx(1, OK)), "ids must be unique"},
		{"bad outcome", h(tx(1, "maybe")), `outcome "maybe"`},
		{"bad op", h(tx(1, OK, Op{F: "inc", Key: 1})), `op "inc"`},
		{"append twice", h(tx(1, OK, ap(1, 5)), tx(2, OK, ap(1, 5))), "both append 5 to key 1"},
		{"write twice", h(tx(1, OK, w(1, 5)), tx(2, OK, w(1, 5))), "both write 5 to register 1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Check(tc.h, Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
		})
	}
}

// A search cut short by the budget is reported, not passed off as clean.
func TestSearchBudgetMarksClassIncomplete(t *testing.T) {
	skew := h(tx(1, OK, rl(1), ap(2, 1)), tx(2, OK, rl(2), ap(1, 1)), tx(3, OK, rl(1, 1)), tx(4, OK, rl(2, 1)))
	res, err := Check(skew, Options{SearchBudget: 1})
	if err != nil {
		t.Fatal(err)
	}
	// G-single's first candidate finds nothing and spends the budget.
	if !slices.Equal(res.Incomplete, []Class{GSingle}) || res.Counts[G2Item] != 1 {
		t.Errorf("incomplete %v, counts %v; want [G-single] and one G2-item", res.Incomplete, res.Counts)
	}
	res, err = Check(skew, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Incomplete) != 0 {
		t.Errorf("default budget: incomplete %v", res.Incomplete)
	}
}

// Counts count every component; witnesses stop at Options.Witnesses
// (3 by default), shortest cycles first.
func TestWitnessesPerClassAreCapped(t *testing.T) {
	var hist []Txn
	for i := int64(0); i < 5; i++ {
		a, b := 2*i+1, 2*i+2
		hist = append(hist, tx(a, OK, ap(int(a), 1), rl(int(b), 1)), tx(b, OK, ap(int(b), 1), rl(int(a), 1)))
	}
	for _, tc := range []struct{ opt, want int }{{0, 3}, {2, 2}, {9, 5}} {
		res, err := Check(hist, Options{Witnesses: tc.opt})
		if err != nil {
			t.Fatal(err)
		}
		if res.Counts[G1c] != 5 || len(res.Anomalies) != 1 || len(res.Anomalies[0].Witnesses) != tc.want {
			t.Errorf("Witnesses %d: counts %v, %d witnesses, want 5 G1c and %d", tc.opt, res.Counts, len(res.Anomalies[0].Witnesses), tc.want)
		}
	}
}
