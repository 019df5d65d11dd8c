package workload

import (
	"bufio"
	"cmp"
	"fmt"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"

	"github.com/pgchaos/pgchaos/node"
	"github.com/pgchaos/pgchaos/reports"
)

// Latency histogram bounds, in microseconds: 1 µs to 60 s, 3 significant
// figures. Longer ops are counted at 60 s.
const (
	histMin     = 1
	histMax     = 60_000_000
	histSigFigs = 3
)

// Recorder streams operations to a history file (one JSON object a line)
// and keeps fixed-size aggregates for the report and the progress line, so
// its memory does not grow with the number of operations.
//
// Record takes a mutex around a bufio.Writer rather than handing ops to a
// writer goroutine: recording must cost well under a microsecond an op and
// allocate nothing, and of two designs that do, the one with no goroutine
// to own is kept. BenchmarkRecorder (recorder_bench_test.go) measures both.
type Recorder struct {
	path string

	mu      sync.Mutex // guards everything below
	f       *os.File
	w       *bufio.Writer
	buf     []byte
	err     error // first write error; Close returns it
	closed  bool
	origin  time.Time
	aggs    map[aggKey]*aggregate
	order   []aggKey // first-seen order, for a stable report
	seconds map[secKey]*secCount
	totals  map[string]*secCount // per target, whole run
	maxSec  int
	now     func() time.Time
	last    lastSeen   // the maps' entries for the previous op
	tf      timeFormat // the history's timestamps
}

// lastSeen caches the aggregate entries of the last op recorded: ops come
// in long runs of one (workload, target) and second, and the map lookups
// (string hashing) were a third of Record's cost.
type lastSeen struct {
	workload, target string
	agg              *aggregate
	total            *secCount
	sec              int
	second           *secCount
}

type aggKey struct{ workload, target string }

type aggregate struct {
	kind              string
	ok, fail, unknown int64
	errors            map[errKey]int64
	servedBy          map[string]int64
	hist              *hdrhistogram.Histogram
}

type errKey struct{ class, sqlstate string }

type secKey struct {
	t      int
	target string
}

type secCount struct{ ok, errors int64 }

// NewRecorder creates (or truncates) the history file at path. The
// recorder's clock origin, second 0 of the timeline, is now; Run moves it to
// when the workers start.
func NewRecorder(path string) (*Recorder, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("history: cannot create %s: %w (is the report directory writable?)", path, err)
	}
	return &Recorder{
		path:    path,
		f:       f,
		w:       bufio.NewWriterSize(f, 256<<10),
		buf:     make([]byte, 0, 1024),
		origin:  time.Now(),
		aggs:    make(map[aggKey]*aggregate),
		seconds: make(map[secKey]*secCount),
		totals:  make(map[string]*secCount),
		now:     time.Now,
	}, nil
}

// Path is the history file's path.
func (r *Recorder) Path() string { return r.path }

// Origin is second 0 of the timeline: when the workers started.
func (r *Recorder) Origin() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.origin
}

// SetOrigin moves second 0 of the timeline; call it before the first Record.
func (r *Recorder) SetOrigin(t time.Time) {
	r.mu.Lock()
	r.origin = t
	r.last = lastSeen{} // its second is counted from the old origin
	r.mu.Unlock()
}

// Record writes op to the history and adds it to the aggregates. It is safe
// for concurrent use. After Close it does nothing.
func (r *Recorder) Record(op Op) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return
	}
	r.buf = op.appendJSON(r.buf[:0], &r.tf)
	r.buf = append(r.buf, '\n')
	if r.err == nil {
		if _, err := r.w.Write(r.buf); err != nil {
			r.err = fmt.Errorf("history: write %s: %w", r.path, err)
		}
	}
	r.add(&op)
}

// add updates the aggregates; r.mu is held.
func (r *Recorder) add(op *Op) {
	c := &r.last
	if c.agg == nil || c.workload != op.Workload || c.target != op.Target {
		k := aggKey{op.Workload, op.Target}
		a := r.aggs[k]
		if a == nil {
			a = &aggregate{
				kind:     op.Kind,
				errors:   make(map[errKey]int64),
				servedBy: make(map[string]int64),
				hist:     hdrhistogram.New(histMin, histMax, histSigFigs),
			}
			r.aggs[k] = a
			r.order = append(r.order, k)
		}
		t := r.totals[op.Target]
		if t == nil {
			t = &secCount{}
			r.totals[op.Target] = t
		}
		*c = lastSeen{workload: op.Workload, target: op.Target, agg: a, total: t, sec: -1}
	}
	a, t := c.agg, c.total
	sec := max(0, int(op.End.Sub(r.origin)/time.Second))
	if sec != c.sec {
		r.maxSec = max(r.maxSec, sec)
		s := r.seconds[secKey{sec, op.Target}]
		if s == nil {
			s = &secCount{}
			r.seconds[secKey{sec, op.Target}] = s
		}
		c.sec, c.second = sec, s
	}
	s := c.second
	switch op.Outcome {
	case OK:
		a.ok++
		t.ok++
		s.ok++
		if op.ServedBy != "" {
			a.servedBy[op.ServedBy]++
		}
		us := min(max(op.Latency().Microseconds(), histMin), histMax)
		_ = a.hist.RecordValue(us) // cannot fail: us is within the bounds
	default:
		if op.Outcome == Fail {
			a.fail++
		} else {
			a.unknown++
		}
		t.errors++
		s.errors++
		a.errors[errKey{op.Class, op.SQLState}]++
	}
}

// Flush writes buffered history lines to the file, so a reader (or a crash)
// sees everything recorded so far.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.err
	}
	if r.err == nil {
		if err := r.w.Flush(); err != nil {
			r.err = fmt.Errorf("history: write %s: %w", r.path, err)
		}
	}
	return r.err
}

// Close flushes the history and closes the file. The aggregates stay
// readable (Summary, Snapshot). Close is idempotent.
func (r *Recorder) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return r.err
	}
	r.closed = true
	if r.err == nil {
		if err := r.w.Flush(); err != nil {
			r.err = fmt.Errorf("history: write %s: %w", r.path, err)
		}
	}
	if err := r.f.Close(); err != nil && r.err == nil {
		r.err = fmt.Errorf("history: close %s: %w", r.path, err)
	}
	return r.err
}

// Summary fills the report's per-(workload, target) results and the
// per-second throughput timeline. elapsed is how long the workloads ran;
// OpsPerSec is ok ops per second of it. The timeline has one entry per
// second from 0 to the last op's second (or elapsed) for every target seen,
// zeros included, so an outage shows as a gap of zeros.
func (r *Recorder) Summary(elapsed time.Duration) ([]reports.Workload, []reports.Second) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := slices.Clone(r.order)
	slices.SortStableFunc(keys, func(a, b aggKey) int {
		return cmp.Compare(targetRank(a.target), targetRank(b.target))
	})
	// Workloads keep their first-seen order; targets within one sort by rank.
	first := make(map[string]int)
	for i, k := range r.order {
		if _, ok := first[k.workload]; !ok {
			first[k.workload] = i
		}
	}
	slices.SortStableFunc(keys, func(a, b aggKey) int { return cmp.Compare(first[a.workload], first[b.workload]) })

	ws := make([]reports.Workload, 0, len(keys))
	for _, k := range keys {
		a := r.aggs[k]
		w := reports.Workload{
			Workload: k.workload,
			Kind:     a.kind,
			Target:   k.target,
			Ops:      a.ok + a.fail + a.unknown,
			OK:       a.ok,
			Fail:     a.fail,
			Unknown:  a.unknown,
		}
		if s := elapsed.Seconds(); s > 0 {
			w.OpsPerSec = float64(a.ok) / s
		}
		if a.hist.TotalCount() > 0 {
			us := func(v float64) reports.Duration {
				return reports.Duration(time.Duration(v * float64(time.Microsecond)))
			}
			w.Latency = reports.Latency{
				Mean: us(a.hist.Mean()),
				P50:  us(float64(a.hist.ValueAtQuantile(50))),
				P95:  us(float64(a.hist.ValueAtQuantile(95))),
				P99:  us(float64(a.hist.ValueAtQuantile(99))),
				Max:  us(float64(a.hist.Max())),
			}
		}
		for ek, n := range a.errors {
			w.Errors = append(w.Errors, reports.ErrorCount{Class: ek.class, SQLState: ek.sqlstate, Count: n})
		}
		slices.SortFunc(w.Errors, func(x, y reports.ErrorCount) int {
			return cmp.Or(cmp.Compare(y.Count, x.Count), cmp.Compare(x.Class, y.Class), cmp.Compare(x.SQLState, y.SQLState))
		})
		if len(a.servedBy) > 0 {
			w.ServedBy = make(map[string]int64, len(a.servedBy))
			for n, c := range a.servedBy {
				w.ServedBy[n] = c
			}
		}
		ws = append(ws, w)
	}

	targets := make([]string, 0, len(r.totals))
	for t := range r.totals {
		targets = append(targets, t)
	}
	slices.SortFunc(targets, func(a, b string) int { return cmp.Or(cmp.Compare(targetRank(a), targetRank(b)), cmp.Compare(a, b)) })
	last := r.maxSec
	if len(r.totals) == 0 {
		last = -1
	} else if e := int((elapsed - 1) / time.Second); elapsed > 0 && e > last {
		last = e
	}
	var secs []reports.Second
	for t := 0; t <= last; t++ {
		for _, tg := range targets {
			s := reports.Second{T: t, Target: tg}
			if c := r.seconds[secKey{t, tg}]; c != nil {
				s.OK, s.Errors = c.ok, c.errors
			}
			secs = append(secs, s)
		}
	}
	return ws, secs
}

// targetRank orders targets: primary1, primary2, … then haproxy, then
// any other name.
func targetRank(t string) int {
	if i, ok := node.PrimaryIndex(t); ok {
		return i
	}
	if t == node.HAProxy {
		return node.MaxPrimaries + 1
	}
	return node.MaxPrimaries + 2
}

// Progress is a live view of the run for the progress line.
type Progress struct {
	Elapsed time.Duration    // since the origin
	Targets []TargetProgress // primary1, primary2, haproxy order
}

// TargetProgress is one target's counts so far.
type TargetProgress struct {
	Target       string
	Ops          int64   // all ops so far
	Errors       int64   // fail + unknown so far
	OpsPerSec    float64 // ops (all outcomes) that ended in the last full second
	ErrorsPerSec float64 // fail + unknown that ended in the last full second
}

// Snapshot returns the counts so far and the rates of the last full second.
func (r *Recorder) Snapshot() Progress {
	return r.snapshotAt(r.now())
}

func (r *Recorder) snapshotAt(now time.Time) Progress {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := Progress{Elapsed: now.Sub(r.origin)}
	lastFull := int(p.Elapsed/time.Second) - 1
	for tg, c := range r.totals {
		tp := TargetProgress{Target: tg, Ops: c.ok + c.errors, Errors: c.errors}
		if s := r.seconds[secKey{lastFull, tg}]; lastFull >= 0 && s != nil {
			tp.OpsPerSec = float64(s.ok + s.errors)
			tp.ErrorsPerSec = float64(s.errors)
		}
		p.Targets = append(p.Targets, tp)
	}
	slices.SortFunc(p.Targets, func(a, b TargetProgress) int {
		return cmp.Or(cmp.Compare(targetRank(a.Target), targetRank(b.Target)), cmp.Compare(a.Target, b.Target))
	})
	return p
}
