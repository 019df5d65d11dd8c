package workload

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/reports"
)

// Acked reads a history file once and counts, for each workload named, its
// ok ops per key: for insert and tutorial each acknowledged key once, for
// update-hot the acknowledged increments of each row. Every workload named
// has a map, empty when it acknowledged nothing. One pass serves them all:
// a pass decodes every op of the run.
func Acked(historyPath string, workloads ...string) (map[string]map[string]int64, error) {
	acked := make(map[string]map[string]int64, len(workloads))
	for _, w := range workloads {
		acked[w] = make(map[string]int64)
	}
	err := ReadHistory(historyPath, func(op Op) error {
		if op.Outcome != OK {
			return nil
		}
		if m, ok := acked[op.Workload]; ok {
			for _, k := range op.Keys {
				m[k]++
			}
		}
		return nil
	})
	return acked, err
}

// MissingInserts returns the keys of keys that the node conn points at does
// not hold in pgchaos_insert, in the order given. Keys go in batches, so
// memory follows the batch, not the table.
func MissingInserts(ctx context.Context, conn *pgx.Conn, keys []string) ([]string, error) {
	const batch = 10000
	var missing []string
	for chunk := range slices.Chunk(keys, batch) {
		rows, err := conn.Query(ctx, `SELECT k FROM unnest($1::text[]) WITH ORDINALITY AS u(k, i)
WHERE NOT EXISTS (SELECT 1 FROM pgchaos_insert WHERE id = u.k) ORDER BY i`, chunk)
		if err != nil {
			return nil, fmt.Errorf("check inserts: %w", err)
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, fmt.Errorf("check inserts: %w", err)
		}
		missing = append(missing, got...)
	}
	return missing, nil
}

// CounterValues returns update-hot's counters of one workload on one node,
// keyed by row id as Op.Keys writes it.
func CounterValues(ctx context.Context, conn *pgx.Conn, workload string) (map[string]int64, error) {
	rows, err := conn.Query(ctx, `SELECT id, n FROM pgchaos_counter WHERE workload = $1`, workload)
	if err != nil {
		return nil, fmt.Errorf("read counters of %q: %w", workload, err)
	}
	vals := make(map[string]int64)
	var id int
	var n int64
	_, err = pgx.ForEachRow(rows, []any{&id, &n}, func() error {
		vals[strconv.Itoa(id)] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read counters of %q: %w", workload, err)
	}
	return vals, nil
}

// LostUpdates compares acknowledged increments with a node's counters and
// returns the rows short of them, by key. Unknown ops that did commit raise
// a counter too, so the shortfall is a lower bound of what was lost.
func LostUpdates(workload, node string, acked, values map[string]int64) []reports.LostUpdate {
	var lost []reports.LostUpdate
	for k, a := range acked {
		if v := values[k]; v < a {
			lost = append(lost, reports.LostUpdate{Workload: workload, Key: k, Node: node, Acked: a, Value: v})
		}
	}
	slices.SortFunc(lost, func(x, y reports.LostUpdate) int {
		xi, _ := strconv.Atoi(x.Key)
		yi, _ := strconv.Atoi(y.Key)
		return xi - yi
	})
	return lost
}

// BankTotal reads one bank workload's total and account count on one node;
// the invariant is total == accounts × InitialBalance.
func BankTotal(ctx context.Context, conn *pgx.Conn, workload, node string, accounts int) (reports.BankTotal, error) {
	t := reports.BankTotal{Workload: workload, Node: node, Expected: int64(accounts) * InitialBalance}
	if err := conn.QueryRow(ctx, `SELECT coalesce(sum(balance), 0) FROM pgchaos_bank WHERE workload = $1`, workload).Scan(&t.Actual); err != nil {
		return t, fmt.Errorf("bank total of %q on %s: %w", workload, node, err)
	}
	return t, nil
}
