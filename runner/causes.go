package runner

import (
	"strconv"
	"strings"

	"github.com/pgchaos/pgchaos/analysis"
	"github.com/pgchaos/pgchaos/pglog"
	"github.com/pgchaos/pgchaos/reports"
)

// explainDivergence gives each listed divergent row its cause, from the
// nodes' logs, the history and the fault timeline (analysis.
// ExplainDivergence). Without every node's log, or the history, or over
// more than two nodes, no cause is sought: Divergence.Unexplained stays nil
// (0 over more nodes when none diverged) and the unexplained_divergence
// assertion reads "not measured".
func (r *run) explainDivergence(rep *reports.Report, ar analysis.Run, logs map[string][]pglog.Event) {
	d := rep.Divergence
	if d == nil {
		return
	}
	if len(ar.Nodes) > 2 {
		// Over more than two nodes analysis.ExplainDivergence seeks no
		// cause (it would name wrong ones): it only says that nothing is
		// unexplained when nothing diverged, so it needs no evidence.
		if d.DivergentRows > 0 {
			r.warn("causes of divergence not sought: the analysis of causes compares two nodes, and this lab has %d (%s)", len(ar.Nodes), strings.Join(ar.Nodes, ", "))
		}
		analysis.ExplainDivergence(d, analysis.CauseEvidence{})
		return
	}
	for _, n := range ar.Nodes {
		if _, ok := logs[n]; !ok {
			r.warn("causes of divergence not sought: the log of %s was not read", n)
			return
		}
	}
	writes, err := analysis.HistoryWrites(ar.History, d, ar.Nodes)
	if err != nil {
		r.warn("causes of divergence not sought: %s", trimErr(err))
		return
	}
	analysis.ExplainDivergence(d, analysis.CauseEvidence{
		Start: r.start, Faults: rep.Faults,
		Converged: d.Converged, NotConverged: d.NotConverged,
		ConflictLogs: logsNameConflicts(rep.Lab),
		Logs:         logs, Writes: writes,
	})
}

// logsNameConflicts reports whether every node's server logs conflicts by
// key: PostgreSQL 18 and later. A node whose version is unknown is taken at
// the version the lab asked for.
func logsNameConflicts(l reports.Lab) bool {
	if len(l.Nodes) == 0 {
		return major(l.Postgres) >= 18
	}
	for _, n := range l.Nodes {
		v := n.ServerVersion
		if v == "" {
			v = l.Postgres
		}
		if major(v) < 18 {
			return false
		}
	}
	return true
}

// major is the major version of "18.6 (Debian 18.6-3)" or "18": 0 when
// unreadable.
func major(v string) int {
	v, _, _ = strings.Cut(strings.TrimSpace(v), ".")
	v, _, _ = strings.Cut(v, " ")
	m, err := strconv.Atoi(v)
	if err != nil {
		return 0
	}
	return m
}
