package reports

import (
	"cmp"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// HTML writes r as one self-contained HTML page: the verdict first, then the
// assertions, then SVG charts of lag, bytes behind and throughput over time
// with every fault window shaded, then the tables of the terminal view. It
// loads nothing from the network and needs no JavaScript, so it can be kept
// as a CI artifact and opened offline. Every text from the report goes
// through html/template and is escaped. Like Table, it formats the model's
// numbers and computes none of its own.
func HTML(w io.Writer, r *Report) error {
	if r == nil {
		return errors.New("render report html: no report (nil)")
	}
	t, err := template.New("page").Parse(htmlPage)
	if err != nil {
		// The template is a constant: a parse error is a bug, which a test pins.
		return fmt.Errorf("render report html: parse template: %w", err)
	}
	if err := t.Execute(w, newPageView(r)); err != nil {
		return fmt.Errorf("render report html: %w", err)
	}
	return nil
}

// pageView is the report laid out for the template: text already formatted.
type pageView struct {
	Title       string
	Verdict     string // PASS, FAIL, NONE or NOT EVALUATED
	VerdictCSS  string // pass, fail or none
	Scenario    string
	Run         htmlTable
	Interrupted bool
	Warnings    []string
	Assertions  *htmlTable
	Charts      []chartView
	Sections    []htmlSection
	Footer      string
}

type htmlSection struct {
	ID, Title string
	Blocks    []htmlBlock
}

// htmlBlock is a paragraph (Text, optionally followed by Code) or a table.
type htmlBlock struct {
	Text  string
	Code  string
	CSS   string
	Table *htmlTable
}

type htmlTable struct {
	Caption string
	KV      bool // a key/value table: the first column is a header
	Header  []string
	Rows    [][]htmlCell
}

type htmlCell struct {
	Text  string
	Lines []string // instead of Text: one line each, as the terminal shows them
	CSS   string   // num, code, pass, fail
}

func cells(css string, texts ...string) []htmlCell {
	row := make([]htmlCell, len(texts))
	for i, t := range texts {
		row[i] = htmlCell{Text: t, CSS: css}
	}
	return row
}

func (s *htmlSection) text(css, format string, args ...any) {
	s.Blocks = append(s.Blocks, htmlBlock{Text: fmt.Sprintf(format, args...), CSS: css})
}

func (s *htmlSection) table(t htmlTable) {
	s.Blocks = append(s.Blocks, htmlBlock{Table: &t})
}

func newPageView(r *Report) pageView {
	v := pageView{
		Verdict:     strings.ToUpper(r.Verdict),
		VerdictCSS:  r.Verdict,
		Scenario:    r.Scenario.Name,
		Interrupted: r.Interrupted,
		Warnings:    r.Warnings,
	}
	switch r.Verdict {
	case VerdictPass, VerdictFail, VerdictNone:
	case "":
		v.Verdict, v.VerdictCSS = "NOT EVALUATED", VerdictNone
	default:
		v.VerdictCSS = VerdictNone
	}
	v.Title = fmt.Sprintf("pgchaos %s: %s", dash(r.Scenario.Name), v.Verdict)
	v.Run = runTable(r)
	if len(r.Assertions) > 0 {
		t := htmlTable{Header: []string{"assertion", "expected", "actual", "result"}}
		for _, a := range r.Assertions {
			res, css := "PASS", "pass"
			if !a.Pass {
				res, css = "FAIL", "fail"
			}
			t.Rows = append(t.Rows, []htmlCell{{Text: a.Name}, {Text: a.Expected}, {Text: a.Actual}, {Text: res, CSS: css}})
		}
		v.Assertions = &t
	}
	for _, c := range chartSpecs(r) {
		v.Charts = append(v.Charts, c.draw())
	}
	for _, s := range []*htmlSection{
		workloadsSection(r.Workloads),
		faultsSection(r.Faults),
		lagSection(r.Lag, r.Faults),
		divergenceSection(r.Divergence, pairNames(r)),
		conflictsSection(r.Conflicts),
		failoversSection(r.Failovers),
	} {
		if s != nil {
			v.Sections = append(v.Sections, *s)
		}
	}
	for _, s := range anomaliesSections(r.Anomalies) {
		v.Sections = append(v.Sections, *s)
	}
	v.Footer = "report " + dash(r.Schema)
	if r.Version != "" {
		v.Footer += ", pgchaos " + r.Version
	}
	return v
}

// runTable holds the rows of the terminal view's "Run" section.
func runTable(r *Report) htmlTable {
	t := htmlTable{KV: true}
	add := func(k, val, css string) { t.Rows = append(t.Rows, []htmlCell{{Text: k}, {Text: val, CSS: css}}) }
	scen := r.Scenario.Name
	if r.Scenario.File != "" {
		scen += " (" + r.Scenario.File + ")"
	}
	add("scenario", scen, "")
	add("seed", fmt.Sprint(r.Scenario.Seed), "")
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
	add("lab", dash(lab), "")
	pg := r.Lab.Postgres
	for _, n := range r.Lab.Nodes {
		if n.ServerVersion != "" {
			pg += fmt.Sprintf(", %s %s", n.Name, n.ServerVersion)
		}
	}
	add("postgres", dash(pg), "")
	add("duration", HumanDuration(r.Scenario.Duration.D()), "")
	if !r.StartedAt.IsZero() {
		add("started", r.StartedAt.Format(time.RFC3339), "")
	}
	if !r.EndedAt.IsZero() {
		add("ended", r.EndedAt.Format(time.RFC3339), "")
	}
	css := ""
	if r.Interrupted {
		css = "fail"
	}
	add("interrupted", yesNo(r.Interrupted), css)
	if r.Version != "" {
		add("pgchaos", r.Version, "")
	}
	if r.Client != nil {
		add("client", clientText(r.Client), "")
	}
	return t
}

// chartSpecs are the charts the report has data for, all on one time axis.
func chartSpecs(r *Report) []chartSpec {
	xmax := r.Scenario.Duration.D().Seconds()
	for _, s := range r.Throughput {
		xmax = max(xmax, float64(s.T+1))
	}
	for _, f := range r.Faults {
		xmax = max(xmax, f.Injected.D().Seconds())
		if f.Healed != nil {
			xmax = max(xmax, f.Healed.D().Seconds())
		}
	}
	if r.Lag != nil {
		for _, d := range r.Lag.Directions {
			for _, p := range d.Timeline {
				xmax = max(xmax, float64(p.T+1))
			}
			for _, p := range d.Bytes {
				xmax = max(xmax, p.T)
			}
		}
	}

	var windows []span
	for i, f := range r.Faults {
		end := xmax // never healed: shaded to the end of the run
		label := faultName(i, r.Faults)
		if f.Healed != nil {
			end = f.Healed.D().Seconds()
		} else {
			label += " (not healed)"
		}
		windows = append(windows, span{From: f.Injected.D().Seconds(), To: end, Label: label})
	}
	var marks []span
	for _, f := range r.Failovers {
		at := f.At.D().Seconds()
		marks = append(marks, span{From: at, To: at, Label: "failover " + f.From + " -> " + f.To})
		if f.Failback != nil {
			at := f.Failback.At.D().Seconds()
			marks = append(marks, span{From: at, To: at, Label: "failback " + f.From})
		}
	}

	var specs []chartSpec
	if r.Lag != nil {
		lag := chartSpec{ID: "chart-lag", Title: "Replication lag per direction (one-way, max per second)", YTitle: "lag", Kind: axisMillis}
		bytes := chartSpec{ID: "chart-bytes", Title: "WAL bytes behind per direction", YTitle: "behind", Kind: axisBytes}
		for _, d := range r.Lag.Directions {
			name := d.From + " -> " + d.To
			if len(d.Timeline) > 0 {
				s := series{Name: name}
				for _, p := range d.Timeline {
					s.Points = append(s.Points, point{X: float64(p.T), Y: float64(p.Max.D()) / float64(time.Millisecond)})
				}
				lag.Series = append(lag.Series, s)
			}
			if len(d.Bytes) > 0 {
				s := series{Name: name}
				for _, p := range d.Bytes {
					s.Points = append(s.Points, point{X: p.T, Y: float64(p.Bytes)})
				}
				bytes.Series = append(bytes.Series, s)
			}
		}
		for _, c := range []chartSpec{lag, bytes} {
			if len(c.Series) > 0 {
				specs = append(specs, c)
			}
		}
	}
	if len(r.Throughput) > 0 {
		c := chartSpec{ID: "chart-throughput", Title: "Operations per second per target (ok), errors per second in red", YTitle: "ok ops/s", Kind: axisCount}
		byTarget := map[string][]Second{}
		for _, s := range r.Throughput {
			byTarget[s.Target] = append(byTarget[s.Target], s)
		}
		c.Errors = []series{}
		for _, target := range slices.Sorted(maps.Keys(byTarget)) {
			secs := byTarget[target]
			slices.SortStableFunc(secs, func(a, b Second) int { return cmp.Compare(a.T, b.T) })
			ok, errs := series{Name: target}, series{Name: target}
			for _, s := range secs {
				ok.Points = append(ok.Points, point{X: float64(s.T), Y: float64(s.OK)})
				errs.Points = append(errs.Points, point{X: float64(s.T), Y: float64(s.Errors)})
			}
			c.Series = append(c.Series, ok)
			c.Errors = append(c.Errors, errs)
		}
		specs = append(specs, c)
	}
	for i := range specs {
		specs[i].XMax, specs[i].Windows, specs[i].Marks = xmax, windows, marks
	}
	return specs
}

func workloadsSection(ws []Workload) *htmlSection {
	if len(ws) == 0 {
		return nil
	}
	s := &htmlSection{ID: "workloads", Title: "Workloads"}
	t := htmlTable{Header: []string{"workload", "target", "ops", "ok", "fail", "unknown", "ops/s",
		"p50 ms", "p95 ms", "p99 ms", "max ms", "top errors"}}
	for _, w := range ws {
		name := w.Workload
		if w.Kind != "" && w.Kind != w.Workload {
			name += " (" + w.Kind + ")"
		}
		row := []htmlCell{{Text: name}, {Text: w.Target}}
		row = append(row, cells("num", count(w.Ops), count(w.OK), count(w.Fail), count(w.Unknown),
			rate(w.OpsPerSec), ms(w.Latency.P50), ms(w.Latency.P95), ms(w.Latency.P99), ms(w.Latency.Max))...)
		row = append(row, htmlCell{Text: topErrors(w.Errors, 3)})
		t.Rows = append(t.Rows, row)
	}
	s.table(t)
	for _, w := range ws {
		if len(w.ServedBy) > 0 {
			s.text("", "%s via %s served by: %s", w.Workload, w.Target, servedBy(w.ServedBy))
		}
	}
	return s
}

func faultsSection(fs []Fault) *htmlSection {
	if len(fs) == 0 {
		return nil
	}
	s := &htmlSection{ID: "faults", Title: "Faults"}
	t := htmlTable{Header: []string{"#", "kind", "target", "params", "injected", "healed", "effects"}}
	for i, f := range fs {
		healed, css := "not healed", "fail"
		if f.Healed != nil {
			healed, css = offset(f.Healed.D()), "num"
		}
		if f.HealError != "" {
			healed, css = "not healed: "+f.HealError, "fail"
		}
		t.Rows = append(t.Rows, []htmlCell{
			{Text: fmt.Sprint(i), CSS: "num"}, {Text: f.Kind}, {Text: f.Target}, {Text: params(f.Params)},
			{Text: offset(f.Injected.D()), CSS: "num"}, {Text: healed, CSS: css}, {Lines: f.Effects},
		})
	}
	s.table(t)
	return s
}

func lagSection(l *Lag, faults []Fault) *htmlSection {
	if l == nil || len(l.Directions) == 0 {
		return nil
	}
	s := &htmlSection{ID: "lag", Title: "Replication lag (one-way, heartbeats)"}
	t := htmlTable{Header: []string{"direction", "samples", "missing", "p50", "p95", "p99", "max", "max behind", "slot wal"}}
	for _, d := range l.Directions {
		r := lagRow(d)
		row := []htmlCell{{Text: r[0]}}
		row = append(row, cells("num", r[1:8]...)...)
		row = append(row, htmlCell{Text: r[8]})
		t.Rows = append(t.Rows, row)
	}
	s.table(t)
	for _, d := range l.Directions {
		if d.Unknown != "" {
			s.text("", "%s -> %s: unknown: %s", d.From, d.To, d.Unknown)
		}
	}
	if header, rows := lagMatrix(l); rows != nil {
		m := htmlTable{Caption: "Lag p99 from each node (row) to each other (column)", Header: header}
		for _, r := range rows {
			m.Rows = append(m.Rows, append([]htmlCell{{Text: r[0]}}, cells("num", r[1:]...)...))
		}
		s.table(m)
	}
	w := htmlTable{Caption: "Lag during faults", Header: []string{"direction", "fault", "samples", "p50", "p99", "max"}}
	for _, d := range l.Directions {
		for _, win := range d.Windows {
			row := []htmlCell{{Text: d.From + " -> " + d.To}, {Text: faultName(win.Fault, faults)}}
			row = append(row, cells("num", fmt.Sprint(win.Samples),
				HumanDuration(win.P50.D()), HumanDuration(win.P99.D()), HumanDuration(win.Max.D()))...)
			w.Rows = append(w.Rows, row)
		}
	}
	if len(w.Rows) > 0 {
		s.table(w)
	}
	return s
}

func divergenceSection(d *Divergence, names [2]string) *htmlSection {
	if d == nil {
		return nil
	}
	s := &htmlSection{ID: "divergence", Title: "Divergence"}
	if d.Converged {
		s.text("", "converged in %s", HumanDuration(d.ConvergedIn.D()))
	} else {
		s.text("fail", "NOT CONVERGED: %s", dash(d.NotConverged))
	}
	css := ""
	if d.DivergentRows > 0 {
		css = "fail"
	}
	s.text(css, "divergent rows: %d", d.DivergentRows)
	if line, bad := unexplainedLine(d); line != "" {
		css := ""
		if bad {
			css = "fail"
		}
		s.text(css, "%s", line)
	}
	if len(d.NotCompared) > 0 {
		nc := htmlTable{Caption: "Tables not compared", Header: []string{"table", "why"}}
		for _, n := range d.NotCompared {
			nc.Rows = append(nc.Rows, []htmlCell{{Text: n.Table}, {Text: n.Reason}})
		}
		s.table(nc)
	}
	if len(d.Tables) == 0 {
		return s
	}
	header, counts := divergenceCounts(d, names)
	t := htmlTable{Header: header}
	for _, r := range counts {
		row := []htmlCell{{Text: r[0]}}
		if d.Nodes != nil {
			row = append(row, cells("num", r[1], r[2])...)
			row = append(row, htmlCell{Text: r[3]})
			row = append(row, cells("num", r[4:]...)...)
		} else {
			row = append(row, cells("num", r[1:]...)...)
		}
		t.Rows = append(t.Rows, row)
	}
	s.table(t)

	// Unlike the terminal, the page has room for every row the report
	// kept, with both versions in full.
	rows := htmlTable{Caption: "Divergent rows", Header: []string{"table", "key", "kind", names[0], names[1], "last writer"}}
	if d.Nodes != nil {
		rows.Header = []string{"table", "key", "kind", "nodes", "row", "last writer"}
	}
	withCause := hasCauses(d)
	if withCause {
		rows.Header = append(rows.Header, "cause", "evidence")
	}
	var more []string
	for _, tb := range d.Tables {
		for _, row := range tb.Rows {
			if d.Nodes != nil {
				nodes, versions := versionLines(row)
				rows.Rows = append(rows.Rows, []htmlCell{
					{Text: tb.Table}, {Text: row.Key, CSS: "code"}, {Text: row.Kind},
					{Lines: nodes}, {Lines: versions, CSS: "code"}, {Text: dash(row.LastWriter)},
				})
			} else {
				rows.Rows = append(rows.Rows, []htmlCell{
					{Text: tb.Table}, {Text: row.Key, CSS: "code"}, {Text: kindLabel(row.Kind, names)},
					{Text: dash(row.Primary1), CSS: "code"}, {Text: dash(row.Primary2), CSS: "code"}, {Text: dash(row.LastWriter)},
				})
			}
			if withCause {
				rows.Rows[len(rows.Rows)-1] = append(rows.Rows[len(rows.Rows)-1], causeCells(row)...)
			}
		}
		if rest := tb.Count() - int64(len(tb.Rows)); rest > 0 && tb.Truncated {
			more = append(more, fmt.Sprintf("… %d more in %s", rest, tb.Table))
		}
	}
	if len(rows.Rows) > 0 {
		s.table(rows)
	}
	for _, m := range more {
		s.text("", "%s", m)
	}
	return s
}

func conflictsSection(c *Conflicts) *htmlSection {
	if c == nil {
		return nil
	}
	s := &htmlSection{ID: "conflicts", Title: "Conflicts (counted by PostgreSQL / logged / seen by the workload)"}
	if header, rows := conflictGrid(c); len(rows) > 0 {
		t := htmlTable{Header: header}
		for _, r := range rows {
			row := []htmlCell{{Text: r[0]}}
			for _, v := range r[1:] {
				row = append(row, htmlCell{Text: v, CSS: "num"})
			}
			t.Rows = append(t.Rows, row)
		}
		s.table(t)
	} else {
		s.text("", "no conflict counted or logged")
	}
	if c.CountedUnknown != "" {
		s.text("", "counted by PostgreSQL: - (%s)", c.CountedUnknown)
	}
	if c.LoggedUnknown != "" {
		s.text("", "logged: partly unknown (%s)", c.LoggedUnknown)
	}

	ww := c.Workload
	wit := htmlTable{Caption: "Seen by the workload", KV: true}
	addw := func(k string, n int64) {
		css := "num"
		if n > 0 {
			css = "num fail"
		}
		wit.Rows = append(wit.Rows, []htmlCell{{Text: k}, {Text: count(n), CSS: css}})
	}
	addw("duplicate keys (23505)", ww.DuplicateKeys)
	addw("lost updates", ww.LostUpdates)
	addw("lost writes", ww.LostWrites)
	s.table(wit)
	if len(ww.LostWriteSamples) > 0 {
		s.text("", "lost writes, e.g. %s", strings.Join(ww.LostWriteSamples, ", "))
	}
	if len(ww.LostUpdateRows) > 0 {
		t := htmlTable{Caption: "Lost updates", Header: []string{"workload", "key", "node", "acked", "value"}}
		for _, l := range ww.LostUpdateRows {
			t.Rows = append(t.Rows, []htmlCell{{Text: l.Workload}, {Text: l.Key, CSS: "code"}, {Text: l.Node},
				{Text: count(l.Acked), CSS: "num"}, {Text: count(l.Value), CSS: "num"}})
		}
		s.table(t)
	}
	if len(ww.Bank) > 0 {
		t := htmlTable{Caption: "Bank totals", Header: []string{"workload", "node", "expected", "actual", "state"}}
		for _, b := range ww.Bank {
			state, css := "intact", "pass"
			if b.Actual != b.Expected {
				state, css = "BROKEN", "fail"
			}
			t.Rows = append(t.Rows, []htmlCell{{Text: b.Workload}, {Text: b.Node},
				{Text: count(b.Expected), CSS: "num"}, {Text: count(b.Actual), CSS: "num"}, {Text: state, CSS: css}})
		}
		s.table(t)
	}

	if len(c.Samples) > 0 {
		t := htmlTable{Caption: "Conflict log samples", Header: []string{"node", "time", "kind", "key", "finish lsn", "message"}}
		for _, smp := range c.Samples {
			t.Rows = append(t.Rows, []htmlCell{{Text: smp.Node}, {Text: smp.Time.Format(time.RFC3339)}, {Text: smp.Kind},
				{Text: dash(smp.Key), CSS: "code"}, {Text: dash(smp.LSN), CSS: "code"}, {Text: smp.Message, CSS: "code"}})
		}
		s.table(t)
	}

	if len(c.Stalls) == 0 {
		return s
	}
	t := htmlTable{Caption: "Stalled subscriptions", Header: []string{"node", "subscription", "since", "error", "wal behind", "resolved"}}
	for _, st := range c.Stalls {
		css := "fail"
		if st.Resolved {
			css = "pass"
		}
		t.Rows = append(t.Rows, []htmlCell{{Text: st.Node}, {Text: st.Subscription}, {Text: st.Since.Format(time.RFC3339)},
			{Text: st.Error, CSS: "code"}, {Text: HumanBytes(st.WALBehind), CSS: "num"}, {Text: yesNo(st.Resolved), CSS: css}})
	}
	s.table(t)
	for _, st := range c.Stalls {
		if st.Resolved {
			continue
		}
		if st.SkipLSN == "" {
			s.text("", "%s: %s is stuck; the LSN to skip is unknown (see the server log)", st.Node, st.Subscription)
			continue
		}
		s.Blocks = append(s.Blocks, htmlBlock{
			Text: fmt.Sprintf("to unblock on %s (drops that whole remote transaction, the nodes then differ):", st.Node),
			Code: skipHint(st.Subscription, st.SkipLSN),
		})
	}
	return s
}

func failoversSection(fs []Failover) *htmlSection {
	if len(fs) == 0 {
		return nil
	}
	s := &htmlSection{ID: "failovers", Title: "Failovers"}
	for _, f := range fs {
		t := htmlTable{KV: true}
		for _, kv := range failoverFacts(f) {
			t.Rows = append(t.Rows, []htmlCell{{Text: kv[0]}, {Text: kv[1]}})
		}
		s.table(t)
	}
	return s
}
