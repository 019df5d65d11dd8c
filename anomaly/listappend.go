package anomaly

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// appendRec is one append of a value to a list key, by any transaction.
type appendRec struct {
	key          int
	val          int64
	txn          int32
	pos          int32 // index in the key's version order, −1 if no read saw it there
	intermediate bool  // its transaction appended to the same key again later
	seen         bool  // some committed read returned it
}

type readRef struct{ txn, op int32 }

// listKey is what the checker knows of one list key.
type listKey struct {
	order   []int64 // the version order: the longest committed read
	orderBy readRef
	apps    []int32 // indices into listState.apps
	reads   []readRef
	finals  []readRef
}

type listState struct {
	apps []appendRec
	idx  map[kv]int32 // (key, value) -> apps index
	keys map[int]*listKey
}

func (c *checker) listKey(k int) *listKey {
	lk := c.lists.keys[k]
	if lk == nil {
		lk = &listKey{}
		c.lists.keys[k] = lk
	}
	return lk
}

// indexLists records every append and every committed list read, and
// picks each key's longest read as its version order.
func (c *checker) indexLists() error {
	c.lists.idx = map[kv]int32{}
	c.lists.keys = map[int]*listKey{}
	for i := range c.h {
		t := &c.h[i]
		for j, o := range t.Ops {
			switch o.F {
			case Append:
				id := kv{o.Key, o.Value}
				if prev, dup := c.lists.idx[id]; dup {
					return fmt.Errorf("txns %d and %d both append %d to key %d: appended values must be unique per key",
						c.h[c.lists.apps[prev].txn].ID, t.ID, o.Value, o.Key)
				}
				inter := false
				for _, later := range t.Ops[j+1:] {
					if later.F == Append && later.Key == o.Key {
						inter = true
						break
					}
				}
				c.lists.idx[id] = int32(len(c.lists.apps))
				lk := c.listKey(o.Key)
				lk.apps = append(lk.apps, int32(len(c.lists.apps)))
				c.lists.apps = append(c.lists.apps, appendRec{key: o.Key, val: o.Value, txn: int32(i), pos: -1, intermediate: inter})
			case ReadList:
				if t.Outcome != OK {
					continue
				}
				lk := c.listKey(o.Key)
				r := readRef{int32(i), int32(j)}
				lk.reads = append(lk.reads, r)
				if t.Final {
					lk.finals = append(lk.finals, r)
				}
				if len(lk.reads) == 1 || len(o.List) > len(lk.order) {
					lk.order, lk.orderBy = o.List, r
				}
			}
		}
	}
	return nil
}

func (c *checker) readOp(r readRef) *Op { return &c.h[r.txn].Ops[r.op] }

// analyzeLists derives, key by key, the direct list-append anomalies and
// the ww, wr and rw edges.
//
// The version order of a key is its longest committed read L: appends are
// only ever added at the end, so every committed read must be a prefix of
// L. Then, for reads R that are prefixes of L:
//
//   - ww: the appender of L[i] precedes the appender of L[i+1];
//   - wr: the appender of R's last element precedes R's transaction;
//   - rw: R's transaction precedes the appender of L[len(R)], the first
//     element it did not see.
//
// A read that is not a prefix of L is reported as incompatible-order and
// gives no edges: there is no single order to derive them from.
func (c *checker) analyzeLists() {
	keys := make([]int, 0, len(c.lists.keys))
	for k := range c.lists.keys {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dup := map[int64]struct{}{}
	for _, k := range keys {
		lk := c.lists.keys[k]
		L := lk.order
		// Positions of the version order, and what is wrong inside L.
		clear(dup)
		for i, v := range L {
			if _, twice := dup[v]; twice {
				c.duplicate(k, v, lk.orderBy)
				continue
			}
			dup[v] = struct{}{}
			ai, ok := c.lists.idx[kv{k, v}]
			if !ok {
				c.garbage(k, v, lk.orderBy)
				continue
			}
			a := &c.lists.apps[ai]
			a.pos, a.seen = int32(i), true
			if c.h[a.txn].Outcome == Fail {
				c.direct(G1a, listKeyOf(k), v, fmt.Sprintf("%s appended %d to key %d and failed; %s read key %d as %s",
					c.label(a.txn), v, k, c.label(lk.orderBy.txn), k, fmtListUpTo(L, i)), a.txn, lk.orderBy.txn)
			}
		}
		for i := 1; i < len(L); i++ {
			p, q := c.appender(k, L[i-1]), c.appender(k, L[i])
			if p >= 0 && q >= 0 {
				c.edges.add(p, q, bWW)
			}
		}
		for _, r := range lk.reads {
			c.listRead(k, lk, r, dup)
		}
		c.lostAppends(k, lk)
	}
}

// appender is the transaction that appended v to key k, or −1 if none
// did or it failed (a failed txn is no node of the graph).
func (c *checker) appender(k int, v int64) int32 {
	ai, ok := c.lists.idx[kv{k, v}]
	if !ok {
		return -1
	}
	t := c.lists.apps[ai].txn
	if c.h[t].Outcome == Fail {
		return -1
	}
	return t
}

func (c *checker) listRead(k int, lk *listKey, r readRef, dup map[int64]struct{}) {
	L := lk.order
	R := c.readOp(r).List
	prefix := len(R) <= len(L) && slices.Equal(R, L[:len(R)])
	if !prefix {
		c.direct(IncompatibleOrder, listKeyOf(k), 0, fmt.Sprintf("%s read key %d as %s and %s read it as %s: neither is a prefix of the other",
			c.label(r.txn), k, fmtList(R), c.label(lk.orderBy.txn), fmtList(L)), r.txn, lk.orderBy.txn)
		// What L's scan did for its elements, for this read's own.
		clear(dup)
		for i, v := range R {
			if _, twice := dup[v]; twice {
				c.duplicate(k, v, r)
				continue
			}
			dup[v] = struct{}{}
			ai, ok := c.lists.idx[kv{k, v}]
			if !ok {
				c.garbage(k, v, r)
				continue
			}
			a := &c.lists.apps[ai]
			a.seen = true
			if c.h[a.txn].Outcome == Fail {
				c.direct(G1a, listKeyOf(k), v, fmt.Sprintf("%s appended %d to key %d and failed; %s read key %d as %s",
					c.label(a.txn), v, k, c.label(r.txn), k, fmtListUpTo(R, i)), a.txn, r.txn)
			}
		}
	}
	if len(R) > 0 {
		last := R[len(R)-1]
		if ai, ok := c.lists.idx[kv{k, last}]; ok {
			a := &c.lists.apps[ai]
			switch {
			case a.txn == r.txn || c.h[a.txn].Outcome == Fail:
				// Its own write, or G1a (reported above).
			case a.intermediate:
				c.direct(G1b, listKeyOf(k), last, fmt.Sprintf("%s appended %d to key %d and then appended to it again; %s read key %d as %s, a state that never committed",
					c.label(a.txn), last, k, c.label(r.txn), k, fmtList(R)), a.txn, r.txn)
			case prefix:
				c.edges.add(a.txn, r.txn, bWR)
			}
		}
	}
	if prefix && len(R) < len(L) {
		if w := c.appender(k, L[len(R)]); w >= 0 {
			c.edges.add(r.txn, w, bRW)
		}
	}
}

func (c *checker) duplicate(k int, v int64, r readRef) {
	c.direct(DuplicateElements, listKeyOf(k), v, fmt.Sprintf("%s read key %d as %s: %d appears more than once",
		c.label(r.txn), k, fmtList(c.readOp(r).List), v), r.txn)
}

func (c *checker) garbage(k int, v int64, r readRef) {
	c.direct(GarbageRead, listKeyOf(k), v, fmt.Sprintf("%s read key %d as %s: no transaction appended %d to key %d",
		c.label(r.txn), k, fmtList(c.readOp(r).List), v, k), r.txn)
}

// lostAppends judges key k's appends against its final reads: an append
// that took effect (its transaction committed, or a read saw it) must be
// in every final read, since final reads are made after replication has
// converged. Keys without final reads are not judged: an append nobody
// read may simply have come after the last read.
func (c *checker) lostAppends(k int, lk *listKey) {
	if len(lk.finals) == 0 {
		return
	}
	L := lk.order
	// For a final read that is a prefix of L, membership is pos < len;
	// others need a set.
	sets := make([]map[int64]bool, len(lk.finals))
	for i, f := range lk.finals {
		F := c.readOp(f).List
		if len(F) <= len(L) && slices.Equal(F, L[:len(F)]) {
			continue
		}
		sets[i] = make(map[int64]bool, len(F))
		for _, v := range F {
			sets[i][v] = true
		}
	}
	for _, ai := range lk.apps {
		a := &c.lists.apps[ai]
		o := c.h[a.txn].Outcome
		if o == Fail || (o == Unknown && !a.seen) {
			continue
		}
		var missing []int32
		var nodes []string
		for i, f := range lk.finals {
			in := false
			if sets[i] == nil {
				in = a.pos >= 0 && int(a.pos) < len(c.readOp(f).List)
			} else {
				in = sets[i][a.val]
			}
			if !in {
				missing = append(missing, f.txn)
				nodes = append(nodes, c.nodeOf(f.txn))
			}
		}
		if len(missing) == 0 {
			continue
		}
		how := "was acknowledged"
		if o == Unknown {
			how = "had an unknown outcome but was read"
		}
		c.direct(LostAppend, listKeyOf(k), a.val, fmt.Sprintf("%s appended %d to key %d and %s; the final read of key %d on %s does not contain it",
			c.label(a.txn), a.val, k, how, k, strings.Join(nodes, ", ")), append([]int32{a.txn}, missing...)...)
	}
}

// nodeOf names where a transaction ran: the node that served it, else its
// target.
func (c *checker) nodeOf(i int32) string {
	if s := c.h[i].ServedBy; s != "" {
		return s
	}
	return c.h[i].Target
}

// fmtList renders a list read, eliding all but its last elements: the
// tail is what witnesses argue about.
func fmtList(l []int64) string {
	const tail = 4
	var b strings.Builder
	b.WriteByte('[')
	from := 0
	if len(l) > tail+1 {
		from = len(l) - tail
		b.WriteString("..")
	}
	for i := from; i < len(l); i++ {
		if b.Len() > 1 {
			b.WriteByte(' ')
		}
		b.WriteString(strconv.FormatInt(l[i], 10))
	}
	b.WriteByte(']')
	return b.String()
}

// fmtListUpTo renders l up to element i, marking what follows as "..":
// the element the witness is about is the last one shown.
func fmtListUpTo(l []int64, i int) string {
	s := fmtList(l[:i+1])
	if i+1 < len(l) {
		s = s[:len(s)-1] + " ..]"
	}
	return s
}

func itoa(i int64) string { return strconv.FormatInt(i, 10) }
