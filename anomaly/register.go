package anomaly

import (
	"fmt"
	"slices"
)

// regWrite is one write of a value to a register, by any transaction.
type regWrite struct {
	key          int
	val          int64
	txn          int32
	op           int32
	intermediate bool // its transaction wrote the same register again later
	hasPred      bool // some version is known to precede it (besides the initial nil)
}

type regState struct {
	writes []regWrite
	idx    map[kv]int32 // (key, value) -> writes index
	byKey  map[int][]int32
	// succ[succOff[w]:succOff[w+1]] are the writes known to follow write w.
	succOff []int32
	succ    []int32
	// why[i] is the transaction whose ops showed succ[i] follows its write.
	why []int32
}

// indexRegisters records every write, then infers what version order the
// history proves.
//
// Register versions carry no history of their own, so their order is only
// known where a committed transaction shows it:
//
//   - the initial state (nil) precedes every write;
//   - a transaction that read v (or nil) and then wrote w to the same
//     register puts v before w (writes follow reads);
//   - a transaction that wrote w1 and then w2 to one register puts w1
//     before w2.
//
// The order of two blind writes (writes not preceded by a read of the
// register in their transaction) is not inferable: no ww edge joins them,
// and a G0 made only of blind writes cannot be seen. Realtime order is not
// used to order versions, because asynchronous replication does not
// install them in realtime order.
func (c *checker) indexRegisters() error {
	rs := &c.regs
	rs.idx = map[kv]int32{}
	rs.byKey = map[int][]int32{}
	for i := range c.h {
		t := &c.h[i]
		for j, o := range t.Ops {
			if o.F != Write {
				continue
			}
			id := kv{o.Key, o.Value}
			if prev, dup := rs.idx[id]; dup {
				return fmt.Errorf("txns %d and %d both write %d to register %d: written values must be unique per register",
					c.h[rs.writes[prev].txn].ID, t.ID, o.Value, o.Key)
			}
			inter := false
			for _, later := range t.Ops[j+1:] {
				if later.F == Write && later.Key == o.Key {
					inter = true
					break
				}
			}
			rs.idx[id] = int32(len(rs.writes))
			rs.byKey[o.Key] = append(rs.byKey[o.Key], int32(len(rs.writes)))
			rs.writes = append(rs.writes, regWrite{key: o.Key, val: o.Value, txn: int32(i), op: int32(j), intermediate: inter})
		}
	}
	if len(rs.writes) == 0 {
		return nil
	}
	type pair struct{ from, to, why int32 }
	var pairs []pair
	for i := range c.h {
		t := &c.h[i]
		if t.Outcome != OK {
			continue
		}
		for j, o := range t.Ops {
			if o.F != Write {
				continue
			}
			w := rs.idx[kv{o.Key, o.Value}]
			// The op on this register just before the write.
			for p := j - 1; p >= 0; p-- {
				q := t.Ops[p]
				if q.Key != o.Key || (q.F != Write && q.F != ReadRegister) {
					continue
				}
				if q.F == ReadRegister && q.Nil {
					break // nil precedes every write anyway
				}
				if v, ok := rs.idx[kv{q.Key, q.Value}]; ok && c.h[rs.writes[v].txn].Outcome != Fail {
					pairs = append(pairs, pair{v, w, int32(i)})
					rs.writes[w].hasPred = true
				}
				break
			}
		}
	}
	slices.SortFunc(pairs, func(a, b pair) int { return int(a.from) - int(b.from) })
	rs.succOff = make([]int32, len(rs.writes)+1)
	rs.succ = make([]int32, len(pairs))
	rs.why = make([]int32, len(pairs))
	for i, p := range pairs {
		rs.succOff[p.from+1]++
		rs.succ[i], rs.why[i] = p.to, p.why
	}
	for i := range rs.writes {
		rs.succOff[i+1] += rs.succOff[i]
	}
	return nil
}

// writer is the transaction of write w, or −1 if it failed.
func (c *checker) regWriter(w int32) int32 {
	t := c.regs.writes[w].txn
	if c.h[t].Outcome == Fail {
		return -1
	}
	return t
}

// analyzeRegisters derives the register edges and direct anomalies:
//
//   - ww: for each inferred pair v before w, v's writer precedes w's;
//   - wr: a committed transaction that read v follows v's writer;
//   - rw: a transaction that read v (or nil) precedes the writer of every
//     write known to follow v (for nil: every write with no other known
//     predecessor).
//
// Reads a transaction makes of a register it already wrote see its own
// write and give no edge.
func (c *checker) analyzeRegisters() {
	rs := &c.regs
	for w := range rs.writes {
		a := c.regWriter(int32(w))
		for i := rs.succOff[w]; i < rs.succOff[w+1]; i++ {
			if b := c.regWriter(rs.succ[i]); a >= 0 && b >= 0 {
				c.edges.add(a, b, bWW)
			}
		}
	}
	var minimal map[int][]int32 // per key, the writes with no known predecessor
	for i := range c.h {
		t := &c.h[i]
		if t.Outcome != OK {
			continue
		}
		ti := int32(i)
	ops:
		for j, o := range t.Ops {
			if o.F != ReadRegister {
				continue
			}
			for _, p := range t.Ops[:j] {
				if p.F == Write && p.Key == o.Key {
					continue ops
				}
			}
			if o.Nil {
				if minimal == nil {
					minimal = map[int][]int32{}
				}
				ms, done := minimal[o.Key]
				if !done {
					for _, w := range rs.byKey[o.Key] {
						if !rs.writes[w].hasPred {
							ms = append(ms, w)
						}
					}
					minimal[o.Key] = ms
				}
				for _, w := range ms {
					if b := c.regWriter(w); b >= 0 {
						c.edges.add(ti, b, bRW)
					}
				}
				continue
			}
			w, ok := rs.idx[kv{o.Key, o.Value}]
			if !ok {
				c.direct(GarbageRead, regKey(o.Key), o.Value, fmt.Sprintf("%s read register %d as %d: no transaction wrote %d to register %d",
					c.label(ti), o.Key, o.Value, o.Value, o.Key), ti)
				continue
			}
			wr := &rs.writes[w]
			switch {
			case wr.txn == ti:
				// Read its own later write: impossible, but not an anomaly class
				// of this checker; it gives no edge.
				continue
			case c.h[wr.txn].Outcome == Fail:
				c.direct(G1a, regKey(o.Key), o.Value, fmt.Sprintf("%s wrote %d to register %d and failed; %s read register %d as %d",
					c.label(wr.txn), o.Value, o.Key, c.label(ti), o.Key, o.Value), wr.txn, ti)
				continue
			case wr.intermediate:
				c.direct(G1b, regKey(o.Key), o.Value, fmt.Sprintf("%s wrote %d to register %d and then wrote it again; %s read register %d as %d, a state that never committed",
					c.label(wr.txn), o.Value, o.Key, c.label(ti), o.Key, o.Value), wr.txn, ti)
				continue
			}
			c.edges.add(wr.txn, ti, bWR)
			for s := rs.succOff[w]; s < rs.succOff[w+1]; s++ {
				if b := c.regWriter(rs.succ[s]); b >= 0 {
					c.edges.add(ti, b, bRW)
				}
			}
		}
	}
}
