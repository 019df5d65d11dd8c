package reports

import (
	"cmp"
	"slices"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/scenario"
)

// CompareSchema names the JSON layout of a comparison (docs/compare.md);
// bump it when a field changes meaning.
const CompareSchema = "pgchaos.compare/v1"

// Comparison is one scenario run with one seed on several lab variants, one
// after another, each on a fresh lab: the headline figures of each run side
// by side. Each variant's full report stays in its own folder (Dir).
type Comparison struct {
	Schema      string    `json:"schema"`
	Version     string    `json:"pgchaos_version"`
	Scenario    Scenario  `json:"scenario"` // the seed every variant ran with
	StartedAt   time.Time `json:"started_at"`
	EndedAt     time.Time `json:"ended_at"`
	Interrupted bool      `json:"interrupted"` // Ctrl-C: one variant stopped, those after it not run
	// Variants are in the order they were asked for, run or not.
	Variants []VariantResult `json:"variants"`
	// Verdict is VerdictFail when any variant failed an assertion,
	// VerdictPass when every variant that ran passed every one, VerdictNone
	// when no variant asserted anything.
	Verdict string `json:"verdict"`
}

// The states of a variant in a comparison.
const (
	VariantDone        = "done"        // ran to the end; its figures are complete
	VariantInterrupted = "interrupted" // Ctrl-C stopped it: healed, recorded, not analysed
	VariantError       = "error"       // it could not run (Error says why)
	VariantNotRun      = "not_run"     // the comparison stopped before its turn
)

// VariantResult is one variant's row. A pointer field is null when it was
// not measured (no insert workload: no lost writes; no failover: no
// unavailability; a run stopped before its analysis: most of them).
type VariantResult struct {
	Variant string `json:"variant"` // as written: "pglogical:keep_local+nodes=3"
	// Dir holds the variant's report.json and history.jsonl, relative to
	// the folder of the comparison's compare.json.
	Dir    string      `json:"dir"`
	Status string      `json:"status"` // VariantDone, VariantInterrupted, VariantError or VariantNotRun
	Error  string      `json:"error,omitempty"`
	Lab    *VariantLab `json:"lab,omitempty"` // what the lab really was, from the report

	// Wall is the variant's whole time: lab up, run, convergence,
	// analysis, lab down. LabUp is the part before the run started (the
	// lab built and ready); null when the run never started.
	Wall  Duration  `json:"wall_ms"`
	LabUp *Duration `json:"lab_up_ms"`

	// OpsOK and Ops are the workloads' acknowledged and attempted
	// operations, all targets: the denominator of the losses below, which
	// a slower variant makes smaller.
	OpsOK int64 `json:"ops_ok"`
	Ops   int64 `json:"ops"`

	Converged     *bool             `json:"converged"`
	ConvergedIn   *Duration         `json:"converged_in_ms"` // only when converged
	DivergentRows *int64            `json:"divergent_rows"`
	LostWrites    *int64            `json:"lost_writes"`
	LostUpdates   *int64            `json:"lost_updates"`
	Conflicts     *VariantConflicts `json:"conflicts"`
	Stalls        *int64            `json:"stalls"` // unresolved at the end
	// LagP99 is the p99 one-way lag of each direction that had samples.
	LagP99 []DirectionP99 `json:"lag_p99"`
	// Unavailability is the longest failover window through HAProxy.
	Unavailability *Duration `json:"unavailability_ms"`

	Verdict string `json:"verdict"` // the run's: pass, fail, none; "" when it has no report
	// FailedAssertions names the assertions that failed, as in the report.
	FailedAssertions []string `json:"failed_assertions"`
	Warnings         []string `json:"warnings,omitempty"`
}

// VariantLab is the lab a variant ran on, as its report describes it.
type VariantLab struct {
	Engine    string `json:"engine"`
	Resolver  string `json:"resolver,omitempty"`
	Postgres  string `json:"postgres"`
	Sequences string `json:"sequences"`
	Nodes     int    `json:"nodes"`
	// RetainDeadTuples is true when the subscriptions retained dead
	// tuples (PostgreSQL 19): the report measured their retention.
	RetainDeadTuples bool `json:"retain_dead_tuples,omitempty"`
}

// VariantConflicts are a variant's conflicts by kind, summed over nodes.
type VariantConflicts struct {
	// Counted is as PostgreSQL counted them (pg_stat_subscription_stats);
	// null when the engine keeps no counters (CountedUnknown says so).
	Counted        map[string]int64 `json:"counted"`
	CountedUnknown string           `json:"counted_unknown,omitempty"`
	// Logged is as the servers logged them (and pglogical's resolutions).
	Logged map[string]int64 `json:"logged"`
}

// DirectionP99 is one direction's p99 one-way lag.
type DirectionP99 struct {
	From string   `json:"from"`
	To   string   `json:"to"`
	P99  Duration `json:"p99_ms"`
}

// VariantOf summarises a variant's report into its row; the caller sets
// Dir, Wall, Error and, when the run was cut short before a report, Status.
// It picks the report's own figures and reckons them as the assertions do
// (Evaluate), so a row and an assert: threshold agree.
func VariantOf(name string, r *Report) VariantResult {
	v := VariantResult{Variant: name, Status: VariantNotRun, FailedAssertions: []string{}}
	if r == nil {
		return v
	}
	v.Status = VariantDone
	if r.Interrupted {
		v.Status = VariantInterrupted
	}
	v.Lab = &VariantLab{Engine: cmp.Or(r.Lab.Engine, "native"), Resolver: r.Lab.Resolver,
		Postgres: r.Lab.Postgres, Sequences: r.Lab.Sequences, Nodes: len(r.Lab.Nodes),
		RetainDeadTuples: r.Conflicts != nil && r.Conflicts.Retention != nil}
	for _, w := range r.Workloads {
		v.OpsOK += w.OK
		v.Ops += w.Ops
	}
	if d := r.Divergence; d != nil {
		v.Converged = &d.Converged
		if d.Converged {
			in := d.ConvergedIn
			v.ConvergedIn = &in
		}
		n := d.DivergentRows
		v.DivergentRows = &n
	}
	if c := r.Conflicts; c != nil {
		if hasWorkload(r, scenario.KindInsert, scenario.KindTutorial) {
			n := c.Workload.LostWrites
			v.LostWrites = &n
		}
		if hasWorkload(r, scenario.KindUpdateHot) {
			n := c.Workload.LostUpdates
			v.LostUpdates = &n
		}
		var stalls int64
		for _, s := range c.Stalls {
			if !s.Resolved {
				stalls++
			}
		}
		v.Stalls = &stalls
		vc := &VariantConflicts{CountedUnknown: c.CountedUnknown, Logged: byKind(c.Logged)}
		if c.CountedUnknown == "" {
			vc.Counted = byKind(c.Counted)
		}
		v.Conflicts = vc
	}
	if r.Lag != nil {
		for _, d := range r.Lag.Directions {
			if d.Samples > 0 {
				v.LagP99 = append(v.LagP99, DirectionP99{From: d.From, To: d.To, P99: d.P99})
			}
		}
	}
	for _, f := range r.Failovers {
		if v.Unavailability == nil || f.Unavailable > *v.Unavailability {
			u := f.Unavailable
			v.Unavailability = &u
		}
	}
	v.Verdict = r.Verdict
	for _, a := range r.Assertions {
		if !a.Pass {
			v.FailedAssertions = append(v.FailedAssertions, a.Name)
		}
	}
	v.Warnings = r.Warnings
	return v
}

// byKind sums counts of each kind over nodes, leaving out the kinds that
// sum to 0; never nil.
func byKind(cs []ConflictCount) map[string]int64 {
	m := map[string]int64{}
	for _, c := range cs {
		m[c.Kind] += c.Count
	}
	for k, n := range m {
		if n == 0 {
			delete(m, k)
		}
	}
	return m
}

// Summarise sets c's verdict from its variants' (see Comparison.Verdict).
func (c *Comparison) Summarise() {
	c.Verdict = VerdictNone
	for _, v := range c.Variants {
		switch {
		case v.Verdict == VerdictFail || len(v.FailedAssertions) > 0:
			c.Verdict = VerdictFail
			return
		case v.Verdict == VerdictPass:
			c.Verdict = VerdictPass
		}
	}
}

// CompareExitCode is the exit code c's assertions stand for:
// exitcode.Failed when any variant failed an assertion, exitcode.OK
// otherwise. A variant that could not run, or an interruption, is the
// caller's to report (its error carries its own code).
func CompareExitCode(c *Comparison) int {
	if c == nil {
		return exitcode.OK
	}
	for _, v := range c.Variants {
		if v.Verdict == VerdictFail || len(v.FailedAssertions) > 0 {
			return exitcode.Failed
		}
	}
	return exitcode.OK
}

// sortedKinds are m's kinds, most frequent first, then by name.
func sortedKinds(m map[string]int64) []string {
	kinds := make([]string, 0, len(m))
	for k := range m {
		kinds = append(kinds, k)
	}
	slices.SortFunc(kinds, func(a, b string) int {
		return cmp.Or(cmp.Compare(m[b], m[a]), cmp.Compare(a, b))
	})
	return kinds
}
