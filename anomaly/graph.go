package anomaly

import (
	"slices"
)

// EdgeKind names why one transaction must precede another.
type EdgeKind string

// Edge kinds. The first three are Adya's dependencies, derived from the
// values transactions read and wrote; the last two come from the clients'
// clocks and sessions.
const (
	WW       EdgeKind = "ww"       // write-write: T2 overwrote (or appended after) T1's version
	WR       EdgeKind = "wr"       // write-read: T2 read the version T1 wrote
	RW       EdgeKind = "rw"       // read-write anti-dependency: T1 read a version that T2 then replaced
	Process  EdgeKind = "process"  // the same process ran T1, then T2
	Realtime EdgeKind = "realtime" // T1 was acknowledged before T2 began
)

// kind bits: an edge between two transactions carries every reason that
// holds, as one byte, so parallel edges cost nothing extra.
const (
	bWW uint8 = 1 << iota
	bWR
	bRW
	bProcess
	bRealtime
	nKinds = 5
)

var kindOfBit = [nKinds]EdgeKind{WW, WR, RW, Process, Realtime}

// edgeList collects edges as parallel slices (12 bytes an edge, no
// per-edge allocation); build turns them into a CSR graph.
type edgeList struct {
	src, dst []int32
	kind     []uint8
}

func (e *edgeList) reserve(n int) {
	e.src = make([]int32, 0, n)
	e.dst = make([]int32, 0, n)
	e.kind = make([]uint8, 0, n)
}

func (e *edgeList) add(src, dst int32, kind uint8) {
	if src == dst || src < 0 || dst < 0 {
		return
	}
	e.src = append(e.src, src)
	e.dst = append(e.dst, dst)
	e.kind = append(e.kind, kind)
}

// graph is a compressed-sparse-row adjacency: node u's out-edges are
// dst[off[u]:off[u+1]] with kinds kind[...], sorted by dst, one entry per
// (u, v) pair with all its kinds ORed.
type graph struct {
	n    int
	off  []int32
	dst  []int32
	kind []uint8
}

// build sorts the edge list by source with a counting sort, then each
// node's short list by destination, merging duplicates.
func (e *edgeList) build(n int) *graph {
	off := make([]int32, n+1)
	for _, s := range e.src {
		off[s+1]++
	}
	for i := 0; i < n; i++ {
		off[i+1] += off[i]
	}
	m := len(e.src)
	dst := make([]int32, m)
	kind := make([]uint8, m)
	pos := make([]int32, n)
	copy(pos, off[:n])
	for i, s := range e.src {
		p := pos[s]
		dst[p] = e.dst[i]
		kind[p] = e.kind[i]
		pos[s]++
	}
	// Sort and merge each node's edges in place; w is the write cursor.
	type de struct {
		d int32
		k uint8
	}
	var buf []de
	w := int32(0)
	newOff := make([]int32, n+1)
	for u := 0; u < n; u++ {
		lo, hi := off[u], off[u+1]
		newOff[u] = w
		if lo == hi {
			continue
		}
		buf = buf[:0]
		for i := lo; i < hi; i++ {
			buf = append(buf, de{dst[i], kind[i]})
		}
		slices.SortFunc(buf, func(a, b de) int { return int(a.d) - int(b.d) })
		for i, x := range buf {
			if i > 0 && buf[i-1].d == x.d {
				kind[w-1] |= x.k
				continue
			}
			dst[w] = x.d
			kind[w] = x.k
			w++
		}
	}
	newOff[n] = w
	return &graph{n: n, off: newOff, dst: dst[:w:w], kind: kind[:w:w]}
}

// sccs labels each node with its strongly connected component in the
// subgraph of edges whose kind intersects mask (Tarjan's algorithm, with
// an explicit stack so deep graphs cannot overflow the goroutine stack).
// It returns comp (−1 for nodes in no component of two or more) and the
// members of each such component.
func (g *graph) sccs(mask uint8) (comp []int32, members [][]int32) {
	n := g.n
	index := make([]int32, n)
	low := make([]int32, n)
	for i := range index {
		index[i] = -1
	}
	onStack := make([]bool, n)
	comp = make([]int32, n)
	for i := range comp {
		comp[i] = -1
	}
	var stack []int32
	type frame struct {
		v  int32
		ei int32 // next edge of v to look at
	}
	var call []frame
	next := int32(0)
	for root := 0; root < n; root++ {
		if index[root] >= 0 || g.off[root] == g.off[root+1] {
			continue
		}
		call = append(call, frame{int32(root), g.off[root]})
		index[root], low[root] = next, next
		next++
		stack = append(stack, int32(root))
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			v := f.v
			pushed := false
			for f.ei < g.off[v+1] {
				i := f.ei
				f.ei++
				if g.kind[i]&mask == 0 {
					continue
				}
				w := g.dst[i]
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					stack = append(stack, w)
					onStack[w] = true
					call = append(call, frame{w, g.off[w]})
					pushed = true
					break
				}
				if onStack[w] && index[w] < low[v] {
					low[v] = index[w]
				}
			}
			if pushed {
				continue
			}
			// v is done: pop its component if it is a root, then
			// propagate its low link to the caller.
			if low[v] == index[v] {
				top := len(stack) - 1
				k := top
				for stack[k] != v {
					k--
				}
				if top > k {
					id := int32(len(members))
					ms := make([]int32, top-k+1)
					copy(ms, stack[k:])
					for _, x := range ms {
						comp[x] = id
					}
					members = append(members, ms)
				}
				for _, x := range stack[k:] {
					onStack[x] = false
				}
				stack = stack[:k]
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].v
				if low[v] < low[p] {
					low[p] = low[v]
				}
			}
		}
	}
	return comp, members
}

// cycleSpec is one class of cycle: which edges it may use, which edge
// kind every search starts from (the rarest kind the class requires),
// and how many anti-dependencies it must have.
type cycleSpec struct {
	class   Class
	allowed uint8
	start   uint8
	rw      int8 // -1 any number, 0 none, 1 exactly one, 2 two or more
	needWR  bool
	// notStart: a start edge that also carries one of these kinds is
	// skipped, so a -realtime cycle is not one that process or dependency
	// edges alone explain (those are reported in their own class).
	notStart uint8
}

// layers of the search state: rw edges seen (0, 1, 2+) times wr seen.
const nLayers = 6

func layerOf(rwc, wr int) int { return rwc*2 + wr }

func (s *cycleSpec) accepts(layer int) bool {
	rwc, wr := layer/2, layer%2
	if s.needWR && wr == 0 {
		return false
	}
	switch s.rw {
	case 0:
		return rwc == 0
	case 1:
		return rwc == 1
	case 2:
		return rwc == 2
	}
	return true
}

// step gives the layer after taking an edge of kind bit from layer, or −1
// when the class forbids it (too many rw edges).
func (s *cycleSpec) step(layer int, bit uint8) int {
	rwc, wr := layer/2, layer%2
	switch bit {
	case bRW:
		rwc++
		if rwc > 2 {
			rwc = 2
		}
		if (s.rw == 0 && rwc > 0) || (s.rw == 1 && rwc > 1) {
			return -1
		}
	case bWR:
		wr = 1
	}
	return layerOf(rwc, wr)
}

// cycle is a found cycle: nodes[i] -kinds[i]-> nodes[i+1], the last
// node leading back to the first.
type cycle struct {
	nodes []int32
	kinds []uint8 // one bit each
}

// searcher holds the BFS arrays, reused across searches; stamps avoid
// clearing them between searches.
type searcher struct {
	g      *graph
	stamp  []int32 // per node*layer: the search that last saw it
	parent []int32 // per node*layer: previous state
	via    []uint8 // per node*layer: edge kind bit taken to get here
	cur    int32
	queue  []int32
	work   int // states visited, for the budget
}

func newSearcher(g *graph) *searcher {
	n := g.n * nLayers
	return &searcher{g: g, stamp: make([]int32, n), parent: make([]int32, n), via: make([]uint8, n)}
}

// shortest finds, in component c (comp[x] == c), the shortest cycle that
// starts with an edge of kind s.start and satisfies s, trying candidate
// start edges until budget states have been visited. ok is false if none
// was found; exhausted says the budget ran out before every candidate was
// tried.
func (sr *searcher) shortest(s *cycleSpec, comp []int32, c int32, members []int32, budget int) (best cycle, ok, exhausted bool) {
	g := sr.g
	sr.work = 0
	const maxAfterFound = 8 // more candidates tried once a cycle is known, to shorten it
	after := 0
	for _, u := range members {
		for i := g.off[u]; i < g.off[u+1]; i++ {
			v := g.dst[i]
			if comp[v] != c || g.kind[i]&s.start == 0 || g.kind[i]&s.notStart != 0 {
				continue
			}
			if sr.work >= budget {
				return best, ok, true
			}
			limit := int32(1 << 30)
			if ok {
				limit = int32(len(best.nodes)) - 1 // path v..u must be shorter to help
				if after >= maxAfterFound {
					return best, ok, false
				}
				after++
			}
			startLayer := s.step(layerOf(0, 0), s.start)
			if startLayer < 0 {
				continue
			}
			if cy, found := sr.bfs(s, comp, c, u, v, startLayer, limit); found {
				if !ok || len(cy.nodes) < len(best.nodes) {
					best, ok = cy, true
				}
			}
		}
	}
	return best, ok, false
}

// bfs searches from state (v, layer) for u in an accepting layer, inside
// component c, within limit edges. The cycle is u -start-> v ... -> u.
func (sr *searcher) bfs(s *cycleSpec, comp []int32, c, u, v int32, layer int, limit int32) (cycle, bool) {
	g := sr.g
	sr.cur++
	stamp := sr.cur
	q := sr.queue[:0]
	st0 := v*nLayers + int32(layer)
	sr.stamp[st0] = stamp
	sr.parent[st0] = -1
	q = append(q, st0)
	depth := int32(0)
	found := int32(-1)
	for head := 0; head < len(q) && found < 0; {
		levelEnd := len(q)
		depth++
		if depth > limit {
			break
		}
		for ; head < levelEnd && found < 0; head++ {
			st := q[head]
			x := st / nLayers
			l := int(st % nLayers)
			sr.work++
			for i := g.off[x]; i < g.off[x+1]; i++ {
				y := g.dst[i]
				if comp[y] != c {
					continue
				}
				ks := g.kind[i] & s.allowed
				for ks != 0 {
					bit := ks & -ks
					ks &^= bit
					nl := s.step(l, bit)
					if nl < 0 {
						continue
					}
					ns := y*nLayers + int32(nl)
					if sr.stamp[ns] == stamp {
						continue
					}
					if y == u && !s.accepts(nl) {
						// Passing through u would make a walk, not a
						// simple cycle.
						continue
					}
					sr.stamp[ns] = stamp
					sr.parent[ns] = st
					sr.via[ns] = bit
					if y == u {
						found = ns
						break
					}
					q = append(q, ns)
				}
				if found >= 0 {
					break
				}
			}
		}
	}
	sr.queue = q
	if found < 0 {
		return cycle{}, false
	}
	// Walk back from u to v, then put the start edge u -> v first.
	var nodes []int32
	var kinds []uint8
	for st := found; sr.parent[st] >= 0; st = sr.parent[st] {
		nodes = append(nodes, sr.parent[st]/nLayers)
		kinds = append(kinds, sr.via[st])
	}
	slices.Reverse(nodes)
	slices.Reverse(kinds)
	cy := cycle{nodes: append([]int32{u}, nodes...), kinds: append([]uint8{s.start}, kinds...)}
	// A node met twice (in two layers) makes a closed walk, which is a
	// union of simple cycles none of which need be of this class: such a
	// find does not count.
	seen := make(map[int32]bool, len(cy.nodes))
	for _, x := range cy.nodes {
		if seen[x] {
			return cycle{}, false
		}
		seen[x] = true
	}
	return cy, true
}
