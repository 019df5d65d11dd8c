package anomaly

import (
	"math/rand/v2"
	"time"
)

// SimOptions shape a simulated history (Simulate).
type SimOptions struct {
	Txns        int     // transactions before the final reads (default 1000)
	Keys        int     // keys in use at any moment (default 32)
	Workers     int     // concurrent processes (default 8)
	MaxWrites   int     // writes to a key before it is retired for a fresh one, keeping reads short as Elle's generators do (default 64)
	Register    bool    // rw-register ops instead of list-append
	FailRate    float64 // fraction of txns that fail (not applied; default 0)
	UnknownRate float64 // fraction with unknown outcome (applied half the time; default 0)
	Seed        uint64

	// Injected faults, each spread evenly over the history (list-append only).
	LostAppends  int // acknowledged appends never applied
	AbortedReads int // failed txns whose append is applied anyway (G1a)
	StaleReads   int // reads that miss the last element of the list (realtime anomalies)
}

// Simulate generates a history of a strictly serializable store: each
// transaction takes effect atomically at a commit instant between its
// start and end, in generation order, on one of two nodes; then, for
// list-append, one final read of every key per node. It is
// synthetic load for benchmarks and tests of the checker, seeded and
// deterministic; the faults in SimOptions break it on purpose.
func Simulate(o SimOptions) []Txn {
	if o.Txns <= 0 {
		o.Txns = 1000
	}
	if o.Keys <= 0 {
		o.Keys = 32
	}
	if o.Workers <= 0 {
		o.Workers = 8
	}
	if o.MaxWrites <= 0 {
		o.MaxWrites = 64
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	every := func(n int) int {
		if n <= 0 {
			return 0
		}
		return max(1, o.Txns/(n+1))
	}
	lostEvery, abortEvery, staleEvery := every(o.LostAppends), every(o.AbortedReads), every(o.StaleReads)
	lost, aborted, stale := 0, 0, 0

	lists := map[int][]int64{}
	regs := map[int]int64{}
	writes := map[int]int{}
	slots := make([]int, o.Keys)
	for i := range slots {
		slots[i] = i
	}
	nextKey := o.Keys
	var nextVal int64
	targets := []string{"primary1", "primary2", "haproxy"}
	free := make([]time.Duration, o.Workers)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	us := func(lo, hi int) time.Duration { return time.Duration(lo+rng.IntN(hi-lo+1)) * time.Microsecond }
	var now time.Duration
	h := make([]Txn, 0, o.Txns+2)
	for i := 0; i < o.Txns; i++ {
		wk := 0
		for j := range free {
			if free[j] < free[wk] {
				wk = j
			}
		}
		commit := max(now, free[wk]+us(20, 200))
		start := max(free[wk], commit-us(50, 500))
		end := commit + us(50, 500)
		now = commit + us(1, 40)
		free[wk] = end + us(0, 100)
		target := targets[rng.IntN(len(targets))]
		served := target
		if target == "haproxy" {
			served = targets[rng.IntN(2)]
		}
		t := Txn{ID: int64(i + 1), Worker: wk, Target: target, ServedBy: served,
			Start: base.Add(start), End: base.Add(end), Outcome: OK}
		applied := true
		switch x := rng.Float64(); {
		case x < o.FailRate:
			t.Outcome, applied = Fail, false
		case x < o.FailRate+o.UnknownRate:
			t.Outcome, applied = Unknown, rng.IntN(2) == 0
		}
		nops := 1 + rng.IntN(4)
		t.Ops = make([]Op, 0, nops)
		for j := 0; j < nops; j++ {
			s := rng.IntN(len(slots))
			k := slots[s]
			if rng.IntN(2) == 0 {
				nextVal++
				op := Op{F: Append, Key: k, Value: nextVal}
				if o.Register {
					op.F = Write
				}
				apply := applied
				if !o.Register {
					if t.Outcome == OK && lostEvery > 0 && lost < o.LostAppends && i >= (lost+1)*lostEvery {
						apply = false
						lost++
					}
					if t.Outcome == Fail && abortEvery > 0 && aborted < o.AbortedReads && i >= (aborted+1)*abortEvery {
						apply = true
						aborted++
					}
				}
				if apply {
					if o.Register {
						regs[k] = op.Value
					} else {
						lists[k] = append(lists[k], op.Value)
					}
				}
				t.Ops = append(t.Ops, op)
				if writes[k]++; writes[k] >= o.MaxWrites {
					slots[s] = nextKey
					nextKey++
				}
				continue
			}
			if o.Register {
				v, ok := regs[k]
				t.Ops = append(t.Ops, Op{F: ReadRegister, Key: k, Value: v, Nil: !ok})
				continue
			}
			l := lists[k]
			// The list only grows and is never changed in place, so a
			// read can share its backing array.
			l = l[:len(l):len(l)]
			if t.Outcome == OK && staleEvery > 0 && stale < o.StaleReads && i >= (stale+1)*staleEvery && len(l) > 0 {
				l = l[: len(l)-1 : len(l)-1]
				stale++
			}
			t.Ops = append(t.Ops, Op{F: ReadList, Key: k, List: l})
		}
		// Only a committed txn's reads are known to its client.
		if t.Outcome != OK {
			for j := range t.Ops {
				if t.Ops[j].F == ReadList || t.Ops[j].F == ReadRegister {
					t.Ops[j] = Op{F: t.Ops[j].F, Key: t.Ops[j].Key, Nil: t.Ops[j].F == ReadRegister}
				}
			}
		}
		h = append(h, t)
	}
	if o.Register {
		return h
	}
	// Final reads, one per node, after everything.
	after := now
	for _, f := range free {
		after = max(after, f)
	}
	for n, node := range targets[:2] {
		t := Txn{ID: int64(o.Txns + n + 1), Worker: o.Workers + n, Target: node, ServedBy: node,
			Start: base.Add(after + time.Millisecond), End: base.Add(after + 2*time.Millisecond), Outcome: OK, Final: true}
		for k := 0; k < nextKey; k++ {
			l := lists[k]
			t.Ops = append(t.Ops, Op{F: ReadList, Key: k, List: l[:len(l):len(l)]})
		}
		h = append(h, t)
	}
	return h
}
