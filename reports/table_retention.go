package reports

import "fmt"

// retention renders conflicts.retention: per node, how far back the
// pg_conflict_detection slot held VACUUM and the hot table's dead tuples,
// over the run and within each fault window. An unknown figure shows "-"
// and its reason, never 0.
func (p *printer) retention(r *Retention) {
	if r == nil {
		return
	}
	p.title(fmt.Sprintf("Dead tuples kept for update_deleted (retain_dead_tuples; table %s)", r.Table))
	opt := func(v *int64, why string) string {
		if v == nil {
			return "- (" + why + ")"
		}
		return count(*v)
	}
	rows := make([][]string, 0, len(r.Nodes))
	for _, n := range r.Nodes {
		rows = append(rows, []string{n.Node, count(int64(n.Samples)),
			opt(n.SlotXminAgeMax, n.SlotXminAgeUnknown), opt(n.DeadTuplesMax, n.DeadTuplesUnknown)})
		for _, w := range n.Windows {
			rows = append(rows, []string{"  fault #" + count(int64(w.Fault)), "",
				opt(w.SlotXminAgeMax, "no sample"), opt(w.DeadTuplesMax, "no sample")})
		}
	}
	p.table([]string{"node", "samples", "slot xmin age max (xacts)", "dead tuples max"}, rows)
}
