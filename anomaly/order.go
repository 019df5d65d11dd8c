package anomaly

import (
	"cmp"
	"slices"
)

// processEdges adds each process's own order: a process (target, worker)
// runs one transaction at a time, so each of its committed transactions
// precedes the next one it began. An unknown transaction may still commit
// after its process moved on, so it precedes nothing; the chain skips over
// it from the last committed one. Failed transactions are not nodes.
func (c *checker) processEdges() {
	type proc struct {
		target string
		worker int
	}
	ids := map[proc]int32{}
	pid := make([]int32, len(c.h))
	idx := make([]int32, 0, len(c.h))
	for i := range c.h {
		t := &c.h[i]
		if t.Outcome == Fail {
			continue
		}
		p := proc{t.Target, t.Worker}
		id, ok := ids[p]
		if !ok {
			id = int32(len(ids))
			ids[p] = id
		}
		pid[i] = id
		idx = append(idx, int32(i))
	}
	slices.SortFunc(idx, func(a, b int32) int {
		return cmp.Or(cmp.Compare(pid[a], pid[b]), cmp.Compare(c.start[a], c.start[b]), cmp.Compare(a, b))
	})
	last := int32(-1)
	for k, i := range idx {
		if k > 0 && pid[idx[k-1]] != pid[i] {
			last = -1
		}
		if last >= 0 {
			c.edges.add(last, i, bProcess)
		}
		if c.h[i].Outcome == OK {
			last = i
		}
	}
}

// realtimeEdges adds realtime order: T1 precedes T2 when T1 was
// acknowledged before T2 began. All such pairs would be O(n²) edges;
// only a transitive reduction is needed for cycles, so each transaction
// gets edges only from the frontier at its start: the completed
// transactions not yet known to precede another completed one. When T
// completes it replaces, in the frontier, the transactions that preceded
// it (its own frontier edges), since anything after T is after them too.
// Frontier members overlap pairwise in time, so the frontier holds at most
// as many transactions as ran at once, and edges are O(n × concurrency).
//
// Only committed transactions complete; an unknown one has no known
// completion and precedes nothing, but may follow others. Ties are not
// order: T1 precedes T2 only if T1.End < T2.Start.
func (c *checker) realtimeEdges() {
	var starts, ends []int32
	for i := range c.h {
		switch c.h[i].Outcome {
		case OK:
			ends = append(ends, int32(i))
			starts = append(starts, int32(i))
		case Unknown:
			starts = append(starts, int32(i))
		}
	}
	slices.SortFunc(starts, func(a, b int32) int { return cmp.Or(cmp.Compare(c.start[a], c.start[b]), cmp.Compare(a, b)) })
	slices.SortFunc(ends, func(a, b int32) int { return cmp.Or(cmp.Compare(c.end[a], c.end[b]), cmp.Compare(a, b)) })
	// preds[i] is the range of c.edges holding i's realtime in-edges.
	predLo := make([]int32, len(c.h))
	predHi := make([]int32, len(c.h))
	inF := make([]bool, len(c.h))
	var frontier []int32
	e := 0
	for _, s := range starts {
		for e < len(ends) && c.end[ends[e]] < c.start[s] {
			x := ends[e]
			e++
			for k := predLo[x]; k < predHi[x]; k++ {
				inF[c.edges.src[k]] = false
			}
			frontier = slices.DeleteFunc(frontier, func(f int32) bool { return !inF[f] })
			frontier = append(frontier, x)
			inF[x] = true
		}
		predLo[s] = int32(len(c.edges.src))
		for _, f := range frontier {
			c.edges.add(f, s, bRealtime)
		}
		predHi[s] = int32(len(c.edges.src))
	}
}
