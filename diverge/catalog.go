package diverge

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/reports"
)

// heartbeatTables are pgchaos's own heartbeat tables, by display name, in
// a lab (public) and on a user's nodes (schema pgchaos): left out of
// default comparisons, as each node stamps its own apply time in them.
// The built-in workloads' tables beside them in schema pgchaos are
// compared: they are what a target run writes.
var heartbeatTables = []string{"pgchaos_heartbeat", "pgchaos.pgchaos_heartbeat"}

// catalogSQL lists the tables a comparison may read, with their primary
// keys (none for a table without one): ordinary and partitioned tables
// (partitions are read through their parent), not temporary, in every
// schema but the system's (pg_*, information_schema) and the replication
// engines' own, and not belonging to an extension (pglogical's tables,
// Spock's, … whatever schema they sit in).
const catalogSQL = `
SELECT n.nspname::text, c.relname::text,
       coalesce(array_agg(a.attname::text ORDER BY k.ord) FILTER (WHERE a.attname IS NOT NULL), '{}'),
       coalesce(array_agg(format_type(a.atttypid, a.atttypmod) ORDER BY k.ord) FILTER (WHERE a.attname IS NOT NULL), '{}')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
LEFT JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) ON TRUE
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND c.relpersistence <> 't'
  AND n.nspname NOT LIKE 'pg\_%' AND n.nspname <> 'information_schema'
  AND n.nspname NOT IN ('pglogical', 'pglogical_origin', 'spock', 'pgactive', 'bdr')
  AND NOT EXISTS (SELECT 1 FROM pg_depend d
                  WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
GROUP BY n.nspname, c.relname`

// displayName is how reports and Options.Tables name a table: bare in
// schema public (reports from before other schemas were compared name
// test_table so), "schema.table" elsewhere.
func displayName(schema, rel string) string {
	if schema == "public" {
		return rel
	}
	return schema + "." + rel
}

// catalog lists the tables on one node by display name, with their
// primary keys (tables without one have no cols).
func catalog(ctx context.Context, p *pgxpool.Pool, node string) (map[string]table, error) {
	rows, err := p.Query(ctx, catalogSQL)
	if err != nil {
		return nil, fmt.Errorf("diff: list tables on %s: %w", node, err)
	}
	out := map[string]table{}
	for rows.Next() {
		var t table
		if err := rows.Scan(&t.schema, &t.rel, &t.cols, &t.types); err != nil {
			rows.Close()
			return nil, fmt.Errorf("diff: list tables on %s: %w", node, err)
		}
		t.name = displayName(t.schema, t.rel)
		out[t.name] = t
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("diff: list tables on %s: %w", node, err)
	}
	return out, nil
}

// chooseTables picks the tables to compare, sorted by name, from each
// node's catalog (cats[i] is nodes[i]'s). Named tables must exist on at
// least one node with the same primary key wherever they exist, or the
// comparison stops with an error. By default every table is taken but the
// heartbeat tables, and those that cannot be compared are returned with
// the reason instead: without a primary key on some node, or with keys
// that differ between nodes. A table absent from some nodes is compared
// (as empty there: all its rows are missing on them).
func chooseTables(named, nodes []string, cats []map[string]table) ([]string, []reports.NotCompared, error) {
	var names []string
	if len(named) == 0 {
		for _, cat := range cats {
			for name := range cat {
				if !slices.Contains(heartbeatTables, name) {
					names = append(names, name)
				}
			}
		}
	} else {
		names = slices.Clone(named)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	var keep []string
	var skipped []reports.NotCompared
	for _, name := range names {
		why := whyNotCompared(name, nodes, cats)
		switch {
		case why == "":
			keep = append(keep, name)
		case len(named) > 0:
			return nil, nil, fmt.Errorf("diff: table %q: %s", name, why)
		default:
			skipped = append(skipped, reports.NotCompared{Table: name, Reason: why})
		}
	}
	return keep, skipped, nil
}

// whyNotCompared says why a table cannot be compared across the nodes, or
// "" when it can.
func whyNotCompared(name string, nodes []string, cats []map[string]table) string {
	var on, keyless, absent []string
	var keyed []table
	for i, cat := range cats {
		t, ok := cat[name]
		switch {
		case !ok:
			absent = append(absent, nodes[i])
		case len(t.cols) == 0:
			on = append(on, nodes[i])
			keyless = append(keyless, nodes[i])
		default:
			on = append(on, nodes[i])
			keyed = append(keyed, t)
		}
	}
	switch {
	case len(on) == 0:
		return fmt.Sprintf("on no node (%s): check the name (schema.table outside schema public)", strings.Join(nodes, ", "))
	case len(keyless) == len(on) && len(absent) == 0:
		return "no primary key: rows cannot be matched across nodes without one"
	case len(keyless) == len(on):
		return fmt.Sprintf("no primary key (on %s; absent on %s): rows cannot be matched across nodes without one",
			strings.Join(on, ", "), strings.Join(absent, ", "))
	case len(keyless) > 0:
		return fmt.Sprintf("no primary key on %s, one on the others (%s): the schemas diverged, align them before comparing rows",
			strings.Join(keyless, ", "), describeKey(keyed[0]))
	}
	for i, t := range keyed[1:] {
		if !slices.Equal(t.cols, keyed[0].cols) || !slices.Equal(t.types, keyed[0].types) {
			// No node lacks a key here, so on and keyed line up.
			return fmt.Sprintf("the primary keys differ: %s (%s) vs %s (%s): the schemas diverged, align them before comparing rows",
				on[0], describeKey(keyed[0]), on[i+1], describeKey(t))
		}
	}
	return ""
}

func describeKey(t table) string {
	q := make([]string, len(t.cols))
	for i := range t.cols {
		q[i] = t.cols[i] + " " + t.types[i]
	}
	return strings.Join(q, ", ")
}
