package runner

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/observe"
	"github.com/pgchaos/pgchaos/pglog"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// analyse fills the report's measurement sections once the workloads have
// stopped and every fault is healed: convergence, lag, conflicts three
// ways, the workload's own witnesses, divergence, failovers.
func (r *run) analyse(ctx context.Context, rep *reports.Report, historyPath string) {
	l := r.lab
	r.opt.Log("waiting for the nodes to converge (at most %s)", r.opt.ConvergeTimeout)
	conv := observe.WaitConverged(ctx, r.pools, lab.Peer, l.Replication().SlotOn, r.opt.ConvergeTimeout)
	r.opt.Log("%s", conv)
	// Apply workers flush their statistics at most once a second, after a
	// later transaction: with heartbeats still flowing, two more rounds of
	// samples see every conflict of the run. Then stop.
	time.Sleep(2*sampleEvery + 500*time.Millisecond)
	r.stopSampling()

	windows := r.windows(rep)
	if lag, err := observe.LagFromHeartbeats(ctx, r.pools, r.start, windows); err != nil {
		r.warn("lag not measured: %s", trimErr(err))
	} else {
		if r.samplers != nil {
			r.samplers.wal.Fill(lag)
		}
		rep.Lag = lag
	}

	// Conflicts: as PostgreSQL counted, as it logged, as the workload saw.
	c := &reports.Conflicts{CountedUnknown: l.Replication().UncountedConflicts()}
	logs := map[string][]pglog.Event{}
	for _, n := range l.Nodes {
		out, err := l.LogsSince(ctx, n.ID, r.start)
		if err != nil {
			r.warn("log of %s not read: %s", n.Name, trimErr(err))
			continue
		}
		evs, _ := pglog.Parse(strings.NewReader(out))
		logs[n.Name] = evs
		c.Logged = append(c.Logged, observe.LoggedConflicts(n.Name, evs)...)
		c.Samples = append(c.Samples, observe.LogSamples(n.Name, evs, 3)...)
	}
	if r.samplers != nil {
		c.Counted = r.samplers.stats.Totals()
		c.Stalls = observe.DetectStalls(observe.StallInput{Logs: logs, Subs: r.samplers.stats.SubSamples(), WAL: r.samplers.wal, End: time.Now()})
	}
	c.Workload = r.witness(ctx, rep, historyPath)
	rep.Conflicts = c

	div, err := observe.Diff(ctx, r.pools[lab.Primary1], r.pools[lab.Primary2], observe.DiffOptions{})
	if err != nil {
		r.warn("divergence not measured: %s", trimErr(err))
	} else {
		div.Converged = conv.Converged
		div.ConvergedIn = reports.Duration(conv.Took)
		if !conv.Converged {
			div.NotConverged = conv.String()
		}
		rep.Divergence = div
	}
	rep.Failovers = r.failovers(ctx, rep, historyPath)
	addEffects(rep)
	r.mu.Lock()
	rep.Warnings = append(rep.Warnings, r.warnings...)
	r.mu.Unlock()
}

// windows are the fault windows, for per-fault lag and conflicts.
func (r *run) windows(rep *reports.Report) []observe.Window {
	var ws []observe.Window
	for i, f := range rep.Faults {
		end := r.start.Add(r.sc.Duration)
		if f.Healed != nil {
			end = r.start.Add(f.Healed.D())
		}
		ws = append(ws, observe.Window{Fault: i, Start: r.start.Add(f.Injected.D()), End: end})
	}
	return ws
}

// missingBatch is how many keys go to a node per check.
const missingBatch = 10000

// missingInserts streams the history's acknowledged insert ops that keep
// says to look at, and asks each node which of their keys it lacks, a batch
// at a time; found receives each node's missing keys.
func (r *run) missingInserts(ctx context.Context, historyPath string, batchSize int, keep func(workload.Op) bool,
	found func(node string, missing []string), nodes ...string) error {
	batch := make([]string, 0, batchSize)
	check := func() error {
		for _, n := range nodes {
			missing, err := r.onNode(ctx, n, func(conn connQ) ([]string, error) { return workload.MissingInserts(ctx, conn, batch) })
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
	err := workload.ReadHistory(historyPath, func(op workload.Op) error {
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

// witness is what the workload's own checks saw: duplicate keys answered,
// acknowledged inserts missing after convergence, counters short of their
// acknowledged increments, bank totals.
func (r *run) witness(ctx context.Context, rep *reports.Report, historyPath string) reports.WorkloadWitness {
	var w reports.WorkloadWitness
	for _, wl := range rep.Workloads {
		for _, e := range wl.Errors {
			if e.SQLState == "23505" {
				w.DuplicateKeys += e.Count
			}
		}
	}
	// Every insert workload's acknowledged keys in one pass over the
	// history (each pass decodes every op: ~0.6 µs an op), streamed in
	// batches so memory stays flat however long the run.
	if slices.ContainsFunc(r.sc.Workloads, func(s scenario.Workload) bool { return s.Kind == scenario.KindInsert }) {
		err := r.missingInserts(ctx, historyPath, missingBatch, func(workload.Op) bool { return true },
			func(node string, missing []string) {
				w.LostWrites += int64(len(missing))
				for _, k := range missing {
					if len(w.LostWriteSamples) < 10 {
						w.LostWriteSamples = append(w.LostWriteSamples, fmt.Sprintf("%s missing on %s", k, node))
					}
				}
			}, r.lab.Nodes[0].Name, r.lab.Nodes[1].Name)
		if err != nil {
			r.warn("lost writes not checked: %s", trimErr(err))
		}
	}
	// Every update-hot workload's acknowledged increments in one pass.
	var hot []string
	for _, spec := range r.sc.Workloads {
		if spec.Kind == scenario.KindUpdateHot {
			hot = append(hot, spec.Name)
		}
	}
	var ackedHot map[string]map[string]int64 // nil: not checked
	if len(hot) > 0 {
		acked, err := workload.Acked(historyPath, hot...)
		if err != nil {
			r.warn("history unreadable, lost updates not checked: %s", trimErr(err))
		} else {
			ackedHot = acked
		}
	}
	for _, spec := range r.sc.Workloads {
		switch spec.Kind {
		case scenario.KindUpdateHot:
			acked, ok := ackedHot[spec.Name]
			if !ok {
				continue
			}
			perNode := map[string]int64{}
			for _, n := range r.lab.Nodes {
				var values map[string]int64
				_, err := r.onNode(ctx, n.Name, func(conn connQ) ([]string, error) {
					var err error
					values, err = workload.CounterValues(ctx, conn, spec.Name)
					return nil, err
				})
				if err != nil {
					r.warn("counters on %s not read: %s", n.Name, trimErr(err))
					continue
				}
				lost := workload.LostUpdates(spec.Name, n.Name, acked, values)
				w.LostUpdateRows = append(w.LostUpdateRows, lost...)
				for _, lu := range lost {
					perNode[n.Name] += lu.Acked - lu.Value
				}
			}
			// The headline is the worse node: summing both would count one
			// lost increment twice and could exceed what was acknowledged.
			var worst int64
			for _, v := range perNode {
				worst = max(worst, v)
			}
			w.LostUpdates += worst
		case scenario.KindBank:
			rows := spec.Rows
			if rows == 0 {
				rows = workload.DefaultRows
			}
			for _, n := range r.lab.Nodes {
				_, err := r.onNode(ctx, n.Name, func(conn connQ) ([]string, error) {
					t, err := workload.BankTotal(ctx, conn, spec.Name, n.Name, rows)
					if err == nil {
						w.Bank = append(w.Bank, t)
					}
					return nil, err
				})
				if err != nil {
					r.warn("bank total on %s not read: %s", n.Name, trimErr(err))
				}
			}
		}
	}
	return w
}
