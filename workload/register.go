package workload

import (
	"context"
	"maps"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/anomaly"
)

// RWRegister runs transactions of 1 to 4 micro-operations on Keys
// registers: write a unique integer, or read one register. Registers show
// version orders only where a transaction read then wrote (see package
// anomaly), so this workload is for checks where lists are not wanted.
//
// A register read of nil (never written) is ordered before every write of
// the register, which costs the checker time quadratic in the writes of a
// key; so, as Elle's workloads do, each of the Keys slots retires its
// register after RetireAfter writes and moves on to a fresh one. The
// fresh registers are seeded (NULL) before the run, Keys × Generations of
// them, so a write is always an UPDATE, never an INSERT that could collide
// between primaries.
type RWRegister struct {
	Name      string
	Keys      int
	Isolation pgx.TxIsoLevel
	Schema    string // as Insert.Schema
	log       *TxnLog
	slots     *registerSlots
}

// Register retirement: a register takes RetireAfter writes, and each slot
// has Generations registers before it stays on its last one.
const (
	RetireAfter = 32
	Generations = 256
)

// DDL implements Workload.
func (r RWRegister) DDL() string {
	return inSchema(r.Schema, `CREATE TABLE IF NOT EXISTS pgchaos_register (
    workload text NOT NULL,
    key int NOT NULL,
    val bigint,
    PRIMARY KEY (workload, key)
)`)
}

// Seed implements Workload: registers 1..Keys×Generations, never written.
func (r RWRegister) Seed(ctx context.Context, nodes map[string]*pgx.Conn) error {
	return seedKeys(ctx, nodes, r.Name, KindRWRegister, qualify(r.Schema, "pgchaos_register"), "val", "NULL::bigint", "val IS NULL", r.Keys*Generations)
}

const (
	registerWriteSQL = `UPDATE pgchaos_register SET val = $3 WHERE workload = $1 AND key = $2
RETURNING current_setting('cluster_name')`
	registerReadSQL = `SELECT val, current_setting('cluster_name') FROM pgchaos_register WHERE workload = $1 AND key = $2`
)

// Op implements Workload.
func (r RWRegister) Op(ctx context.Context, conn *pgx.Conn, w *Worker) Op {
	ops := microOps(w.Rand, r.Keys, anomaly.Write, anomaly.ReadRegister, r.log.nextValue)
	r.slots.place(ops)
	return runTxn(ctx, conn, w, r.log, r.Isolation, ops, r.step)
}

func (r RWRegister) step(ctx context.Context, tx pgx.Tx, o *anomaly.Op) (string, error) {
	var by string
	if o.F == anomaly.Write {
		err := tx.QueryRow(ctx, inSchema(r.Schema, registerWriteSQL), r.Name, o.Key, o.Value).Scan(&by)
		return by, err
	}
	var v *int64
	err := tx.QueryRow(ctx, inSchema(r.Schema, registerReadSQL), r.Name, o.Key).Scan(&v, &by)
	if v == nil {
		o.Nil = true
	} else {
		o.Value = *v
	}
	return by, err
}

// finalReads implements finalReader: every register written on any node,
// read on every node (a register still nil on one node is then read as
// nil there).
func (r RWRegister) finalReads(ctx context.Context, nodes map[string]*pgx.Conn, log *TxnLog) error {
	written := map[int]bool{}
	for _, n := range sortedNodes(nodes) {
		rows, err := nodes[n].Query(ctx, inSchema(r.Schema, `SELECT key FROM pgchaos_register WHERE workload = $1 AND val IS NOT NULL`), r.Name)
		if err != nil {
			return err
		}
		var k int
		if _, err := pgx.ForEachRow(rows, []any{&k}, func() error { written[k] = true; return nil }); err != nil {
			return err
		}
	}
	keys := slices.Sorted(maps.Keys(written))
	for _, n := range sortedNodes(nodes) {
		err := finalTxn(ctx, n, nodes[n], log, func(tx pgx.Tx) ([]anomaly.Op, error) {
			vals := make(map[int]int64, len(keys))
			rows, err := tx.Query(ctx, inSchema(r.Schema, `SELECT key, val FROM pgchaos_register WHERE workload = $1 AND key = ANY($2) AND val IS NOT NULL`), r.Name, keys)
			if err != nil {
				return nil, err
			}
			var k int
			var v int64
			if _, err := pgx.ForEachRow(rows, []any{&k, &v}, func() error { vals[k] = v; return nil }); err != nil {
				return nil, err
			}
			ops := make([]anomaly.Op, len(keys))
			for i, k := range keys {
				v, ok := vals[k]
				ops[i] = anomaly.Op{F: anomaly.ReadRegister, Key: k, Value: v, Nil: !ok}
			}
			return ops, nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// registerSlots maps each of keys slots to its current register and
// retires a register after RetireAfter writes. Shared by all workers of
// one workload.
type registerSlots struct {
	mu     sync.Mutex
	keys   int
	gen    []int
	writes []int
}

func newRegisterSlots(keys int) *registerSlots {
	return &registerSlots{keys: keys, gen: make([]int, keys), writes: make([]int, keys)}
}

// place turns ops' slot numbers (1..keys) into register keys
// (generation × keys + slot), counting writes and retiring full registers.
func (s *registerSlots) place(ops []anomaly.Op) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range ops {
		slot := ops[i].Key - 1
		ops[i].Key = s.gen[slot]*s.keys + slot + 1
		if ops[i].F != anomaly.Write {
			continue
		}
		s.writes[slot]++
		if s.writes[slot] >= RetireAfter && s.gen[slot] < Generations-1 {
			s.gen[slot]++
			s.writes[slot] = 0
		}
	}
}

// sortedNodes is the node names of nodes in order.
func sortedNodes(nodes map[string]*pgx.Conn) []string {
	return slices.Sorted(maps.Keys(nodes))
}
