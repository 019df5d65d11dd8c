package analysis

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// Failovers measures each failover fault of the run from the history alone
// (two passes over it however many failovers there were): when the last
// operation through the load balancer succeeded before it, how long the
// load balancer's clients saw only errors after it, those errors by class,
// and the writes the old primary still acknowledged. What a failback
// found is added by Failback.
func Failovers(r Run) ([]reports.Failover, error) {
	var idx []int
	for i, f := range r.Faults {
		if f.Kind == scenario.FaultFailover {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil, nil
	}
	spans := make([]failoverSpan, len(idx))
	for k, i := range idx {
		spans[k] = r.failoverSpan(r.Faults[i])
		spans[k].servedAs, _ = r.Served(spans[k].from)
	}
	windows, err := analyseFailovers(scanHistory(r.History), r.Proxy, spans)
	if err != nil {
		return nil, err
	}
	out := make([]reports.Failover, 0, len(idx))
	for k, i := range idx {
		w, from := windows[k], spans[k].from
		fo := reports.Failover{From: from, To: r.Peer(from), At: r.Faults[i].Injected,
			Unavailable: reports.Duration(w.unavailable), ErrorsByClass: w.errorsByClass, OldPrimaryWrites: w.oldPrimaryWrites}
		if _, why := r.Served(from); why != "" {
			fo.Unknown = map[string]string{"old_primary_writes": why, "stranded_writes": why}
		} else if !slices.ContainsFunc(r.Workloads, func(w scenario.Workload) bool { return w.Kind == scenario.KindInsert }) {
			fo.Unknown = map[string]string{"stranded_writes": "counted from the keys of insert workloads, and the run has none"}
		}
		if w.lastOKBefore != nil {
			d := reports.Duration(w.lastOKBefore.Sub(r.Start))
			fo.LastOKBefore = &d
		}
		if w.firstOKAfter != nil {
			d := reports.Duration(w.firstOKAfter.Sub(r.Start))
			fo.FirstOKAfter = &d
		}
		out = append(out, fo)
	}
	return out, nil
}

// failoverSpan places one failover fault on the run's clock: from its old
// primary, from when it was due until it was healed (or the run ended).
func (r Run) failoverSpan(f reports.Fault) failoverSpan {
	from := f.Params["from"]
	if from == "" {
		from = lastPart(f.Target)
	}
	t := r.Start.Add(f.Injected.D())
	// Faults due at one instant are injected one after another: measure
	// from when the failover was due, not from when its turn came.
	if due, ok := dueAt(r.Scheduled, scenario.FaultFailover, from, f.Injected.D()); ok {
		t = r.Start.Add(due)
	}
	end := r.Start.Add(r.Duration)
	if f.Healed != nil {
		end = r.Start.Add(f.Healed.D())
	}
	return failoverSpan{from: from, t: t, end: end}
}

func lastPart(s string) string {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return s[i+1:]
		}
	}
	return s
}

// dueAt is the scheduled time of the latest fault of that kind and target
// (node or from) due at or before the offset it was injected at.
func dueAt(schedule []scenario.Fault, kind, target string, injected time.Duration) (time.Duration, bool) {
	var best time.Duration
	found := false
	for _, f := range schedule {
		if f.Kind != kind || (f.From != target && f.Node != target) || f.At > injected {
			continue
		}
		if !found || f.At > best {
			best, found = f.At, true
		}
	}
	return best, found
}

// Stranded is what the check before a failback found: the inserts that the
// old primary acknowledged and the survivor did not hold yet.
type Stranded struct {
	Survivor    string
	At          time.Time // when the check began
	Keys        []string
	First, Last time.Time // when the first and last of them were acknowledged
}

// StrandedWrites runs just before the failback of from: which inserts that
// from acknowledged (directly or through the load balancer) at or after
// since has survivor not received? Those are the writes a failover strands
// (RPO). The caller picks since: apply follows commit order, so every
// insert acknowledged before the last heartbeat from the old primary that
// the survivor applied is there, and checking only the ones after it keeps
// this small however long the run. The history must be flushed.
func StrandedWrites(ctx context.Context, db Nodes, history, from, survivor string, since time.Time) (*Stranded, error) {
	s := &Stranded{Survivor: survivor, At: time.Now()}
	acks := map[string]time.Time{}
	err := missingInserts(ctx, db, history, missingBatch, func(op workload.Op) bool {
		if op.ServedBy != from || op.End.Before(since) {
			return false
		}
		for _, k := range op.Keys {
			acks[k] = op.End
		}
		return true
	}, func(_ string, missing []string) {
		for _, k := range missing {
			s.Keys = append(s.Keys, k)
			t := acks[k]
			if s.First.IsZero() || t.Before(s.First) {
				s.First = t
			}
			if t.After(s.Last) {
				s.Last = t
			}
		}
	}, survivor)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Failback writes onto fo what its failback found (s, taken just before
// it, on the clock whose second 0 is start): the writes stranded and over
// how long they were acknowledged, and how many of them the survivor holds
// now. Whether the nodes converged and the conflicts after the failback
// are the caller's to add to fo.Failback.
func Failback(ctx context.Context, db Nodes, start time.Time, s *Stranded, fo *reports.Failover) error {
	fo.StrandedWrites = int64(len(s.Keys))
	fo.StrandedOn = s.Survivor
	if len(s.Keys) > 0 {
		fo.StrandedSpan = reports.Duration(s.Last.Sub(s.First))
	}
	fb := &reports.Failback{At: reports.Duration(s.At.Sub(start))}
	fo.Failback = fb
	// Which stranded writes reached the survivor after failback?
	still, err := db.MissingInserts(ctx, s.Survivor, s.Keys)
	// Unchecked (err set, still empty), every key counts as arrived; the
	// error tells the reader it was not checked.
	fb.Arrived = int64(len(s.Keys) - len(still))
	if err != nil {
		return fmt.Errorf("failback arrivals not checked: %w", err)
	}
	return nil
}

// failoverWindow is computed from the history alone.
type failoverWindow struct {
	lastOKBefore, firstOKAfter *time.Time
	unavailable                time.Duration
	errorsByClass              map[string]int64
	oldPrimaryWrites           int64
}

// failoverSpan is one failover to analyse: from which primary, when, and
// until when.
type failoverSpan struct {
	from     string
	servedAs string // what from's ops record as served_by; "" = cannot be told
	t, end   time.Time
}

// analyseFailovers reads the ops that went through via (the load balancer)
// around each
// failover at t (from → the other primary), until its end: the last ok op
// that ended before t, the first failed op after t and the first ok op
// after that failure (the unavailability window is between those two), the
// errors in the window by class, and the ok ops the old primary still
// served after t (sessions that kept writing to it). scan replays the
// history: twice in all, however many failovers the run had (a pass decodes
// every op, ~0.6 µs each), and memory holds only the windows' errors, not
// the run.
func analyseFailovers(scan func(fn func(workload.Op)) error, via string, spans []failoverSpan) ([]failoverWindow, error) {
	as := make([]failoverAnalysis, len(spans))
	for i, sp := range spans {
		as[i] = failoverAnalysis{failoverSpan: sp, w: failoverWindow{errorsByClass: map[string]int64{}}}
	}
	err := scan(func(op workload.Op) {
		if op.Target != via {
			return
		}
		for i := range as {
			as[i].first(op)
		}
	})
	if err == nil && slices.ContainsFunc(as, func(a failoverAnalysis) bool { return a.firstFail != nil }) {
		err = scan(func(op workload.Op) {
			if op.Target != via {
				return
			}
			for i := range as {
				as[i].second(op)
			}
		})
	}
	ws := make([]failoverWindow, len(as))
	for i := range as {
		ws[i] = as[i].window(err == nil)
	}
	return ws, err
}

// failoverAnalysis accumulates one failover's window from the HAProxy ops of
// the history: first sees every op once, then (when a failure was found)
// second sees every op again.
type failoverAnalysis struct {
	failoverSpan
	w         failoverWindow
	firstFail *time.Time
	fails     []failoverFailure
}

type failoverFailure struct {
	end   time.Time
	class string
}

func (a *failoverAnalysis) first(op workload.Op) {
	if op.End.After(a.end) {
		return
	}
	ok := op.Outcome == workload.OK
	switch {
	case op.End.Before(a.t):
		if ok && (a.w.lastOKBefore == nil || op.End.After(*a.w.lastOKBefore)) {
			e := op.End
			a.w.lastOKBefore = &e
		}
	case ok:
		if a.servedAs != "" && op.ServedBy == a.servedAs && op.Start.After(a.t) {
			a.w.oldPrimaryWrites++
		}
	default:
		if a.firstFail == nil || op.End.Before(*a.firstFail) {
			e := op.End
			a.firstFail = &e
		}
	}
}

func (a *failoverAnalysis) second(op workload.Op) {
	if a.firstFail == nil || op.End.After(a.end) || op.End.Before(*a.firstFail) {
		return
	}
	if op.Outcome == workload.OK {
		if op.End.After(*a.firstFail) && (a.w.firstOKAfter == nil || op.End.Before(*a.w.firstOKAfter)) {
			e := op.End
			a.w.firstOKAfter = &e
		}
		return
	}
	a.fails = append(a.fails, failoverFailure{op.End, op.Class})
}

// window finishes the analysis; complete says whether both passes ran
// through (the unavailability needs the second).
func (a *failoverAnalysis) window(complete bool) failoverWindow {
	w := a.w
	if !complete || a.firstFail == nil {
		return w
	}
	stop := a.end
	if w.firstOKAfter != nil {
		stop = *w.firstOKAfter
	}
	for _, f := range a.fails {
		if f.end.Before(stop) {
			w.errorsByClass[f.class]++
		}
	}
	w.unavailable = stop.Sub(*a.firstFail)
	return w
}
