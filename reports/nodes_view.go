package reports

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pgchaos/pgchaos/node"
)

// The parts of the views that only a report of more than two nodes has:
// the lag matrix, divergence per node and the versions of a row. Both
// views lay them out from here, so they show the same figures.

// lagNodes is the nodes a lag section names, in the order they first
// appear (directions are listed sender by sender in node order).
func lagNodes(l *Lag) []string {
	var out []string
	for _, d := range l.Directions {
		for _, n := range []string{d.From, d.To} {
			if !slices.Contains(out, n) {
				out = append(out, n)
			}
		}
	}
	return out
}

// lagMatrix lays out the p99 of every direction as a grid, a row per
// sending node and a column per receiving one; "-" where a direction was
// not measured, "unknown" where it has no figures for a reason the list
// below it gives (no subscription), nothing on the diagonal. None for two nodes or fewer,
// whose directions the list already shows at a glance.
func lagMatrix(l *Lag) (header []string, rows [][]string) {
	if l == nil {
		return nil, nil
	}
	nodes := lagNodes(l)
	if len(nodes) <= 2 {
		return nil, nil
	}
	p99 := map[[2]string]string{}
	for _, d := range l.Directions {
		p99[[2]string{d.From, d.To}] = HumanDuration(d.P99.D())
		if d.Unknown != "" {
			p99[[2]string{d.From, d.To}] = "unknown"
		}
	}
	header = append([]string{"from \\ to"}, nodes...)
	for _, from := range nodes {
		row := []string{from}
		for _, to := range nodes {
			v, ok := p99[[2]string{from, to}]
			switch {
			case from == to:
				v = ""
			case !ok:
				v = "-"
			}
			row = append(row, v)
		}
		rows = append(rows, row)
	}
	return header, rows
}

// lagRow is a direction's line in the lag list: "-" for every figure of
// a direction that is unknown (Unknown gives why), never a zero.
func lagRow(d LagDirection) []string {
	if d.Unknown != "" {
		return []string{d.From + " -> " + d.To, "-", "-", "-", "-", "-", "-", "-", "-"}
	}
	return []string{
		d.From + " -> " + d.To, fmt.Sprint(d.Samples), fmt.Sprint(d.Missing),
		HumanDuration(d.P50.D()), HumanDuration(d.P95.D()), HumanDuration(d.P99.D()), HumanDuration(d.Max.D()),
		HumanBytes(d.BytesMax), dash(d.SlotWALStatus),
	}
}

// divergenceCounts lays out the per-table counts. Two nodes keep the
// columns reports always had; past two, a line per table and node: the
// table's divergent and different rows on its first line, then each
// node's rows and the divergent rows it lacks.
func divergenceCounts(d *Divergence, names [2]string) (header []string, rows [][]string) {
	if d.Nodes == nil {
		for _, t := range d.Tables {
			rows = append(rows, []string{
				t.Table, count(t.RowsPrimary1), count(t.RowsPrimary2),
				count(t.MissingOnPrimary1), count(t.MissingOnPrimary2), count(t.Different),
			})
		}
		return []string{"table", "rows " + names[0], "rows " + names[1], "missing on " + names[0], "missing on " + names[1], "different"}, rows
	}
	for _, t := range d.Tables {
		for i, n := range t.Nodes {
			row := []string{"", "", "", n.Node, count(n.Rows), count(n.Missing)}
			if i == 0 {
				row[0], row[1], row[2] = t.Table, count(t.Count()), count(t.Different)
			}
			rows = append(rows, row)
		}
	}
	return []string{"table", "divergent", "different", "node", "rows", "missing"}, rows
}

// versionLines is a row's versions, one line each: the nodes holding it
// and the row as JSON, or "-" for the nodes that lack it.
func versionLines(r DivergentRow) (nodes, rows []string) {
	for _, v := range r.Versions {
		nodes = append(nodes, strings.Join(v.Nodes, ", "))
		rows = append(rows, dash(v.Row))
	}
	return nodes, rows
}

// pairNames are the names a two-node report's views give its nodes: the
// lab's (a target's user names, east and west), or primary1 and primary2
// when the report does not list two nodes. The JSON keeps its fixed
// _primary1 and _primary2 fields whatever the names.
func pairNames(r *Report) [2]string {
	if r.Lab.Target && len(r.Lab.Nodes) == 2 {
		return [2]string{r.Lab.Nodes[0].Name, r.Lab.Nodes[1].Name}
	}
	return [2]string{node.Primary1, node.Primary2}
}

// kindLabel is a divergent row's kind as the views show it: the JSON's
// missing_on_primary1 and missing_on_primary2 name the nodes' own names
// when those are not primary1 and primary2.
func kindLabel(kind string, names [2]string) string {
	switch kind {
	case MissingOnPrimary1:
		return "missing_on_" + names[0]
	case MissingOnPrimary2:
		return "missing_on_" + names[1]
	}
	return kind
}
