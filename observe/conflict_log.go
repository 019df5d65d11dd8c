package observe

import (
	"sort"

	"github.com/pgchaos/pgchaos/pglog"
	"github.com/pgchaos/pgchaos/reports"
)

// LoggedConflicts counts what one subscriber node's log says, by kind: each
// conflict line under its conflict kind, and every error that stopped the
// apply worker (conflicts at ERROR level included) under "apply_error" —
// the same rule pg_stat_subscription_stats follows, so the two counts can
// be set side by side. Sorted by kind.
func LoggedConflicts(node string, events []pglog.Event) []reports.ConflictCount {
	n := map[string]int64{}
	for _, e := range events {
		if e.Type == pglog.Conflict {
			n[e.Kind]++
		}
		if e.Stops() {
			n[pglog.KindApplyError]++
		}
	}
	out := make([]reports.ConflictCount, 0, len(n))
	for k, c := range n {
		out = append(out, reports.ConflictCount{Node: node, Kind: k, Count: c})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Kind < out[j].Kind })
	return out
}

// LogSamples picks up to perKind examples of each conflict and apply error
// kind from one node's log, the first ones, skipping repeats of the same
// remote transaction (a stalled worker logs one error every retry).
func LogSamples(node string, events []pglog.Event, perKind int) []reports.LogSample {
	taken := map[string]int{}
	seen := map[[2]string]bool{}
	var out []reports.LogSample
	for _, e := range events {
		if e.Type != pglog.Conflict && e.Type != pglog.ApplyError {
			continue
		}
		k := [2]string{e.Kind, e.Subscription + "@" + e.FinishLSN}
		if e.FinishLSN != "" && seen[k] || taken[e.Kind] >= perKind {
			continue
		}
		seen[k] = true
		taken[e.Kind]++
		msg := e.Message
		if e.Detail != "" {
			msg += "\nDETAIL: " + e.Detail
		}
		out = append(out, reports.LogSample{
			Node: node, Time: e.Time, Kind: e.Kind, Key: e.Key, LSN: e.FinishLSN, Message: msg,
		})
	}
	return out
}
