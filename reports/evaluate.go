package reports

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/scenario"
)

// NotMeasured is the Actual of an assertion whose data the report lacks.
// Such an assertion fails: a threshold nobody measured has not held.
const NotMeasured = "not measured"

// Evaluate checks the scenario's thresholds against r: it replaces
// r.Assertions with one Assertion per non-nil threshold and sets r.Verdict
// (VerdictNone when a asserts nothing).
//
// The order is fixed, so reports diff cleanly: lag_p50, lag_p95, lag_p99,
// lag_max, unavailability, errors, divergent_rows, unexplained_divergence,
// converged, lost_writes,
// lost_updates, bank_invariant, stalls, then conflicts.total and the other
// conflicts.<kind> keys in alphabetical order, then anomalies and the
// anomalies.<class> keys in anomaly.AllClasses order.
//
// Numeric thresholds are maxima (actual <= threshold); converged and
// bank_invariant must equal the boolean given, so a scenario can also pin
// a known failure (converged: false). An assertion whose data is absent
// fails with Actual NotMeasured.
func Evaluate(r *Report, a scenario.Assert) {
	out := lagAssertions(r, a)
	if a.Unavailability != nil {
		out = append(out, unavailability(r, *a.Unavailability))
	}
	if a.Errors != nil {
		out = append(out, errorsAssertion(r, *a.Errors))
	}
	if a.DivergentRows != nil {
		out = append(out, divergentRows(r, *a.DivergentRows))
	}
	if a.UnexplainedDivergence != nil {
		out = append(out, unexplainedDivergence(r, *a.UnexplainedDivergence))
	}
	if a.Converged != nil {
		out = append(out, converged(r, *a.Converged))
	}
	if a.LostWrites != nil {
		out = append(out, lostWrites(r, *a.LostWrites))
	}
	if a.LostUpdates != nil {
		out = append(out, lostUpdates(r, *a.LostUpdates))
	}
	if a.BankInvariant != nil {
		out = append(out, bankInvariant(r, *a.BankInvariant))
	}
	if a.Stalls != nil {
		out = append(out, stalls(r, *a.Stalls))
	}
	out = append(out, conflictAssertions(r, a.Conflicts)...)
	out = append(out, anomalyAssertions(r, a)...)

	r.Assertions = out
	r.Verdict = verdict(out)
}

// lagAssertions checks the lag thresholds that are set, in the order
// lag_p50, lag_p95, lag_p99, lag_max.
func lagAssertions(r *Report, a scenario.Assert) []Assertion {
	var out []Assertion
	lag := []struct {
		name string
		max  *time.Duration
		pick func(LagDirection) Duration
	}{
		{"lag_p50", a.LagP50, func(d LagDirection) Duration { return d.P50 }},
		{"lag_p95", a.LagP95, func(d LagDirection) Duration { return d.P95 }},
		{"lag_p99", a.LagP99, func(d LagDirection) Duration { return d.P99 }},
		{"lag_max", a.LagMax, func(d LagDirection) Duration { return d.Max }},
	}
	for _, l := range lag {
		if l.max != nil {
			out = append(out, lagAssertion(r, l.name, *l.max, l.pick))
		}
	}
	return out
}

// divergentRows checks the rows the divergence check found different or
// missing.
func divergentRows(r *Report, max int64) Assertion {
	as := atMost("divergent_rows", max)
	if r.Divergence == nil {
		as.notMeasured("no divergence check")
	} else {
		as.check(r.Divergence.DivergentRows)
	}
	return as.Assertion
}

// converged checks that the nodes did (or, to pin a known failure, did
// not) converge.
func converged(r *Report, want bool) Assertion {
	as := Assertion{Name: "converged", Expected: "== " + strconv.FormatBool(want)}
	if r.Divergence == nil {
		as.Actual = NotMeasured + " (no divergence check)"
	} else {
		as.Actual = strconv.FormatBool(r.Divergence.Converged)
		as.Pass = r.Divergence.Converged == want
	}
	return as
}

// lostWrites checks acknowledged inserts absent after convergence; only the
// insert and tutorial workloads look for them.
func lostWrites(r *Report, max int64) Assertion {
	as := atMost("lost_writes", max)
	switch {
	case r.Conflicts == nil:
		as.notMeasured("no workload checks")
	case !hasWorkload(r, scenario.KindInsert, scenario.KindTutorial):
		as.notMeasured("no insert or tutorial workload ran")
	default:
		as.check(r.Conflicts.Workload.LostWrites)
	}
	return as.Assertion
}

// lostUpdates checks acknowledged increments missing on the worse node;
// only update-hot looks for them.
func lostUpdates(r *Report, max int64) Assertion {
	as := atMost("lost_updates", max)
	switch {
	case r.Conflicts == nil:
		as.notMeasured("no workload checks")
	case !hasWorkload(r, scenario.KindUpdateHot):
		as.notMeasured("no update-hot workload ran")
	default:
		as.check(r.Conflicts.Workload.LostUpdates)
	}
	return as.Assertion
}

// stalls checks the subscription stalls still unresolved at the end: a
// stall that cleared during the run does not count.
func stalls(r *Report, max int64) Assertion {
	as := atMost("stalls", max)
	if r.Conflicts == nil {
		as.notMeasured("no subscription sampling")
		return as.Assertion
	}
	var n int64
	for _, s := range r.Conflicts.Stalls {
		if !s.Resolved {
			n++
		}
	}
	as.check(n)
	return as.Assertion
}

// verdict sums assertions up.
func verdict(as []Assertion) string {
	if len(as) == 0 {
		return VerdictNone
	}
	for _, a := range as {
		if !a.Pass {
			return VerdictFail
		}
	}
	return VerdictPass
}

// ExitCode is the process exit code r stands for: exitcode.Failed when an
// assertion failed (by its verdict or by any assertion, so a report that
// was never evaluated still cannot pass a failure), exitcode.OK otherwise,
// including a run that asserted nothing.
func ExitCode(r *Report) int {
	if r == nil {
		return exitcode.OK
	}
	if r.Verdict == VerdictFail {
		return exitcode.Failed
	}
	for _, a := range r.Assertions {
		if !a.Pass {
			return exitcode.Failed
		}
	}
	return exitcode.OK
}

// countAssertion builds an "at most N" assertion.
type countAssertion struct {
	Assertion
	max int64
}

func atMost(name string, max int64) *countAssertion {
	return &countAssertion{Assertion: Assertion{Name: name, Expected: "<= " + count(max)}, max: max}
}

func (c *countAssertion) check(actual int64) {
	c.Actual = count(actual)
	c.Pass = actual <= c.max
}

func (c *countAssertion) notMeasured(why string) {
	c.Actual = NotMeasured + " (" + why + ")"
	c.Pass = false
}

// lagAssertion checks the worst direction: the threshold is for every
// direction, so the largest value decides, and Actual names its direction.
// A direction with no applied heartbeat has no lag figure at all, which
// fails the assertion rather than reading as zero lag.
func lagAssertion(r *Report, name string, max time.Duration, pick func(LagDirection) Duration) Assertion {
	as := Assertion{Name: name, Expected: "<= " + compactDuration(max)}
	if r.Lag == nil || len(r.Lag.Directions) == 0 {
		as.Actual = NotMeasured + " (no lag samples)"
		return as
	}
	var worst *LagDirection
	for i := range r.Lag.Directions {
		d := &r.Lag.Directions[i]
		if d.Unknown != "" {
			continue // no subscription carries it: not a direction to hold to a threshold
		}
		if d.Samples == 0 {
			as.Actual = fmt.Sprintf("%s (%s->%s: no heartbeat applied)", NotMeasured, d.From, d.To)
			return as
		}
		if worst == nil || pick(*d) > pick(*worst) {
			worst = d
		}
	}
	if worst == nil {
		as.Actual = NotMeasured + " (no direction has a subscription)"
		return as
	}
	v := pick(*worst).D()
	as.Actual = fmt.Sprintf("%s (%s->%s)", compactDuration(v), worst.From, worst.To)
	as.Pass = v <= max
	return as
}

func unavailability(r *Report, max time.Duration) Assertion {
	as := Assertion{Name: "unavailability", Expected: "<= " + compactDuration(max)}
	if len(r.Failovers) == 0 {
		as.Actual = NotMeasured + " (no failover in the run)"
		return as
	}
	worst := r.Failovers[0]
	for _, f := range r.Failovers[1:] {
		if f.Unavailable > worst.Unavailable {
			worst = f
		}
	}
	as.Actual = fmt.Sprintf("%s (%s->%s)", compactDuration(worst.Unavailable.D()), worst.From, worst.To)
	as.Pass = worst.Unavailable.D() <= max
	return as
}

func errorsAssertion(r *Report, max int64) Assertion {
	as := atMost("errors", max)
	if len(r.Workloads) == 0 {
		as.notMeasured("no workload results")
		return as.Assertion
	}
	var n int64
	for _, w := range r.Workloads {
		n += w.Fail + w.Unknown
	}
	as.check(n)
	return as.Assertion
}

func bankInvariant(r *Report, want bool) Assertion {
	as := Assertion{Name: "bank_invariant", Expected: "== " + strconv.FormatBool(want)}
	if r.Conflicts == nil || len(r.Conflicts.Workload.Bank) == 0 {
		as.Actual = NotMeasured + " (no bank totals)"
		return as
	}
	held := true
	var broken []string
	for _, b := range r.Conflicts.Workload.Bank {
		if b.Actual != b.Expected {
			held = false
			broken = append(broken, fmt.Sprintf("%s on %s: %d, expected %d", b.Workload, b.Node, b.Actual, b.Expected))
		}
	}
	as.Actual = strconv.FormatBool(held)
	if !held {
		as.Actual += " (" + strings.Join(broken, "; ") + ")"
	}
	as.Pass = held == want
	return as
}

// conflictAssertions checks conflicts as PostgreSQL counted them, summed
// over subscriber nodes. "total" sums every kind. On PostgreSQL 17 a kind
// it does not count is not measured rather than zero.
func conflictAssertions(r *Report, limits map[string]int64) []Assertion {
	if len(limits) == 0 {
		return nil
	}
	kinds := make([]string, 0, len(limits))
	for k := range limits {
		if k != "total" {
			kinds = append(kinds, k)
		}
	}
	slices.Sort(kinds)
	if _, ok := limits["total"]; ok {
		kinds = append([]string{"total"}, kinds...)
	}
	pre18, pre19 := false, false
	if major, err := strconv.Atoi(r.Lab.Postgres); err == nil {
		pre18, pre19 = major < 18, major < 19
	}
	out := make([]Assertion, 0, len(kinds))
	for _, kind := range kinds {
		as := atMost("conflicts."+kind, limits[kind])
		switch {
		case r.Conflicts == nil:
			as.notMeasured("no conflict counts")
		case r.Conflicts.CountedUnknown != "":
			// An engine without counters (pglogical): zero would be a pass
			// nobody measured.
			as.notMeasured(r.Conflicts.CountedUnknown)
		case pre18 && kind != "total" && kind != "apply_error" && kind != "sync_error":
			// PostgreSQL 17 counts only apply and sync errors; a zero for
			// any other kind would be a pass nobody measured.
			as.notMeasured("PostgreSQL " + r.Lab.Postgres + " does not count " + kind)
		case pre19 && kind == "update_deleted":
			as.notMeasured("PostgreSQL " + r.Lab.Postgres + " does not count update_deleted (new in 19, with retain_dead_tuples)")
		default:
			var n int64
			for _, c := range r.Conflicts.Counted {
				if kind == "total" || c.Kind == kind {
					n += c.Count
				}
			}
			as.check(n)
		}
		out = append(out, as.Assertion)
	}
	return out
}

func hasWorkload(r *Report, kinds ...string) bool {
	for _, w := range r.Workloads {
		if slices.Contains(kinds, w.Kind) {
			return true
		}
	}
	return false
}
