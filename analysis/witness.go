package analysis

import (
	"context"
	"fmt"
	"slices"

	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// missingBatch is how many keys go to a node per check.
const missingBatch = 10000

// maxLostWriteSamples is how many lost writes the report names.
const maxLostWriteSamples = 10

// Witness is what the workload's own checks saw: duplicate keys answered
// (from the workloads' summaries, seen), acknowledged inserts missing after
// convergence, counters short of their acknowledged increments, bank
// totals. Each check that could not be made is one error in errs, and the
// witness holds what the others found.
func Witness(ctx context.Context, db Nodes, r Run, seen []reports.Workload) (w reports.WorkloadWitness, errs []error) {
	w.DuplicateKeys = duplicateKeys(seen)
	if slices.ContainsFunc(r.Workloads, func(s scenario.Workload) bool { return s.Kind == scenario.KindInsert }) {
		var err error
		w.LostWrites, w.LostWriteSamples, err = LostWrites(ctx, db, r)
		if err != nil {
			errs = append(errs, fmt.Errorf("lost writes not checked: %w", err))
		}
	}
	var uerrs []error
	w.LostUpdates, w.LostUpdateRows, uerrs = LostUpdates(ctx, db, r)
	errs = append(errs, uerrs...)
	var berrs []error
	w.Bank, berrs = BankTotals(ctx, db, r)
	return w, append(errs, berrs...)
}

// duplicateKeys counts the unique violations (SQLSTATE 23505) the
// workloads were answered.
func duplicateKeys(seen []reports.Workload) int64 {
	var n int64
	for _, wl := range seen {
		for _, e := range wl.Errors {
			if e.SQLState == "23505" {
				n += e.Count
			}
		}
	}
	return n
}

// LostWrites counts the acknowledged inserts of the history that a node
// (of r.Nodes) does not hold, and names the first few as "key missing on
// node". Every insert workload's keys go in one pass over the history
// (each pass decodes every op: ~0.6 µs an op, BenchmarkReadHistory),
// streamed in batches so memory stays flat however long the run.
func LostWrites(ctx context.Context, db Nodes, r Run) (lost int64, samples []string, err error) {
	err = missingInserts(ctx, db, r.History, missingBatch, func(workload.Op) bool { return true },
		func(node string, missing []string) {
			lost += int64(len(missing))
			for _, k := range missing {
				if len(samples) < maxLostWriteSamples {
					samples = append(samples, fmt.Sprintf("%s missing on %s", k, node))
				}
			}
		}, r.Nodes...)
	return lost, samples, err
}

// missingInserts streams the history's acknowledged insert ops that keep
// says to look at, and asks each node which of their keys it lacks, a batch
// at a time; found receives each node's missing keys.
func missingInserts(ctx context.Context, db Nodes, history string, batchSize int, keep func(workload.Op) bool,
	found func(node string, missing []string), nodes ...string) error {
	batch := make([]string, 0, batchSize)
	check := func() error {
		for _, n := range nodes {
			missing, err := db.MissingInserts(ctx, n, batch)
			if err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
			if len(missing) > 0 {
				found(n, missing)
			}
		}
		batch = batch[:0]
		return nil
	}
	err := workload.ReadHistory(history, func(op workload.Op) error {
		if op.Kind != scenario.KindInsert || op.Outcome != workload.OK || !keep(op) {
			return nil
		}
		batch = append(batch, op.Keys...)
		if len(batch) >= batchSize {
			return check()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if len(batch) > 0 {
		return check()
	}
	return nil
}

// LostUpdates compares every update-hot workload's acknowledged increments
// (one pass over the history for them all) with each node's counters: rows
// lists each row short on a node, and lost is the shortfall of the worse
// node, summed over the workloads. Each node or history that could not be
// read is one error in errs.
func LostUpdates(ctx context.Context, db Nodes, r Run) (lost int64, rows []reports.LostUpdate, errs []error) {
	var hot []string
	for _, spec := range r.Workloads {
		if spec.Kind == scenario.KindUpdateHot {
			hot = append(hot, spec.Name)
		}
	}
	if len(hot) == 0 {
		return 0, nil, nil
	}
	acked, err := workload.Acked(r.History, hot...)
	if err != nil {
		return 0, nil, []error{fmt.Errorf("history unreadable, lost updates not checked: %w", err)}
	}
	for _, name := range hot {
		perNode := map[string]int64{}
		for _, n := range r.Nodes {
			values, err := db.CounterValues(ctx, n, name)
			if err != nil {
				errs = append(errs, fmt.Errorf("counters on %s not read: %w", n, err))
				continue
			}
			short := workload.LostUpdates(name, n, acked[name], values)
			rows = append(rows, short...)
			for _, lu := range short {
				perNode[n] += lu.Acked - lu.Value
			}
		}
		// The headline is the worse node: summing both would count one
		// lost increment twice and could exceed what was acknowledged.
		var worst int64
		for _, v := range perNode {
			worst = max(worst, v)
		}
		lost += worst
	}
	return lost, rows, errs
}

// BankTotals reads every bank workload's total on each node; the invariant
// is total == accounts × workload.InitialBalance. Each node that could not
// be read is one error in errs.
func BankTotals(ctx context.Context, db Nodes, r Run) (totals []reports.BankTotal, errs []error) {
	for _, spec := range r.Workloads {
		if spec.Kind != scenario.KindBank {
			continue
		}
		accounts := spec.Rows
		if accounts == 0 {
			accounts = workload.DefaultRows
		}
		for _, n := range r.Nodes {
			t, err := db.BankTotal(ctx, n, spec.Name, accounts)
			if err != nil {
				errs = append(errs, fmt.Errorf("bank total on %s not read: %w", n, err))
				continue
			}
			totals = append(totals, t)
		}
	}
	return totals, errs
}
