package workload

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/anomaly"
)

// ListAppend runs transactions of 1 to 4 micro-operations on Keys lists:
// append a unique integer to a list, or read a whole list. Its history
// (TxnPath) lets package anomaly infer the order of every list's versions
// and so every dependency between transactions.
//
// Each list is one row holding an array, appended with
// UPDATE … SET vals = vals || $x. One row per element (key, position)
// would also return whole lists in order, but it turns a replication
// conflict into something else: two primaries appending to one key during
// a partition would each insert their own rows and, once the link heals,
// merge both sides' elements (with positions that collide, or an
// insert_exists conflict that stalls the subscription). With one row per
// key, replication applies a whole row version from the peer, exactly as
// it does for an application's own rows: concurrent appends on two
// primaries overwrite each other, so nodes end with lists that are not
// prefixes of one another (incompatible-order) and appends that vanish
// (lost-append). That is the cost of multi-primary replication this
// workload exists to show, and the checker names it.
//
// Rows are seeded (empty) on primary1 before the run, so an append is
// always an UPDATE and never an INSERT that could collide between nodes.
type ListAppend struct {
	Name      string
	Keys      int
	Isolation pgx.TxIsoLevel
	Schema    string // as Insert.Schema
	log       *TxnLog
}

// DDL implements Workload.
func (l ListAppend) DDL() string {
	return inSchema(l.Schema, `CREATE TABLE IF NOT EXISTS pgchaos_list (
    workload text NOT NULL,
    key int NOT NULL,
    vals bigint[] NOT NULL DEFAULT '{}',
    PRIMARY KEY (workload, key)
)`)
}

// Seed implements Workload: lists 1..Keys, empty.
func (l ListAppend) Seed(ctx context.Context, nodes map[string]*pgx.Conn) error {
	return seedKeys(ctx, nodes, l.Name, KindListAppend, qualify(l.Schema, "pgchaos_list"), "vals", "'{}'::bigint[]", `vals = '{}'`, l.Keys)
}

const (
	listAppendSQL = `UPDATE pgchaos_list SET vals = vals || $3::bigint WHERE workload = $1 AND key = $2
RETURNING current_setting('cluster_name')`
	listReadSQL = `SELECT vals, current_setting('cluster_name') FROM pgchaos_list WHERE workload = $1 AND key = $2`
)

// Op implements Workload: one transaction, recorded in the workload's
// history as well as in history.jsonl.
func (l ListAppend) Op(ctx context.Context, conn *pgx.Conn, w *Worker) Op {
	ops := microOps(w.Rand, l.Keys, anomaly.Append, anomaly.ReadList, l.log.nextValue)
	return runTxn(ctx, conn, w, l.log, l.Isolation, ops, l.step)
}

func (l ListAppend) step(ctx context.Context, tx pgx.Tx, o *anomaly.Op) (string, error) {
	var by string
	switch o.F {
	case anomaly.Append:
		err := tx.QueryRow(ctx, inSchema(l.Schema, listAppendSQL), l.Name, o.Key, o.Value).Scan(&by)
		return by, err
	default:
		var vals []int64
		err := tx.QueryRow(ctx, inSchema(l.Schema, listReadSQL), l.Name, o.Key).Scan(&vals, &by)
		o.List = vals
		return by, err
	}
}

// finalReads implements finalReader: every list, on every node.
func (l ListAppend) finalReads(ctx context.Context, nodes map[string]*pgx.Conn, log *TxnLog) error {
	for _, n := range sortedNodes(nodes) {
		err := finalTxn(ctx, n, nodes[n], log, func(tx pgx.Tx) ([]anomaly.Op, error) {
			rows, err := tx.Query(ctx, inSchema(l.Schema, `SELECT key, vals FROM pgchaos_list WHERE workload = $1 ORDER BY key`), l.Name)
			if err != nil {
				return nil, err
			}
			var ops []anomaly.Op
			var k int
			var vals []int64
			_, err = pgx.ForEachRow(rows, []any{&k, &vals}, func() error {
				ops = append(ops, anomaly.Op{F: anomaly.ReadList, Key: k, List: vals})
				vals = nil
				return nil
			})
			return ops, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// seedKeys sets rows 1..n of one workload to empty on the first node
// (seedOrder), removes the workload's rows beyond n, and waits until every
// other node shows the same, like seedRows.
func seedKeys(ctx context.Context, nodes map[string]*pgx.Conn, name, kind, table, column, empty, isEmpty string, n int) error {
	first, _ := seedOrder(nodes)
	p1, ok := nodes[first]
	if !ok {
		return fmt.Errorf("%s %q setup: no node to seed its rows on", kind, name)
	}
	if n < 1 {
		return fmt.Errorf("%s %q setup: keys must be at least 1, got %d", kind, name, n)
	}
	tbl := table
	col := pgx.Identifier{column}.Sanitize()
	seed := fmt.Sprintf(`INSERT INTO %s (workload, key, %s) SELECT $1, g, %s FROM generate_series(1, $2::int) g
ON CONFLICT (workload, key) DO UPDATE SET %s = EXCLUDED.%s`, tbl, col, empty, col, col)
	if _, err := p1.Exec(ctx, seed, name, n); err != nil {
		return fmt.Errorf("%s %q setup: seed %s on %s: %w", kind, name, table, first, err)
	}
	if _, err := p1.Exec(ctx, fmt.Sprintf(`DELETE FROM %s WHERE workload = $1 AND key > $2`, tbl), name, n); err != nil {
		return fmt.Errorf("%s %q setup: trim %s on %s: %w", kind, name, table, first, err)
	}
	check := fmt.Sprintf(`SELECT count(*) FILTER (WHERE %s AND key BETWEEN 1 AND $2), count(*) FROM %s WHERE workload = $1`, isEmpty, tbl)
	return waitSeeded(ctx, nodes, kind, name, n, check, name, n)
}
