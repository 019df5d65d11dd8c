package analysis

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/node"
	"github.com/pgchaos/pgchaos/pglog"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// RowRef names one row: its table (without schema, as the divergence check
// names it) and its primary key as the divergence check prints it (the
// value of a one-column key, the row literal "(a,b)" of a composite one).
type RowRef struct {
	Table string
	Key   string
}

// Write is one operation of the history that wrote (or may have written) a
// row on one node.
type Write struct {
	Node       string // the node that served it; "" when unknown (an unknown op through the proxy)
	Start, End time.Time
	Outcome    workload.Outcome // OK or Unknown: failed ops wrote nothing
}

// CauseEvidence is what the run kept that can account for a divergent row.
type CauseEvidence struct {
	Start     time.Time       // second 0 of the run: fault offsets count from it
	Faults    []reports.Fault // the fault timeline, offsets from Start
	Converged bool            // whether the nodes caught up before the comparison
	// NotConverged says how far apart the nodes were, when they did not.
	NotConverged string
	// ConflictLogs is true when the nodes log conflicts by key
	// (PostgreSQL 18+) and their logs were read: then an update conflict
	// is believed only when a log line names the key.
	ConflictLogs bool
	// Logs are each node's parsed server log, by the node that logged.
	Logs map[string][]pglog.Event
	// Writes are the history's writes of the divergent rows
	// (HistoryWrites).
	Writes map[RowRef][]Write
	// Nodes are the compared nodes, in the divergence's order; nil means
	// primary1 and primary2. A two-node divergence's first node is the
	// one of its _primary1 fields, whatever its name.
	Nodes []string
	// Publisher names the node whose changes node's subscription sub
	// applies ("" when it cannot tell). Past two nodes a stopped apply
	// worker accounts for a missing write only when it serves the
	// subscription to the writer; without Publisher that rule is not used.
	Publisher func(node, sub string) string
}

// ExplainDivergence gives every listed divergent row of div a cause
// (reports.Cause*) and its evidence in words, and sets div.Unexplained. It
// reads nothing but its arguments.
//
// The rules, first match wins:
//
//  1. A conflict logged for the row's key (on either node) names the
//     cause: for a row that differs, insert_collision, then
//     concurrent_update, then update_delete; for a row missing on one node,
//     update_delete, then insert_collision.
//  2. stalled: a node lacks a write the other made (the row is missing
//     there, or the other wrote last) and that node's apply worker was
//     stopped by an error.
//  3. not_converged: the nodes did not converge and a node lacks a write
//     the other made.
//  4. concurrent_update from the history alone, only where the logs cannot
//     name conflicts (PostgreSQL 17): a row that differs, written on both
//     nodes.
//  5. unexplained.
//
// Past two nodes (div.Nodes set) the same rules read the row's versions:
// a node lacks a write when it holds another version than the writer's
// (or none), and a stopped apply worker counts only when it serves the
// subscription to the writer (ev.Publisher); a conflict's "other node" is
// any of them, so the words say "several nodes" where two would say both.
func ExplainDivergence(div *reports.Divergence, ev CauseEvidence) {
	if div == nil {
		return
	}
	conflicts := keyConflicts(ev.Logs)
	stops := stoppedNodes(ev.Logs)
	var unexplained int64
	for ti := range div.Tables {
		td := &div.Tables[ti]
		for ri := range td.Rows {
			row := &td.Rows[ri]
			ref := RowRef{Table: bareTable(td.Table), Key: row.Key}
			e := rowEvidence{ev: ev, row: *row, conflicts: conflicts[ref], writes: ev.Writes[ref], stops: stops}
			row.Cause, row.CauseDetail = e.explain()
			if row.Cause == reports.CauseUnexplained {
				unexplained++
			}
		}
	}
	div.Unexplained = &unexplained
}

// keyConflict is one conflict or apply error a node logged for a key.
type keyConflict struct {
	node  string
	kind  string
	lsn   string
	time  time.Time
	stops bool
}

// keyConflicts indexes the logged conflicts and apply errors that name a
// key by the row they name. Repeats of one stalled transaction (the worker
// logs the same error every retry) are kept once.
func keyConflicts(logs map[string][]pglog.Event) map[RowRef][]keyConflict {
	out := map[RowRef][]keyConflict{}
	seen := map[string]bool{}
	for _, node := range sortedKeys(logs) {
		for _, e := range logs[node] {
			if e.Type != pglog.Conflict && e.Type != pglog.ApplyError || e.Key == "" || e.Relation == "" {
				continue
			}
			for _, k := range strings.Split(e.Key, "; ") {
				key, ok := LoggedKey(k)
				if !ok {
					continue
				}
				ref := RowRef{Table: bareTable(e.Relation), Key: key}
				id := node + "\x00" + e.Kind + "\x00" + e.FinishLSN + "\x00" + ref.Table + "\x00" + key
				if e.FinishLSN != "" && seen[id] {
					continue
				}
				seen[id] = true
				out[ref] = append(out[ref], keyConflict{node: node, kind: e.Kind, lsn: e.FinishLSN, time: e.Time, stops: e.Stops()})
			}
		}
	}
	return out
}

// stoppedNodes gives, for each node whose apply workers an error stopped,
// the first such error of each subscription, in log order.
func stoppedNodes(logs map[string][]pglog.Event) map[string][]pglog.Event {
	out := map[string][]pglog.Event{}
	for node, evs := range logs {
		seen := map[string]bool{}
		for _, e := range evs {
			if e.Stops() && !seen[e.Subscription] {
				seen[e.Subscription] = true
				out[node] = append(out[node], e)
			}
		}
	}
	return out
}

// rowEvidence is the evidence about one divergent row.
type rowEvidence struct {
	ev        CauseEvidence
	row       reports.DivergentRow
	conflicts []keyConflict
	writes    []Write
	stops     map[string][]pglog.Event
}

// Conflict kinds by the cause they point to.
var (
	insertKinds = []string{pglog.KindInsertExists, pglog.KindUpdateExists, pglog.KindMultipleUniqueConflicts, pglog.KindApplyError}
	updateKinds = []string{pglog.KindUpdateOriginDiffers}
	deleteKinds = []string{pglog.KindUpdateMissing, pglog.KindUpdateDeleted, pglog.KindDeleteOriginDiffers, pglog.KindDeleteMissing}
)

func (e rowEvidence) explain() (cause, detail string) {
	order := []string{reports.CauseInsertCollision, reports.CauseConcurrentUpdate, reports.CauseUpdateDelete}
	if e.row.Kind != reports.Different {
		order = []string{reports.CauseUpdateDelete, reports.CauseInsertCollision}
	}
	for _, c := range order {
		if d, ok := e.byConflict(c); ok {
			return c, d
		}
	}
	if d, ok := e.stalled(); ok {
		return reports.CauseStalled, d
	}
	if d, ok := e.notConverged(); ok {
		return reports.CauseNotConverged, d
	}
	if !e.ev.ConflictLogs && e.row.Kind == reports.Different {
		if nodes := e.writers(); len(nodes) >= 2 {
			return reports.CauseConcurrentUpdate, join("updated on "+strings.Join(nodes, " and "), e.when(nodes)) +
				"; each applied the other's row (from the history alone: these logs name no update conflicts)"
		}
	}
	return reports.CauseUnexplained, e.unexplained()
}

// byConflict explains the row by the conflicts logged for its key that
// point to cause.
func (e rowEvidence) byConflict(cause string) (string, bool) {
	kinds := map[string][]string{
		reports.CauseInsertCollision:  insertKinds,
		reports.CauseConcurrentUpdate: updateKinds,
		reports.CauseUpdateDelete:     deleteKinds,
	}[cause]
	var cs []keyConflict
	for _, c := range e.conflicts {
		if slices.Contains(kinds, c.kind) {
			cs = append(cs, c)
		}
	}
	if len(cs) == 0 {
		return "", false
	}
	cited := citeConflicts(cs)
	switch cause {
	case reports.CauseInsertCollision:
		d := "inserted on " + e.both() + ": the key collided (" + cited + ")"
		if slices.ContainsFunc(cs, func(c keyConflict) bool { return c.stops }) {
			d += "; the apply stopped on it, and skipping it drops the remote row"
		}
		return d, true
	case reports.CauseConcurrentUpdate:
		nodes := e.writers()
		who := e.both()
		if len(nodes) >= 2 {
			who = strings.Join(nodes, " and ")
		}
		return join("updated on "+who, e.when(nodes)) + "; each applied the other's row (" + cited + ")", true
	default:
		if len(e.nodes()) > 2 {
			return "updated on one node while deleted on another (" + cited + ")", true
		}
		return "updated on one node while deleted on the other (" + cited + ")", true
	}
}

// citeConflicts names each node's last conflict of the list (the one that
// left the row as it is), e.g. "update_origin_differs at 0/17D0AE0 on
// primary1", nodes in the order they first appear.
func citeConflicts(cs []keyConflict) string {
	var nodes []string
	last := map[string]keyConflict{}
	for _, c := range cs {
		if _, ok := last[c.node]; !ok {
			nodes = append(nodes, c.node)
		}
		last[c.node] = c
	}
	parts := make([]string, 0, len(nodes))
	for _, n := range nodes {
		c := last[n]
		p := c.kind
		if c.lsn != "" {
			p += " at " + c.lsn
		}
		parts = append(parts, p+" on "+n)
	}
	return strings.Join(parts, ", ")
}

// lacking are the (writer, lacking) node pairs where lacking misses a write
// writer made: lacking has no row while writer's node holds one, or both
// hold versions that differ and writer's commit is last (either way round
// when the last writer is unknown).
func (e rowEvidence) lacking() [][2]string {
	version := e.versions()
	var out [][2]string
	for _, w := range e.writers() {
		vw, ok := version[w]
		if !ok {
			continue // not a compared node
		}
		for _, n := range e.nodes() {
			vn := version[n]
			switch {
			case n == w || vn == vw:
				continue
			case vn == "":
				// n lacks the row the writer's node holds.
			case vw == "":
				continue // the writer's node lacks it: not a write n missed
			case e.row.LastWriter != "" && e.row.LastWriter != w:
				continue
			}
			out = append(out, [2]string{w, n})
		}
	}
	return out
}

// versions is the row as each compared node holds it ("" for none): from
// its versions past two nodes, from its two sides otherwise.
func (e rowEvidence) versions() map[string]string {
	out := map[string]string{}
	if e.row.Versions != nil {
		for _, v := range e.row.Versions {
			for _, n := range v.Nodes {
				out[n] = v.Row
			}
		}
		return out
	}
	// Two nodes: the kind says which side lacks the row; the sides' text
	// may be cut or left out, so only whether it is there counts.
	ns := e.nodes()
	out[ns[0]], out[ns[1]] = "version on "+ns[0], "version on "+ns[1]
	switch e.row.Kind {
	case reports.MissingOnPrimary1:
		out[ns[0]] = ""
	case reports.MissingOnPrimary2:
		out[ns[1]] = ""
	}
	return out
}

// nodes are the nodes the row is compared on.
func (e rowEvidence) nodes() []string {
	if len(e.ev.Nodes) >= 2 {
		return e.ev.Nodes
	}
	return node.Primaries()
}

// both is "both nodes", or past two "several nodes".
func (e rowEvidence) both() string {
	if len(e.nodes()) > 2 {
		return "several nodes"
	}
	return "both nodes"
}

func (e rowEvidence) stalled() (string, bool) {
	for _, p := range e.lacking() {
		for _, stop := range e.stops[p[1]] {
			if len(e.nodes()) > 2 && (e.ev.Publisher == nil || e.ev.Publisher(p[1], stop.Subscription) != p[0]) {
				// Past two nodes only the worker applying the writer's
				// changes can have lost them.
				continue
			}
			if w, _ := e.last(p[0]); e.ev.Converged && w.End.After(stop.Time) {
				// Once the nodes converged, only a write from before the
				// stop can be the change that stopped it (and was skipped).
				continue
			}
			what := stop.Kind
			if stop.Key != "" {
				what += " for " + stop.Key
			}
			if stop.FinishLSN != "" {
				what += " at " + stop.FinishLSN
			}
			return join("written on "+p[0], e.lastWrite(p[0])) + fmt.Sprintf(" and never applied on %s, whose apply worker stopped on %s at %s (a stalled subscription: later changes from its peer do not arrive)",
				p[1], what, e.offset(stop.Time)), true
		}
	}
	return "", false
}

func (e rowEvidence) notConverged() (string, bool) {
	if e.ev.Converged {
		return "", false
	}
	lacking := e.lacking()
	if len(lacking) == 0 {
		return "", false
	}
	p := lacking[0] // the first pair tells the story; the rest repeat it
	d := join("written on "+p[0], e.lastWrite(p[0])) + " and not yet applied on " + p[1] + ": the nodes did not converge"
	if e.ev.NotConverged != "" {
		d += " (" + e.ev.NotConverged + ")"
	}
	return d, true
}

// unexplained says what was looked at and found wanting.
func (e rowEvidence) unexplained() string {
	var parts []string
	if len(e.conflicts) == 0 {
		parts = append(parts, "no conflict logged for this key")
	} else {
		parts = append(parts, "logged for this key: "+citeConflicts(e.conflicts)+", which does not account for a row "+strings.ReplaceAll(e.row.Kind, "_", " "))
	}
	nodes := e.writers()
	if len(nodes) == 0 {
		parts = append(parts, "no operation of the history wrote it")
	} else {
		var ws []string
		for _, n := range nodes {
			ws = append(ws, join(n, e.lastWrite(n)))
		}
		parts = append(parts, "last written on "+strings.Join(ws, ", "))
	}
	if e.ev.Converged {
		parts = append(parts, "the nodes converged")
	}
	return "changed outside replication, or a bug: " + strings.Join(parts, "; ")
}

// writers are the nodes the history shows writing the row, sorted.
func (e rowEvidence) writers() []string {
	var out []string
	for _, w := range e.writes {
		if w.Node != "" && !slices.Contains(out, w.Node) {
			out = append(out, w.Node)
		}
	}
	sort.Strings(out)
	return out
}

// last is node's last write of the row.
func (e rowEvidence) last(node string) (Write, bool) {
	var last Write
	found := false
	for _, w := range e.writes {
		if w.Node == node && (!found || w.End.After(last.End)) {
			last, found = w, true
		}
	}
	return last, found
}

// lastWrite says when node last wrote the row: "at 12.3s, during fault 0
// (partition primary1<->primary2)".
func (e rowEvidence) lastWrite(node string) string {
	w, ok := e.last(node)
	if !ok {
		return ""
	}
	s := "at " + e.offset(w.End)
	if w.Outcome == workload.Unknown {
		s += " (answer lost)"
	}
	if f := e.fault(w.End); f != "" {
		s += ", during " + f
	}
	return s
}

// when says when nodes last wrote the row: during one fault window for all,
// or outside any.
func (e rowEvidence) when(nodes []string) string {
	if len(nodes) < 2 {
		return ""
	}
	f0, first := "", true
	for _, n := range nodes {
		w, _ := e.last(n)
		f := e.fault(w.End)
		if !first && f != f0 {
			var ws []string
			for _, n := range nodes {
				ws = append(ws, join(n, e.lastWrite(n)))
			}
			return "(last: " + strings.Join(ws, "; ") + ")"
		}
		f0, first = f, false
	}
	if f0 == "" {
		return "outside any fault window, within the replication lag"
	}
	return "during " + f0
}

// fault names the faults whose windows hold t, "fault 0 (partition
// primary1<->primary2)", joined by "and"; empty for none. A fault never
// healed holds to the end.
func (e rowEvidence) fault(t time.Time) string {
	at := t.Sub(e.ev.Start)
	var names []string
	for i, f := range e.ev.Faults {
		if at >= f.Injected.D() && (f.Healed == nil || at <= f.Healed.D()) {
			names = append(names, fmt.Sprintf("fault %d (%s %s)", i, f.Kind, f.Target))
		}
	}
	return strings.Join(names, " and ")
}

func (e rowEvidence) offset(t time.Time) string {
	if t.IsZero() {
		return "an unknown time"
	}
	return fmt.Sprintf("%.1fs", t.Sub(e.ev.Start).Seconds())
}

// HistoryWrites reads the history once and keeps the writes of the rows
// div lists: memory follows the listed rows, not the run. Ops that failed
// wrote nothing and are left out; an op through the proxy whose answer was
// lost is kept with no node.
func HistoryWrites(path string, div *reports.Divergence, nodes []string, nodeOf map[string]string) (map[RowRef][]Write, error) {
	out := map[RowRef][]Write{}
	if div == nil {
		return out, nil
	}
	want := map[RowRef]bool{}
	for _, td := range div.Tables {
		for _, r := range td.Rows {
			want[RowRef{Table: bareTable(td.Table), Key: r.Key}] = true
		}
	}
	if len(want) == 0 {
		return out, nil
	}
	err := workload.ReadHistory(path, func(op workload.Op) error {
		if op.Outcome == workload.Fail {
			return nil
		}
		node := op.ServedBy
		if n, ok := nodeOf[node]; ok {
			node = n
		}
		if node == "" && slices.Contains(nodes, op.Target) {
			node = op.Target
		}
		for _, ref := range OpRows(op) {
			if want[ref] {
				out[ref] = append(out[ref], Write{Node: node, Start: op.Start, End: op.End, Outcome: op.Outcome})
			}
		}
		return nil
	})
	return out, err
}

// OpRows are the rows an op of the history wrote, named as the divergence
// check names them. Kinds whose table it does not know give none.
func OpRows(op workload.Op) []RowRef {
	var out []RowRef
	for _, k := range op.Keys {
		switch op.Kind {
		case scenario.KindInsert:
			out = append(out, RowRef{"pgchaos_insert", k})
		case scenario.KindTutorial:
			out = append(out, RowRef{"test_table", k})
		case scenario.KindUpdateHot:
			out = append(out, RowRef{"pgchaos_counter", RowLiteral(op.Workload, k)})
		case scenario.KindBank:
			out = append(out, RowRef{"pgchaos_bank", RowLiteral(op.Workload, k)})
		}
	}
	return out
}

// LoggedKey turns a key as a conflict log line prints it, "(id)=(100)" or
// "(workload, id)=(hot, 3)", into the divergence check's form: "100",
// "(hot,3)". PostgreSQL prints the values unquoted and comma-separated, so
// a value holding ", " cannot be told apart: false then, as for any text
// that is not such a key.
func LoggedKey(s string) (string, bool) {
	cols, vals, ok := strings.Cut(s, ")=(")
	if !ok || !strings.HasPrefix(cols, "(") || !strings.HasSuffix(vals, ")") {
		return "", false
	}
	n := len(strings.Split(cols[1:], ", "))
	vals = vals[:len(vals)-1]
	if n == 1 {
		return vals, true
	}
	vs := strings.Split(vals, ", ")
	if len(vs) != n {
		return "", false
	}
	return RowLiteral(vs...), true
}

// RowLiteral renders values as PostgreSQL's record output does, the way
// the divergence check prints a composite key: "(a,b)", a value quoted
// when it is empty or holds a quote, backslash, parenthesis, comma or
// space, with quotes and backslashes doubled.
func RowLiteral(vals ...string) string {
	var b strings.Builder
	b.WriteByte('(')
	for i, v := range vals {
		if i > 0 {
			b.WriteByte(',')
		}
		if v != "" && !strings.ContainsAny(v, "\"\\(), \t\n\r\v\f") {
			b.WriteString(v)
			continue
		}
		b.WriteByte('"')
		for _, r := range v {
			if r == '"' || r == '\\' {
				b.WriteRune(r)
			}
			b.WriteRune(r)
		}
		b.WriteByte('"')
	}
	b.WriteByte(')')
	return b.String()
}

// join joins two parts of a sentence with a space, leaving out an empty
// second part.
func join(a, b string) string {
	if b == "" {
		return a
	}
	return a + " " + b
}

// bareTable is a table's name as OpRows names it: without schema public
// (a lab's) or pgchaos (a target's, where the built-in workloads' tables
// are pgchaos's own).
func bareTable(t string) string {
	return strings.TrimPrefix(strings.TrimPrefix(t, "public."), "pgchaos.")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
