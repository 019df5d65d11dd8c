package scenario

import (
	"container/heap"
	"fmt"
	"slices"
	"sort"
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
	items, ok := r.list(n, "faults", "[{kind: stop, node: primary1, at: 10s, for: 20s}]", maxFaults)
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
	var kp faultKeyPos
	fields, ok := r.mapping(n, where, "in "+where, anyFaultKeys)
	if !ok {
		return Fault{Pos: posOf(n)}, kp, false
	}
	e := &faultEntry{reader: r, n: n, where: where, fields: fields, valid: true}
	e.f.Pos = posOf(n)
	if !e.kind() {
		return e.f, kp, false
	}
	e.window(&kp)
	switch e.f.Kind {
	case FaultStop, FaultKill, FaultPause, FaultRestart:
		e.f.Node = e.choice("node", r.allTargets(), "a node")
	case FaultIsolate:
		// haproxy is not a replication node; isolating it is a failover
		// of both backends, which the failover fault expresses better.
		e.f.Node = e.choice("node", r.primaries(), "a node that can be isolated")
	case FaultPartition:
		r.link(&e.f, fields, where, &e.valid)
	case FaultDelay, FaultLoss:
		e.nodeOrLink()
		e.netem()
	case FaultFailover:
		e.f.From = e.choice("from", r.primaries(), "a backend")
	case FaultDisableSubscription, FaultKillWalsender, FaultKillApplyWorker, FaultKillSessions, FaultLockRows:
		e.sqlFault()
	}
	return e.f, kp, e.valid
}

// faultEntry is one faults: entry while it is read: the fault so far, its
// keys, and whether it is still valid. Each check reports its own problems
// and clears valid.
type faultEntry struct {
	*reader
	n            *yaml.Node
	where, label string // faults[i], and faults[i] (kind: K) once the kind is known
	fields       map[string]field
	allowed      []string // the keys f.Kind takes
	valid        bool
	f            Fault
}

// kind reads kind: and reports every key the kind does not take. It is
// false when there is no usable kind. A key the kind does not take leaves
// the fault valid for the schedule checks: its time window still means
// something.
func (e *faultEntry) kind() bool {
	kv, ok := e.fields["kind"]
	if !ok {
		e.errorf(e.n, "%s: kind is required (one of: %s)", e.where, strings.Join(faultKinds, ", "))
		return false
	}
	if e.f.Kind, ok = e.enum(kv.val, e.where+".kind", "a fault kind", faultKinds); !ok {
		return false
	}
	e.label = fmt.Sprintf("%s (kind: %s)", e.where, e.f.Kind)
	e.allowed = faultKeys(e.f.Kind)
	for _, k := range anyFaultKeys {
		v, ok := e.fields[k]
		if !ok || contains(e.allowed, k) {
			continue
		}
		if instantKind(e.f.Kind) && k == "for" {
			e.errorf(v.key, "%s: %s", e.label, instantForMessage(e.f.Kind))
			continue
		}
		e.errorf(v.key, "key %q is not valid for a %s fault in %s (allowed: %s)", k, e.f.Kind, e.where, strings.Join(e.allowed, ", "))
	}
	return true
}

// window reads at: (required) and for: (where the kind takes it), and
// remembers their nodes for the schedule checks.
func (e *faultEntry) window(kp *faultKeyPos) {
	if v, ok := e.fields["at"]; ok {
		kp.at = v.val
		e.f.At = e.durationKey(v.val, "at", zeroOrMore, MaxDuration, "the offset from the start of the workloads")
	} else {
		e.errorf(e.n, "%s: at is required: when the fault starts, from the start of the workloads (e.g. at: 10s)", e.label)
		e.valid = false
	}
	if v, ok := e.fields["for"]; ok && contains(e.allowed, "for") {
		kp.forVal = v.val
		e.f.For = e.durationKey(v.val, "for", moreThanZero, MaxDuration, "omit for to hold until the end of the run")
	}
}

// durationFloor is the least a fault's duration may be.
type durationFloor int

const (
	zeroOrMore   durationFloor = iota // an offset or a jitter
	moreThanZero                      // a length of time or a delay
)

// durationKey reads the duration value n of key. A value that is not a
// duration, is below floor or above ceiling, is reported at n (with hint,
// if any, in parentheses) and clears valid; a value out of bounds is still
// returned, a value that is no duration reads as 0.
func (e *faultEntry) durationKey(n *yaml.Node, key string, floor durationFloor, ceiling time.Duration, hint string) time.Duration {
	what := e.where + "." + key
	d, ok := e.reader.duration(n, what)
	if !ok {
		e.valid = false
		return 0
	}
	if hint != "" {
		hint = " (" + hint + ")"
	}
	switch {
	case floor == zeroOrMore && d < 0:
		e.errorf(n, "%s: %s must be 0 or more%s", what, show(n), hint)
		e.valid = false
	case floor == moreThanZero && d <= 0:
		e.errorf(n, "%s: %s must be more than 0%s", what, show(n), hint)
		e.valid = false
	case d > ceiling:
		e.errorf(n, "%s: %s is more than %s, the most allowed", what, show(n), fmtDur(ceiling))
		e.valid = false
	}
	return d
}

// choice reads a required key whose value is one of allowedVals; noun
// names what the value should be in the error. It returns "" when the key
// is missing or wrong, both reported.
func (e *faultEntry) choice(key string, allowedVals []string, noun string) string {
	s := e.optionalChoice(key, allowedVals, noun)
	if _, ok := e.fields[key]; !ok {
		e.errorf(e.n, "%s: %s is required (one of: %s)", e.label, key, strings.Join(allowedVals, ", "))
		e.valid = false
	}
	return s
}

// optionalChoice reads key, if present and taken by the kind, as one of
// allowedVals.
func (e *faultEntry) optionalChoice(key string, allowedVals []string, noun string) string {
	v, ok := e.fields[key]
	if !ok || !contains(e.allowed, key) {
		return ""
	}
	s, ok := e.enum(v.val, e.where+"."+key, noun, allowedVals)
	if !ok {
		e.valid = false
	}
	return s
}

// nodeOrLink reads the target of a delay or loss: either node (the node's
// whole network) or between (the replication link), exactly one.
func (e *faultEntry) nodeOrLink() {
	_, hasNode := e.fields["node"]
	_, hasBetween := e.fields["between"]
	switch {
	case hasNode && hasBetween:
		e.errorf(e.fields["between"].key, "%s: give either node (the node's whole network) or between (the replication link), not both", e.label)
		e.valid = false
	case hasNode:
		e.f.Node = e.optionalChoice("node", e.allTargets(), "a node")
		if v, ok := e.fields["direction"]; ok {
			e.errorf(v.key, "%s: direction applies to a link (between: [primary1, primary2]), not to a node: remove it or use between", e.label)
			e.valid = false
		}
	case hasBetween:
		e.link(&e.f, e.fields, e.where, &e.valid)
	default:
		link := "[primary1, primary2]"
		if len(e.primaries()) > 2 {
			link = "two of " + strings.Join(e.primaries(), ", ")
		}
		e.errorf(e.n, "%s: needs node (one of: %s) or between: %s", e.label, strings.Join(e.allTargets(), ", "), link)
		e.valid = false
	}
}

// netem reads what a delay adds (delay: required, jitter: optional) or
// what a loss drops (loss: required).
func (e *faultEntry) netem() {
	if e.f.Kind == FaultLoss {
		if v, ok := e.fields["loss"]; ok {
			var lossOK bool
			if e.f.Loss, lossOK = e.percent(v.val, e.where+".loss"); !lossOK {
				e.valid = false
			}
		} else {
			e.errorf(e.n, "%s: loss is required: the share of packets to drop (e.g. loss: 10%%)", e.label)
			e.valid = false
		}
		return
	}
	if v, ok := e.fields["delay"]; ok {
		e.f.Delay = e.durationKey(v.val, "delay", moreThanZero, maxNetemDelay, "")
	} else {
		e.errorf(e.n, "%s: delay is required: how much latency to add (e.g. delay: 100ms)", e.label)
		e.valid = false
	}
	if v, ok := e.fields["jitter"]; ok {
		e.f.Jitter = e.durationKey(v.val, "jitter", zeroOrMore, maxNetemDelay, "")
	}
}

// link reads between: and direction: of a link fault. between defaults to
// the only link a two-node lab has; with more nodes it is required.
func (r *reader) link(f *Fault, fields map[string]field, where string, valid *bool) {
	f.Direction = DirBoth
	prim := r.primaries()
	v, ok := fields["between"]
	switch {
	case ok:
		before := len(r.errs)
		got := r.targets(v.val, where+".between", prim, false)
		switch {
		case len(r.errs) > before:
			*valid = false
		case len(got) != 2 && len(prim) == 2:
			r.errorf(v.val, "%s.between: must be [%s], the replication link between the two primaries", where, strings.Join(prim, ", "))
			*valid = false
		case len(got) != 2:
			r.errorf(v.val, "%s.between: must name two primaries, the ends of one replication link (e.g. [primary1, primary3]; primaries: %s)", where, strings.Join(prim, ", "))
			*valid = false
		default:
			// In the lab's order, whatever order the file gives them.
			slices.SortFunc(got, func(a, b string) int { return slices.Index(prim, a) - slices.Index(prim, b) })
			f.Between = got
		}
	case len(prim) == 2:
		f.Between = prim
	default:
		r.errorf(r.faultNode(fields), "%s: between is required with %d primaries: the two ends of the link (e.g. between: [primary1, primary3]; primaries: %s)", where, len(prim), strings.Join(prim, ", "))
		*valid = false
	}
	if v, ok := fields["direction"]; ok {
		dirs := []string{DirBoth}
		if len(f.Between) == 2 {
			a, b := f.Between[0], f.Between[1]
			dirs = append(dirs, Dir(a, b), Dir(b, a))
		}
		if d, ok := r.enum(v.val, where+".direction", "a direction of this link", dirs); ok {
			f.Direction = d
		} else {
			*valid = false
		}
	}
}

// faultNode is where to report a missing key of a fault: its first key.
func (r *reader) faultNode(fields map[string]field) *yaml.Node {
	var first *yaml.Node
	for _, f := range fields {
		if first == nil || f.key.Line < first.Line || f.key.Line == first.Line && f.key.Column < first.Column {
			first = f.key
		}
	}
	return first
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
		// f.At < s.Duration here, so the subtraction cannot overflow
		// where f.At+f.For could.
		if f.For > 0 && f.For > s.Duration-f.At {
			r.errorf(kp[i].forVal, "faults[%d] (kind: %s) at %s for %s ends at %s, after the run's duration %s: shorten for or lengthen duration",
				i, f.Kind, fmtDur(f.At), fmtDur(f.For), fmtDur(f.At+f.For), fmtDur(s.Duration))
		}
	}
	r.overlaps(s, label)
}

// Roles a fault plays on a resource (see claims). Two claims on one
// resource conflict when their windows overlap and their roles clash.
const (
	roleOwn   = iota // holds the resource alone: clashes with any other roleOwn
	roleNeeds        // needs the node up (a failover sends traffic to it): clashes with roleDowns
	roleDowns        // takes the node down: clashes with roleNeeds
)

// claim is one fault's hold on one resource for a window [start, end).
type claim struct {
	resource   string
	role       int
	idx        int // the fault's index in Scenario.Faults
	start, end time.Duration
}

// claims lists what fault i holds while it is active. The rules, which
// docs/scenario.md explains to users (and docs/faults.md with the
// mechanism behind each):
//   - "haproxy": every failover puts a backend in maint; two at once leave
//     HAProxy with no server (or take one backend out twice).
//   - "up:N": a failover needs the other node up; stop, kill, pause and
//     isolate take their node down.
//   - "state:N": stop, kill, pause, restart and isolate change the
//     container (its state, or its attachment to the lab network), and the
//     heal of one would undo or block the other. A restart is an instant,
//     one nanosecond long here, so it clashes with a window that contains it.
//   - "netback:N" and "netdown:N": network faults (partition, loss,
//     delay) live in the node's network namespace, which a stop, kill or
//     restart replaces and an isolate detaches. So a node must not come
//     back (the end of its stop, kill or isolate, or a restart) strictly
//     inside a network fault's window on it: the rules would be gone and
//     the fault silently over. And a network fault cannot start while its
//     node is down. A network fault that ends as its node comes back, as
//     in scenarios/failover-failback.yaml, is fine.
//   - "live:N": a link delay's inject and heal wait for the subscription
//     to reconnect, which a paused node never does.
//   - "delay:A->B": only the first link delay's redirect catches the
//     subscriber's connection, so a second on the same direction would
//     never apply.
//   - "netem:N": a node-wide delay or loss is the one netem qdisc of the
//     node's interface; a second one would replace it and its heal remove
//     both.
//   - "subscription:N": a disable-subscription holds N's subscription
//     disabled; the first heal would enable it under the second.
//
// lock-rows faults hold their locks in a session each, healed apart, so
// they may overlap anything; the kill-* kinds are instants the server
// recovers from by itself and claim nothing.
//
// Everything else may overlap: network faults are made per fault instance
// by the faults package, so two partitions or losses on one link each keep
// their own rules, and a partition outlives a pause.
func claims(f Fault, i int, runEnd time.Duration, nodes int) []claim {
	start, end := f.At, f.Until(runEnd)
	if f.Kind == FaultRestart {
		end = start + 1
	}
	c := func(res string, role int) claim {
		return claim{resource: res, role: role, idx: i, start: start, end: end}
	}
	instant := func(res string, role int, at time.Duration) claim {
		return claim{resource: res, role: role, idx: i, start: at, end: at + 1}
	}
	switch f.Kind {
	case FaultFailover:
		if nodes > 2 {
			// The other primaries share the load: one of them down does not
			// leave haproxy without a server.
			return []claim{c("haproxy", roleOwn)}
		}
		return []claim{c("haproxy", roleOwn), c("up:"+other(f.From), roleNeeds)}
	case FaultStop, FaultKill, FaultIsolate:
		return []claim{c("state:"+f.Node, roleOwn), c("up:"+f.Node, roleDowns),
			c("netdown:"+f.Node, roleDowns), instant("netback:"+f.Node, roleDowns, end)}
	case FaultPause:
		return []claim{c("state:"+f.Node, roleOwn), c("up:"+f.Node, roleDowns), c("live:"+f.Node, roleDowns)}
	case FaultRestart:
		return []claim{c("state:"+f.Node, roleOwn), instant("netback:"+f.Node, roleDowns, start)}
	case FaultPartition, FaultDelay, FaultLoss:
		var cs []claim
		nodes := f.Between
		if f.Node != "" {
			nodes = []string{f.Node}
			cs = append(cs, c("netem:"+f.Node, roleOwn))
		}
		for _, n := range nodes {
			cs = append(cs, instant("netdown:"+n, roleNeeds, start))
			if end > start+1 {
				cs = append(cs, claim{resource: "netback:" + n, role: roleNeeds, idx: i, start: start + 1, end: end})
			}
			if f.Kind == FaultDelay && f.Node == "" {
				cs = append(cs, c("live:"+n, roleNeeds))
			}
		}
		if f.Kind == FaultDelay && len(f.Between) == 2 {
			a, b := f.Between[0], f.Between[1]
			switch f.Direction {
			case "", DirBoth:
				cs = append(cs, c("delay:"+a+"->"+b, roleOwn), c("delay:"+b+"->"+a, roleOwn))
			default:
				cs = append(cs, c("delay:"+f.Direction, roleOwn))
			}
		}
		return cs
	case FaultDisableSubscription:
		// One subscription per peer: two on different links may overlap.
		return []claim{c("subscription:"+f.Node+"<-"+f.Peer, roleOwn)}
	}
	return nil
}

// clashes lists the roles a claim of role conflicts with.
func clashes(role int) int {
	switch role {
	case roleNeeds:
		return roleDowns
	case roleDowns:
		return roleNeeds
	}
	return roleOwn
}

// overlaps finds faults whose windows overlap on a resource they cannot
// share. It sorts the claims by start and sweeps them once, keeping per
// resource and role the active claims in a heap by end: O(n log n) for n
// faults. Each claim is reported once, against one active claim it clashes
// with (the one that ends first), so the number of messages grows with the
// number of faults, never with the number of pairs.
func (r *reader) overlaps(s *Scenario, label func(int) string) {
	var all []claim
	for i, f := range s.Faults {
		if f.Kind != "" && f.At < s.Duration {
			all = append(all, claims(f, i, s.Duration, s.Lab.NodeCount())...)
		}
	}
	sort.Slice(all, func(a, b int) bool {
		if all[a].start != all[b].start {
			return all[a].start < all[b].start
		}
		return all[a].idx < all[b].idx
	})
	type slot struct {
		resource string
		role     int
	}
	active := map[slot]*claimHeap{}
	for _, c := range all {
		h := active[slot{c.resource, clashes(c.role)}]
		if h != nil {
			for h.Len() > 0 && (*h)[0].end <= c.start {
				heap.Pop(h)
			}
			if h.Len() > 0 {
				r.overlap(s, label, (*h)[0], c)
			}
		}
		own := active[slot{c.resource, c.role}]
		if own == nil {
			own = &claimHeap{}
			active[slot{c.resource, c.role}] = own
		}
		heap.Push(own, c)
	}
}

// overlap reports that claims a and b clash. The message stands at the
// fault later in the file and names the other one's place.
func (r *reader) overlap(s *Scenario, label func(int) string, a, b claim) {
	i, j := min(a.idx, b.idx), max(a.idx, b.idx)
	fi, fj := s.Faults[i], s.Faults[j]
	from, to := max(a.start, b.start), min(a.end, b.end)
	where := func(k int) string {
		p := s.Faults[k].Pos
		return fmt.Sprintf("%s:%d:%d", r.file, p.Line, p.Col)
	}
	res, node, _ := strings.Cut(a.resource, ":")
	switch {
	case res == "netback" || res == "netdown":
		nf, down := a.idx, b.idx
		if a.role == roleDowns {
			nf, down = b.idx, a.idx
		}
		back := s.Faults[down].Until(s.Duration)
		if s.Faults[down].Kind == FaultRestart {
			back = s.Faults[down].At
		}
		why := fmt.Sprintf("%s comes back at %s, inside %s's window: a stop, kill, restart or isolate replaces or detaches the node's network namespace, so the network fault's rules there would be gone while the report says it held", node, fmtDur(back), label(nf))
		if res == "netdown" {
			why = fmt.Sprintf("%s starts at %s while %s is down (%s): its rules cannot be put into a stopped or isolated node", label(nf), fmtDur(s.Faults[nf].At), node, label(down))
		}
		r.errAt(fj.Pos, "%s and %s (at %s): %s; end the network fault by the time the node comes back, or start it after",
			label(j), label(i), where(i), why)
	case res == "live":
		r.errAt(fj.Pos, "%s overlaps %s (at %s) from %s to %s: a link delay's inject and heal wait for the subscription to reconnect, which the paused %s never does; end one before the other starts",
			label(j), label(i), where(i), fmtDur(from), fmtDur(to), node)
	case res == "delay":
		r.errAt(fj.Pos, "%s overlaps %s (at %s) from %s to %s on %s: only the first delay's redirect catches the subscriber's connection, so the second would never apply; merge them into one delay, or end one before the other starts",
			label(j), label(i), where(i), fmtDur(from), fmtDur(to), node)
	case res == "state" && (fi.Kind == FaultIsolate || fj.Kind == FaultIsolate):
		r.errAt(fj.Pos, "%s overlaps %s (at %s) from %s to %s: both change the container %s (isolate detaches it from the lab network), and the heal of one would undo or block the other; end one before the other starts",
			label(j), label(i), where(i), fmtDur(from), fmtDur(to), node)
	case fi.Kind == FaultFailover && fj.Kind == FaultFailover && fi.From != fj.From:
		r.errAt(fj.Pos, "%s overlaps %s from %s to %s: both backends would be in maint and HAProxy would have no server; end one before the other starts",
			label(j), label(i), fmtDur(from), fmtDur(to))
	case fi.Kind == FaultFailover && fj.Kind == FaultFailover:
		r.errAt(fj.Pos, "%s overlaps %s from %s to %s, taking out the same backend twice: merge them into one failover",
			label(j), label(i), fmtDur(from), fmtDur(to))
	case fi.Kind == FaultFailover || fj.Kind == FaultFailover:
		fo, down := i, j
		if fj.Kind == FaultFailover {
			fo, down = j, i
		}
		r.errAt(fj.Pos, "%s takes down %s from %s to %s while %s sends all HAProxy traffic to it: HAProxy would have no working backend; move one of them",
			label(down), s.Faults[down].Node, fmtDur(from), fmtDur(to), label(fo))
	case strings.HasPrefix(a.resource, "subscription:"):
		r.errAt(fj.Pos, "%s overlaps %s (at %s) from %s to %s: both disable the subscription on %s, and the heal of the first would enable it while the second still holds; end one before the other starts, or merge them into one",
			label(j), label(i), where(i), fmtDur(from), fmtDur(to), fi.Node)
	case strings.HasPrefix(a.resource, "netem:"):
		r.errAt(fj.Pos, "%s overlaps %s (at %s) from %s to %s: a node has one netem queue, so the second would replace the first and either heal would remove both; end one before the other starts, or put delay and loss on the link (between: [primary1, primary2])",
			label(j), label(i), where(i), fmtDur(from), fmtDur(to))
	case fi.Kind == FaultRestart || fj.Kind == FaultRestart:
		r.errAt(fj.Pos, "%s overlaps %s (at %s) at %s: both change the state of the container %s, and a restart inside another fault's window would undo it; move the restart outside that window",
			label(j), label(i), where(i), fmtDur(from), fi.Node)
	default:
		r.errAt(fj.Pos, "%s overlaps %s (at %s) from %s to %s: both change the state of the container %s, and the heal of one would undo the other; end one before the other starts",
			label(j), label(i), where(i), fmtDur(from), fmtDur(to), fi.Node)
	}
}

// claimHeap is a min-heap of claims by end, for container/heap.
type claimHeap []claim

func (h claimHeap) Len() int           { return len(h) }
func (h claimHeap) Less(a, b int) bool { return h[a].end < h[b].end }
func (h claimHeap) Swap(a, b int)      { h[a], h[b] = h[b], h[a] }
func (h *claimHeap) Push(x any)        { *h = append(*h, x.(claim)) }
func (h *claimHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	*h = old[:len(old)-1]
	return c
}

// other is the primary a failover away from p sends traffic to, in a
// two-node lab.
func other(p string) string {
	if p == Primary1 {
		return Primary2
	}
	return Primary1
}
