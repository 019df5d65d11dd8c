package runner

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/analysis"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/workload"
)

// anomalies makes the final reads of the transactional workloads (one
// transaction per node reading every key, once the nodes converged) and
// checks each workload's history; nil when the scenario has none.
func (r *run) anomalies(ctx context.Context) []reports.Anomalies {
	cfg := r.workloadConfig()
	var any bool
	for _, s := range cfg.Workloads {
		any = any || workload.IsTxnKind(s.Kind)
	}
	if !any {
		return nil
	}
	final := true
	nodes := map[string]*pgx.Conn{}
	for name, p := range r.pools {
		c, err := p.Acquire(ctx)
		if err != nil {
			r.warn("final reads not made: %s: %s", name, trimErr(err))
			final = false
			break
		}
		defer c.Release()
		nodes[name] = c.Conn()
	}
	if final {
		if err := workload.FinalReads(ctx, cfg, nodes); err != nil {
			r.warn("final reads: %s; lost appends are judged only against the reads made", trimErr(err))
		}
	}
	var out []reports.Anomalies
	for _, s := range cfg.Workloads {
		if !workload.IsTxnKind(s.Kind) {
			continue
		}
		out = append(out, analysis.Anomalies(s.Name, s.Kind, s.Isolation, workload.TxnPath(cfg.TxnDir, s.Name)))
	}
	return out
}
