package anomaly

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// cycleWitness turns a found cycle into a witness, explaining each edge
// from the two transactions' ops. Explanations are derived again here,
// for the few witnesses only, so the graph needs no per-edge record of
// why it holds.
func (c *checker) cycleWitness(cl Class, cy cycle) Witness {
	var w Witness
	var sum strings.Builder
	sum.WriteString(string(cl))
	sum.WriteString(": ")
	for i, from := range cy.nodes {
		to := cy.nodes[(i+1)%len(cy.nodes)]
		bit := cy.kinds[i]
		kind := kindOfBit[bitIndex(bit)]
		w.Cycle = append(w.Cycle, Step{From: c.h[from].ID, To: c.h[to].ID, Kind: kind, Why: c.explain(from, to, bit)})
		fmt.Fprintf(&sum, "%s -%s-> ", c.label(from), kind)
	}
	sum.WriteString(c.label(cy.nodes[0]))
	w.Summary = sum.String()
	w.Txns = c.txnCopies(cy.nodes)
	return w
}

func bitIndex(b uint8) int {
	for i := 0; i < nKinds; i++ {
		if b == 1<<i {
			return i
		}
	}
	return 0
}

// explain says in words why edge a -bit-> b holds.
func (c *checker) explain(a, b int32, bit uint8) string {
	A, B := c.label(a), c.label(b)
	ta, tb := &c.h[a], &c.h[b]
	switch bit {
	case bProcess:
		return fmt.Sprintf("%s and %s ran in the same process (%s worker %d); %s committed at %s before %s began at %s, so %s -process-> %s",
			A, B, ta.Target, ta.Worker, A, c.clock(c.end[a]), B, c.clock(c.start[b]), A, B)
	case bRealtime:
		return fmt.Sprintf("%s committed at %s before %s began at %s, so %s -realtime-> %s",
			A, c.clock(c.end[a]), B, c.clock(c.start[b]), A, B)
	}
	for _, oa := range ta.Ops {
		for _, ob := range tb.Ops {
			if oa.Key != ob.Key {
				continue
			}
			if s := c.explainList(a, b, oa, ob, bit); s != "" {
				return s
			}
			if s := c.explainRegister(a, b, oa, ob, bit); s != "" {
				return s
			}
		}
	}
	return fmt.Sprintf("%s -%s-> %s", A, kindOfBit[bitIndex(bit)], B)
}

func (c *checker) explainList(a, b int32, oa, ob Op, bit uint8) string {
	A, B := c.label(a), c.label(b)
	k := oa.Key
	lk := c.lists.keys[k]
	if lk == nil {
		return ""
	}
	L := lk.order
	pos := func(v int64) int {
		if ai, ok := c.lists.idx[kv{k, v}]; ok {
			return int(c.lists.apps[ai].pos)
		}
		return -1
	}
	switch bit {
	case bWW:
		if oa.F == Append && ob.F == Append {
			if p, q := pos(oa.Value), pos(ob.Value); p >= 0 && q == p+1 {
				return fmt.Sprintf("%s appended %d to key %d and %s appended %d right after it (key %d was read as %s), so %s -ww-> %s",
					A, oa.Value, k, B, ob.Value, k, fmtList(L[:q+1]), A, B)
			}
		}
	case bWR:
		if oa.F == Append && ob.F == ReadList && len(ob.List) > 0 && ob.List[len(ob.List)-1] == oa.Value {
			return fmt.Sprintf("%s appended %d to key %d; %s read key %d as %s, so %s -wr-> %s",
				A, oa.Value, k, B, k, fmtList(ob.List), A, B)
		}
	case bRW:
		if oa.F == ReadList && ob.F == Append {
			if q := pos(ob.Value); q >= 0 && q == len(oa.List) && slices.Equal(oa.List, L[:q]) {
				if q == 0 {
					return fmt.Sprintf("%s read key %d as []; %s appended %d, its first element, so %s -rw-> %s",
						A, k, B, ob.Value, A, B)
				}
				return fmt.Sprintf("%s read key %d as %s; %s appended %d, the next element after %d, so %s -rw-> %s",
					A, k, fmtList(oa.List), B, ob.Value, oa.List[len(oa.List)-1], A, B)
			}
		}
	}
	return ""
}

func (c *checker) explainRegister(a, b int32, oa, ob Op, bit uint8) string {
	A, B := c.label(a), c.label(b)
	k := oa.Key
	rs := &c.regs
	switch bit {
	case bWR:
		if oa.F == Write && ob.F == ReadRegister && !ob.Nil && ob.Value == oa.Value {
			return fmt.Sprintf("%s wrote %d to register %d; %s read register %d as %d, so %s -wr-> %s",
				A, oa.Value, k, B, k, ob.Value, A, B)
		}
	case bWW:
		if oa.F == Write && ob.F == Write {
			v, w := rs.idx[kv{k, oa.Value}], rs.idx[kv{k, ob.Value}]
			for s := rs.succOff[v]; s < rs.succOff[v+1]; s++ {
				if rs.succ[s] == w {
					return fmt.Sprintf("%s wrote %d to register %d; %s read %d there and then wrote %d, so %d follows %d and %s -ww-> %s",
						A, oa.Value, k, c.label(rs.why[s]), oa.Value, ob.Value, ob.Value, oa.Value, A, B)
				}
			}
		}
	case bRW:
		if oa.F != ReadRegister || ob.F != Write {
			return ""
		}
		w := rs.idx[kv{k, ob.Value}]
		if oa.Nil {
			if !rs.writes[w].hasPred {
				return fmt.Sprintf("%s read register %d as nil (never written); %s wrote %d to it, and every write follows nil, so %s -rw-> %s",
					A, k, B, ob.Value, A, B)
			}
			return ""
		}
		v, ok := rs.idx[kv{k, oa.Value}]
		if !ok {
			return ""
		}
		for s := rs.succOff[v]; s < rs.succOff[v+1]; s++ {
			if rs.succ[s] == w {
				return fmt.Sprintf("%s read register %d as %d; %s read %d there and then wrote %d, so %d follows %d and %s -rw-> %s",
					A, k, oa.Value, c.label(rs.why[s]), oa.Value, ob.Value, ob.Value, oa.Value, A, B)
			}
		}
	}
	return ""
}

// WriteText renders r for people: a verdict line, a count per class,
// then each class's witnesses with the reason for every edge.
func (r *Result) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "anomalies: %s (%d txns: %d ok, %d failed, %d unknown)\n", r.Verdict, r.Txns, r.OK, r.Failed, r.Unknowns)
	for _, f := range r.Anomalies {
		fmt.Fprintf(&b, "  %-20s %d\n", f.Class, f.Count)
	}
	for _, c := range r.Incomplete {
		fmt.Fprintf(&b, "  %-20s search cut short: may be under-counted\n", c)
	}
	for _, f := range r.Anomalies {
		fmt.Fprintf(&b, "\n%s (%d):\n", f.Class, f.Count)
		for _, wi := range f.Witnesses {
			fmt.Fprintf(&b, "  %s\n", wi.Summary)
			for _, s := range wi.Cycle {
				fmt.Fprintf(&b, "    %s\n", s.Why)
			}
			for i := range wi.Txns {
				fmt.Fprintf(&b, "    %s\n", txnLine(&wi.Txns[i]))
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// txnLine is a transaction on one line: id, where it ran, when, outcome,
// ops.
func txnLine(t *Txn) string {
	var b strings.Builder
	fmt.Fprintf(&b, "T%d %s/w%d", t.ID, t.Target, t.Worker)
	if t.ServedBy != "" && t.ServedBy != t.Target {
		fmt.Fprintf(&b, "@%s", t.ServedBy)
	}
	fmt.Fprintf(&b, " %s..%s %s", t.Start.UTC().Format("15:04:05.000000"), t.End.UTC().Format("15:04:05.000000"), t.Outcome)
	if t.Final {
		b.WriteString(" final")
	}
	for _, o := range t.Ops {
		b.WriteString(" [")
		b.WriteString(string(o.F))
		b.WriteByte(' ')
		b.WriteString(strconv.Itoa(o.Key))
		b.WriteByte(' ')
		switch {
		case o.F == ReadList:
			b.WriteString(fmtList(o.List))
		case o.F == ReadRegister && o.Nil:
			b.WriteString("nil")
		default:
			b.WriteString(strconv.FormatInt(o.Value, 10))
		}
		b.WriteByte(']')
	}
	if t.OpsElided > 0 {
		fmt.Fprintf(&b, " (+%d ops on other keys)", t.OpsElided)
	}
	return b.String()
}
