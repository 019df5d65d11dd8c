package diverge

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
)

// DefaultRowLimit is how many divergent rows a table lists in full when
// Options.RowLimit is zero. Counts, and the keys passed to
// Options.EachKey, are exact whatever the limit.
const DefaultRowLimit = 100

// The shape of the comparison: the first pass cuts the table into parts of
// at most topPartRows rows each (and at most half a leaf), at quantiles of a
// random sample, and takes them in chunks (adapt.go). A chunk compared by
// hash is hashed part by part in one scan a node; a part that differs and
// holds at most leafRows rows on either node is listed row by row, a bigger
// one is cut into equal parts of about half a leaf (by one node's key
// order, at most fanout of them) and those that differ are walked in turn.
// A chunk compared by rows is streamed from both nodes in key order and
// merged a part at a time. Memory is bounded by these, never by the table:
// a few thousand part hashes at most, and one leaf or streamed part a node
// at a time.
//
// A part that differs is a leaf at once: where differences are spread over
// the table every part differs, and splitting each again costs a split, a
// hash and a leaf statement per sub-part. The sizes are the fastest
// measured by bench/diverge.
const (
	fanout   = 64
	leafRows = 2048
)

// The first pass's parts. They are small so that hashing still pays where
// differences are moderately dense: with 1,000 of 1M rows differing, spread
// out, a part of n rows differs with odds 1-(1-1/1000)^n, so parts of half a
// leaf (1,024 rows) mostly differ (64%) and the chunk is streamed, while
// parts of topPartRows rows mostly do not (23%) and only those are listed
// (bench/diverge, "1000 differ"). Their number is capped to keep the
// statement's bound parameters and the part hashes small; past that, parts
// grow with the table and differing ones are split before their leaves.
const (
	topPartRows   = 256
	topMaxParts   = 4096
	topMaxParams  = 32768 // cut values bound in one statement
	samplePerPart = 16    // sampled rows per part: quantiles steady enough
	guessPageRows = 100   // rows a page when the table was never vacuumed or analyzed
)

// Options chooses what Diff and DiffAll compare.
type Options struct {
	// Tables names the tables to compare: "table" in schema public, or
	// "schema.table". Empty means every ordinary (or partitioned) table
	// with a primary key in every schema but the system's, the replication
	// engines' (pglogical, …) and extensions' own, except pgchaos's
	// heartbeat tables (they differ by design: each node stamps its apply
	// time). The workloads' tables are compared; tables that cannot be are
	// listed in Divergence.NotCompared with the reason.
	Tables []string
	// RowLimit caps the DivergentRow entries listed per table: 0 means
	// DefaultRowLimit, negative lists none. Counts stay exact beyond it
	// and TableDivergence.Truncated says rows were left out.
	RowLimit int
	// EachKey, when set, is called with every divergent row's kind
	// (reports.MissingOnPrimary1, MissingOnPrimary2 or Different with two
	// nodes; Different or reports.MissingOn(nodes…) with more) and key
	// text, whatever RowLimit, in key order within a table, as rows are
	// found. Listing a key costs nothing beyond finding it; fetching a row
	// in full on every node (its JSON and who wrote it last) does, so
	// RowLimit caps only those. Diff keeps none of the keys it passes here:
	// a caller that needs every key exactly gets them with flat memory.
	EachKey func(table, kind, key string)
}

// Diff compares tables row by row across primary1 (p1) and primary2 (p2)
// and names every row that is missing on one node or different on the two.
// Each table is read at one snapshot per node (a REPEATABLE READ, READ ONLY
// transaction on each). Hashes of primary-key ranges are computed inside
// PostgreSQL and only ranges whose hashes differ are bisected; where most
// ranges differ, their rows' keys and hashes are streamed and merged in key
// order instead. Either way the client holds one range at a time, so its
// memory does not grow with the tables. A table present on one
// node only is compared as empty on the other (all its rows are missing
// there). Diff fills DivergentRows, Tables and NotCompared; whether and
// how fast the nodes converged is for the caller that waited for them.
func Diff(ctx context.Context, p1, p2 *pgxpool.Pool, opts Options) (*reports.Divergence, error) {
	return diff(ctx, []string{lab.Primary1, lab.Primary2}, []*pgxpool.Pool{p1, p2}, opts, treeShape{fanout: fanout, leaf: leafRows})
}

// MaxNodes is the most nodes DiffAll compares at once.
const MaxNodes = 64

// DiffAll compares tables row by row across every node of nodes (names of
// the caller's choosing, each with its pool in pools) and names every row
// that is not the same on all of them, with which node holds which version.
//
// It is Diff over N nodes at once, not over pairs: each stage that Diff
// runs on two nodes runs on all N at the same time, each on its own
// connection and snapshot, and a range differs when any node's hash of it
// differs from the others'. Every node therefore reads each table once for
// the hashes (as with two) and lists only the ranges that differ anywhere;
// the client holds one range from each node at a time. Comparing every
// pair instead would read each node N-1 times and take N-1 snapshots of
// it. With two nodes DiffAll is Diff, the same statements and the same
// report (the _primary1 fields name nodes[0], the _primary2 ones
// nodes[1]); with more, merging a range's rows goes through maps of its
// keys (one range at a time) and the report adds, per table, each node's
// rows and missing rows, and per row the versions and who holds each
// (reports.TableDivergence.Nodes, DivergentRow.Versions).
func DiffAll(ctx context.Context, nodes []string, pools map[string]*pgxpool.Pool, opts Options) (*reports.Divergence, error) {
	if len(nodes) < 2 || len(nodes) > MaxNodes {
		return nil, fmt.Errorf("diff: %d nodes given (%s): compare 2 to %d nodes", len(nodes), strings.Join(nodes, ", "), MaxNodes)
	}
	ps := make([]*pgxpool.Pool, len(nodes))
	seen := map[string]bool{}
	for i, n := range nodes {
		switch {
		case n == "" || strings.ContainsAny(n, ", \t\n"):
			return nil, fmt.Errorf("diff: node name %q: a node's name must be non-empty, without commas or spaces (a row's kind lists nodes by name)", n)
		case seen[n]:
			return nil, fmt.Errorf("diff: node %s is named twice: give each node once", n)
		case pools[n] == nil:
			return nil, fmt.Errorf("diff: no connection pool for node %s: a bug in the caller, please report it", n)
		}
		seen[n] = true
		ps[i] = pools[n]
	}
	return diff(ctx, nodes, ps, opts, treeShape{fanout: fanout, leaf: leafRows})
}

// treeShape is the bisection's fan-out and leaf size; tests shrink it to
// drive several levels of bisection through small tables, and pin a method
// to compare every chunk by it whatever the density.
type treeShape struct {
	fanout int64
	leaf   int64
	pinned bool
	pin    method
}

func diff(ctx context.Context, nodes []string, pools []*pgxpool.Pool, opts Options, shape treeShape) (*reports.Divergence, error) {
	limit := opts.RowLimit
	if limit == 0 {
		limit = DefaultRowLimit
	}
	if limit < 0 {
		limit = 0
	}
	cats := make([]map[string]table, len(nodes))
	g, gctx := errgroup.WithContext(ctx)
	for i := range nodes {
		g.Go(func() (err error) { cats[i], err = catalog(gctx, pools[i], nodes[i]); return err })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	names, skipped, err := chooseTables(opts.Tables, nodes, cats)
	if err != nil {
		return nil, err
	}
	out := &reports.Divergence{Tables: []reports.TableDivergence{}, NotCompared: skipped}
	if len(nodes) > 2 {
		out.Nodes = slices.Clone(nodes)
	}
	for _, name := range names {
		var t table
		on := make([]*pgxpool.Pool, len(nodes))
		for i, cat := range cats {
			if ct, ok := cat[name]; ok {
				t, on[i] = ct, pools[i]
			}
		}
		td, err := compareTable(ctx, nodes, on, t, limit, opts.EachKey, shape)
		if err != nil {
			return nil, err
		}
		out.DivergentRows += td.Count()
		out.Tables = append(out.Tables, td)
	}
	return out, nil
}

// DiffLab is DiffAll on a running lab's primaries, for "pgchaos lab diff".
func DiffLab(ctx context.Context, l *lab.Lab, opts Options) (*reports.Divergence, error) {
	nodes := make([]string, 0, len(l.Nodes))
	pools := map[string]*pgxpool.Pool{}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	for _, n := range l.Nodes {
		dsn, err := l.DSN(n.Name)
		if err != nil {
			return nil, err
		}
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			return nil, fmt.Errorf("diff: lab %q %s DSN: %w", l.Name, n.Name, err)
		}
		cfg.MaxConns = 2
		p, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("diff: connect to lab %q %s: %w", l.Name, n.Name, err)
		}
		nodes = append(nodes, n.Name)
		pools[n.Name] = p
	}
	return DiffAll(ctx, nodes, pools, opts)
}

// side is one node's view of one table: a snapshot transaction, or nil
// when the table does not exist there (it then reads as empty).
type side struct {
	node string
	tx   pgx.Tx
	ts   bool // track_commit_timestamp is on: commit times can be asked
}

// partHash is a range's row count and sum of row hashes on one node.
type partHash struct {
	n int64
	h string
}

// comparison holds one table's comparison in progress.
type comparison struct {
	t       table
	sides   []*side // one a node, in the caller's order
	limit   int
	each    func(table, kind, key string) // Options.EachKey, or nil
	shape   treeShape
	td      *reports.TableDivergence
	pending []keyRange // leaves waiting to be listed (flushLeaves)
	listed  []finding  // divergent rows to list, at most limit

	// Counts as rows are found, copied into td at the end.
	rows      []int64 // each node's rows
	missing   []int64 // divergent rows each node lacks
	different int64   // rows of kind Different
	divergent int64   // divergent rows, each once
}

// Leaves are listed leafBatch at a time: each node gets their statements
// in one round trip (a pipelined pgx.Batch) and returns their rows one leaf
// after the other, so where differences are spread over the table the
// leaves do not wait on a round trip each. The rows of the divergent ones
// are fetched in full at the end, detailBatch keys a statement.
const (
	leafBatch   = 64
	detailBatch = 1000
)

func begin(ctx context.Context, p *pgxpool.Pool, node string) (*side, error) {
	s := &side{node: node}
	if p == nil {
		return s, nil
	}
	tx, err := p.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, fmt.Errorf("diff: begin snapshot on %s: %w", node, err)
	}
	// Row text (hashed, and compared across nodes) depends on these
	// settings; pin them so two nodes configured differently still agree.
	// Plans are custom: the same statements run with different bounds, and
	// a generic plan would neither see a range's size nor fold the cast of
	// the bucket bounds, redoing it for every row. No sort is ever the
	// better plan here: rows are read in key order, which the primary
	// key's index gives, and the part aggregates have a few hundred groups
	// where the planner, counting one group per key, would sort the whole
	// range to group it (and spill it to disk past work_mem).
	var tsSetting string
	err = tx.QueryRow(ctx, `SELECT set_config('TimeZone', 'UTC', true), set_config('DateStyle', 'ISO, YMD', true),
		set_config('IntervalStyle', 'postgres', true), set_config('extra_float_digits', '1', true),
		set_config('bytea_output', 'hex', true), set_config('plan_cache_mode', 'force_custom_plan', true),
		set_config('enable_sort', 'off', true), current_setting('track_commit_timestamp')`).
		Scan(nil, nil, nil, nil, nil, nil, nil, &tsSetting)
	if err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return nil, fmt.Errorf("diff: set session on %s: %w", node, err)
	}
	s.tx = tx
	s.ts = tsSetting == "on"
	return s, nil
}

func (s *side) end(ctx context.Context) {
	if s != nil && s.tx != nil {
		// Read-only: nothing to keep, and a failed rollback only returns
		// the connection broken to the pool.
		_ = s.tx.Rollback(context.WithoutCancel(ctx))
	}
}

// compareTable compares one table across the nodes; pools[i] is nil where
// the table is not on nodes[i].
func compareTable(ctx context.Context, nodes []string, pools []*pgxpool.Pool, t table, limit int, each func(table, kind, key string), shape treeShape) (reports.TableDivergence, error) {
	td := reports.TableDivergence{Table: t.name}
	sides := make([]*side, len(nodes))
	g, gctx := errgroup.WithContext(ctx)
	for i := range nodes {
		g.Go(func() (err error) { sides[i], err = begin(gctx, pools[i], nodes[i]); return err })
	}
	err := g.Wait()
	for _, s := range sides {
		defer s.end(ctx)
	}
	if err != nil {
		return td, err
	}
	c := &comparison{t: t, sides: sides, limit: limit, each: each, shape: shape, td: &td,
		rows: make([]int64, len(nodes)), missing: make([]int64, len(nodes))}
	if err := c.compare(ctx); err != nil {
		return td, err
	}
	c.fill()
	return td, c.listRows(ctx)
}

// fill copies the counts into the table's report: the first two nodes'
// into the _primary1 and _primary2 fields and, past two nodes, every
// node's into Nodes.
func (c *comparison) fill() {
	td := c.td
	td.RowsPrimary1, td.RowsPrimary2 = c.rows[0], c.rows[1]
	td.MissingOnPrimary1, td.MissingOnPrimary2 = c.missing[0], c.missing[1]
	td.Different = c.different
	if len(c.sides) > 2 {
		td.DivergentRows = c.divergent
		td.Nodes = make([]reports.TableNode, len(c.sides))
		for i, s := range c.sides {
			td.Nodes[i] = reports.TableNode{Node: s.node, Rows: c.rows[i], Missing: c.missing[i]}
		}
	}
}

// compare runs the comparison's passes over the whole table.
func (c *comparison) compare(ctx context.Context) error {
	cuts, err := c.topCuts(ctx)
	if err != nil {
		return err
	}
	parts := split(keyRange{}, cuts)
	// The parts are compared a chunk at a time, each chunk by the method
	// the one before it chose (adapt.go).
	m, next := byHash, firstChunk(len(parts))
	if c.shape.pinned {
		m = c.shape.pin
	}
	for i := 0; i < len(parts); {
		size := min(next, len(parts)-i)
		chunk := keyRange{lo: parts[i].lo, hi: parts[i+size-1].hi}
		inner := cuts[i : i+size-1]
		var dirty int
		if m == byHash {
			dirty, err = c.byHash(ctx, chunk, inner)
		} else {
			dirty, err = c.byRows(ctx, chunk, inner, size)
		}
		if err != nil {
			return err
		}
		i += size
		m, next = nextChunk(m, size, dirty, len(parts))
		if c.shape.pinned {
			m = c.shape.pin
		}
	}
	return nil
}

// byHash hashes the parts of r cut at cuts on every node, lists the rows
// of those that differ and returns how many did.
func (c *comparison) byHash(ctx context.Context, r keyRange, cuts []bound) (int, error) {
	h, err := c.hashAll(ctx, r, cuts)
	if err != nil {
		return 0, err
	}
	parts := len(cuts) + 1
	dirty := 0
	for i := range parts {
		if differ(h, i) {
			dirty++
		}
	}
	if nextMethod(dirty, parts) == byRows {
		// Most parts differ: one stream of the chunk's rows lists them at
		// less cost than a statement per part (the counts come with it).
		return c.byRows(ctx, r, cuts, parts)
	}
	for i, p := range split(r, cuts) {
		for k := range h {
			c.rows[k] += h[k][i].n
		}
		if differ(h, i) {
			if err := c.walk(ctx, p, counts(h, i)); err != nil {
				return 0, err
			}
		}
	}
	return dirty, c.flushLeaves(ctx)
}

// differ says whether the nodes' hashes of part i (h[node][part]) differ.
func differ(h [][]partHash, i int) bool {
	for _, hk := range h[1:] {
		if hk[i] != h[0][i] {
			return true
		}
	}
	return false
}

// counts is each node's rows in part i.
func counts(h [][]partHash, i int) []int64 {
	n := make([]int64, len(h))
	for k := range h {
		n[k] = h[k][i].n
	}
	return n
}

// byRows streams the rows of r from both nodes, in key order and tagged
// with their part (r cut at cuts into parts parts), merges them a part at a
// time and returns how many parts differed. Both nodes send at once; one
// part's rows from each are held at a time, so memory follows the rows a
// part holds on a node: about topPartRows where the sampled cuts fit it,
// more where a node gained many rows in one part since.
func (c *comparison) byRows(ctx context.Context, r keyRange, cuts []bound, parts int) (int, error) {
	sts := make([]*stream, len(c.sides))
	for k, s := range c.sides {
		st, err := c.openStream(ctx, s, r, cuts)
		if err != nil {
			return 0, err
		}
		defer st.close()
		sts[k] = st
	}
	dirty := 0
	lists := make([][]leafRow, len(sts))
	for p := range parts {
		for k, st := range sts {
			var err error
			if lists[k], err = st.part(p, lists[k][:0]); err != nil {
				return 0, err
			}
			c.rows[k] += int64(len(lists[k]))
		}
		if fs := c.merge(lists); len(fs) > 0 {
			dirty++
			c.count(fs)
		}
	}
	for _, st := range sts {
		if err := st.end(); err != nil {
			return 0, err
		}
	}
	return dirty, nil
}

// merge compares one range's rows from every node, each in key order, and
// returns the divergent ones: merge for two nodes, mergeN past two.
func (c *comparison) merge(lists [][]leafRow) []finding {
	if len(lists) == 2 {
		return merge(lists[0], lists[1])
	}
	return mergeN(lists, c.nodes())
}

// nodes is the nodes' names, in order.
func (c *comparison) nodes() []string {
	out := make([]string, len(c.sides))
	for i, s := range c.sides {
		out[i] = s.node
	}
	return out
}

// stream is one node's rows of a chunk in key order, read a part at a
// time, with one row read ahead.
type stream struct {
	c     *comparison
	s     *side
	rows  pgx.Rows // nil when the table is not on this node
	ahead leafRow
	at    int  // the part of ahead
	ok    bool // ahead holds a row
}

func (c *comparison) openStream(ctx context.Context, s *side, r keyRange, cuts []bound) (*stream, error) {
	st := &stream{c: c, s: s}
	if s.tx == nil {
		return st, nil
	}
	q, args := c.t.streamSQL(r, cuts)
	rows, err := s.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("diff %s: list the rows of key ranges on %s: %w", c.t.name, s.node, err)
	}
	st.rows = rows
	return st, st.advance()
}

// advance reads the next row ahead.
func (st *stream) advance() error {
	st.ok = false
	if !st.rows.Next() {
		if err := st.rows.Err(); err != nil {
			return fmt.Errorf("diff %s: list the rows of key ranges on %s: %w", st.c.t.name, st.s.node, err)
		}
		return nil
	}
	lr, p, ok := streamRow(st.rows.FieldDescriptions(), st.rows.RawValues())
	if !ok {
		var err error
		if lr, p, err = st.scan(); err != nil {
			return err
		}
	}
	if p < st.at {
		return fmt.Errorf("diff %s: %s listed a row of part %d after part %d: a bug in pgchaos, please report it", st.c.t.name, st.s.node, p, st.at)
	}
	st.ahead, st.at, st.ok = lr, p, true
	return nil
}

// streamRow decodes a streamed row of a one-column key straight from the
// wire (part as binary int4, key as text, row hash as binary int8), which
// is most of what the client does for each row when most rows are
// streamed; false for any other shape, which scan then reads.
func streamRow(fds []pgconn.FieldDescription, vals [][]byte) (leafRow, int, bool) {
	if len(vals) != 3 || len(fds) != 3 ||
		fds[0].Format != pgx.BinaryFormatCode || fds[0].DataTypeOID != pgtype.Int4OID || len(vals[0]) != 4 ||
		fds[1].DataTypeOID != pgtype.TextOID || vals[1] == nil ||
		fds[2].Format != pgx.BinaryFormatCode || fds[2].DataTypeOID != pgtype.Int8OID || len(vals[2]) != 8 {
		return leafRow{}, 0, false
	}
	p := int(int32(binary.BigEndian.Uint32(vals[0])))
	return leafRow{key: string(vals[1]), hash: int64(binary.BigEndian.Uint64(vals[2]))}, p, true
}

// scan reads the current streamed row through pgx's Scan.
func (st *stream) scan() (leafRow, int, error) {
	var lr leafRow
	var p int
	dst := []any{&p, &lr.key, &lr.hash}
	if n := len(st.c.t.cols); n > 1 {
		lr.cols = make(bound, n)
		for i := range lr.cols {
			dst = append(dst, &lr.cols[i])
		}
	}
	if err := st.rows.Scan(dst...); err != nil {
		return lr, 0, fmt.Errorf("diff %s: list the rows of key ranges on %s: %w", st.c.t.name, st.s.node, err)
	}
	return lr, p, nil
}

// part appends the rows of part p to buf and returns it.
func (st *stream) part(p int, buf []leafRow) ([]leafRow, error) {
	for st.ok && st.at == p {
		buf = append(buf, st.ahead)
		if err := st.advance(); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// end checks that every row was read into a part.
func (st *stream) end() error {
	if st.ok {
		return fmt.Errorf("diff %s: %s listed a row of part %d, past the chunk: a bug in pgchaos, please report it", st.c.t.name, st.s.node, st.at)
	}
	return nil
}

func (st *stream) close() {
	if st != nil && st.rows != nil {
		st.rows.Close()
	}
}

// topCuts picks the first pass's split points: quantiles of a random sample
// of the node that seems to hold more rows, about one cut per topPartRows
// rows of the estimated table. None for a table small enough to bisect
// from the whole (or empty on both nodes). The cuts only decide speed: the
// parts cover the key space whatever they are.
func (c *comparison) topCuts(ctx context.Context) ([]bound, error) {
	ests, err := all(ctx, c, c.estimate)
	if err != nil {
		return nil, err
	}
	s, est := c.sides[0], ests[0]
	for k, e := range ests[1:] {
		if e > est {
			s, est = c.sides[k+1], e
		}
	}
	parts := topParts(est, c.shape.leaf, len(c.t.cols))
	if parts <= 1 {
		return nil, nil
	}
	pct := min(100, 100*float64(parts*samplePerPart)/est)
	q, args := c.t.sampleCutsSQL(pct, parts)
	cuts, err := c.keys(ctx, s, q, args)
	if err != nil {
		return nil, fmt.Errorf("diff %s: sample split points on %s: %w", c.t.name, s.node, err)
	}
	return cuts, nil
}

// topParts is how many parts the first pass cuts a table of about est
// rows into: one per topPartRows rows (or half a leaf, when smaller), one
// for a table that fits a leaf, and capped by topMaxParts and by the
// parameters the cuts bind (one per key column).
func topParts(est float64, leaf int64, keyCols int) int64 {
	if est <= float64(leaf) {
		return 1
	}
	parts := int64(est / min(float64(leaf)/2, topPartRows))
	parts = min(parts, topMaxParts, int64(topMaxParams/max(keyCols, 1)))
	return max(parts, 1)
}

// estimate guesses the table's rows on one node without reading them, from
// the planner's statistics scaled to its current size (as the planner
// does). Zero when the table does not exist there.
func (c *comparison) estimate(ctx context.Context, s *side) (float64, error) {
	if s.tx == nil {
		return 0, nil
	}
	q, args := c.t.sizeSQL()
	rows, err := s.tx.Query(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("diff %s: estimate its size on %s: %w", c.t.name, s.node, err)
	}
	defer rows.Close()
	var est float64
	for rows.Next() {
		var tuples float64
		var pages, now int64
		if err := rows.Scan(&tuples, &pages, &now); err != nil {
			return 0, fmt.Errorf("diff %s: estimate its size on %s: %w", c.t.name, s.node, err)
		}
		est += estimateRows(tuples, pages, now)
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("diff %s: estimate its size on %s: %w", c.t.name, s.node, err)
	}
	return est, nil
}

// estimateRows scales one relation's row density at its last VACUUM or
// ANALYZE (tuples over pages; reltuples is -1 before the first) to its
// current pages, or guesses guessPageRows a page without statistics.
func estimateRows(tuples float64, pages, now int64) float64 {
	density := float64(guessPageRows)
	if pages > 0 && tuples >= 0 {
		density = tuples / float64(pages)
	}
	return density * float64(now)
}

// all runs f on every node of c at once (each has its own connection)
// and returns their results in node order.
func all[T any](ctx context.Context, c *comparison, f func(ctx context.Context, s *side) (T, error)) ([]T, error) {
	out := make([]T, len(c.sides))
	g, gctx := errgroup.WithContext(ctx)
	for k, s := range c.sides {
		g.Go(func() (err error) { out[k], err = f(gctx, s); return err })
	}
	return out, g.Wait()
}

// hashAll hashes the parts of r cut at cuts on every node: h[node][part].
func (c *comparison) hashAll(ctx context.Context, r keyRange, cuts []bound) ([][]partHash, error) {
	return all(ctx, c, func(ctx context.Context, s *side) ([]partHash, error) { return c.hash(ctx, s, r, cuts) })
}

// hash returns each part's row count and hash on one node, in one scan of
// r; an empty part (or a missing table) reads as zero rows, hash "0".
func (c *comparison) hash(ctx context.Context, s *side, r keyRange, cuts []bound) ([]partHash, error) {
	out := make([]partHash, len(cuts)+1)
	for i := range out {
		out[i] = partHash{h: "0"}
	}
	if s.tx == nil {
		return out, nil
	}
	q, args := c.t.hashSQL(r, cuts)
	rows, err := s.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("diff %s: hash key ranges on %s: %w", c.t.name, s.node, err)
	}
	defer rows.Close()
	for rows.Next() {
		var i int
		var h partHash
		if err := rows.Scan(&i, &h.n, &h.h); err != nil {
			return nil, fmt.Errorf("diff %s: hash key ranges on %s: %w", c.t.name, s.node, err)
		}
		if i < 0 || i >= len(out) {
			return nil, fmt.Errorf("diff %s: %s put rows in part %d of %d: a bug in pgchaos, please report it", c.t.name, s.node, i, len(out))
		}
		out[i] = h
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("diff %s: hash key ranges on %s: %w", c.t.name, s.node, err)
	}
	return out, nil
}

// keys runs a query returning key column values as text, one key a row.
func (c *comparison) keys(ctx context.Context, s *side, q string, args []any) ([]bound, error) {
	rows, err := s.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []bound
	for rows.Next() {
		b := make(bound, len(c.t.cols))
		dst := make([]any, len(b))
		for i := range b {
			dst[i] = &b[i]
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// walk finds the divergent rows of a range known to differ, holding n[k]
// rows on node k.
func (c *comparison) walk(ctx context.Context, r keyRange, n []int64) error {
	most := slices.Max(n)
	if most <= c.shape.leaf {
		c.pending = append(c.pending, r)
		if len(c.pending) < leafBatch {
			return nil
		}
		return c.flushLeaves(ctx)
	}
	// Split by the node that holds the most rows here, so the parts
	// shrink even when the others lack most of them.
	s := c.sides[slices.Index(n, most)]
	q, args := c.t.splitSQL(r, splitStep(most, c.shape))
	cuts, err := c.keys(ctx, s, q, args)
	if err != nil {
		return fmt.Errorf("diff %s: split a key range on %s: %w", c.t.name, s.node, err)
	}
	if len(cuts) == 0 {
		// Cannot happen within one snapshot (n > step); refuse rather than
		// fetch an unbounded range row by row.
		return fmt.Errorf("diff %s: %s counted %d rows in a range but found no split point: a bug in pgchaos, please report it", c.t.name, s.node, most)
	}
	h, err := c.hashAll(ctx, r, cuts)
	if err != nil {
		return err
	}
	for i, p := range split(r, cuts) {
		if differ(h, i) {
			if err := c.walk(ctx, p, counts(h, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// splitStep is the rows a part when a range of n rows (more than a
// leaf) is split: about half a leaf, so the parts that differ are leaves,
// in at most shape.fanout parts.
func splitStep(n int64, shape treeShape) int64 {
	parts := min(max((2*n+shape.leaf-1)/shape.leaf, 2), shape.fanout)
	return (n + parts - 1) / parts
}

// split cuts r at the cuts (in key order, inside r) into len(cuts)+1
// adjacent ranges that cover r exactly.
func split(r keyRange, cuts []bound) []keyRange {
	out := make([]keyRange, 0, len(cuts)+1)
	lo := r.lo
	for _, c := range cuts {
		out = append(out, keyRange{lo: lo, hi: c})
		lo = c
	}
	return append(out, keyRange{lo: lo, hi: r.hi})
}

// leafRow is one row of a small range on one node.
type leafRow struct {
	key  string // the key as text, for the report and for matching
	hash int64  // the row hash
	cols bound  // a composite key's columns as text, to fetch the row again; nil for one column (key is its text)
}

// finding is one divergent row of a leaf.
type finding struct {
	kind string
	key  string
	cols bound
	// vers is, past two nodes, the version each node holds: -1 where it
	// lacks the row, else the version's number, numbered in node order
	// (see mergeN). nil with two nodes, where kind says it all.
	vers []int
}

// holds says whether node k holds the row found.
func (f finding) holds(k int) bool {
	if f.vers != nil {
		return f.vers[k] >= 0
	}
	return !(k == 0 && f.kind == reports.MissingOnPrimary1 || k == 1 && f.kind == reports.MissingOnPrimary2)
}

// sendLeaves sends one node the statements listing each of the ranges,
// row by row; nil when the table does not exist there. The caller reads
// one result a range, in order, and closes the results.
func (c *comparison) sendLeaves(ctx context.Context, s *side, rs []keyRange) pgx.BatchResults {
	if s.tx == nil {
		return nil
	}
	b := &pgx.Batch{}
	for _, r := range rs {
		q, args := c.t.leafSQL(r)
		b.Queue(q, args...)
	}
	return s.tx.SendBatch(ctx, b)
}

// readLeaf reads the next range's rows from a node's batch: key text, row
// hash and key columns, in key order. None when the table is not there.
func (c *comparison) readLeaf(s *side, br pgx.BatchResults) ([]leafRow, error) {
	if br == nil {
		return nil, nil
	}
	rows, err := br.Query()
	if err != nil {
		return nil, fmt.Errorf("diff %s: list rows of a key range on %s: %w", c.t.name, s.node, err)
	}
	defer rows.Close()
	var out []leafRow
	for rows.Next() {
		var lr leafRow
		dst := []any{&lr.key, &lr.hash}
		if n := len(c.t.cols); n > 1 {
			lr.cols = make(bound, n)
			for i := range lr.cols {
				dst = append(dst, &lr.cols[i])
			}
		}
		if err := rows.Scan(dst...); err != nil {
			return nil, fmt.Errorf("diff %s: list rows of a key range on %s: %w", c.t.name, s.node, err)
		}
		out = append(out, lr)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("diff %s: list rows of a key range on %s: %w", c.t.name, s.node, err)
	}
	return out, nil
}

// flushLeaves lists the pending leaves on every node, a batch a node, and
// counts their divergent rows. The nodes work on their batch at once; one
// leaf's rows from each are held at a time.
func (c *comparison) flushLeaves(ctx context.Context) error {
	if len(c.pending) == 0 {
		return nil
	}
	rs := c.pending
	c.pending = nil
	brs := make([]pgx.BatchResults, len(c.sides))
	for k, s := range c.sides {
		brs[k] = c.sendLeaves(ctx, s, rs)
	}
	err := func() error {
		lists := make([][]leafRow, len(c.sides))
		for range rs {
			for k, s := range c.sides {
				var err error
				if lists[k], err = c.readLeaf(s, brs[k]); err != nil {
					return err
				}
			}
			c.count(c.merge(lists))
		}
		return nil
	}()
	for _, br := range brs {
		if br != nil {
			if cerr := br.Close(); err == nil && cerr != nil {
				err = fmt.Errorf("diff %s: list rows of key ranges: %w", c.t.name, cerr)
			}
		}
	}
	return err
}

// count adds a leaf's divergent rows to the table's counts and keeps the
// first ones, up to the limit, to list.
func (c *comparison) count(fs []finding) {
	for _, f := range fs {
		c.divergent++
		if f.kind == reports.Different {
			c.different++
		}
		for k := range c.sides {
			if !f.holds(k) {
				c.missing[k]++
			}
		}
		if c.each != nil {
			c.each(c.t.name, f.kind, f.key)
		}
		if len(c.listed) < c.limit {
			if f.cols == nil {
				// A one-column key's text is its value; only the rows
				// fetched in full need it as a bound.
				f.cols = bound{f.key}
			}
			c.listed = append(c.listed, f)
		} else {
			c.td.Truncated = true
		}
	}
}

// merge compares one range's rows from both nodes, each in key order,
// and returns the divergent ones in key order. Keys are matched by their
// text, so Go never has to know PostgreSQL's ordering: rows present on both
// appear in the same relative order in both lists and anchor the merge.
//
// Rows are walked in step; where the two lists name different keys, the
// next few rows of each (mergeWindow) are searched for the other's key: a
// key found ahead on one side means the rows before it there are missing on
// the other. That keeps a part with a few scattered differences (the usual
// case when many rows differ, bench/diverge "100000 differ") in one pass
// with no map. Two keys found on neither side within the window are taken
// as missing on the other node each. Where that guess is wrong (a run
// longer than the window), or in an order the two nodes disagree on (which
// one collation cannot produce), a row skipped as missing on one side is
// listed later by the other and skipped there too: a key named missing on
// both sides reveals it, and the whole range is matched by maps instead.
func merge(a, b []leafRow) []finding {
	var out []finding
	var gone1, gone2 int // rows named missing on primary1, primary2
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		if a[i].key == b[j].key {
			if a[i].hash != b[j].hash {
				out = append(out, finding{kind: reports.Different, key: a[i].key, cols: a[i].cols})
			}
			i++
			j++
			continue
		}
		if k := ahead(a[i+1:], b[j].key); k >= 0 {
			for _, r := range a[i : i+1+k] {
				out = append(out, finding{kind: reports.MissingOnPrimary2, key: r.key, cols: r.cols})
			}
			gone2 += 1 + k
			i += 1 + k
			continue
		}
		if k := ahead(b[j+1:], a[i].key); k >= 0 {
			for _, r := range b[j : j+1+k] {
				out = append(out, finding{kind: reports.MissingOnPrimary1, key: r.key, cols: r.cols})
			}
			gone1 += 1 + k
			j += 1 + k
			continue
		}
		// Neither key is near on the other side: most likely each is
		// missing there (both nodes wrote rows the other lacks). If
		// either is in fact further on, it is skipped there too and the
		// check below sees it.
		out = append(out, finding{kind: reports.MissingOnPrimary2, key: a[i].key, cols: a[i].cols},
			finding{kind: reports.MissingOnPrimary1, key: b[j].key, cols: b[j].cols})
		gone1++
		gone2++
		i++
		j++
	}
	for _, f := range mergeByMap(a[i:], b[j:]) {
		// One side's leftovers.
		switch f.kind {
		case reports.MissingOnPrimary1:
			gone1++
		case reports.MissingOnPrimary2:
			gone2++
		}
		out = append(out, f)
	}
	if gone1 > 0 && gone2 > 0 && missingOnBoth(out, gone2) {
		return mergeByMap(a, b)
	}
	return out
}

// mergeWindow is how many rows ahead merge looks for a key the other node
// lists: the longest run of rows missing on one node it steps over without
// maps.
const mergeWindow = 16

// ahead is the index in rs, within mergeWindow, of the row with key k, or -1.
func ahead(rs []leafRow, k string) int {
	for i, r := range rs[:min(len(rs), mergeWindow)] {
		if r.key == k {
			return i
		}
	}
	return -1
}

// missingOnBoth says whether a key of fs is named missing on primary1 and
// on primary2; n is how many are named missing on primary2.
func missingOnBoth(fs []finding, n int) bool {
	on2 := make(map[string]bool, n)
	for _, f := range fs {
		if f.kind == reports.MissingOnPrimary2 {
			on2[f.key] = true
		}
	}
	for _, f := range fs {
		if f.kind == reports.MissingOnPrimary1 && on2[f.key] {
			return true
		}
	}
	return false
}

// mergeByMap is merge for lists that need not name the same keys in step.
func mergeByMap(a, b []leafRow) []finding {
	if len(a) == 0 || len(b) == 0 {
		out := make([]finding, 0, len(a)+len(b))
		for _, r := range a {
			out = append(out, finding{kind: reports.MissingOnPrimary2, key: r.key, cols: r.cols})
		}
		for _, r := range b {
			out = append(out, finding{kind: reports.MissingOnPrimary1, key: r.key, cols: r.cols})
		}
		return out
	}
	inA := make(map[string]int, len(a))
	for i, r := range a {
		inA[r.key] = i
	}
	inB := make(map[string]int, len(b))
	for i, r := range b {
		inB[r.key] = i
	}
	var out []finding
	used := make([]bool, len(b)) // b rows already matched to an a row
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j < len(b) && used[j]:
			j++
		case i < len(a) && !has(inB, a[i].key):
			out = append(out, finding{kind: reports.MissingOnPrimary2, key: a[i].key, cols: a[i].cols})
			i++
		case j < len(b) && !has(inA, b[j].key):
			out = append(out, finding{kind: reports.MissingOnPrimary1, key: b[j].key, cols: b[j].cols})
			j++
		case i < len(a):
			// On both nodes: in a consistent order this is b[j] itself;
			// matching through the map keeps a confused order from
			// misreporting a row.
			k := inB[a[i].key]
			used[k] = true
			if a[i].hash != b[k].hash {
				out = append(out, finding{kind: reports.Different, key: a[i].key, cols: a[i].cols})
			}
			i++
		default:
			j++ // unreachable: b[j] is in a, so it was matched already
		}
	}
	return out
}

func has(m map[string]int, k string) bool { _, ok := m[k]; return ok }

// detail is a row in full on one node and who last wrote it there.
type detail struct {
	json   string
	ts     *time.Time
	origin *int64
}

// listRows fetches the kept divergent rows in full on every node, with
// who last wrote each, into the table's Rows, in key order.
func (c *comparison) listRows(ctx context.Context) error {
	for len(c.listed) > 0 {
		fs := c.listed[:min(len(c.listed), detailBatch, max(1, topMaxParams/len(c.t.cols)))]
		c.listed = c.listed[len(fs):]
		ds, err := all(ctx, c, func(ctx context.Context, s *side) (map[string]detail, error) { return c.details(ctx, s, fs) })
		if err != nil {
			return err
		}
		for _, f := range fs {
			row := reports.DivergentRow{Key: f.key, Kind: f.kind, Primary1: ds[0][f.key].json, Primary2: ds[1][f.key].json}
			if f.vers == nil {
				if f.kind == reports.Different {
					x, y := ds[0][f.key], ds[1][f.key]
					row.LastWriter = lastWriter(x.ts, x.origin, y.ts, y.origin, c.sides[0].node, c.sides[1].node)
				}
			} else {
				vs := make([]detail, len(ds))
				for k, d := range ds {
					vs[k] = d[f.key]
				}
				row.Versions = versions(f.vers, c.nodes(), vs)
				if f.kind == reports.Different {
					row.LastWriter = lastWriterN(f.vers, c.nodes(), vs)
				}
			}
			c.td.Rows = append(c.td.Rows, row)
		}
	}
	return nil
}

// details fetches, on one node, the listed rows that exist there.
func (c *comparison) details(ctx context.Context, s *side, fs []finding) (map[string]detail, error) {
	out := map[string]detail{}
	if s.tx == nil {
		return out, nil
	}
	k := slices.Index(c.sides, s)
	var keys []bound
	for _, f := range fs {
		if f.holds(k) {
			keys = append(keys, f.cols)
		}
	}
	if len(keys) == 0 {
		return out, nil
	}
	q, args := c.t.detailSQL(keys, s.ts)
	rows, err := s.tx.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("diff %s: fetch divergent rows on %s: %w", c.t.name, s.node, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var d detail
		if err := rows.Scan(&key, &d.json, &d.ts, &d.origin); err != nil {
			return nil, fmt.Errorf("diff %s: fetch divergent rows on %s: %w", c.t.name, s.node, err)
		}
		out[key] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("diff %s: fetch divergent rows on %s: %w", c.t.name, s.node, err)
	}
	return out, nil
}

// lastWriter names the node whose commit of a row was last, from each
// node's commit timestamp and replication origin for its version of the
// row; node1 and node2 are the two nodes' names. On the receiving node a
// replicated row carries the sender's commit time and a non-zero origin,
// so the later version's writer is the node holding it when written
// locally (origin 0), else its peer. Empty when a timestamp is unknown
// (track_commit_timestamp off, a frozen row) or the two are equal.
func lastWriter(ts1 *time.Time, origin1 *int64, ts2 *time.Time, origin2 *int64, node1, node2 string) string {
	if ts1 == nil || ts2 == nil || ts1.Equal(*ts2) {
		return ""
	}
	node, peer, origin := node1, node2, origin1
	if ts2.After(*ts1) {
		node, peer, origin = node2, node1, origin2
	}
	if origin == nil {
		return ""
	}
	if *origin != 0 {
		return peer
	}
	return node
}
