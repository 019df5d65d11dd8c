package scenario

import (
	"time"

	"go.yaml.in/yaml/v3"
)

// assert reads assert:. Pos records where each key stood, under its own
// name, and each conflicts: entry as "conflicts.<kind>".
func (r *reader) assert(n *yaml.Node) Assert {
	a := Assert{}
	f, ok := r.mapping(n, "assert", "in assert", assertKeys)
	if !ok {
		return a
	}
	a.Pos = make(map[string]Pos, len(f))
	durs := map[string]**time.Duration{
		"lag_p50": &a.LagP50, "lag_p95": &a.LagP95, "lag_p99": &a.LagP99, "lag_max": &a.LagMax, "unavailability": &a.Unavailability,
	}
	ints := map[string]**int64{
		"divergent_rows": &a.DivergentRows, "unexplained_divergence": &a.UnexplainedDivergence, "lost_writes": &a.LostWrites, "lost_updates": &a.LostUpdates, "stalls": &a.Stalls, "errors": &a.Errors,
	}
	bools := map[string]**bool{"converged": &a.Converged, "bank_invariant": &a.BankInvariant}
	for _, k := range assertKeys {
		v, ok := f[k]
		if !ok {
			continue
		}
		a.Pos[k] = posOf(v.key)
		what := "assert." + k
		switch {
		case durs[k] != nil:
			if d, ok := r.duration(v.val, what); ok {
				if d < 0 {
					r.errorf(v.val, "%s: %s must be 0 or more", what, show(v.val))
					continue
				}
				if d > MaxDuration {
					r.errorf(v.val, "%s: %s is more than %s (7 days), the longest a run may last", what, show(v.val), fmtDur(MaxDuration))
					continue
				}
				*durs[k] = &d
			}
		case ints[k] != nil:
			if x, ok := r.integer(v.val, what, 0, maxCount); ok {
				*ints[k] = &x
			}
		case bools[k] != nil:
			if b, ok := r.boolean(v.val, what); ok {
				*bools[k] = &b
			}
		case k == "anomalies":
			r.anomalies(&a, v.val)
		case k == "conflicts":
			cf, ok := r.mapping(v.val, what, "in "+what, conflictKinds)
			if !ok {
				continue
			}
			a.Conflicts = make(map[string]int64, len(cf))
			for _, ck := range conflictKinds {
				cv, ok := cf[ck]
				if !ok {
					continue
				}
				a.Pos["conflicts."+ck] = posOf(cv.key)
				if x, ok := r.integer(cv.val, what+"."+ck, 0, maxCount); ok {
					a.Conflicts[ck] = x
				}
			}
		}
	}
	return a
}
