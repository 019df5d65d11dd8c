package scenario

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Step is one action of the fault schedule: inject a fault, or heal it.
type Step struct {
	At    time.Duration // offset from the start of the workloads
	Index int           // the fault's index in Scenario.Faults (faults[Index] in the file)
	Fault Fault         // a copy of that fault, so a runner needs nothing else
	Heal  bool          // false: inject; true: heal
	AtEnd bool          // a heal for a fault without for:, due when the run ends; RunTimeline skips it
}

// String reads like a log line: "10s inject faults[0] stop primary1".
func (s Step) String() string {
	verb := "inject"
	if s.Heal {
		verb = "heal"
	}
	at := fmtDur(s.At)
	if s.AtEnd {
		at = "end"
	}
	return fmt.Sprintf("%s %s faults[%d] %s", at, verb, s.Index, s.Fault)
}

// String describes a fault for logs and reports, e.g. "stop primary1",
// "partition primary1->primary2", "delay 100ms±10ms on primary1".
func (f Fault) String() string {
	parts := []string{f.Kind}
	switch f.Kind {
	case FaultDelay:
		d := fmtDur(f.Delay)
		if f.Jitter > 0 {
			d += "±" + fmtDur(f.Jitter)
		}
		parts = append(parts, d)
	case FaultLoss:
		parts = append(parts, fmt.Sprintf("%g%%", f.Loss))
	case FaultFailover:
		parts = append(parts, "from", f.From)
	case FaultLockRows:
		parts = append(parts, f.Mode+"-lock", f.Table, "on")
	}
	switch {
	case f.Node != "" && (f.Kind == FaultDelay || f.Kind == FaultLoss):
		parts = append(parts, "on", f.Node)
	case f.Node != "":
		parts = append(parts, f.Node)
	case len(f.Between) == 2:
		link := f.Between[0] + "<->" + f.Between[1]
		if f.Direction != "" && f.Direction != DirBoth {
			link = f.Direction
		}
		if f.Kind != FaultPartition {
			parts = append(parts, "on")
		}
		parts = append(parts, link)
	}
	return strings.Join(parts, " ")
}

// Timeline is the plan the runner executes: an inject step per fault and a
// heal step per fault that has one (an instant fault, see Fault.Instant,
// has none), at At+For, or marked AtEnd at the run's duration when the
// fault has no for:. Steps are
// in time order; at equal times heals come before injects, so a fault that
// ends as another begins never overlaps it, and heals due together run in
// the reverse of their injection order (last in, first out), injects in
// file order.
func (s *Scenario) Timeline() []Step {
	steps := make([]Step, 0, 2*len(s.Faults))
	for i, f := range s.Faults {
		steps = append(steps, Step{At: f.At, Index: i, Fault: f})
		if f.Instant() {
			continue
		}
		steps = append(steps, Step{At: f.Until(s.Duration), Index: i, Fault: f, Heal: true, AtEnd: f.For == 0})
	}
	sort.SliceStable(steps, func(i, j int) bool {
		a, b := steps[i], steps[j]
		if a.At != b.At {
			return a.At < b.At
		}
		if a.Heal != b.Heal {
			return a.Heal
		}
		if a.Heal {
			return a.Index > b.Index
		}
		return a.Index < b.Index
	})
	return steps
}

// RunTimeline runs steps in order, calling do for each when its time,
// counted from start, has come; a step already due runs at once. Heals
// marked AtEnd are skipped: the runner heals everything when the run ends,
// in the same pass that heals after an error or Ctrl-C, so the end of a run
// has one healing path. A step's error does not stop later steps (a fault
// that failed to inject must not keep the others from healing); all of them
// are returned joined. When ctx is cancelled RunTimeline returns at once
// with an error that matches ctx.Err() under errors.Is, joined with any
// step errors so far.
func RunTimeline(ctx context.Context, start time.Time, steps []Step, do func(ctx context.Context, s Step) error) error {
	var errs []error
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for _, st := range steps {
		if st.AtEnd {
			continue
		}
		if wait := time.Until(start.Add(st.At)); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return errors.Join(append([]error{ctx.Err()}, errs...)...)
			case <-timer.C:
			}
		}
		if err := ctx.Err(); err != nil {
			return errors.Join(append([]error{err}, errs...)...)
		}
		if err := do(ctx, st); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", st, err))
		}
	}
	return errors.Join(errs...)
}
