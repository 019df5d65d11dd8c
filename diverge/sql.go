package diverge

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The SQL of the divergence check, built from a table's primary key. Pure
// string building, so the shapes are unit-tested without a server.

// alias names the whole-row reference in every query. A column of that
// name would shadow it, so it is one no workload table will have.
const alias = "_pgchaos_r"

// rowHash is the per-row hash, computed by PostgreSQL over the row's text
// form. hashtextextended is the 64-bit hash hash-partitioning relies on, so
// it is stable across servers and releases, and it is several times cheaper
// than md5 over a million rows (measured: 0.3 s vs 0.64 s).
const rowHash = "hashtextextended(" + alias + "::text, 0)"

// table is one table to compare: its name in reports (displayName), its
// schema and relation, and its primary key, columns in index order with
// their SQL types (format_type).
type table struct {
	name   string
	schema string // "" is public
	rel    string // "" is name
	cols   []string
	types  []string
}

// bound is a key bound: one text value per primary-key column, cast to
// the column types by the server. nil is unbounded.
type bound []string

// keyRange is the half-open key range [lo, hi).
type keyRange struct {
	lo, hi bound
}

func (t table) ident() string {
	schema, rel := t.schema, t.rel
	if schema == "" {
		schema = "public"
	}
	if rel == "" {
		rel = t.name
	}
	return pgx.Identifier{schema, rel}.Sanitize()
}

// colList is the key columns as a list: "a", "b".
func (t table) colList() string {
	q := make([]string, len(t.cols))
	for i, c := range t.cols {
		q[i] = alias + "." + pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// keyExpr is the key as one comparable value: the column itself or a row
// constructor, so comparisons follow PostgreSQL's own ordering (collations,
// types) and a composite key compares as a btree-indexable row comparison.
func (t table) keyExpr() string {
	if len(t.cols) == 1 {
		return t.colList()
	}
	return "ROW(" + t.colList() + ")"
}

// keyText is the key rendered as text for the report: the value of a
// single column, or the row literal "(a,b)" of a composite key.
func (t table) keyText() string {
	return t.keyExpr() + "::text"
}

// colsText selects each key column as text, to send back as a bound.
func (t table) colsText() string {
	q := make([]string, len(t.cols))
	for i, c := range t.cols {
		q[i] = alias + "." + pgx.Identifier{c}.Sanitize() + "::text"
	}
	return strings.Join(q, ", ")
}

// param appends a bound's values to args and returns the matching
// expression: ($1::int4, $2::text) cast to the key columns' types.
func (t table) param(b bound, args *[]any) string {
	q := make([]string, len(b))
	for i, v := range b {
		*args = append(*args, v)
		q[i] = "$" + strconv.Itoa(len(*args)) + "::" + t.types[i]
	}
	if len(q) == 1 {
		return q[0]
	}
	return "ROW(" + strings.Join(q, ", ") + ")"
}

// where is the predicate of a range, "TRUE" when unbounded.
func (t table) where(r keyRange, args *[]any) string {
	var conds []string
	if r.lo != nil {
		conds = append(conds, t.keyExpr()+" >= "+t.param(r.lo, args))
	}
	if r.hi != nil {
		conds = append(conds, t.keyExpr()+" < "+t.param(r.hi, args))
	}
	if len(conds) == 0 {
		return "TRUE"
	}
	return strings.Join(conds, " AND ")
}

// hashSQL hashes the parts of range r cut at cuts (in key order, inside
// r) in one scan: one row per non-empty part (part index i, row count, sum
// of row hashes as numeric text). Part i is [cuts[i-1], cuts[i]) clipped to
// r. Hashing every part in one pass costs about one read of the range,
// where a branch per part made the server scan or seek it once per part.
// The sum is order-independent, so nothing is sorted.
func (t table) hashSQL(r keyRange, cuts []bound) (string, []any) {
	var args []any
	where := t.where(r, &args)
	q := fmt.Sprintf("SELECT %s AS i, count(*) AS n, sum(%s)::text AS h FROM %s AS %s WHERE %s GROUP BY 1",
		t.bucketExpr(cuts, &args), rowHash, t.ident(), alias, where)
	return q, args
}

// bucketExpr is the index of the part a row falls in when the key space
// is cut at cuts: 0 below cuts[0], i from cuts[i-1] up to cuts[i], len(cuts)
// from the last cut on. A single-column key uses width_bucket, a binary
// search over the cuts as an array of the key's type (its own ordering and
// collation, as the range predicates use). Composite keys (and array-typed
// ones, whose array of bounds width_bucket would read element-wise) use a
// balanced tree of CASE row comparisons: the same operators as where, at
// log2(len(cuts)+1) comparisons a row.
func (t table) bucketExpr(cuts []bound, args *[]any) string {
	if len(cuts) == 0 {
		return "0"
	}
	if len(t.cols) == 1 && !strings.HasSuffix(t.types[0], "]") {
		vals := make([]string, len(cuts))
		for i, c := range cuts {
			vals[i] = c[0]
		}
		*args = append(*args, vals)
		return fmt.Sprintf("width_bucket(%s, $%d::text[]::%s[])", t.keyExpr(), len(*args), t.types[0])
	}
	return t.bucketTree(cuts, 0, len(cuts), args)
}

// bucketTree returns the part index, among parts lo..hi, of the row.
func (t table) bucketTree(cuts []bound, lo, hi int, args *[]any) string {
	if lo == hi {
		return strconv.Itoa(lo)
	}
	mid := (lo + hi + 1) / 2 // part mid starts at cuts[mid-1]
	cond := t.keyExpr() + " < " + t.param(cuts[mid-1], args)
	return "CASE WHEN " + cond + " THEN " + t.bucketTree(cuts, lo, mid-1, args) +
		" ELSE " + t.bucketTree(cuts, mid, hi, args) + " END"
}

// sizeSQL lists, for the table and each partition under it, the
// planner's row count and page count from the last VACUUM or ANALYZE and
// the pages it has now: enough to estimate the rows without reading them.
func (t table) sizeSQL() (string, []any) {
	return `SELECT c.reltuples::float8, c.relpages::int8, pg_relation_size(c.oid) / current_setting('block_size')::int8
FROM pg_class c
WHERE c.relkind = 'r' AND (c.oid = $1::text::regclass OR c.oid IN (SELECT relid FROM pg_partition_tree($1::text::regclass)))`,
		[]any{t.ident()}
}

// sampleCutsSQL returns, in key order, the keys that cut a random sample
// of about pct percent of the table's rows into parts parts of equal size
// (fewer cuts when the sample holds fewer rows): split points for the first
// pass that need neither a sort of the whole table nor a scan of its index.
// BERNOULLI rather than SYSTEM: a block sample of a table loaded in key
// order yields runs of adjacent keys, so its quantiles cut unevenly.
func (t table) sampleCutsSQL(pct float64, parts int64) (string, []any) {
	outer := make([]string, len(t.cols))
	inner := make([]string, len(t.cols))
	for i, c := range t.cols {
		outer[i] = "s.k" + strconv.Itoa(i) + "::text"
		inner[i] = alias + "." + pgx.Identifier{c}.Sanitize() + " AS k" + strconv.Itoa(i)
	}
	q := fmt.Sprintf(`SELECT %s FROM (SELECT %s, row_number() OVER (ORDER BY %s) AS rn, count(*) OVER () AS cnt FROM %s AS %s TABLESAMPLE BERNOULLI ($1::float4)) AS s
WHERE s.rn > 1 AND (s.rn - 1) * $2::int8 / s.cnt > (s.rn - 2) * $2::int8 / s.cnt ORDER BY s.rn`,
		strings.Join(outer, ", "), strings.Join(inner, ", "), t.colList(), t.ident(), alias)
	return q, []any{pct, parts}
}

// splitSQL returns, in key order, the keys that start each run of step
// rows within the range (except the first run): the split points that cut
// it into equal parts on this node.
func (t table) splitSQL(r keyRange, step int64) (string, []any) {
	var args []any
	where := t.where(r, &args)
	args = append(args, step)
	stepParam := "$" + strconv.Itoa(len(args)) + "::int8"
	outer := make([]string, len(t.cols))
	for i := range t.cols {
		outer[i] = "s.k" + strconv.Itoa(i) + "::text"
	}
	inner := make([]string, len(t.cols))
	for i, c := range t.cols {
		// Cast to text outside, only for the few rows kept.
		inner[i] = alias + "." + pgx.Identifier{c}.Sanitize() + " AS k" + strconv.Itoa(i)
	}
	q := fmt.Sprintf("SELECT %s FROM (SELECT %s, row_number() OVER (ORDER BY %s) AS rn FROM %s AS %s WHERE %s) AS s WHERE s.rn > 1 AND (s.rn - 1) %% %s = 0 ORDER BY s.rn",
		strings.Join(outer, ", "), strings.Join(inner, ", "), t.colList(), t.ident(), alias, where, stepParam)
	return q, args
}

// leafSQL lists a small range row by row: key text, row hash and, for a
// composite key, the key columns as text (a single column's text is the key
// text itself), in key order.
func (t table) leafSQL(r keyRange) (string, []any) {
	var args []any
	where := t.where(r, &args)
	cols := ""
	if len(t.cols) > 1 {
		cols = ", " + t.colsText()
	}
	q := fmt.Sprintf("SELECT %s, %s%s FROM %s AS %s WHERE %s ORDER BY %s",
		t.keyText(), rowHash, cols, t.ident(), alias, where, t.colList())
	return q, args
}

// detailSQL fetches the listed rows in full (as JSON text) with the
// commit timestamp and replication origin of the transaction that last wrote
// each. withTS is false when track_commit_timestamp is off: asking would
// fail, so the columns are NULL instead.
func (t table) detailSQL(keys []bound, withTS bool) (string, []any) {
	var args []any
	in := make([]string, len(keys))
	for i, k := range keys {
		p := t.param(k, &args)
		if len(t.cols) > 1 {
			p = strings.TrimPrefix(p, "ROW")
		}
		in[i] = p
	}
	lhs := t.colList()
	if len(t.cols) > 1 {
		lhs = "(" + lhs + ")"
	}
	ts := "NULL::timestamptz, NULL::int8"
	join := ""
	if withTS {
		ts = "c.timestamp, c.roident::int8"
		join = " LEFT JOIN LATERAL pg_xact_commit_timestamp_origin(" + alias + ".xmin) AS c ON TRUE"
	}
	q := fmt.Sprintf("SELECT %s, to_jsonb(%s)::text, %s FROM %s AS %s%s WHERE %s IN (%s)",
		t.keyText(), alias, ts, t.ident(), alias, join, lhs, strings.Join(in, ", "))
	return q, args
}

// streamSQL lists every row of range r in key order with the index of the
// part it falls in when r is cut at cuts (as hashSQL numbers them), its key
// text and row hash, and, for a composite key, the key columns as text (a
// single column's text is the key text itself).
func (t table) streamSQL(r keyRange, cuts []bound) (string, []any) {
	var args []any
	where := t.where(r, &args)
	cols := ""
	if len(t.cols) > 1 {
		cols = ", " + t.colsText()
	}
	q := fmt.Sprintf("SELECT %s AS i, %s, %s%s FROM %s AS %s WHERE %s ORDER BY %s",
		t.bucketExpr(cuts, &args), t.keyText(), rowHash, cols, t.ident(), alias, where, t.colList())
	return q, args
}
