package anomaly

import (
	"cmp"
	"slices"
	"time"
)

// Class names one kind of anomaly.
type Class string

// Cycle classes (Adya's phenomena as Elle names them). A plain class is a
// cycle of dependency edges only; "-process" needs at least one process
// edge (and no realtime edge); "-realtime" needs at least one realtime edge.
const (
	G0      Class = "G0"       // write cycle: ww edges only
	G1c     Class = "G1c"      // circular information flow: ww and wr edges, at least one wr
	GSingle Class = "G-single" // read skew: exactly one rw edge
	G2Item  Class = "G2-item"  // write skew: two or more rw edges

	G0Process      Class = "G0-process"
	G1cProcess     Class = "G1c-process"
	GSingleProcess Class = "G-single-process"
	G2ItemProcess  Class = "G2-item-process"

	G0Realtime      Class = "G0-realtime"
	G1cRealtime     Class = "G1c-realtime"
	GSingleRealtime Class = "G-single-realtime"
	G2ItemRealtime  Class = "G2-item-realtime"
)

// Classes found directly, without a cycle.
const (
	G1a               Class = "G1a"                // aborted read: a committed read saw a failed txn's write
	G1b               Class = "G1b"                // intermediate read: a read saw a version its writer later overwrote in the same txn
	LostAppend        Class = "lost-append"        // an append that took effect is missing from a final read
	IncompatibleOrder Class = "incompatible-order" // two reads of a list where neither is a prefix of the other
	DuplicateElements Class = "duplicate-elements" // a value appears twice in one read of a list
	GarbageRead       Class = "garbage-read"       // a read returned a value no transaction wrote
)

// AllClasses lists every class in the order reports show them: direct
// evidence first, then cycles from the strongest guarantee broken to the
// weakest.
var AllClasses = []Class{
	G1a, G1b, LostAppend, IncompatibleOrder, DuplicateElements, GarbageRead,
	G0, G1c, GSingle, G2Item,
	G0Process, G1cProcess, GSingleProcess, G2ItemProcess,
	G0Realtime, G1cRealtime, GSingleRealtime, G2ItemRealtime,
}

// DependencyClasses are the classes that need no clock or session
// ordering: the ones an asynchronous multi-primary system that claims
// per-transaction isolation should never show.
var DependencyClasses = []Class{
	G1a, G1b, LostAppend, IncompatibleOrder, DuplicateElements, GarbageRead,
	G0, G1c, GSingle, G2Item,
}

const (
	dep = bWW | bWR | bRW
	prc = bProcess
	rt  = bProcess | bRealtime // realtime classes may use process edges too
)

// cycleSpecs: a -process or -realtime search starts only from an edge
// that is purely of its kind: an edge that also carries a dependency (or,
// for realtime, process) reason belongs to the stronger class's search.
var cycleSpecs = []cycleSpec{
	{G0, bWW, bWW, -1, false, 0},
	{G1c, bWW | bWR, bWR, -1, true, 0},
	{GSingle, dep, bRW, 1, false, 0},
	{G2Item, dep, bRW, 2, false, 0},
	{G0Process, bWW | prc, bProcess, -1, false, bWW},
	{G1cProcess, bWW | bWR | prc, bProcess, -1, true, bWW | bWR},
	{GSingleProcess, dep | prc, bProcess, 1, false, dep},
	{G2ItemProcess, dep | prc, bProcess, 2, false, dep},
	{G0Realtime, bWW | rt, bRealtime, -1, false, bWW | bProcess},
	{G1cRealtime, bWW | bWR | rt, bRealtime, -1, true, bWW | bWR | bProcess},
	{GSingleRealtime, dep | rt, bRealtime, 1, false, dep | bProcess},
	{G2ItemRealtime, dep | rt, bRealtime, 2, false, dep | bProcess},
}

// Options tune Check. The zero value is the default.
type Options struct {
	// Witnesses is how many examples to keep per class (default 3).
	Witnesses int
	// SearchBudget bounds the BFS states visited looking for one class
	// of cycle in one strongly connected component (default 4,000,000).
	// A search that runs out marks the class Incomplete.
	SearchBudget int
}

// Result is what Check found.
type Result struct {
	// Verdict is "valid" (nothing found), "invalid" (something found) or
	// "unknown" (nothing found but a search was cut short).
	Verdict string `json:"verdict"`
	// Txns is the number of transactions checked, by outcome.
	Txns     int `json:"txns"`
	OK       int `json:"ok"`
	Failed   int `json:"failed"`
	Unknowns int `json:"unknown"`
	// Edges counts the graph's edges by kind (a pair of transactions
	// related for two reasons counts once under each).
	Edges map[EdgeKind]int `json:"edges"`
	// Counts is the number of anomalies per class found (classes with
	// none are absent). A cycle class counts strongly connected
	// components holding such a cycle, one witness cycle each: the number
	// of distinct cycles can be exponential. Direct classes count
	// distinct (key, value) pairs, except incompatible-order (keys) and
	// lost-append (appends).
	Counts map[Class]int `json:"counts"`
	// Anomalies holds each class found, in AllClasses order.
	Anomalies []Finding `json:"anomalies"`
	// Incomplete lists classes whose search ran out of budget in some
	// component without finding one: they may be under-counted.
	Incomplete []Class `json:"incomplete,omitempty"`
}

// Finding is one class with its count and a few witnesses.
type Finding struct {
	Class     Class     `json:"class"`
	Count     int       `json:"count"`
	Witnesses []Witness `json:"witnesses"`
}

// Witness is one example of an anomaly: a sentence, the cycle (for cycle
// classes) with the reason for each edge, and the transactions involved as
// they were recorded.
type Witness struct {
	Summary string `json:"summary"`
	Cycle   []Step `json:"cycle,omitempty"`
	Txns    []Txn  `json:"txns"`
}

// Step is one edge of a witness cycle: From must precede To because Why.
type Step struct {
	From int64    `json:"from"`
	To   int64    `json:"to"`
	Kind EdgeKind `json:"kind"`
	Why  string   `json:"why"`
}

// Has reports whether r found any anomaly of the given classes.
func (r *Result) Has(classes ...Class) bool {
	for _, c := range classes {
		if r.Counts[c] > 0 {
			return true
		}
	}
	return false
}

type kv struct {
	key int
	val int64
}

// checker is the state of one Check.
type checker struct {
	h     []Txn
	opt   Options
	start []int64 // UnixNano, per txn
	end   []int64
	edges edgeList

	lists listState
	regs  regState

	counts     map[Class]int
	witnesses  map[Class][]Witness
	seenDirect map[directKey]bool
}

type directKey struct {
	class Class
	key   objKey
	val   int64
}

// objKey names a list or a register: the two models' keys are separate.
type objKey struct {
	reg bool
	key int
}

func listKeyOf(k int) objKey { return objKey{key: k} }
func regKey(k int) objKey    { return objKey{reg: true, key: k} }

// Check analyses history h and reports the anomalies it proves. It
// returns an error only for a history it cannot interpret (unknown ops or
// outcomes, duplicate ids, a value written twice to one key).
func Check(h []Txn, opt Options) (*Result, error) {
	if opt.Witnesses <= 0 {
		opt.Witnesses = 3
	}
	if opt.SearchBudget <= 0 {
		opt.SearchBudget = 4_000_000
	}
	if err := validate(h); err != nil {
		return nil, err
	}
	c := &checker{
		h: h, opt: opt,
		counts:     map[Class]int{},
		witnesses:  map[Class][]Witness{},
		seenDirect: map[directKey]bool{},
	}
	c.start = make([]int64, len(h))
	c.end = make([]int64, len(h))
	for i := range h {
		c.start[i] = h[i].Start.UnixNano()
		c.end[i] = h[i].End.UnixNano()
	}
	// Each op gives about two dependency edges, each txn one process edge
	// and a few realtime ones: sizing the list once saves the copies of
	// growing it (a fifth of the time at 1M txns, bench/anomaly).
	nops := 0
	for i := range h {
		nops += len(h[i].Ops)
	}
	c.edges.reserve(2*nops + 4*len(h))
	if err := c.indexLists(); err != nil {
		return nil, err
	}
	if err := c.indexRegisters(); err != nil {
		return nil, err
	}
	c.analyzeLists()
	c.analyzeRegisters()
	c.processEdges()
	c.realtimeEdges()

	g := c.edges.build(len(h))
	c.edges = edgeList{} // let the collection go before the searches
	res := &Result{Txns: len(h), Edges: map[EdgeKind]int{}, Counts: map[Class]int{}}
	for i := range h {
		switch h[i].Outcome {
		case OK:
			res.OK++
		case Fail:
			res.Failed++
		default:
			res.Unknowns++
		}
	}
	for _, k := range g.kind {
		for b := 0; b < nKinds; b++ {
			if k&(1<<b) != 0 {
				res.Edges[kindOfBit[b]]++
			}
		}
	}
	incomplete := c.searchCycles(g)

	for _, cl := range AllClasses {
		if n := c.counts[cl]; n > 0 {
			res.Counts[cl] = n
			res.Anomalies = append(res.Anomalies, Finding{Class: cl, Count: n, Witnesses: c.witnesses[cl]})
		}
		if incomplete[cl] {
			res.Incomplete = append(res.Incomplete, cl)
		}
	}
	switch {
	case len(res.Anomalies) > 0:
		res.Verdict = "invalid"
	case len(res.Incomplete) > 0:
		res.Verdict = "unknown"
	default:
		res.Verdict = "valid"
	}
	return res, nil
}

// searchCycles finds, for each cycle class, the components of the graph
// restricted to the class's edges and in each the shortest cycle of the
// class it can.
func (c *checker) searchCycles(g *graph) map[Class]bool {
	incomplete := map[Class]bool{}
	type sccs struct {
		comp    []int32
		members [][]int32
	}
	byMask := map[uint8]*sccs{}
	// The widest graph first: if it has no component, no narrower one has.
	widest := dep | rt
	cw, mw := g.sccs(widest)
	if len(mw) == 0 {
		return incomplete
	}
	byMask[widest] = &sccs{cw, mw}
	sr := newSearcher(g)
	type found struct {
		cy  cycle
		min int32
	}
	for i := range cycleSpecs {
		s := &cycleSpecs[i]
		sc := byMask[s.allowed]
		if sc == nil {
			comp, members := g.sccs(s.allowed)
			sc = &sccs{comp, members}
			byMask[s.allowed] = sc
		}
		var all []found
		for ci, ms := range sc.members {
			cy, ok, exhausted := sr.shortest(s, sc.comp, int32(ci), ms, c.opt.SearchBudget)
			if ok {
				all = append(all, found{cy, slices.Min(cy.nodes)})
			} else if exhausted {
				incomplete[s.class] = true
			}
		}
		if len(all) == 0 {
			continue
		}
		c.counts[s.class] = len(all)
		slices.SortFunc(all, func(a, b found) int {
			return cmp.Or(cmp.Compare(len(a.cy.nodes), len(b.cy.nodes)), cmp.Compare(a.min, b.min))
		})
		for _, f := range all[:min(len(all), c.opt.Witnesses)] {
			c.witnesses[s.class] = append(c.witnesses[s.class], c.cycleWitness(s.class, f.cy))
		}
	}
	return incomplete
}

// direct records one direct (non-cycle) anomaly, once per (class, key,
// value); txns are the transaction indices the witness shows.
func (c *checker) direct(cl Class, key objKey, val int64, summary string, txns ...int32) {
	dk := directKey{cl, key, val}
	if c.seenDirect[dk] {
		return
	}
	c.seenDirect[dk] = true
	c.counts[cl]++
	if len(c.witnesses[cl]) < c.opt.Witnesses {
		c.witnesses[cl] = append(c.witnesses[cl], Witness{Summary: summary, Txns: c.txnCopies(txns, key)})
	}
}

// maxWitnessOps is how many ops a witness shows of one transaction
// before it keeps only the ops on the witness's keys: a final read of
// every key would otherwise put the whole database in a report.
const maxWitnessOps = 8

// txnCopies copies the transactions a witness shows. A transaction with
// more than maxWitnessOps ops keeps only those on keys that key (when
// given) or the other shown transactions touch, and says how many it
// dropped.
func (c *checker) txnCopies(idx []int32, key ...objKey) []Txn {
	out := make([]Txn, 0, len(idx))
	for i, x := range idx {
		if slices.Contains(idx[:i], x) {
			continue
		}
		t := c.h[x]
		if len(t.Ops) > maxWitnessOps {
			keep := map[objKey]bool{}
			for _, k := range key {
				keep[k] = true
			}
			for _, y := range idx {
				if y == x || len(c.h[y].Ops) > maxWitnessOps {
					continue
				}
				for _, o := range c.h[y].Ops {
					keep[opKey(o)] = true
				}
			}
			ops := make([]Op, 0, len(keep))
			for _, o := range t.Ops {
				if keep[opKey(o)] {
					ops = append(ops, o)
				}
			}
			t.OpsElided = len(t.Ops) - len(ops)
			t.Ops = ops
		}
		out = append(out, t)
	}
	return out
}

func opKey(o Op) objKey {
	if o.F == Write || o.F == ReadRegister {
		return regKey(o.Key)
	}
	return listKeyOf(o.Key)
}

// label is how witnesses name a transaction.
func (c *checker) label(i int32) string { return "T" + itoa(c.h[i].ID) }

func (c *checker) clock(ns int64) string {
	return time.Unix(0, ns).UTC().Format("15:04:05.000000")
}
