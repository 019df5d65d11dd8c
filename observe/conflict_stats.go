package observe

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/reports"
)

// StatsSampler samples pg_stat_subscription_stats (and the state of each
// subscription's apply worker) on the nodes and keeps, per node,
// subscription and counter, the increments between samples. Counters are
// zeroed by an immediate stop or a crash; the increments survive that (see
// conflictDelta), so totals over a run with crashes are right.
//
// The caller drives it: call Sample for each node every second or so. It is
// safe for concurrent use.
type StatsSampler struct {
	mu      sync.Mutex
	columns map[string][]string // node → counter columns its view has
	last    map[conflictSeriesKey]conflictPoint
	deltas  map[conflictSeriesKey][]conflictDeltaAt
	subs    []SubSample
}

// NewStatsSampler returns an empty sampler.
func NewStatsSampler() *StatsSampler {
	return &StatsSampler{
		columns: map[string][]string{},
		last:    map[conflictSeriesKey]conflictPoint{},
		deltas:  map[conflictSeriesKey][]conflictDeltaAt{},
	}
}

// SubSample is the state of one subscription at one sample.
type SubSample struct {
	Node          string
	Subscription  string
	At            time.Time
	Enabled       bool
	WorkerRunning bool // the apply worker has a PID
	// ApplyErrors is the run's apply_error_count so far, resets accounted
	// for: it only ever grows.
	ApplyErrors int64
}

type conflictSeriesKey struct {
	node, sub, counter string
}

// conflictPoint is one reading of one counter.
type conflictPoint struct {
	value int64
	// subReset is the row's stats_reset, nodeReset pg_stat_archiver's
	// stats_reset, subID the subscription's oid: any of them changing means
	// the counter started again from zero.
	subReset, nodeReset time.Time
	subID               uint32
}

type conflictDeltaAt struct {
	at    time.Time
	delta int64
}

// conflictDelta is what a counter added between two readings. A reading
// lower than the last one, a changed stats_reset, a changed node-wide reset
// time (pg_stat_archiver's stats_reset is set anew when a crash discards
// the statistics) or a recreated subscription means the counter was zeroed
// in between: what it counts now all happened since, so the delta is the
// new value. Increments made before the reset and after the last reading
// are lost; sampling often keeps that small. The first reading is the
// baseline and adds nothing.
func conflictDelta(prev conflictPoint, havePrev bool, cur conflictPoint) int64 {
	if !havePrev {
		return 0
	}
	if cur.value < prev.value || !cur.subReset.Equal(prev.subReset) || !cur.nodeReset.Equal(prev.nodeReset) || cur.subID != prev.subID {
		return cur.value
	}
	return cur.value - prev.value
}

// conflictKind names a counter column as a report kind:
// confl_insert_exists → insert_exists, apply_error_count → apply_error.
func conflictKind(column string) string {
	if k, ok := strings.CutPrefix(column, "confl_"); ok {
		return k
	}
	return strings.TrimSuffix(column, "_count")
}

// conflictRow is one row of pg_stat_subscription_stats and its worker state.
type conflictRow struct {
	sub           string
	subID         uint32
	subReset      time.Time
	enabled       bool
	workerRunning bool
	values        map[string]int64 // column → value
}

// Sample reads the counters of every subscription on node.
func (s *StatsSampler) Sample(ctx context.Context, node string, pool *pgxpool.Pool) error {
	s.mu.Lock()
	cols, ok := s.columns[node]
	s.mu.Unlock()
	if !ok {
		var err error
		if cols, err = conflictColumns(ctx, pool); err != nil {
			return fmt.Errorf("conflict stats on %s: %w", node, err)
		}
		s.mu.Lock()
		s.columns[node] = cols
		s.mu.Unlock()
	}
	sel := make([]string, len(cols))
	for i, c := range cols {
		sel[i] = "st." + pgx.Identifier{c}.Sanitize()
	}
	// The apply worker: not a table sync worker (relid), not a parallel
	// apply worker (leader_pid).
	q := `SELECT s.subname, s.oid, st.stats_reset, s.subenabled,
	        EXISTS (SELECT 1 FROM pg_stat_subscription w
	                WHERE w.subid = s.oid AND w.pid IS NOT NULL AND w.relid IS NULL AND w.leader_pid IS NULL),
	        (SELECT stats_reset FROM pg_stat_archiver), now(), ` + strings.Join(sel, ", ") + `
	      FROM pg_subscription s JOIN pg_stat_subscription_stats st ON st.subid = s.oid
	      WHERE s.subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())`
	rows, err := pool.Query(ctx, q)
	if err != nil {
		return fmt.Errorf("conflict stats on %s: %w", node, err)
	}
	defer rows.Close()
	var read []conflictRow
	var nodeReset, at *time.Time
	for rows.Next() {
		var r conflictRow
		var subReset *time.Time
		vals := make([]int64, len(cols))
		dest := []any{&r.sub, &r.subID, &subReset, &r.enabled, &r.workerRunning, &nodeReset, &at}
		for i := range vals {
			dest = append(dest, &vals[i])
		}
		if err := rows.Scan(dest...); err != nil {
			return fmt.Errorf("conflict stats on %s: %w", node, err)
		}
		if subReset != nil {
			r.subReset = *subReset
		}
		r.values = make(map[string]int64, len(cols))
		for i, c := range cols {
			r.values[c] = vals[i]
		}
		read = append(read, r)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("conflict stats on %s: %w", node, err)
	}
	when := time.Now()
	if at != nil {
		when = *at // the server's clock, as the heartbeats and logs use
	}
	var nr time.Time
	if nodeReset != nil {
		nr = *nodeReset
	}
	s.observe(node, when, nr, read)
	return nil
}

// conflictColumns lists the counters the node's pg_stat_subscription_stats
// has: 18 has the confl_* columns, 17 only the two error counts.
func conflictColumns(ctx context.Context, pool *pgxpool.Pool) ([]string, error) {
	rows, err := pool.Query(ctx, `SELECT attname FROM pg_attribute
	  WHERE attrelid = 'pg_catalog.pg_stat_subscription_stats'::regclass AND attnum > 0 AND NOT attisdropped
	    AND (attname LIKE 'confl\_%' OR attname LIKE '%\_error\_count')
	  ORDER BY attnum`)
	if err != nil {
		return nil, fmt.Errorf("list the columns of pg_stat_subscription_stats (PostgreSQL 15+ needed): %w", err)
	}
	cols, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("list the columns of pg_stat_subscription_stats: %w", err)
	}
	return cols, nil
}

// observe records one sample of one node. Pure apart from the lock.
func (s *StatsSampler) observe(node string, at, nodeReset time.Time, rows []conflictRow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range rows {
		cols := make([]string, 0, len(r.values))
		for c := range r.values {
			cols = append(cols, c)
		}
		sort.Strings(cols)
		for _, c := range cols {
			k := conflictSeriesKey{node, r.sub, c}
			cur := conflictPoint{value: r.values[c], subReset: r.subReset, nodeReset: nodeReset, subID: r.subID}
			prev, ok := s.last[k]
			if d := conflictDelta(prev, ok, cur); d != 0 {
				s.deltas[k] = append(s.deltas[k], conflictDeltaAt{at: at, delta: d})
			}
			s.last[k] = cur
		}
		var applyErrs int64
		for _, d := range s.deltas[conflictSeriesKey{node, r.sub, "apply_error_count"}] {
			applyErrs += d.delta
		}
		s.subs = append(s.subs, SubSample{
			Node: node, Subscription: r.sub, At: at,
			Enabled: r.enabled, WorkerRunning: r.workerRunning, ApplyErrors: applyErrs,
		})
	}
}

// Totals returns what each counter added over the whole run, per node and
// kind (subscriptions of one node summed), zeros included so a report
// shows that a kind was counted and stayed at zero. Sorted by node, kind.
func (s *StatsSampler) Totals() []reports.ConflictCount {
	return s.sum(time.Time{}, time.Time{})
}

// Window returns what each counter added in samples taken at or after
// start and before end. A sample counts everything since the one before
// it, so the edges are as sharp as the sampling interval.
func (s *StatsSampler) Window(start, end time.Time) []reports.ConflictCount {
	return s.sum(start, end)
}

func (s *StatsSampler) sum(start, end time.Time) []reports.ConflictCount {
	s.mu.Lock()
	defer s.mu.Unlock()
	type nk struct{ node, kind string }
	tot := map[nk]int64{}
	for k := range s.last {
		tot[nk{k.node, conflictKind(k.counter)}] += 0
	}
	for k, ds := range s.deltas {
		for _, d := range ds {
			if !start.IsZero() && (d.at.Before(start) || !d.at.Before(end)) {
				continue
			}
			tot[nk{k.node, conflictKind(k.counter)}] += d.delta
		}
	}
	out := make([]reports.ConflictCount, 0, len(tot))
	for k, n := range tot {
		out = append(out, reports.ConflictCount{Node: k.node, Kind: k.kind, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Node != out[j].Node {
			return out[i].Node < out[j].Node
		}
		return out[i].Kind < out[j].Kind
	})
	return out
}

// SubSamples returns every subscription state sampled so far, in sampling
// order: the input DetectStalls reads.
func (s *StatsSampler) SubSamples() []SubSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.subs)
}
