package analysis

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/node"
	"github.com/pgchaos/pgchaos/reports"
)

// minLagThreshold is the least lag that counts as "replication affected":
// below it a blip is noise on a busy 2-core machine.
const minLagThreshold = 100 * time.Millisecond

// FaultEffects appends to each fault of rep its observed effects, in plain
// words, from the report's lag timeline and per-second throughput: when
// replication in each direction fell behind and when it caught up, and the
// errors each target saw while the fault held.
func FaultEffects(rep *reports.Report) {
	runEnd := rep.Scenario.Duration.D()
	for i := range rep.Faults {
		f := &rep.Faults[i]
		from := f.Injected.D()
		to := runEnd
		if f.Healed != nil {
			to = f.Healed.D()
		}
		if rep.Lag != nil {
			for _, d := range rep.Lag.Directions {
				f.Effects = append(f.Effects, lagEffect(d, baseline(d, rep.Faults), from, to))
			}
		}
		if e := errorEffect(rep.Throughput, from, to); e != "" {
			f.Effects = append(f.Effects, e)
		}
		if f.Kind == "delay" && strings.Contains(f.Target, "->") {
			// Said so that a reader does not chase a phantom conflict.
			f.Effects = append(f.Effects, "the delayed subscription reconnected through the delay proxy on inject and directly on heal; PostgreSQL counts each reconnect in apply_error_count")
		}
	}
}

// baseline is a direction's typical lag before the first fault (or over
// the whole run when a fault starts at once): the median of the per-second
// maxima.
func baseline(d reports.LagDirection, faults []reports.Fault) time.Duration {
	first := math.MaxInt
	for _, f := range faults {
		first = min(first, int(f.Injected.D()/time.Second))
	}
	var before, all []time.Duration
	for _, p := range d.Timeline {
		all = append(all, p.Max.D())
		if p.T < first {
			before = append(before, p.Max.D())
		}
	}
	if len(before) == 0 {
		before = all
	}
	if len(before) == 0 {
		return 0
	}
	sort.Slice(before, func(i, j int) bool { return before[i] < before[j] })
	return before[len(before)/2]
}

// lagEffect says whether replication in direction d fell behind during
// [from, to): the first second whose heartbeats lagged more than the
// threshold (three times the baseline, at least minLagThreshold), the worst
// lag, and the first second after that whose heartbeats were back under it.
func lagEffect(d reports.LagDirection, base, from, to time.Duration) string {
	thr := max(minLagThreshold, 3*base)
	name := fmt.Sprintf("replication %s->%s", d.From, d.To)
	start, end := int(from/time.Second), int((to+time.Second-1)/time.Second)
	behindAt := -1
	var worst time.Duration
	silent := silentSeconds(d.Timeline, start, end)
	for _, p := range d.Timeline {
		if p.T < start {
			continue
		}
		if behindAt < 0 && p.T < end && p.Max.D() > thr {
			behindAt = p.T
		}
		if behindAt >= 0 {
			worst = max(worst, p.Max.D())
			if p.T > behindAt && p.Max.D() <= thr && p.T >= end-1 {
				return fmt.Sprintf("%s: lag above %s from +%ds (worst %s), back under it by +%ds",
					name, reports.HumanDuration(thr), behindAt, reports.HumanDuration(worst), p.T)
			}
		}
	}
	if behindAt < 0 && silent != "" {
		return fmt.Sprintf("%s: %s", name, silent)
	}
	if behindAt < 0 {
		return fmt.Sprintf("%s: not affected (lag stayed under %s)", name, reports.HumanDuration(thr))
	}
	return fmt.Sprintf("%s: lag above %s from +%ds (worst %s), still above it when heartbeats ended",
		name, reports.HumanDuration(thr), behindAt, reports.HumanDuration(worst))
}

// errorEffect counts the failed and unknown operations each target saw in
// the seconds the fault held.
func errorEffect(secs []reports.Second, from, to time.Duration) string {
	start, end := int(from/time.Second), int((to+time.Second-1)/time.Second)
	byTarget := map[string]int64{}
	for _, s := range secs {
		if s.T >= start && s.T < end && s.Errors > 0 {
			byTarget[s.Target] += s.Errors
		}
	}
	if len(byTarget) == 0 {
		return ""
	}
	targets := make([]string, 0, len(byTarget))
	for t := range byTarget {
		targets = append(targets, t)
	}
	slices.SortFunc(targets, targetOrder)
	var parts []string
	for _, t := range targets {
		parts = append(parts, fmt.Sprintf("%s %d", t, byTarget[t]))
	}
	return "failed or unknown operations while it held: " + strings.Join(parts, ", ")
}

// targetOrder sorts targets as the report lists them: the primaries by
// number (primary10 after primary9, however many the lab has), then the
// load balancer and any other name alphabetically.
func targetOrder(a, b string) int {
	ia, pa := node.PrimaryIndex(a)
	ib, pb := node.PrimaryIndex(b)
	switch {
	case pa && pb:
		return cmp.Compare(ia, ib)
	case pa:
		return -1
	case pb:
		return 1
	}
	return strings.Compare(a, b)
}

// silentSeconds finds the longest run (two seconds or more) of seconds in
// [start, end) in which no heartbeat of the direction was sent and applied:
// the sending node was down, frozen or cut off from pgchaos.
func silentSeconds(tl []reports.LagPoint, start, end int) string {
	have := map[int]bool{}
	for _, p := range tl {
		have[p.T] = true
	}
	bestFrom, bestLen := 0, 0
	for t := start; t < end; {
		if have[t] {
			t++
			continue
		}
		from := t
		for t < end && !have[t] {
			t++
		}
		if t-from > bestLen {
			bestFrom, bestLen = from, t-from
		}
	}
	if bestLen < 2 {
		return ""
	}
	return fmt.Sprintf("no heartbeat sent and applied from +%ds to +%ds (the sender was down, frozen or unreachable)", bestFrom, bestFrom+bestLen)
}
