package observe

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

// The SQL of the divergence check, built from a table's primary key. Pure
// string building, so the shapes are unit-tested without a server.

// divAlias names the whole-row reference in every query. A column of that
// name would shadow it, so it is one no workload table will have.
const divAlias = "_pgchaos_r"

// divRowHash is the per-row hash, computed by PostgreSQL over the row's text
// form. hashtextextended is the 64-bit hash hash-partitioning relies on, so
// it is stable across servers and releases, and it is several times cheaper
// than md5 over a million rows (measured: 0.3 s vs 0.64 s).
const divRowHash = "hashtextextended(" + divAlias + "::text, 0)"

// divTable is one table to compare: its name in schema public and its
// primary key, columns in index order with their SQL types (format_type).
type divTable struct {
	name  string
	cols  []string
	types []string
}

// divBound is a key bound: one text value per primary-key column, cast to
// the column types by the server. nil is unbounded.
type divBound []string

// divRange is the half-open key range [lo, hi).
type divRange struct {
	lo, hi divBound
}

func (t divTable) ident() string { return pgx.Identifier{"public", t.name}.Sanitize() }

// divCols is the key columns as a list: "a", "b".
func (t divTable) divCols() string {
	q := make([]string, len(t.cols))
	for i, c := range t.cols {
		q[i] = divAlias + "." + pgx.Identifier{c}.Sanitize()
	}
	return strings.Join(q, ", ")
}

// divKeyExpr is the key as one comparable value: the column itself or a row
// constructor, so comparisons follow PostgreSQL's own ordering (collations,
// types) and a composite key compares as a btree-indexable row comparison.
func (t divTable) divKeyExpr() string {
	if len(t.cols) == 1 {
		return t.divCols()
	}
	return "ROW(" + t.divCols() + ")"
}

// divKeyText is the key rendered as text for the report: the value of a
// single column, or the row literal "(a,b)" of a composite key.
func (t divTable) divKeyText() string {
	return t.divKeyExpr() + "::text"
}

// divColsText selects each key column as text, to send back as a bound.
func (t divTable) divColsText() string {
	q := make([]string, len(t.cols))
	for i, c := range t.cols {
		q[i] = divAlias + "." + pgx.Identifier{c}.Sanitize() + "::text"
	}
	return strings.Join(q, ", ")
}

// divParam appends a bound's values to args and returns the matching
// expression: ($1::int4, $2::text) cast to the key columns' types.
func (t divTable) divParam(b divBound, args *[]any) string {
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

// divWhere is the predicate of a range, "TRUE" when unbounded.
func (t divTable) divWhere(r divRange, args *[]any) string {
	var conds []string
	if r.lo != nil {
		conds = append(conds, t.divKeyExpr()+" >= "+t.divParam(r.lo, args))
	}
	if r.hi != nil {
		conds = append(conds, t.divKeyExpr()+" < "+t.divParam(r.hi, args))
	}
	if len(conds) == 0 {
		return "TRUE"
	}
	return strings.Join(conds, " AND ")
}

// divHashSQL hashes several ranges in one statement: one row per range
// (index i, row count, sum of row hashes as numeric text). Each branch is
// an index range scan; the sum is order-independent so nothing is sorted.
func (t divTable) divHashSQL(rs []divRange) (string, []any) {
	var args []any
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("SELECT %d AS i, count(*) AS n, coalesce(sum(%s), 0)::text AS h FROM %s AS %s WHERE %s",
			i, divRowHash, t.ident(), divAlias, t.divWhere(r, &args))
	}
	return strings.Join(parts, "\nUNION ALL\n") + "\nORDER BY i", args
}

// divSplitSQL returns, in key order, the keys that start each run of step
// rows within the range (except the first run): the split points that cut
// it into equal parts on this node.
func (t divTable) divSplitSQL(r divRange, step int64) (string, []any) {
	var args []any
	where := t.divWhere(r, &args)
	args = append(args, step)
	stepParam := "$" + strconv.Itoa(len(args)) + "::int8"
	outer := make([]string, len(t.cols))
	for i := range t.cols {
		outer[i] = "s.k" + strconv.Itoa(i) + "::text"
	}
	inner := make([]string, len(t.cols))
	for i, c := range t.cols {
		// Cast to text outside, only for the few rows kept.
		inner[i] = divAlias + "." + pgx.Identifier{c}.Sanitize() + " AS k" + strconv.Itoa(i)
	}
	q := fmt.Sprintf("SELECT %s FROM (SELECT %s, row_number() OVER (ORDER BY %s) AS rn FROM %s AS %s WHERE %s) AS s WHERE s.rn > 1 AND (s.rn - 1) %% %s = 0 ORDER BY s.rn",
		strings.Join(outer, ", "), strings.Join(inner, ", "), t.divCols(), t.ident(), divAlias, where, stepParam)
	return q, args
}

// divLeafSQL lists a small range row by row: key text, row hash and the key
// columns as text, in key order.
func (t divTable) divLeafSQL(r divRange) (string, []any) {
	var args []any
	where := t.divWhere(r, &args)
	q := fmt.Sprintf("SELECT %s, %s, %s FROM %s AS %s WHERE %s ORDER BY %s",
		t.divKeyText(), divRowHash, t.divColsText(), t.ident(), divAlias, where, t.divCols())
	return q, args
}

// divDetailSQL fetches the listed rows in full (as JSON text) with the
// commit timestamp and replication origin of the transaction that last wrote
// each. withTS is false when track_commit_timestamp is off: asking would
// fail, so the columns are NULL instead.
func (t divTable) divDetailSQL(keys []divBound, withTS bool) (string, []any) {
	var args []any
	in := make([]string, len(keys))
	for i, k := range keys {
		p := t.divParam(k, &args)
		if len(t.cols) > 1 {
			p = strings.TrimPrefix(p, "ROW")
		}
		in[i] = p
	}
	lhs := t.divCols()
	if len(t.cols) > 1 {
		lhs = "(" + lhs + ")"
	}
	ts := "NULL::timestamptz, NULL::int8"
	join := ""
	if withTS {
		ts = "c.timestamp, c.roident::int8"
		join = " LEFT JOIN LATERAL pg_xact_commit_timestamp_origin(" + divAlias + ".xmin) AS c ON TRUE"
	}
	q := fmt.Sprintf("SELECT %s, to_jsonb(%s)::text, %s FROM %s AS %s%s WHERE %s IN (%s)",
		t.divKeyText(), divAlias, ts, t.ident(), divAlias, join, lhs, strings.Join(in, ", "))
	return q, args
}
