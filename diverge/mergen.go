package diverge

import (
	"time"

	"github.com/pgchaos/pgchaos/reports"
)

// The comparison of more than two nodes: a range's rows from every node
// are merged into one list of keys, each with the version every node holds.

// mergeN compares one range's rows from every node (lists[k] from
// nodes[k], each in key order) and returns the divergent ones: rows some
// node lacks, or that the nodes holding them do not all hold alike. Keys
// are matched by their text, so Go never has to know PostgreSQL's
// ordering, through a map of the range's keys (at most a leaf, or a
// streamed part, a node). The result follows every node's key order, as
// merge's does for two.
func mergeN(lists [][]leafRow, nodes []string) []finding {
	var out []finding
	for _, e := range union(lists) {
		if f, ok := classify(e, nodes); ok {
			out = append(out, f)
		}
	}
	return out
}

// unionRow is one key of a range and the row hash each node holds for it.
type unionRow struct {
	r    leafRow
	hash []int64
	has  []bool
}

// union lists every key of the lists once, with each node's hash, in an
// order that keeps each list's: at each step it takes a key that heads
// every list holding it. Lists that name the same keys in step, the usual
// case of rows that changed without any going missing, need no map. Where
// no key heads every list holding it (two nodes disagree on the order,
// which one collation cannot produce), the first list's head is taken
// anyway and every row is still matched by key.
func union(lists [][]leafRow) []unionRow {
	n := len(lists)
	newRow := func(r leafRow) unionRow {
		return unionRow{r: r, hash: make([]int64, n), has: make([]bool, n)}
	}
	if inStep(lists) {
		out := make([]unionRow, len(lists[0]))
		for i, r := range lists[0] {
			out[i] = newRow(r)
			for k := range lists {
				out[i].hash[k], out[i].has[k] = lists[k][i].hash, true
			}
		}
		return out
	}
	pos := map[string][]int{} // key → its index in each list, -1 where absent
	for k, l := range lists {
		for i, r := range l {
			p := pos[r.key]
			if p == nil {
				p = make([]int, n)
				for j := range p {
					p[j] = -1
				}
				pos[r.key] = p
			}
			p[k] = i
		}
	}
	out := make([]unionRow, 0, len(pos))
	taken := make(map[string]bool, len(pos))
	head := make([]int, n)
	for len(out) < len(pos) {
		pick := -1
		for k, l := range lists {
			for head[k] < len(l) && taken[l[head[k]].key] {
				head[k]++
			}
			if head[k] == len(l) {
				continue
			}
			if pick < 0 {
				pick = k // the fallback: the first list with rows left
			}
			if heads(pos[l[head[k]].key], head) {
				pick = k
				break
			}
		}
		r := lists[pick][head[pick]]
		e := newRow(r)
		for k, i := range pos[r.key] {
			if i >= 0 {
				e.hash[k], e.has[k] = lists[k][i].hash, true
			}
		}
		taken[r.key] = true
		out = append(out, e)
	}
	return out
}

// inStep says whether the lists name the same keys in the same order.
func inStep(lists [][]leafRow) bool {
	for _, l := range lists[1:] {
		if len(l) != len(lists[0]) {
			return false
		}
		for i := range l {
			if l[i].key != lists[0][i].key {
				return false
			}
		}
	}
	return true
}

// heads says whether a key at positions p (-1: absent) heads every list
// that holds it.
func heads(p, head []int) bool {
	for k, i := range p {
		if i >= 0 && i != head[k] {
			return false
		}
	}
	return true
}

// classify turns a union row into a finding, false when every node holds
// the row alike. Versions are numbered in node order from 0; the kind is
// Different when the holders hold more than one version, else
// MissingOn(the nodes that lack it).
func classify(e unionRow, nodes []string) (finding, bool) {
	vers := make([]int, len(nodes))
	var hashes []int64
	var lack []string
	for k := range nodes {
		if !e.has[k] {
			vers[k] = -1
			lack = append(lack, nodes[k])
			continue
		}
		v := -1
		for i, h := range hashes {
			if h == e.hash[k] {
				v = i
				break
			}
		}
		if v < 0 {
			v = len(hashes)
			hashes = append(hashes, e.hash[k])
		}
		vers[k] = v
	}
	f := finding{key: e.r.key, cols: e.r.cols, vers: vers}
	switch {
	case len(hashes) > 1:
		f.kind = reports.Different
	case len(lack) > 0:
		f.kind = reports.MissingOn(lack...)
	default:
		return finding{}, false
	}
	return f, true
}

// versions groups the nodes by the version of a row they hold (vers, as
// classify numbers them), in the order of each group's first node, with
// each version's row as the first of its nodes fetched it; the nodes that
// lack the row form a group without one.
func versions(vers []int, nodes []string, ds []detail) []reports.RowVersion {
	var out []reports.RowVersion
	at := map[int]int{} // version → index in out
	for k, v := range vers {
		i, ok := at[v]
		if !ok {
			i = len(out)
			at[v] = i
			rv := reports.RowVersion{}
			if v >= 0 {
				rv.Row = ds[k].json
			}
			out = append(out, rv)
		}
		out[i].Nodes = append(out[i].Nodes, nodes[k])
	}
	return out
}

// lastWriterN names the node whose commit of a row was last, among more
// than two nodes: the latest commit time of any node's version, written
// by the node that holds that version with no replication origin (written
// there, not applied). Empty when a holder's time is unknown, when two
// versions share the latest time, or when no holder of the latest version
// wrote it itself (it was applied everywhere it is: which peer sent it
// takes the origin's name, which pgchaos does not map across engines).
func lastWriterN(vers []int, nodes []string, ds []detail) string {
	var latest *time.Time
	for k, v := range vers {
		if v < 0 {
			continue
		}
		ts := ds[k].ts
		if ts == nil {
			return ""
		}
		if latest == nil || ts.After(*latest) {
			latest = ts
		}
	}
	if latest == nil {
		return ""
	}
	writer, top := "", -1
	for k, v := range vers {
		if v < 0 || !ds[k].ts.Equal(*latest) {
			continue
		}
		if top >= 0 && v != top {
			return "" // two versions committed at the same instant
		}
		top = v
		if o := ds[k].origin; o != nil && *o == 0 && writer == "" {
			writer = nodes[k]
		}
	}
	return writer
}
