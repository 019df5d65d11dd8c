package reports

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/tw"

	"github.com/pgchaos/pgchaos/internal/term"
	"github.com/pgchaos/pgchaos/node"
)

// maxDivergentRows is how many divergent rows the terminal view lists; the
// JSON carries every row the analysis kept.
const maxDivergentRows = 20

// maxCell is the widest a free-text cell (a row's JSON, an error) is shown;
// longer text is cut with "…" so a table stays readable on a terminal.
const maxCell = 60

// Table writes the terminal view of r: one titled section per part of the
// report that holds data (run, workloads, faults, lag, divergence,
// conflicts, failovers, assertions), then the verdict in capitals. It shows
// the model's numbers, formatted; it computes none of its own.
func Table(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("render report table: no report (nil)")
	}
	p := &printer{w: w}
	p.run(r)
	p.workloads(r.Workloads)
	p.faults(r.Faults)
	p.lag(r.Lag, r.Faults)
	p.divergence(r.Divergence, pairNames(r))
	p.conflicts(r.Conflicts)
	p.failovers(r.Failovers)
	p.anomalies(r.Anomalies)
	p.assertions(r.Assertions)
	v := r.Verdict
	if v == "" {
		v = "not evaluated"
	}
	p.printf("VERDICT: %s\n", strings.ToUpper(v))
	if p.err != nil {
		return fmt.Errorf("render report table: %w", p.err)
	}
	return nil
}

// printer writes sections and keeps the first write error, so each section
// reads as a list of lines rather than a ladder of error checks.
type printer struct {
	w       io.Writer
	err     error
	started bool // a section was written: the next title needs a blank line
}

// printf writes a line; string arguments are escaped (term.Escape): names,
// errors and log lines come from files and servers, the format is ours.
func (p *printer) printf(format string, args ...any) {
	if p.err != nil {
		return
	}
	for i, a := range args {
		if s, ok := a.(string); ok {
			args[i] = term.Escape(s)
		}
	}
	_, p.err = fmt.Fprintf(p.w, format, args...)
}

// title starts a section; a blank line separates it from the previous one.
func (p *printer) title(s string) {
	if p.started {
		p.printf("\n")
	}
	p.started = true
	p.printf("%s\n", s)
}

// table renders one table. Headers are shown as written: tablewriter's
// default upper-casing would turn "p50 ms" into "P50 MS".
func (p *printer) table(header []string, rows [][]string) {
	if p.err != nil {
		return
	}
	t := tablewriter.NewTable(p.w,
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
		tablewriter.WithRowAutoWrap(tw.WrapNone),
	)
	if header != nil {
		t.Header(header)
	}
	safe := make([][]string, len(rows))
	for i, row := range rows {
		safe[i] = make([]string, len(row))
		for j, cell := range row {
			// A cell's own line breaks stay (tablewriter keeps them inside
			// the cell's borders); every other control character is escaped.
			lines := strings.Split(cell, "\n")
			for k := range lines {
				lines[k] = term.Escape(lines[k])
			}
			safe[i][j] = strings.Join(lines, "\n")
		}
	}
	if err := t.Bulk(safe); err != nil {
		p.err = err
		return
	}
	p.err = t.Render()
}

func (p *printer) run(r *Report) {
	p.title("Run")
	scen := r.Scenario.Name
	if r.Scenario.File != "" {
		scen += " (" + r.Scenario.File + ")"
	}
	rows := [][]string{
		{"scenario", scen},
		{"seed", fmt.Sprint(r.Scenario.Seed)},
	}
	lab := r.Lab.Name
	if r.Lab.Sequences != "" {
		lab += ", sequences " + r.Lab.Sequences
	}
	// Native is the default and older reports name no engine: say only
	// when another engine replicated.
	if r.Lab.Engine != "" && r.Lab.Engine != "native" {
		lab += ", engine " + r.Lab.Engine
		if r.Lab.Resolver != "" {
			lab += " (resolver " + r.Lab.Resolver + ")"
		}
	}
	if r.Lab.HAProxy != "" {
		lab += ", haproxy " + r.Lab.HAProxy
	}
	rows = append(rows, []string{"lab", dash(lab)})
	pg := r.Lab.Postgres
	for _, n := range r.Lab.Nodes {
		if n.ServerVersion != "" {
			pg += fmt.Sprintf(", %s %s", n.Name, n.ServerVersion)
		}
	}
	rows = append(rows,
		[]string{"postgres", dash(pg)},
		[]string{"duration", HumanDuration(r.Scenario.Duration.D())},
	)
	if !r.StartedAt.IsZero() {
		rows = append(rows, []string{"started", r.StartedAt.Format(time.RFC3339)})
	}
	if !r.EndedAt.IsZero() {
		rows = append(rows, []string{"ended", r.EndedAt.Format(time.RFC3339)})
	}
	rows = append(rows, []string{"interrupted", yesNo(r.Interrupted)})
	if r.Version != "" {
		rows = append(rows, []string{"pgchaos", r.Version})
	}
	if r.Client != nil {
		rows = append(rows, []string{"client", clientText(r.Client)})
	}
	p.table(nil, rows)
	for _, w := range r.Warnings {
		p.printf("warning: %s\n", w)
	}
}

func (p *printer) workloads(ws []Workload) {
	if len(ws) == 0 {
		return
	}
	p.title("Workloads")
	rows := make([][]string, 0, len(ws))
	for _, w := range ws {
		name := w.Workload
		if w.Kind != "" && w.Kind != w.Workload {
			name += " (" + w.Kind + ")"
		}
		rows = append(rows, []string{
			name, w.Target, count(w.Ops), count(w.OK), count(w.Fail), count(w.Unknown),
			rate(w.OpsPerSec),
			ms(w.Latency.P50), ms(w.Latency.P95), ms(w.Latency.P99), ms(w.Latency.Max),
			topErrors(w.Errors, 3),
		})
	}
	p.table([]string{"workload", "target", "ops", "ok", "fail", "unknown", "ops/s",
		"p50 ms", "p95 ms", "p99 ms", "max ms", "top errors"}, rows)
	for _, w := range ws {
		if len(w.ServedBy) > 0 {
			p.printf("%s via %s served by: %s\n", w.Workload, w.Target, servedBy(w.ServedBy))
		}
	}
}

// topErrors lists the n most frequent error classes, ties by name.
func topErrors(es []ErrorCount, n int) string {
	s := slices.Clone(es)
	slices.SortStableFunc(s, func(a, b ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Class, b.Class))
	})
	parts := make([]string, 0, n)
	for i, e := range s {
		if i == n {
			parts = append(parts, fmt.Sprintf("+%d more", len(s)-n))
			break
		}
		c := e.Class
		if e.SQLState != "" {
			c += " " + e.SQLState
		}
		parts = append(parts, fmt.Sprintf("%s ×%d", c, e.Count))
	}
	return strings.Join(parts, ", ")
}

func servedBy(m map[string]int64) string {
	parts := make([]string, 0, len(m))
	for _, node := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", node, m[node]))
	}
	return strings.Join(parts, ", ")
}

func (p *printer) faults(fs []Fault) {
	if len(fs) == 0 {
		return
	}
	p.title("Faults")
	rows := make([][]string, 0, len(fs))
	for i, f := range fs {
		healed := "not healed"
		if f.Healed != nil {
			healed = offset(f.Healed.D())
		}
		if f.HealError != "" {
			healed = "not healed: " + f.HealError
		}
		rows = append(rows, []string{
			fmt.Sprint(i), f.Kind, f.Target, params(f.Params),
			offset(f.Injected.D()), healed, strings.Join(f.Effects, "\n"),
		})
	}
	p.table([]string{"#", "kind", "target", "params", "injected", "healed", "effects"}, rows)
}

func params(m map[string]string) string {
	parts := make([]string, 0, len(m))
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return strings.Join(parts, " ")
}

func (p *printer) lag(l *Lag, faults []Fault) {
	if l == nil || len(l.Directions) == 0 {
		return
	}
	p.title("Replication lag (one-way, heartbeats)")
	rows := make([][]string, 0, len(l.Directions))
	for _, d := range l.Directions {
		rows = append(rows, lagRow(d))
	}
	p.table([]string{"direction", "samples", "missing", "p50", "p95", "p99", "max", "max behind", "slot wal"}, rows)
	for _, d := range l.Directions {
		if d.Unknown != "" {
			p.printf("%s -> %s: unknown: %s\n", d.From, d.To, d.Unknown)
		}
	}
	if header, rows := lagMatrix(l); rows != nil {
		p.title("Lag p99 from each node (row) to each other (column)")
		p.table(header, rows)
	}

	var wrows [][]string
	for _, d := range l.Directions {
		for _, w := range d.Windows {
			wrows = append(wrows, []string{
				d.From + " -> " + d.To, faultName(w.Fault, faults), fmt.Sprint(w.Samples),
				HumanDuration(w.P50.D()), HumanDuration(w.P99.D()), HumanDuration(w.Max.D()),
			})
		}
	}
	if len(wrows) > 0 {
		p.title("Lag during faults")
		p.table([]string{"direction", "fault", "samples", "p50", "p99", "max"}, wrows)
	}
}

// faultName names fault i of the timeline for a cross-reference.
func faultName(i int, faults []Fault) string {
	if i < 0 || i >= len(faults) {
		return fmt.Sprintf("#%d", i)
	}
	return fmt.Sprintf("#%d %s %s", i, faults[i].Kind, faults[i].Target)
}

func (p *printer) divergence(d *Divergence, names [2]string) {
	if d == nil {
		return
	}
	p.title("Divergence")
	if d.Converged {
		p.printf("converged in %s\n", HumanDuration(d.ConvergedIn.D()))
	} else {
		p.printf("NOT CONVERGED: %s\n", dash(d.NotConverged))
	}
	p.divergenceRows(d, names)
}

// conflictGrid lays out the conflicts PostgreSQL counted and logged: a row
// per kind, a column per source and node. "-" means nothing was reported
// for that node, which is not the same as a count of zero. Both views use it.
func conflictGrid(c *Conflicts) (header []string, rows [][]string) {
	// A lab's primaries always get their column; a target's nodes (the
	// user's names) only the columns of the nodes reported.
	nodes := node.Primaries()
	for _, cc := range slices.Concat(c.Counted, c.Logged) {
		if _, ok := node.PrimaryIndex(cc.Node); !ok {
			nodes = nil
			break
		}
	}
	var kinds []string
	type key struct{ kind, node string }
	counted := map[key]int64{}
	logged := map[key]int64{}
	for _, cs := range []struct {
		list []ConflictCount
		into map[key]int64
	}{{c.Counted, counted}, {c.Logged, logged}} {
		for _, cc := range cs.list {
			if !slices.Contains(nodes, cc.Node) {
				nodes = append(nodes, cc.Node)
			}
			if !slices.Contains(kinds, cc.Kind) {
				kinds = append(kinds, cc.Kind)
			}
			cs.into[key{cc.Kind, cc.Node}] += cc.Count
		}
	}
	slices.Sort(nodes[2:])
	slices.Sort(kinds)
	header = []string{"kind"}
	for _, src := range []string{"counted", "logged"} {
		for _, n := range nodes {
			header = append(header, src+" "+n)
		}
	}
	for _, k := range kinds {
		row := []string{k}
		for _, m := range []map[key]int64{counted, logged} {
			for _, n := range nodes {
				if v, ok := m[key{k, n}]; ok {
					row = append(row, count(v))
				} else {
					row = append(row, "-")
				}
			}
		}
		rows = append(rows, row)
	}
	return header, rows
}

// DivergenceTable writes a divergence on its own, as `pgchaos lab diff`
// shows it: a comparison made on demand, with no convergence wait.
func DivergenceTable(w io.Writer, d *Divergence) error {
	if d == nil {
		return errors.New("render divergence: nothing compared (nil)")
	}
	p := &printer{w: w}
	p.divergenceRows(d, [2]string{node.Primary1, node.Primary2})
	if p.err != nil {
		return fmt.Errorf("render divergence: %w", p.err)
	}
	return nil
}

func (p *printer) divergenceRows(d *Divergence, names [2]string) {
	p.printf("divergent rows: %d\n", d.DivergentRows)
	if len(d.NotCompared) > 0 {
		rows := make([][]string, len(d.NotCompared))
		for i, nc := range d.NotCompared {
			rows[i] = []string{nc.Table, nc.Reason}
		}
		p.table([]string{"not compared", "why"}, rows)
	}
	if len(d.Tables) == 0 {
		return
	}
	p.table(divergenceCounts(d, names))

	var drows [][]string
	var more, causes []string
	withCause := hasCauses(d)
	shown := 0
	for _, t := range d.Tables {
		listed := 0
		for _, row := range t.Rows {
			if shown == maxDivergentRows {
				break
			}
			if d.Nodes != nil {
				nodes, versions := versionLines(row)
				for i := range versions {
					versions[i] = cut(versions[i])
				}
				drows = append(drows, []string{
					t.Table, row.Key, row.Kind, strings.Join(nodes, "\n"), strings.Join(versions, "\n"), dash(row.LastWriter),
				})
			} else {
				drows = append(drows, []string{
					t.Table, row.Key, kindLabel(row.Kind, names), cut(dash(row.Primary1)), cut(dash(row.Primary2)), dash(row.LastWriter),
				})
			}
			if withCause {
				drows[len(drows)-1] = append(drows[len(drows)-1], dash(row.Cause))
				if row.CauseDetail != "" {
					causes = append(causes, fmt.Sprintf("%s %s: %s", t.Table, row.Key, row.CauseDetail))
				}
			}
			shown++
			listed++
		}
		// The rows not listed are the table's divergent rows less those
		// shown: the analysis counted them, the view only subtracts.
		if rest := t.Count() - int64(listed); rest > 0 && (listed < len(t.Rows) || t.Truncated) {
			more = append(more, fmt.Sprintf("… %d more in %s", rest, t.Table))
		}
	}
	if len(drows) > 0 {
		header := []string{"table", "key", "kind", names[0], names[1], "last writer"}
		if d.Nodes != nil {
			header = []string{"table", "key", "kind", "nodes", "row", "last writer"}
		}
		if withCause {
			header = append(header, "cause")
		}
		p.table(header, drows)
	}
	for _, m := range more {
		p.printf("%s\n", m)
	}
	p.causes(d, causes)
}

func (p *printer) conflicts(c *Conflicts) {
	if c == nil {
		return
	}
	p.title("Conflicts (counted by PostgreSQL / logged / seen by the workload)")
	if header, rows := conflictGrid(c); len(rows) > 0 {
		p.table(header, rows)
	} else {
		p.printf("no conflict counted or logged\n")
	}
	if c.CountedUnknown != "" {
		p.printf("counted by PostgreSQL: - (%s)\n", c.CountedUnknown)
	}
	if c.LoggedUnknown != "" {
		p.printf("logged: partly unknown (%s)\n", c.LoggedUnknown)
	}

	ww := c.Workload
	p.printf("duplicate keys (23505): %d\n", ww.DuplicateKeys)
	p.printf("lost updates: %d\n", ww.LostUpdates)
	if len(ww.LostUpdateRows) > 0 {
		rows := make([][]string, 0, len(ww.LostUpdateRows))
		for _, l := range ww.LostUpdateRows {
			rows = append(rows, []string{l.Workload, l.Key, l.Node, count(l.Acked), count(l.Value)})
		}
		p.table([]string{"workload", "key", "node", "acked", "value"}, rows)
	}
	for _, b := range ww.Bank {
		state := "intact"
		if b.Actual != b.Expected {
			state = "BROKEN"
		}
		p.printf("bank total %s on %s: expected %d, actual %d (%s)\n", b.Workload, b.Node, b.Expected, b.Actual, state)
	}
	p.printf("lost writes: %d\n", ww.LostWrites)
	if len(ww.LostWriteSamples) > 0 {
		p.printf("  e.g. %s\n", strings.Join(ww.LostWriteSamples, ", "))
	}

	if len(c.Samples) > 0 {
		p.title("Conflict log samples")
		rows := make([][]string, 0, len(c.Samples))
		for _, s := range c.Samples {
			rows = append(rows, []string{s.Node, s.Time.Format(time.RFC3339), s.Kind, dash(s.Key), dash(s.LSN), cut(s.Message)})
		}
		p.table([]string{"node", "time", "kind", "key", "finish lsn", "message"}, rows)
	}

	p.retention(c.Retention)

	if len(c.Stalls) == 0 {
		return
	}
	p.title("Stalled subscriptions")
	rows := make([][]string, 0, len(c.Stalls))
	for _, s := range c.Stalls {
		rows = append(rows, []string{
			s.Node, s.Subscription, s.Since.Format(time.RFC3339), cut(s.Error),
			HumanBytes(s.WALBehind), yesNo(s.Resolved),
		})
	}
	p.table([]string{"node", "subscription", "since", "error", "wal behind", "resolved"}, rows)
	for _, s := range c.Stalls {
		if s.Resolved {
			continue
		}
		if s.SkipLSN == "" {
			p.printf("%s: %s is stuck; the LSN to skip is unknown (see the server log)\n", s.Node, s.Subscription)
			continue
		}
		p.printf("to unblock on %s (drops that whole remote transaction, the nodes then differ): %s\n",
			s.Node, skipHint(s.Subscription, s.SkipLSN))
	}
}

func (p *printer) failovers(fs []Failover) {
	if len(fs) == 0 {
		return
	}
	p.title("Failovers")
	// One key/value table per failover: as columns they would not fit a
	// terminal.
	for _, f := range fs {
		p.table(nil, failoverFacts(f))
	}
}

// failoverFacts are one failover's rows, label then value, for both views.
func failoverFacts(f Failover) [][]string {
	return [][]string{
		{"failover", f.From + " -> " + f.To},
		{"at", offset(f.At.D())},
		{"unavailable", HumanDuration(f.Unavailable.D())},
		{"last ok before", optOffset(f.LastOKBefore)},
		{"first ok after", optOffset(f.FirstOKAfter)},
		{"errors by class", errorsByClass(f.ErrorsByClass)},
		{"old-primary writes", orUnknown(f.Unknown["old_primary_writes"], count(f.OldPrimaryWrites))},
		{"stranded writes", orUnknown(f.Unknown["stranded_writes"], count(f.StrandedWrites)+" over "+HumanDuration(f.StrandedSpan.D()))},
		{"failback", failback(f.Failback, f.Unknown["stranded_writes"] != "")},
	}
}

// orUnknown is value, or "unknown (why)" when why is set.
func orUnknown(why, value string) string {
	if why != "" {
		return "unknown (" + why + ")"
	}
	return value
}

func optOffset(d *Duration) string {
	if d == nil {
		return "-"
	}
	return offset(d.D())
}

func errorsByClass(m map[string]int64) string {
	if len(m) == 0 {
		return "-"
	}
	parts := make([]string, 0, len(m))
	for _, c := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s ×%d", c, m[c]))
	}
	return strings.Join(parts, ", ")
}

func failback(f *Failback, strandedUnknown bool) string {
	if f == nil {
		return "none"
	}
	conv := "converged"
	if !f.Converged {
		conv = "NOT converged"
	}
	arrived := fmt.Sprintf("%d arrived", f.Arrived)
	if strandedUnknown {
		arrived = "arrivals unknown (stranded writes are)"
	}
	return fmt.Sprintf("at %s: %s, %d conflicts, %s", offset(f.At.D()), arrived, f.Conflicts, conv)
}

func (p *printer) assertions(as []Assertion) {
	if len(as) == 0 {
		return
	}
	p.title("Assertions")
	rows := make([][]string, 0, len(as))
	for _, a := range as {
		res := "PASS"
		if !a.Pass {
			res = "FAIL"
		}
		rows = append(rows, []string{a.Name, a.Expected, a.Actual, res})
	}
	p.table([]string{"assertion", "expected", "actual", "result"}, rows)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// cut shortens s to maxCell runes, on one line.
func cut(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= maxCell {
		return s
	}
	return string(r[:maxCell-1]) + "…"
}
