package runner

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/analysis"
	"github.com/pgchaos/pgchaos/diverge"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/node"
	"github.com/pgchaos/pgchaos/observe"
	"github.com/pgchaos/pgchaos/pglog"
	"github.com/pgchaos/pgchaos/reports"
)

// analyse fills the report's measurement sections once the workloads have
// stopped and every fault is healed: convergence, lag, conflicts three
// ways, the workload's own witnesses, divergence, failovers.
func (r *run) analyse(ctx context.Context, rep *reports.Report, historyPath string) {
	r.opt.Log("waiting for the nodes to converge (at most %s)", r.opt.ConvergeTimeout)
	conv := observe.WaitConvergedLinks(ctx, r.pools, r.lab.SlotOn, r.lab.HasLink, r.opt.ConvergeTimeout)
	r.opt.Log("%s", conv)
	// Apply workers flush their statistics at most once a second, after a
	// later transaction: with heartbeats still flowing, two more rounds of
	// samples see every conflict of the run. Then stop.
	time.Sleep(2*sampleEvery + 500*time.Millisecond)
	r.stopSampling()

	if lag, err := observe.LagFromHeartbeats(ctx, r.pools, r.start, r.windows(rep)); err != nil {
		r.warn("lag not measured: %s", trimErr(err))
	} else {
		if r.samplers != nil {
			r.samplers.wal.Fill(lag)
		}
		observe.MarkUnlinked(lag, r.lab.HasLink)
		rep.Lag = lag
	}

	ar := r.analysisRun(rep, historyPath)
	var logs map[string][]pglog.Event
	rep.Conflicts, logs = r.conflicts(ctx)
	w, errs := analysis.Witness(ctx, analysis.Pools(r.pools), ar, rep.Workloads)
	for _, err := range errs {
		r.warn("%s", trimErr(err))
	}
	rep.Conflicts.Workload = w
	if r.samplers != nil && r.samplers.retention != nil {
		rep.Conflicts.Retention = r.samplers.retention.Report(r.lab.Primaries(), r.windows(rep))
	}
	rep.Divergence = r.divergence(ctx, conv)
	r.explainDivergence(rep, ar, logs)
	rep.Failovers = r.failovers(ctx, rep, ar)
	rep.Anomalies = r.anomalies(ctx)
	analysis.FaultEffects(rep)
	r.mu.Lock()
	rep.Warnings = append(rep.Warnings, r.warnings...)
	r.mu.Unlock()
}

// conflicts are the conflicts as PostgreSQL counted and logged them, and
// the stalls; the workload's witness is added by analyse. It also returns
// the parsed logs of the nodes whose log it could read.
func (r *run) conflicts(ctx context.Context) (*reports.Conflicts, map[string][]pglog.Event) {
	c := &reports.Conflicts{CountedUnknown: r.lab.Replication().UncountedConflicts()}
	logs := map[string][]pglog.Event{}
	var unread []string
	for _, n := range r.lab.Nodes {
		if n.ID == "" {
			why := fmt.Sprintf("log of %s not read: the target names no container for it", n.Name)
			if c.CountedUnknown != "" {
				// pglogical.show_subscription_status says a subscription is
				// down, not why (a cut link looks the same as an apply
				// error): without the log its stalls are unknown too.
				why += " (" + r.lab.Replication().Name() + " keeps no counters: the conflicts applied and the stalls on " + n.Name + " are unknown)"
			} else {
				why += " (conflicts are counted from pg_stat_subscription_stats only)"
			}
			r.warn("%s", why)
			unread = append(unread, why)
			continue
		}
		out, err := r.lab.LogsSince(ctx, n.ID, r.start)
		if err != nil {
			r.warn("log of %s not read: %s", n.Name, trimErr(err))
			unread = append(unread, fmt.Sprintf("log of %s not read: %s", n.Name, trimErr(err)))
			continue
		}
		evs, _ := pglog.Parse(strings.NewReader(out))
		logs[n.Name] = evs
		c.Logged = append(c.Logged, observe.LoggedConflicts(n.Name, evs)...)
		c.Samples = append(c.Samples, observe.LogSamples(n.Name, evs, 3)...)
	}
	c.LoggedUnknown = strings.Join(unread, "; ")
	if r.samplers != nil {
		c.Counted = r.samplers.stats.Totals()
		pub := map[[2]string]string{}
		for _, k := range r.lab.Links() {
			pub[[2]string{k.Subscriber, k.Name}] = k.Publisher
		}
		c.Stalls = observe.DetectStalls(observe.StallInput{Logs: logs, Subs: r.samplers.stats.SubSamples(), WAL: r.samplers.wal, End: time.Now(),
			Publisher: func(node, sub string) string { return pub[[2]string{node, sub}] }})
	}
	return c, logs
}

// divergence compares the nodes row by row once they converged (or the
// wait gave up); nil when it could not be measured.
func (r *run) divergence(ctx context.Context, conv observe.Convergence) *reports.Divergence {
	// With two nodes DiffAll is Diff: the report keeps its two-node shape.
	div, err := diverge.DiffAll(ctx, r.lab.Primaries(), r.pools, diverge.Options{})
	if err != nil {
		r.warn("divergence not measured: %s", trimErr(err))
		return nil
	}
	div.Converged = conv.Converged
	div.ConvergedIn = reports.Duration(conv.Took)
	if !conv.Converged {
		div.NotConverged = conv.String()
	}
	return div
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

// analysisRun is what analysis needs to know of this run.
func (r *run) analysisRun(rep *reports.Report, historyPath string) analysis.Run {
	return analysis.Run{History: historyPath, Start: r.start, Duration: r.sc.Duration,
		Workloads: r.sc.Workloads, Scheduled: r.sc.Faults, Faults: rep.Faults,
		Nodes: r.nodeNames(), ServedAs: r.servedAs(), Proxy: lab.HAProxy, Peer: func(from string) string {
			// Where a failover sends the proxy's clients: every other
			// primary, round robin.
			return strings.Join(node.Others(r.nodeNames(), from), ", ")
		}}
}

func (r *run) nodeNames() []string {
	nodes := make([]string, 0, len(r.lab.Nodes))
	for _, n := range r.lab.Nodes {
		nodes = append(nodes, n.Name)
	}
	return nodes
}

// servedAs maps each of a user's nodes to the cluster_name its ops record
// as served_by ("" when it has none); a lab's nodes record their names.
func (r *run) servedAs() map[string]string {
	if !r.lab.IsExternal() {
		return nil
	}
	m := map[string]string{}
	for _, n := range r.lab.Nodes {
		m[n.Name] = n.ClusterName
	}
	return m
}

// failovers measures each failover of the run from the history, with what
// the stranded-writes check at its failback found and the conflicts
// counted after it.
func (r *run) failovers(ctx context.Context, rep *reports.Report, ar analysis.Run) []reports.Failover {
	fos, err := analysis.Failovers(ar)
	if err != nil {
		r.warn("failovers not analysed: %s", trimErr(err))
		return nil
	}
	for i := range fos {
		r.mu.Lock()
		s := r.strandedAt[fos[i].From]
		r.mu.Unlock()
		if s == nil {
			continue
		}
		if err := analysis.Failback(ctx, analysis.Pools(r.pools), r.start, s, &fos[i]); err != nil {
			r.warn("%s", trimErr(err))
		}
		fb := fos[i].Failback
		fb.Converged = rep.Divergence != nil && rep.Divergence.Converged
		if r.samplers != nil {
			for _, c := range r.samplers.stats.Window(s.At, time.Now()) {
				fb.Conflicts += c.Count
			}
		}
	}
	return fos
}

// recordStranded measures, just before the failback of from, the writes it
// stranded (analysis.StrandedWrites), checking only the inserts
// acknowledged after the last heartbeat from it that the survivor applied.
func (r *run) recordStranded(ctx context.Context, from string) {
	st := r.measureStranded(ctx, from)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.strandedAt == nil {
		r.strandedAt = map[string]*analysis.Stranded{}
	}
	r.strandedAt[from] = st
}

func (r *run) measureStranded(ctx context.Context, from string) *analysis.Stranded {
	if err := r.rec.Flush(); err != nil {
		r.warn("stranded writes not measured: %s", trimErr(err))
		return nil
	}
	ar := analysis.Run{Nodes: r.nodeNames(), ServedAs: r.servedAs()}
	servedAs, why := ar.Served(from)
	if why != "" {
		return nil // the failover's report says why (analysis.Failovers)
	}
	// With more than two primaries every other one is a survivor; the
	// report keeps the one that lacks the most of from's writes.
	var worst *analysis.Stranded
	for _, survivor := range node.Others(r.lab.Primaries(), from) {
		var lastBeat *time.Time
		if err := r.pools[survivor].QueryRow(ctx, "SELECT max(sent_at) FROM pgchaos_heartbeat WHERE origin = $1", from).Scan(&lastBeat); err != nil {
			r.warn("stranded writes not measured on %s: %s", survivor, trimErr(err))
			return nil
		}
		since := r.start
		if lastBeat != nil && lastBeat.After(since) {
			since = *lastBeat
		}
		s, err := analysis.StrandedWrites(ctx, analysis.Pools(r.pools), r.rec.Path(), servedAs, survivor, since)
		if err != nil {
			r.warn("stranded writes not measured on %s: %s", survivor, trimErr(err))
			return nil
		}
		if worst == nil || len(s.Keys) > len(worst.Keys) {
			worst = s
		}
	}
	return worst
}
