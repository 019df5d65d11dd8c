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
// ExplainDivergence), on any number of nodes. Without every node's log, or
// the history, no cause is sought: Divergence.Unexplained stays nil and
// the unexplained_divergence assertion reads "not measured".
func (r *run) explainDivergence(rep *reports.Report, ar analysis.Run, logs map[string][]pglog.Event) {
	d := rep.Divergence
	if d == nil {
		return
	}
	for _, n := range ar.Nodes {
		if _, ok := logs[n]; !ok {
			r.warn("causes of divergence not sought: the log of %s was not read", n)
			return
		}
	}
	writes, err := analysis.HistoryWrites(ar.History, d, ar.Nodes, nodeOf(ar))
	if err != nil {
		r.warn("causes of divergence not sought: %s", trimErr(err))
		return
	}
	analysis.ExplainDivergence(d, analysis.CauseEvidence{
		Start: r.start, Faults: rep.Faults,
		Converged: d.Converged, NotConverged: d.NotConverged,
		ConflictLogs: logsNameConflicts(rep.Lab),
		Logs:         logs, Writes: writes,
		Nodes: ar.Nodes, Publisher: r.publisherOf,
	})
}

// publisherOf names the node whose changes node's subscription sub
// applies, from the lab's links (the user's, on a target); "" when none
// matches.
func (r *run) publisherOf(node, sub string) string {
	for _, k := range r.lab.Links() {
		if k.Subscriber == node && k.Name == sub {
			return k.Publisher
		}
	}
	return ""
}

// nodeOf maps what ops record as served_by to the node's name, for the
// nodes whose ops record another name (a user's node: its cluster_name)
// and can be told apart; nil when every node records its own name.
func nodeOf(ar analysis.Run) map[string]string {
	var out map[string]string
	for _, n := range ar.Nodes {
		if name, unknown := ar.Served(n); unknown == "" && name != n {
			if out == nil {
				out = map[string]string{}
			}
			out[name] = n
		}
	}
	return out
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
