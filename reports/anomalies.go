package reports

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/anomaly"
	"github.com/pgchaos/pgchaos/scenario"
)

// Anomalies is what the isolation checker (package anomaly) found in the
// transaction history of one list-append or rw-register workload.
type Anomalies struct {
	Workload  string `json:"workload"`
	Kind      string `json:"kind"`      // list-append or rw-register
	Isolation string `json:"isolation"` // the level its transactions ran at
	History   string `json:"history"`   // the history file checked
	// Verdict is the checker's: valid, invalid or unknown (a search ran
	// out of budget and found nothing); "" when Error is set.
	Verdict    string `json:"verdict"`
	Error      string `json:"error,omitempty"` // why the history could not be checked
	Txns       int    `json:"txns"`
	OK         int    `json:"ok"`
	Failed     int    `json:"failed"`
	Unknown    int    `json:"unknown"`
	FinalReads int    `json:"final_reads"` // final read transactions, one per node
	// DependencyAnomalies is the sum of the counts of the dependency
	// classes (those with Dependency set): what `anomalies: N` asserts.
	DependencyAnomalies int            `json:"dependency_anomalies"`
	Edges               map[string]int `json:"edges"`  // dependency graph edges by kind: ww, wr, rw, process, realtime
	Counts              map[string]int `json:"counts"` // anomalies per class found
	Classes             []AnomalyClass `json:"classes"`
	Incomplete          []string       `json:"incomplete,omitempty"` // classes whose search was cut short
}

// AnomalyClass is one class found, with a few witnesses.
type AnomalyClass struct {
	Class string `json:"class"`
	Count int    `json:"count"`
	// Dependency is true for classes that need no clock or session order;
	// false for the -process and -realtime classes, which measure how far
	// from strict serializability the cluster is.
	Dependency bool             `json:"dependency"`
	Witnesses  []AnomalyWitness `json:"witnesses"`
}

// AnomalyWitness is one example: a sentence, the cycle with the reason
// for each edge (cycle classes), and the transactions as recorded.
type AnomalyWitness struct {
	Summary string        `json:"summary"`
	Cycle   []AnomalyEdge `json:"cycle,omitempty"`
	Txns    []AnomalyTxn  `json:"txns"`
}

// AnomalyEdge is one edge of a witness cycle: From must precede To because Why.
type AnomalyEdge struct {
	From int64  `json:"from"`
	To   int64  `json:"to"`
	Kind string `json:"kind"` // ww, wr, rw, process or realtime
	Why  string `json:"why"`
}

// AnomalyTxn is a transaction of a witness.
type AnomalyTxn struct {
	ID        int64     `json:"id"`
	Target    string    `json:"target"`
	Worker    int       `json:"worker"` // -1 for a final read
	ServedBy  string    `json:"served_by"`
	Start     time.Time `json:"started_at"`
	End       time.Time `json:"ended_at"`
	Outcome   string    `json:"outcome"` // ok, fail or unknown
	Final     bool      `json:"final"`
	Ops       []string  `json:"ops"`        // each micro-operation as text: "append 3 5", "read_list 3 [1 5]", "read_register 2 nil"
	OpsElided int       `json:"ops_elided"` // ops left out as irrelevant to the anomaly
}

// FromCheck fills a's verdict, counts and witnesses from the checker's result.
func (a *Anomalies) FromCheck(r *anomaly.Result) {
	a.Verdict = r.Verdict
	a.Txns, a.OK, a.Failed, a.Unknown = r.Txns, r.OK, r.Failed, r.Unknowns
	a.Edges = map[string]int{}
	for k, n := range r.Edges {
		a.Edges[string(k)] = n
	}
	a.Counts = map[string]int{}
	for c, n := range r.Counts {
		a.Counts[string(c)] = n
		if slices.Contains(anomaly.DependencyClasses, c) {
			a.DependencyAnomalies += n
		}
	}
	for _, c := range r.Incomplete {
		a.Incomplete = append(a.Incomplete, string(c))
	}
	a.Classes = make([]AnomalyClass, 0, len(r.Anomalies))
	for _, f := range r.Anomalies {
		ac := AnomalyClass{Class: string(f.Class), Count: f.Count, Dependency: slices.Contains(anomaly.DependencyClasses, f.Class)}
		for _, w := range f.Witnesses {
			aw := AnomalyWitness{Summary: w.Summary}
			for _, s := range w.Cycle {
				aw.Cycle = append(aw.Cycle, AnomalyEdge{From: s.From, To: s.To, Kind: string(s.Kind), Why: s.Why})
			}
			for _, t := range w.Txns {
				at := AnomalyTxn{ID: t.ID, Target: t.Target, Worker: t.Worker, ServedBy: t.ServedBy, Start: t.Start, End: t.End,
					Outcome: string(t.Outcome), Final: t.Final, OpsElided: t.OpsElided}
				for _, o := range t.Ops {
					at.Ops = append(at.Ops, opText(o))
				}
				aw.Txns = append(aw.Txns, at)
			}
			ac.Witnesses = append(ac.Witnesses, aw)
		}
		a.Classes = append(a.Classes, ac)
	}
}

// opText is a micro-operation as people read it.
func opText(o anomaly.Op) string {
	switch o.F {
	case anomaly.ReadList:
		parts := make([]string, len(o.List))
		for i, v := range o.List {
			parts[i] = strconv.FormatInt(v, 10)
		}
		return fmt.Sprintf("%s %d [%s]", o.F, o.Key, strings.Join(parts, " "))
	case anomaly.ReadRegister:
		if o.Nil {
			return fmt.Sprintf("%s %d nil", o.F, o.Key)
		}
	}
	return fmt.Sprintf("%s %d %d", o.F, o.Key, o.Value)
}

// anomalyAssertions checks anomalies: N (the dependency classes of every
// transactional workload together) and anomalies.<class>, in
// anomaly.AllClasses order.
func anomalyAssertions(r *Report, a scenario.Assert) []Assertion {
	var out []Assertion
	if a.AnomaliesAll != nil {
		as := atMost("anomalies", *a.AnomaliesAll)
		anomalyCheck(r, as, "", func(x *Anomalies) int { return x.DependencyAnomalies })
		out = append(out, as.Assertion)
	}
	for _, c := range anomaly.AllClasses {
		max, ok := a.Anomalies[string(c)]
		if !ok {
			continue
		}
		as := atMost("anomalies."+string(c), max)
		anomalyCheck(r, as, string(c), func(x *Anomalies) int { return x.Counts[string(c)] })
		out = append(out, as.Assertion)
	}
	return out
}

// anomalyCheck sums pick over the workloads' results. It is not measured
// when no transactional workload ran, a history could not be checked, or
// (for a count within the bound) a search for the class was cut short:
// then the count is only a lower bound. class "" stands for every
// dependency class.
func anomalyCheck(r *Report, as *countAssertion, class string, pick func(*Anomalies) int) {
	if len(r.Anomalies) == 0 {
		as.notMeasured("no list-append or rw-register workload checked")
		return
	}
	var sum int64
	var cut []string
	for i := range r.Anomalies {
		x := &r.Anomalies[i]
		if x.Error != "" {
			as.notMeasured("history of " + x.Workload + " not checked: " + x.Error)
			return
		}
		sum += int64(pick(x))
		for _, c := range x.Incomplete {
			if c == class || (class == "" && slices.Contains(anomaly.DependencyClasses, anomaly.Class(c))) {
				cut = append(cut, x.Workload+": "+c)
			}
		}
	}
	as.check(sum)
	if as.Pass && len(cut) > 0 {
		as.notMeasured(count(sum) + " found, search cut short (" + strings.Join(cut, ", ") + ")")
	}
}

// maxWitnessesShown is how many witnesses per class the table and the
// page show; the JSON carries all the report kept.
const maxWitnessesShown = 3

// anomalies writes one section per transactional workload: its verdict,
// counts per class, and for each class a few witnesses.
func (p *printer) anomalies(as []Anomalies) {
	for _, a := range as {
		p.title(fmt.Sprintf("Anomalies: %s (%s, %s)", a.Workload, a.Kind, a.Isolation))
		if a.Error != "" {
			p.printf("not checked: %s\n", a.Error)
			continue
		}
		p.printf("verdict: %s; %d txns (%d ok, %d failed, %d unknown), %d final reads; edges %s\n",
			a.Verdict, a.Txns, a.OK, a.Failed, a.Unknown, a.FinalReads, edgeText(a.Edges))
		if len(a.Incomplete) > 0 {
			p.printf("search cut short for: %s (counts may be low)\n", strings.Join(a.Incomplete, ", "))
		}
		if len(a.Classes) == 0 {
			continue
		}
		rows := make([][]string, 0, len(a.Classes))
		for _, c := range a.Classes {
			rows = append(rows, []string{c.Class, fmt.Sprint(c.Count), classScope(c.Dependency)})
		}
		p.table([]string{"class", "count", "kind"}, rows)
		for _, c := range a.Classes {
			for i, w := range c.Witnesses {
				if i == maxWitnessesShown {
					p.printf("  … %d more witnesses of %s in the JSON\n", len(c.Witnesses)-i, c.Class)
					break
				}
				p.printf("%s witness %d: %s\n", c.Class, i+1, w.Summary)
				for _, e := range w.Cycle {
					p.printf("  T%d -%s-> T%d: %s\n", e.From, e.Kind, e.To, e.Why)
				}
				for _, t := range w.Txns {
					p.printf("  %s\n", txnText(t))
				}
			}
		}
	}
}

func classScope(dep bool) string {
	if dep {
		return "dependency"
	}
	return "measurement (process/realtime order)"
}

func edgeText(e map[string]int) string {
	var parts []string
	for _, k := range []string{"ww", "wr", "rw", "process", "realtime"} {
		if n, ok := e[k]; ok {
			parts = append(parts, fmt.Sprintf("%s %d", k, n))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// txnText is one transaction on one line: id, where it ran, when, how it
// ended, and its ops.
func txnText(t AnomalyTxn) string {
	who := t.Target
	if t.Final {
		who += " final read"
	} else {
		who += "/" + strconv.Itoa(t.Worker)
	}
	if t.ServedBy != "" && t.ServedBy != t.Target {
		who += " served by " + t.ServedBy
	}
	ops := strings.Join(t.Ops, "; ")
	if t.OpsElided > 0 {
		ops += fmt.Sprintf("; … %d more", t.OpsElided)
	}
	return fmt.Sprintf("T%d %s %s–%s %s: %s", t.ID, who, t.Start.UTC().Format("15:04:05.000"), t.End.UTC().Format("15:04:05.000"), t.Outcome, ops)
}

// anomaliesSections is the page's view of the same data as the table.
func anomaliesSections(as []Anomalies) []*htmlSection {
	var out []*htmlSection
	for _, a := range as {
		s := &htmlSection{ID: "anomalies-" + a.Workload, Title: fmt.Sprintf("Anomalies: %s (%s, %s)", a.Workload, a.Kind, a.Isolation)}
		out = append(out, s)
		if a.Error != "" {
			s.text("fail", "not checked: %s", a.Error)
			continue
		}
		css := ""
		if a.Verdict == "invalid" {
			css = "fail"
		}
		s.text(css, "verdict: %s; %d txns (%d ok, %d failed, %d unknown), %d final reads; edges %s",
			a.Verdict, a.Txns, a.OK, a.Failed, a.Unknown, a.FinalReads, edgeText(a.Edges))
		if len(a.Incomplete) > 0 {
			s.text("", "search cut short for: %s (counts may be low)", strings.Join(a.Incomplete, ", "))
		}
		if len(a.Classes) == 0 {
			continue
		}
		t := htmlTable{Header: []string{"class", "count", "kind"}}
		for _, c := range a.Classes {
			t.Rows = append(t.Rows, []htmlCell{{Text: c.Class}, {Text: fmt.Sprint(c.Count), CSS: "num"}, {Text: classScope(c.Dependency)}})
		}
		s.table(t)
		for _, c := range a.Classes {
			for i, w := range c.Witnesses {
				if i == maxWitnessesShown {
					s.text("", "… %d more witnesses of %s in the JSON", len(c.Witnesses)-i, c.Class)
					break
				}
				wt := htmlTable{Caption: fmt.Sprintf("%s witness %d: %s", c.Class, i+1, w.Summary), Header: []string{"txn", "target / worker", "served by", "start", "end", "outcome", "ops"}}
				for _, tx := range w.Txns {
					who := tx.Target + "/" + strconv.Itoa(tx.Worker)
					if tx.Final {
						who = tx.Target + " final read"
					}
					ops := tx.Ops
					if tx.OpsElided > 0 {
						ops = append(slices.Clone(ops), fmt.Sprintf("… %d more", tx.OpsElided))
					}
					wt.Rows = append(wt.Rows, []htmlCell{{Text: "T" + strconv.FormatInt(tx.ID, 10)}, {Text: who}, {Text: dash(tx.ServedBy)},
						{Text: tx.Start.UTC().Format("15:04:05.000")}, {Text: tx.End.UTC().Format("15:04:05.000")}, {Text: tx.Outcome}, {Lines: ops, CSS: "code"}})
				}
				s.table(wt)
				if len(w.Cycle) > 0 {
					et := htmlTable{Caption: "edges", Header: []string{"from", "edge", "to", "why"}}
					for _, e := range w.Cycle {
						et.Rows = append(et.Rows, []htmlCell{{Text: "T" + strconv.FormatInt(e.From, 10)}, {Text: e.Kind}, {Text: "T" + strconv.FormatInt(e.To, 10)}, {Text: e.Why}})
					}
					s.table(et)
				}
			}
		}
	}
	return out
}
