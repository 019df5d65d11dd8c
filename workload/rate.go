package workload

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// slotTime is when op n (from 0) of a schedule at rate ops/s is due:
// start + n/rate, computed from n each time so that rounding never
// accumulates (pgbench's way: a late op does not push the later ones back).
func slotTime(start time.Time, rate float64, n int64) time.Time {
	return start.Add(time.Duration(math.Round(float64(n) * 1e9 / rate)))
}

// slotAt is the first slot due at or after t.
func slotAt(start time.Time, rate float64, t time.Time) int64 {
	if !t.After(start) {
		return 0
	}
	n := int64(math.Ceil(float64(t.Sub(start)) * rate / 1e9))
	// Float rounding can land one off; settle on the exact first slot.
	for n > 0 && !slotTime(start, rate, n-1).Before(t) {
		n--
	}
	for slotTime(start, rate, n).Before(t) {
		n++
	}
	return n
}

// maxBehind is how far a schedule may fall behind before it gives up the
// missed slots. Without it, workers coming back from a 10 s outage would
// fire 10 s worth of ops at once and the burst would look like a fault of
// its own; with it the rate holds, and the run's ops/s shows the gap.
const maxBehind = time.Second

// Pacer hands out send times of one schedule shared by all workers of one
// (workload, target): rate is for them all together. The zero rate means
// unlimited.
type pacer struct {
	start time.Time
	rate  float64
	next  atomic.Int64
}

func newPacer(start time.Time, rate float64) *pacer {
	return &pacer{start: start, rate: rate}
}

// claim takes the next slot and returns its due time. now is the caller's
// clock: slots more than maxBehind in the past are skipped.
func (p *pacer) claim(now time.Time) time.Time {
	for {
		n := p.next.Load()
		due := slotTime(p.start, p.rate, n)
		if now.Sub(due) > maxBehind {
			m := slotAt(p.start, p.rate, now.Add(-maxBehind))
			if p.next.CompareAndSwap(n, m+1) {
				return slotTime(p.start, p.rate, m)
			}
			continue
		}
		if p.next.CompareAndSwap(n, n+1) {
			return due
		}
	}
}

// wait blocks until the caller's next slot is due, or ctx is done.
func (p *pacer) wait(ctx context.Context) error {
	if p == nil || p.rate <= 0 {
		return ctx.Err()
	}
	due := p.claim(time.Now())
	d := time.Until(due)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
