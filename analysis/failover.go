package runner

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

type connQ = *pgx.Conn

// onNode runs fn on a connection to node from the run's pools.
func (r *run) onNode(ctx context.Context, node string, fn func(conn connQ) ([]string, error)) ([]string, error) {
	c, err := r.pools[node].Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Release()
	return fn(c.Conn())
}

// stranded is what a failback found: acknowledged inserts the old primary
// served that the survivor did not hold yet.
type stranded struct {
	at          time.Time
	keys        []string
	first, last time.Time // when the first and last of them were acknowledged
}

// measureStranded runs just before a failback: which inserts that the old
// primary acknowledged (directly or through HAProxy) has the survivor not
// received? Those are the writes a failover strands (RPO). Apply follows
// commit order, so every insert acknowledged before the last heartbeat from
// the old primary that the survivor applied is there; only the ones after
// it are checked, which keeps this small however long the run.
func (r *run) measureStranded(ctx context.Context, from string) *stranded {
	if err := r.rec.Flush(); err != nil {
		r.warn("stranded writes not measured: %s", trimErr(err))
		return nil
	}
	survivor := lab.Peer(from)
	var lastBeat *time.Time
	if err := r.pools[survivor].QueryRow(ctx, "SELECT max(sent_at) FROM pgchaos_heartbeat WHERE origin = $1", from).Scan(&lastBeat); err != nil {
		r.warn("stranded writes not measured on %s: %s", survivor, trimErr(err))
		return nil
	}
	since := r.start
	if lastBeat != nil && lastBeat.After(since) {
		since = *lastBeat
	}
	s := &stranded{at: time.Now()}
	acks := map[string]time.Time{}
	err := r.missingInserts(ctx, r.rec.Path(), missingBatch, func(op workload.Op) bool {
		if op.ServedBy != from || op.End.Before(since) {
			return false
		}
		for _, k := range op.Keys {
			acks[k] = op.End
		}
		return true
	}, func(_ string, missing []string) {
		for _, k := range missing {
			s.keys = append(s.keys, k)
			t := acks[k]
			if s.first.IsZero() || t.Before(s.first) {
				s.first = t
			}
			if t.After(s.last) {
				s.last = t
			}
		}
	}, survivor)
	if err != nil {
		r.warn("stranded writes not measured on %s: %s", survivor, trimErr(err))
		return nil
	}
	return s
}

// recordStranded measures, just before the failback of from, what it stranded.
func (r *run) recordStranded(ctx context.Context, from string) {
	st := r.measureStranded(ctx, from)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.strandedAt == nil {
		r.strandedAt = map[string]*stranded{}
	}
	r.strandedAt[from] = st
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
	from   string
	t, end time.Time
}

// analyseFailovers reads the ops that went through HAProxy around each
// failover at t (from → the other primary), until its end: the last ok op
// that ended before t, the first failed op after t and the first ok op
// after that failure (the unavailability window is between those two), the
// errors in the window by class, and the ok ops the old primary still
// served after t (sessions that kept writing to it). scan replays the
// history: twice in all, however many failovers the run had (a pass decodes
// every op, ~0.6 µs each), and memory holds only the windows' errors, not
// the run.
func analyseFailovers(scan func(fn func(workload.Op)) error, spans []failoverSpan) ([]failoverWindow, error) {
	as := make([]failoverAnalysis, len(spans))
	for i, sp := range spans {
		as[i] = failoverAnalysis{failoverSpan: sp, w: failoverWindow{errorsByClass: map[string]int64{}}}
	}
	err := scan(func(op workload.Op) {
		if op.Target != lab.HAProxy {
			return
		}
		for i := range as {
			as[i].first(op)
		}
	})
	if err == nil && slices.ContainsFunc(as, func(a failoverAnalysis) bool { return a.firstFail != nil }) {
		err = scan(func(op workload.Op) {
			if op.Target != lab.HAProxy {
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
		if op.ServedBy == a.from && op.Start.After(a.t) {
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

// failovers measures each failover of the run from the history, the
// stranded-writes check taken at failback, and the conflicts counted after it.
func (r *run) failovers(ctx context.Context, rep *reports.Report, historyPath string) []reports.Failover {
	var idx []int
	for i, f := range rep.Faults {
		if f.Kind == scenario.FaultFailover {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return nil
	}
	scan := func(fn func(workload.Op)) error {
		return workload.ReadHistory(historyPath, func(op workload.Op) error { fn(op); return nil })
	}
	runEnd := r.start.Add(r.sc.Duration)
	spans := make([]failoverSpan, len(idx))
	for k, i := range idx {
		f := rep.Faults[i]
		from := f.Params["from"]
		if from == "" {
			from = lastPart(f.Target)
		}
		t := r.start.Add(f.Injected.D())
		// Faults due at one instant are injected one after another: measure
		// from when the failover was due, not from when its turn came.
		if due, ok := r.dueAt(scenario.FaultFailover, from, f.Injected.D()); ok {
			t = r.start.Add(due)
		}
		end := runEnd
		if f.Healed != nil {
			end = r.start.Add(f.Healed.D())
		}
		spans[k] = failoverSpan{from: from, t: t, end: end}
	}
	windows, err := analyseFailovers(scan, spans)
	if err != nil {
		r.warn("failovers not analysed: %s", trimErr(err))
		return nil
	}
	var out []reports.Failover
	for k, i := range idx {
		f, w, from := rep.Faults[i], windows[k], spans[k].from
		fo := reports.Failover{From: from, To: lab.Peer(from), At: f.Injected,
			Unavailable: reports.Duration(w.unavailable), ErrorsByClass: w.errorsByClass, OldPrimaryWrites: w.oldPrimaryWrites}
		if w.lastOKBefore != nil {
			d := reports.Duration(w.lastOKBefore.Sub(r.start))
			fo.LastOKBefore = &d
		}
		if w.firstOKAfter != nil {
			d := reports.Duration(w.firstOKAfter.Sub(r.start))
			fo.FirstOKAfter = &d
		}
		r.mu.Lock()
		s := r.strandedAt[from]
		r.mu.Unlock()
		if s != nil {
			fo.StrandedWrites = int64(len(s.keys))
			if len(s.keys) > 0 {
				fo.StrandedSpan = reports.Duration(s.last.Sub(s.first))
			}
			fb := &reports.Failback{At: reports.Duration(s.at.Sub(r.start)), Converged: rep.Divergence != nil && rep.Divergence.Converged}
			// Which stranded writes reached the survivor after failback?
			still, err := r.onNode(ctx, lab.Peer(from), func(conn connQ) ([]string, error) { return workload.MissingInserts(ctx, conn, s.keys) })
			if err != nil {
				r.warn("failback arrivals not checked: %s", trimErr(err))
			}
			fb.Arrived = int64(len(s.keys) - len(still))
			if r.samplers != nil {
				for _, c := range r.samplers.stats.Window(s.at, time.Now()) {
					fb.Conflicts += c.Count
				}
			}
			fo.Failback = fb
		}
		out = append(out, fo)
	}
	return out
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
func (r *run) dueAt(kind, target string, injected time.Duration) (time.Duration, bool) {
	var best time.Duration
	found := false
	for _, f := range r.sc.Faults {
		if f.Kind != kind || (f.From != target && f.Node != target) || f.At > injected {
			continue
		}
		if !found || f.At > best {
			best, found = f.At, true
		}
	}
	return best, found
}
