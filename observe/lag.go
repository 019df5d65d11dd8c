package observe

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/sync/errgroup"

	"github.com/pgchaos/pgchaos/reports"
)

// Window is a stretch of the run to report on separately, usually the time
// one fault held.
type Window struct {
	Fault      int // index into reports.Report.Faults
	Start, End time.Time
}

// HeartbeatCounts says how many heartbeats each node took and how many
// inserts failed (expected while a node is down or cut off).
type HeartbeatCounts struct {
	Sent   map[string]int64
	Errors map[string]int64
}

// Heartbeat inserts a row (origin = node, seq) into pgchaos_heartbeat on
// every node every interval until ctx ends, and returns how many it wrote
// and how many failed. Failures do not stop it: a node that is down simply
// misses heartbeats, and LagFromHeartbeats counts those it sent but the
// peer never applied. The server stamps sent_at (clock_timestamp()); the
// peer's apply trigger stamps applied_at.
func Heartbeat(ctx context.Context, pools map[string]*pgxpool.Pool, every time.Duration) HeartbeatCounts {
	if every <= 0 {
		every = 100 * time.Millisecond
	}
	var mu sync.Mutex
	res := HeartbeatCounts{Sent: map[string]int64{}, Errors: map[string]int64{}}
	var g errgroup.Group
	for node, pool := range pools {
		g.Go(func() error {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				// A node that hangs (paused, cut off) must not hold up the
				// next heartbeat for long. The stop does not cut a heartbeat
				// in flight: cut, it might commit unseen and make Sent lie.
				ictx, cancel := context.WithTimeout(context.WithoutCancel(ctx), max(every*5, time.Second))
				// seq only has to be unique per origin; a clock reading is,
				// even across runs on the same lab.
				_, err := pool.Exec(ictx, "INSERT INTO pgchaos_heartbeat (origin, seq) VALUES ($1, $2)", node, time.Now().UnixNano())
				cancel()
				mu.Lock()
				switch {
				case err == nil:
					res.Sent[node]++
				default:
					res.Errors[node]++
				}
				mu.Unlock()
				select {
				case <-ctx.Done():
					return nil
				case <-t.C:
				}
			}
		})
	}
	_ = g.Wait() // the goroutines return nil: errors are counted
	return res
}

// heartbeat is one row of pgchaos_heartbeat as one node holds it.
type heartbeat struct {
	Seq     int64
	Sent    time.Time
	Applied time.Time // zero: not stamped (the row is the node's own)
}

// LagFromHeartbeats reads the heartbeats sent since runStart from every
// node and computes the one-way lag of each direction: on node B, a row
// whose origin is A gives lag A→B = applied_at − sent_at; a row on A that B
// lacks is Missing. Call it after the nodes converged: a heartbeat still in
// flight counts as missing. Directions come out sorted by From, then To.
func LagFromHeartbeats(ctx context.Context, pools map[string]*pgxpool.Pool, runStart time.Time, windows []Window) (*reports.Lag, error) {
	nodes := make([]string, 0, len(pools))
	for n := range pools {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	// rows[on][origin]
	rows := map[string]map[string][]heartbeat{}
	var errs []error
	for _, on := range nodes {
		rows[on] = map[string][]heartbeat{}
		r, err := pools[on].Query(ctx, `SELECT origin, seq, sent_at, applied_at FROM pgchaos_heartbeat WHERE sent_at >= $1 ORDER BY sent_at`, runStart)
		if err != nil {
			errs = append(errs, fmt.Errorf("lag: read heartbeats on %s: %w", on, err))
			continue
		}
		for r.Next() {
			var origin string
			var h heartbeat
			var applied *time.Time
			if err := r.Scan(&origin, &h.Seq, &h.Sent, &applied); err != nil {
				r.Close()
				return nil, fmt.Errorf("lag: read heartbeats on %s: %w", on, err)
			}
			if applied != nil {
				h.Applied = *applied
			}
			rows[on][origin] = append(rows[on][origin], h)
		}
		r.Close()
		if err := r.Err(); err != nil {
			errs = append(errs, fmt.Errorf("lag: read heartbeats on %s: %w", on, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%w (is the node up? the heartbeat table is made by lab setup)", errors.Join(errs...))
	}
	lag := &reports.Lag{}
	for _, from := range nodes {
		for _, to := range nodes {
			if from == to {
				continue
			}
			lag.Directions = append(lag.Directions, lagDirection(from, to, rows[from][from], rows[to][from], runStart, windows))
		}
	}
	return lag, nil
}

// lagDirection computes one direction from the heartbeats the sender holds
// (sent) and those the receiver applied (received).
func lagDirection(from, to string, sent, received []heartbeat, runStart time.Time, windows []Window) reports.LagDirection {
	d := reports.LagDirection{From: from, To: to}
	got := make(map[int64]bool, len(received))
	var lags []time.Duration
	seconds := map[int]time.Duration{}
	win := make([][]time.Duration, len(windows))
	for _, h := range received {
		got[h.Seq] = true
		if h.Applied.IsZero() {
			continue // arrived without the apply stamp: no lag to tell
		}
		l := h.Applied.Sub(h.Sent)
		lags = append(lags, l)
		sec := int(math.Floor(h.Sent.Sub(runStart).Seconds()))
		if cur, ok := seconds[sec]; !ok || l > cur {
			seconds[sec] = l
		}
		for i, w := range windows {
			if !h.Sent.Before(w.Start) && h.Sent.Before(w.End) {
				win[i] = append(win[i], l)
			}
		}
	}
	for _, h := range sent {
		if !got[h.Seq] {
			d.Missing++
		}
	}
	d.Samples = len(lags)
	slices.Sort(lags)
	d.P50 = reports.Duration(lagPercentile(lags, 50))
	d.P95 = reports.Duration(lagPercentile(lags, 95))
	d.P99 = reports.Duration(lagPercentile(lags, 99))
	d.Max = reports.Duration(lagPercentile(lags, 100))
	secs := make([]int, 0, len(seconds))
	for s := range seconds {
		secs = append(secs, s)
	}
	sort.Ints(secs)
	for _, s := range secs {
		d.Timeline = append(d.Timeline, reports.LagPoint{T: s, Max: reports.Duration(seconds[s])})
	}
	for i, w := range windows {
		ls := win[i]
		slices.Sort(ls)
		d.Windows = append(d.Windows, reports.LagWindow{
			Fault:   w.Fault,
			Samples: len(ls),
			P50:     reports.Duration(lagPercentile(ls, 50)),
			P99:     reports.Duration(lagPercentile(ls, 99)),
			Max:     reports.Duration(lagPercentile(ls, 100)),
		})
	}
	return d
}

// lagPercentile is the nearest-rank percentile of sorted values: the
// smallest value with at least p% of the values at or below it. Exact, and
// always one of the observed values; 0 for no values.
func lagPercentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(n)))
	rank = min(max(rank, 1), n)
	return sorted[rank-1]
}

// MarkUnlinked marks the directions no subscription carries (linked(to,
// from) is false: a target's partial mesh) and no heartbeat crossed as
// unknown, with the reason, rather than as a direction whose every
// heartbeat went missing; it adds such directions when they are absent,
// so every ordered pair of lag's nodes is listed. A pair without a
// subscription whose heartbeats arrived anyway (through another node that
// forwards them, native origin = any) keeps its figures: they were
// measured, along the path the rows took.
func MarkUnlinked(lag *reports.Lag, linked func(subscriber, publisher string) bool) {
	if lag == nil || linked == nil {
		return
	}
	var nodes []string
	for _, d := range lag.Directions {
		for _, n := range []string{d.From, d.To} {
			if !slices.Contains(nodes, n) {
				nodes = append(nodes, n)
			}
		}
	}
	sort.Strings(nodes)
	var out []reports.LagDirection
	for _, from := range nodes {
		for _, to := range nodes {
			if from == to {
				continue
			}
			i := slices.IndexFunc(lag.Directions, func(d reports.LagDirection) bool { return d.From == from && d.To == to })
			d := reports.LagDirection{From: from, To: to}
			if i >= 0 {
				d = lag.Directions[i]
			}
			if !linked(to, from) && d.Samples == 0 {
				d = reports.LagDirection{From: from, To: to, Unknown: fmt.Sprintf("no subscription from %s to %s", from, to)}
			}
			out = append(out, d)
		}
	}
	lag.Directions = out
}
