package observe

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/reports"
)

// RetentionSampler samples what retain_dead_tuples (PostgreSQL 19) costs
// on each subscriber: the age of the pg_conflict_detection slot's xmin
// (how many transactions back VACUUM is held) and n_dead_tup of one table.
// While a subscription cannot reach its publisher (a partition) the slot's
// xmin stays put, so both grow with the writes. It is safe for concurrent
// use; the caller drives it with Sample.
type RetentionSampler struct {
	table string
	start time.Time
	mu    sync.Mutex
	nodes map[string][]retentionSample
}

// retentionSample is one reading on one node. A nil figure was not
// measurable then; the flags say why.
type retentionSample struct {
	at          time.Time
	slot        bool // the pg_conflict_detection slot exists
	slotXminAge *int64
	table       bool // the table exists
	deadTuples  *int64
}

// NewRetentionSampler samples table's dead tuples; timelines count seconds
// from start.
func NewRetentionSampler(start time.Time, table string) *RetentionSampler {
	return &RetentionSampler{table: table, start: start, nodes: map[string][]retentionSample{}}
}

// Sample reads node's slot and table once. A node that does not answer
// leaves no sample (expected while it is down).
func (s *RetentionSampler) Sample(ctx context.Context, node string, pool *pgxpool.Pool) error {
	var r retentionSample
	// n_dead_tup comes from the cumulative statistics, which backends and
	// the apply worker flush about once a second: the figure trails by that.
	err := pool.QueryRow(ctx, `SELECT now(),
	        EXISTS (SELECT 1 FROM pg_replication_slots WHERE slot_name = $1),
	        (SELECT age(xmin)::bigint FROM pg_replication_slots WHERE slot_name = $1),
	        to_regclass($2) IS NOT NULL,
	        (SELECT n_dead_tup FROM pg_stat_all_tables WHERE relid = to_regclass($2))`,
		lab.ConflictDetectionSlot, s.table).Scan(&r.at, &r.slot, &r.slotXminAge, &r.table, &r.deadTuples)
	if err != nil {
		return fmt.Errorf("retention on %s: %w", node, err)
	}
	s.mu.Lock()
	s.nodes[node] = append(s.nodes[node], r)
	s.mu.Unlock()
	return nil
}

// Report summarises the samples of each node in nodes (in that order), with
// the largest figures inside each fault window.
func (s *RetentionSampler) Report(nodes []string, windows []Window) *reports.Retention {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := &reports.Retention{Table: s.table, Nodes: []reports.RetentionNode{}}
	for _, n := range nodes {
		out.Nodes = append(out.Nodes, s.node(n, s.nodes[n], windows))
	}
	return out
}

func (s *RetentionSampler) node(name string, samples []retentionSample, windows []Window) reports.RetentionNode {
	rn := reports.RetentionNode{Node: name, Samples: len(samples)}
	sort.SliceStable(samples, func(i, j int) bool { return samples[i].at.Before(samples[j].at) })
	var sawSlot, sawTable bool
	for _, r := range samples {
		sawSlot = sawSlot || r.slot
		sawTable = sawTable || r.table
		rn.SlotXminAgeMax = maxOf(rn.SlotXminAgeMax, r.slotXminAge)
		rn.DeadTuplesMax = maxOf(rn.DeadTuplesMax, r.deadTuples)
		rn.Timeline = append(rn.Timeline, reports.RetentionPoint{
			T:           r.at.Sub(s.start).Seconds(),
			SlotXminAge: r.slotXminAge, DeadTuples: r.deadTuples,
		})
	}
	switch {
	case len(samples) == 0:
		rn.SlotXminAgeUnknown = "no sample: the node never answered"
		rn.DeadTuplesUnknown = rn.SlotXminAgeUnknown
		return rn
	case rn.SlotXminAgeMax != nil:
	case !sawSlot:
		rn.SlotXminAgeUnknown = "the node has no " + lab.ConflictDetectionSlot + " slot: none of its subscriptions retains dead tuples (retain_dead_tuples needs PostgreSQL 19)"
	default:
		rn.SlotXminAgeUnknown = "the " + lab.ConflictDetectionSlot + " slot had no xmin in any sample: retention had not started, or max_retention_duration stopped it"
	}
	if rn.DeadTuplesMax == nil && !sawTable {
		rn.DeadTuplesUnknown = "table " + s.table + " does not exist on the node"
	} else if rn.DeadTuplesMax == nil {
		rn.DeadTuplesUnknown = "no statistics row for table " + s.table
	}
	for _, w := range windows {
		rw := reports.RetentionWindow{Fault: w.Fault}
		for _, r := range samples {
			if r.at.Before(w.Start) || r.at.After(w.End) {
				continue
			}
			rw.SlotXminAgeMax = maxOf(rw.SlotXminAgeMax, r.slotXminAge)
			rw.DeadTuplesMax = maxOf(rw.DeadTuplesMax, r.deadTuples)
		}
		rn.Windows = append(rn.Windows, rw)
	}
	return rn
}

// maxOf is the larger of two optional figures; nil is unknown, not 0.
func maxOf(a, b *int64) *int64 {
	switch {
	case b == nil:
		return a
	case a == nil || *b > *a:
		v := *b
		return &v
	}
	return a
}
