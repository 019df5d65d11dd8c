package scenario

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// faultKeyPos remembers where a fault's at: and for: values stood, so the
// schedule checks, which run after every fault is read, can point at them.
type faultKeyPos struct {
	at, forVal *yaml.Node
}

func (r *reader) faults(n *yaml.Node) ([]Fault, []faultKeyPos) {
	items, ok := r.list(n, "faults", "[{kind: stop, node: primary1, at: 10s, for: 20s}]")
	if !ok {
		return nil, nil
	}
	out := make([]Fault, 0, len(items))
	pos := make([]faultKeyPos, 0, len(items))
	for i, it := range items {
		f, kp, ok := r.fault(i, it)
		if !ok {
			// Keep indexes aligned with the file so that later messages
			// name faults[i] correctly; the scenario is rejected anyway.
			f = Fault{Pos: posOf(it)}
		}
		out = append(out, f)
		pos = append(pos, kp)
	}
	return out, pos
}

// fault reads one entry of faults:. ok is false when the entry is too
// broken (no or unknown kind) for the schedule checks to mean anything.
func (r *reader) fault(i int, n *yaml.Node) (Fault, faultKeyPos, bool) {
	where := fmt.Sprintf("faults[%d]", i)
	f := Fault{Pos: posOf(n)}
	var kp faultKeyPos
	fields, ok := r.mapping(n, where, "in "+where, anyFaultKeys)
	if !ok {
		return f, kp, false
	}
	kv, ok := fields["kind"]
	if !ok {
		r.errorf(n, "%s: kind is required (one of: %s)", where, strings.Join(faultKinds, ", "))
		return f, kp, false
	}
	if f.Kind, ok = r.enum(kv.val, where+".kind", "a fault kind", faultKinds); !ok {
		return f, kp, false
	}
	label := fmt.Sprintf("%s (kind: %s)", where, f.Kind)
	allowed := faultKeys(f.Kind)
	valid := true
	// A key the kind does not take is reported, but the fault stays valid
	// for the schedule checks: its time window still means something.
	for _, k := range anyFaultKeys {
		v, ok := fields[k]
		if !ok || contains(allowed, k) {
			continue
		}
		if f.Kind == FaultRestart && k == "for" {
			r.errorf(v.key, "%s: a restart has no duration, so for does not apply: remove it, or use stop with for to keep the node down", label)
			continue
		}
		r.errorf(v.key, "key %q is not valid for a %s fault in %s (allowed: %s)", k, f.Kind, where, strings.Join(allowed, ", "))
	}

	if v, ok := fields["at"]; ok {
		kp.at = v.val
		if at, ok := r.duration(v.val, where+".at"); ok {
			if at < 0 {
				r.errorf(v.val, "%s.at: %s must be 0 or more (the offset from the start of the workloads)", where, show(v.val))
				valid = false
			}
			f.At = at
		} else {
			valid = false
		}
	} else {
		r.errorf(n, "%s: at is required: when the fault starts, from the start of the workloads (e.g. at: 10s)", label)
		valid = false
	}
	if v, ok := fields["for"]; ok && contains(allowed, "for") {
		kp.forVal = v.val
		if d, ok := r.duration(v.val, where+".for"); ok {
			if d <= 0 {
				r.errorf(v.val, "%s.for: %s must be more than 0 (omit for to hold until the end of the run)", where, show(v.val))
				valid = false
			}
			f.For = d
		} else {
			valid = false
		}
	}

	str := func(key string, allowedVals []string, noun string) (string, bool) {
		v, ok := fields[key]
		if !ok || !contains(allowed, key) {
			return "", false
		}
		s, ok := r.enum(v.val, where+"."+key, noun, allowedVals)
		if !ok {
			valid = false
		}
		return s, ok
	}
	require := func(key string, allowedVals []string) {
		if _, ok := fields[key]; !ok {
			r.errorf(n, "%s: %s is required (one of: %s)", label, key, strings.Join(allowedVals, ", "))
			valid = false
		}
	}

	switch f.Kind {
	case FaultStop, FaultKill, FaultPause, FaultRestart:
		f.Node, _ = str("node", allTargets, "a node")
		require("node", allTargets)
	case FaultIsolate:
		// haproxy is not a replication node; isolating it is a failover
		// of both backends, which the failover fault expresses better.
		f.Node, _ = str("node", primaries, "a node that can be isolated")
		require("node", primaries)
	case FaultPartition:
		r.link(&f, fields, where, &valid)
	case FaultDelay, FaultLoss:
		_, hasNode := fields["node"]
		_, hasBetween := fields["between"]
		switch {
		case hasNode && hasBetween:
			r.errorf(fields["between"].key, "%s: give either node (the node's whole network) or between (the replication link), not both", label)
			valid = false
		case hasNode:
			f.Node, _ = str("node", allTargets, "a node")
			if v, ok := fields["direction"]; ok {
				r.errorf(v.key, "%s: direction applies to a link (between: [primary1, primary2]), not to a node: remove it or use between", label)
				valid = false
			}
		case hasBetween:
			r.link(&f, fields, where, &valid)
		default:
			r.errorf(n, "%s: needs node (one of: %s) or between: [primary1, primary2]", label, strings.Join(allTargets, ", "))
			valid = false
		}
		if f.Kind == FaultDelay {
			if v, ok := fields["delay"]; ok {
				if d, ok := r.duration(v.val, where+".delay"); ok {
					if d <= 0 {
						r.errorf(v.val, "%s.delay: %s must be more than 0", where, show(v.val))
						valid = false
					}
					f.Delay = d
				} else {
					valid = false
				}
			} else {
				r.errorf(n, "%s: delay is required: how much latency to add (e.g. delay: 100ms)", label)
				valid = false
			}
			if v, ok := fields["jitter"]; ok {
				if d, ok := r.duration(v.val, where+".jitter"); ok {
					if d < 0 {
						r.errorf(v.val, "%s.jitter: %s must be 0 or more", where, show(v.val))
						valid = false
					}
					f.Jitter = d
				} else {
					valid = false
				}
			}
		} else {
			if v, ok := fields["loss"]; ok {
				var lossOK bool
				if f.Loss, lossOK = r.percent(v.val, where+".loss"); !lossOK {
					valid = false
				}
			} else {
				r.errorf(n, "%s: loss is required: the share of packets to drop (e.g. loss: 10%%)", label)
				valid = false
			}
		}
	case FaultFailover:
		f.From, _ = str("from", primaries, "a backend")
		require("from", primaries)
	}
	return f, kp, valid
}

// link reads between: and direction: of a link fault. between defaults to
// the only link the lab has.
func (r *reader) link(f *Fault, fields map[string]field, where string, valid *bool) {
	f.Between = []string{Primary1, Primary2}
	f.Direction = DirBoth
	if v, ok := fields["between"]; ok {
		before := len(r.errs)
		got := r.targets(v.val, where+".between", primaries, false)
		switch {
		case len(r.errs) > before:
			*valid = false
		case len(got) != 2:
			r.errorf(v.val, "%s.between: must be [primary1, primary2], the replication link between the two primaries", where)
			*valid = false
		}
	}
	if v, ok := fields["direction"]; ok {
		if d, ok := r.enum(v.val, where+".direction", "a direction", directions); ok {
			f.Direction = d
		} else {
			*valid = false
		}
	}
}

// schedule checks the faults against the run's duration and against each
// other. It runs on faults that parsed; a broken one (no kind) is skipped.
func (r *reader) schedule(s *Scenario, kp []faultKeyPos) {
	label := func(i int) string {
		f := s.Faults[i]
		switch {
		case f.Kind == FaultFailover:
			return fmt.Sprintf("faults[%d] (kind: failover, from: %s)", i, f.From)
		case f.Node != "":
			return fmt.Sprintf("faults[%d] (kind: %s, node: %s)", i, f.Kind, f.Node)
		}
		return fmt.Sprintf("faults[%d] (kind: %s)", i, f.Kind)
	}
	for i, f := range s.Faults {
		if f.Kind == "" || i >= len(kp) {
			continue
		}
		if f.At >= s.Duration {
			r.errorf(kp[i].at, "faults[%d] (kind: %s) at %s starts at or after the end of the run (duration %s): move at earlier or lengthen duration",
				i, f.Kind, fmtDur(f.At), fmtDur(s.Duration))
			continue
		}
		if f.For > 0 && f.At+f.For > s.Duration {
			r.errorf(kp[i].forVal, "faults[%d] (kind: %s) at %s for %s ends at %s, after the run's duration %s: shorten for or lengthen duration",
				i, f.Kind, fmtDur(f.At), fmtDur(f.For), fmtDur(f.At+f.For), fmtDur(s.Duration))
		}
	}
	overlap := func(a, b Fault) (time.Duration, time.Duration, bool) {
		from, to := max(a.At, b.At), min(a.Until(s.Duration), b.Until(s.Duration))
		return from, to, from < to
	}
	// Only pairs with a failover in them can conflict: pair each failover
	// with every other fault, each pair once, as (earlier i, later j).
	var failovers []int
	for i, f := range s.Faults {
		if f.Kind == FaultFailover {
			failovers = append(failovers, i)
		}
	}
	for _, fo := range failovers {
		for k := range s.Faults {
			if k == fo || (s.Faults[k].Kind == FaultFailover && k < fo) {
				continue // the self pair, or a failover pair already seen
			}
			i, j := min(fo, k), max(fo, k)
			a, b := s.Faults[i], s.Faults[j]
			from, to, ok := overlap(a, b)
			if !ok {
				continue
			}
			switch {
			case a.Kind == FaultFailover && b.Kind == FaultFailover && a.From != b.From:
				r.errAt(b.Pos, "%s overlaps %s from %s to %s: both backends would be in maint and HAProxy would have no server; end one before the other starts",
					label(j), label(i), fmtDur(from), fmtDur(to))
			case a.Kind == FaultFailover && b.Kind == FaultFailover:
				r.errAt(b.Pos, "%s overlaps %s from %s to %s, taking out the same backend twice: merge them into one failover",
					label(j), label(i), fmtDur(from), fmtDur(to))
			case a.Kind == FaultFailover && takesDown(b, other(a.From)), b.Kind == FaultFailover && takesDown(a, other(b.From)):
				fi, down := i, j
				if b.Kind == FaultFailover {
					fi, down = j, i
				}
				r.errAt(b.Pos, "%s takes down %s from %s to %s while %s sends all HAProxy traffic to it: HAProxy would have no working backend; move one of them",
					label(down), s.Faults[down].Node, fmtDur(from), fmtDur(to), label(fi))
			}
		}
	}
}

// takesDown reports whether f makes node unable to serve clients.
func takesDown(f Fault, node string) bool {
	switch f.Kind {
	case FaultStop, FaultKill, FaultPause, FaultIsolate:
		return f.Node == node
	}
	return false
}

// other is the primary a failover away from p sends traffic to.
func other(p string) string {
	if p == Primary1 {
		return Primary2
	}
	return Primary1
}
