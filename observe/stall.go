package observe

import (
	"sort"
	"time"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/pglog"
	"github.com/pgchaos/pgchaos/reports"
)

// StallInput is what DetectStalls reads. Any part may be missing.
type StallInput struct {
	// Logs are the parsed server logs, by subscriber node.
	Logs map[string][]pglog.Event
	// Subs are the subscription states a StatsSampler took.
	Subs []SubSample
	// WAL, when set, tells how much WAL piled up on the publisher.
	WAL *WALSampler
	// End is when observation stopped (a stall is "resolved" only if the
	// worker ran for a while before it).
	End time.Time
	// Publisher names the node a subscription on node applies changes
	// from. Nil: a two-node lab's, the other primary.
	Publisher func(node, subscription string) string
}

// stallResolveGrace is how long a restarted apply worker must run without
// failing again before the stall counts as resolved: longer than a retry
// interval (the lab sets wal_retrieve_retry_interval=1s).
const stallResolveGrace = 2 * time.Second

// stallOverlapSlack matches a stall seen in samples with one seen in the
// log: the samples are a second or so apart.
const stallOverlapSlack = 3 * time.Second

// DetectStalls finds subscriptions stuck retrying one error. From the logs:
// the same error stopping the apply worker twice or more for the same
// subscription and the same remote transaction (finish LSN), or once with
// no worker started since, for longer than a retry takes — that LSN is
// what ALTER SUBSCRIPTION … SKIP takes. From the samples: apply_error_count
// rising over consecutive samples while the subscription is enabled; such a
// stall without a matching log entry is reported without an LSN. pgchaos
// never skips on its own. Sorted by node, then start.
func DetectStalls(in StallInput) []reports.Stall {
	var out []reports.Stall
	bySub := map[[2]string][]SubSample{}
	for _, s := range in.Subs {
		k := [2]string{s.Node, s.Subscription}
		bySub[k] = append(bySub[k], s)
	}
	nodes := make([]string, 0, len(in.Logs))
	for n := range in.Logs {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	var fromLogs []stall
	for _, node := range nodes {
		for _, st := range stallsFromLog(node, in.Logs[node], in.End) {
			if !st.Resolved && stallRanAfter(bySub[[2]string{node, st.Subscription}], st.last) {
				st.Resolved = true
			}
			fromLogs = append(fromLogs, st)
			out = append(out, st.Stall)
		}
	}
	keys := make([][2]string, 0, len(bySub))
	for k := range bySub {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return keys[i][0] < keys[j][0] || keys[i][0] == keys[j][0] && keys[i][1] < keys[j][1]
	})
	for _, k := range keys {
		for _, st := range stallsFromSamples(bySub[k]) {
			if stallCovered(fromLogs, st, stallOverlapSlack) {
				continue
			}
			out = append(out, st.Stall)
		}
	}
	for i := range out {
		if in.WAL != nil {
			end := in.End
			if end.IsZero() {
				end = time.Now()
			}
			pub := lab.Peer(out[i].Node)
			if in.Publisher != nil {
				pub = in.Publisher(out[i].Node, out[i].Subscription)
			}
			out[i].WALBehind = in.WAL.MaxBehind(pub, out[i].Node, out[i].Since, end)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		return out[i].Node < out[j].Node || out[i].Node == out[j].Node && out[i].Since.Before(out[j].Since)
	})
	return out
}

// stall is a reports.Stall with the time of its last repetition.
type stall struct {
	reports.Stall
	last time.Time
}

// stallsFromLog walks one node's events in order.
func stallsFromLog(node string, events []pglog.Event, end time.Time) []stall {
	type run struct {
		st    stall
		count int
		// started is when an apply worker started after the last error and
		// has not failed since; ranFine says one ran stallResolveGrace or
		// longer without this error.
		started time.Time
		ranFine bool
	}
	runs := map[string]*run{} // by subscription
	var out []stall
	closeRun := func(sub string, resolved bool) {
		r := runs[sub]
		if r == nil {
			return
		}
		if r.count >= 2 {
			r.st.Resolved = resolved
			out = append(out, r.st)
		}
		delete(runs, sub)
	}
	for _, e := range events {
		sub := e.Subscription
		r := runs[sub]
		failed := e.Stops() || e.Type == pglog.PublisherUnreachable || e.Type == pglog.WorkerExited
		if r != nil && failed && !r.started.IsZero() {
			if e.Time.Sub(r.started) >= stallResolveGrace {
				r.ranFine = true
			}
			r.started = time.Time{}
		}
		switch {
		case e.Stops() && e.FinishLSN != "":
			if r != nil && r.st.SkipLSN == e.FinishLSN {
				r.count++
				r.st.last = e.Time
				r.ranFine = false
				continue
			}
			closeRun(sub, true) // a different transaction fails: it got past the old one
			msg := e.Message
			if e.Key != "" {
				msg += " (key " + e.Key + ")"
			}
			runs[sub] = &run{count: 1, st: stall{last: e.Time, Stall: reports.Stall{
				Node: node, Subscription: sub, Since: e.Time, Error: msg, SkipLSN: e.FinishLSN,
			}}}
		case r != nil && e.Type == pglog.Conflict && !e.Stops() && e.FinishLSN != r.st.SkipLSN:
			closeRun(sub, true) // it applied a later transaction
		case r != nil && e.Type == pglog.WorkerStarted && (e.Worker == "apply worker" || e.Worker == "pglogical apply worker"):
			r.started = e.Time
		}
	}
	subs := make([]string, 0, len(runs))
	for s := range runs {
		subs = append(subs, s)
	}
	sort.Strings(subs)
	for _, s := range subs {
		r := runs[s]
		if !r.started.IsZero() && !end.IsZero() && end.Sub(r.started) >= stallResolveGrace {
			r.ranFine = true
		}
		// One failure and no worker since, for longer than a retry takes,
		// is stuck too: pglogical's manager may not restart a failed apply
		// worker for minutes (measured: none within 40 s), where
		// PostgreSQL's retries every second.
		if r.count == 1 && r.started.IsZero() && !end.IsZero() && end.Sub(r.st.last) >= stallResolveGrace {
			r.count = 2
		}
		closeRun(s, r.ranFine)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out
}

// stallRanAfter says the samples show the worker running with no new apply
// error in two consecutive samples after t.
func stallRanAfter(samples []SubSample, t time.Time) bool {
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		if a.At.After(t) && a.WorkerRunning && b.WorkerRunning && a.ApplyErrors == b.ApplyErrors {
			return true
		}
	}
	return false
}

// stallsFromSamples finds runs where apply_error_count rose in two or more
// consecutive sample intervals while the subscription was enabled.
func stallsFromSamples(samples []SubSample) []stall {
	var out []stall
	var cur *stall
	rises := 0
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		rising := b.Enabled && b.ApplyErrors > a.ApplyErrors
		switch {
		case rising:
			rises++
			if cur == nil {
				cur = &stall{Stall: reports.Stall{
					Node: b.Node, Subscription: b.Subscription, Since: a.At,
					Error: "apply_error_count rising while the apply worker restarts (no matching log entry)",
				}}
			}
			cur.last = b.At
		case cur != nil && b.WorkerRunning:
			if rises >= 2 {
				cur.Resolved = true
				out = append(out, *cur)
			}
			cur, rises = nil, 0
		}
	}
	if cur != nil && rises >= 2 {
		out = append(out, *cur)
	}
	return out
}

// stallCovered says a log stall already reports the sampled one: same
// subscription, overlapping in time.
func stallCovered(have []stall, st stall, slack time.Duration) bool {
	for _, h := range have {
		if h.Node == st.Node && h.Subscription == st.Subscription &&
			!h.Since.After(st.last.Add(slack)) && !st.Since.After(h.last.Add(slack)) {
			return true
		}
	}
	return false
}
