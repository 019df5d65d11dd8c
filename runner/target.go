package runner

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/pgchaos/pgchaos/dockerhost"
	"github.com/pgchaos/pgchaos/exitcode"
	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/node"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/target"
)

// acquireTarget makes the lab a target run uses: a read-only preflight of
// the user's nodes, the refusal of every workload and fault the target
// cannot take (exit 2, at its place in the scenario, before anything is
// written), then pgchaos's own setup when it is missing and allowed, and
// finally lab.External over the nodes.
func acquireTarget(ctx context.Context, sc *scenario.Scenario, opt Options) (*lab.Lab, error) {
	t := opt.Target
	opt.Log("preflight of %s (read-only)", t.File)
	pre := Preflight(ctx, t)
	if !pre.AllReached() {
		var why []string
		for _, n := range pre.Facts.Nodes {
			if !n.Reached {
				why = append(why, fmt.Sprintf("%s (%s): %s", n.Name, n.Endpoint, n.Error))
			}
		}
		return nil, exitcode.InfraErr(fmt.Errorf("target %s: not every node answered, nothing was run: %s", t.File, strings.Join(why, "; ")))
	}
	// The lab value only parses and inspects (containers, their networks):
	// the refusals below may need what it found.
	l, err := lab.External(ctx, externalConfig(t, pre))
	if err != nil {
		return nil, err
	}
	if err := Refusals(sc, t, pre, l.Network); err != nil {
		l.Close()
		return nil, err
	}
	if need := target.NeedsSetup(pre); len(need) > 0 {
		marked, err := target.Marked(ctx, t)
		if err != nil {
			l.Close()
			return nil, exitcode.InfraErr(fmt.Errorf("target %s: %w", t.File, err))
		}
		plan := target.SetupPlan(pre, marked)
		notes := ""
		for _, n := range plan.Notes {
			notes += "\n-- note: " + n
		}
		if !opt.AllowSetup && t.Setup != target.SetupAllow {
			l.Close()
			return nil, exitcode.BadInputErr(fmt.Errorf("target %s: pgchaos's heartbeat (%s) is missing or not replicated on %s, and nothing was written. "+
				"Run this SQL on the nodes yourself, or `pgchaos target setup %s --allow`, or let the run do it with --allow-setup (or setup: allow in the target section):\n%s%s",
				t.File, target.HeartbeatTable, strings.Join(need, ", "), t.File, plan.SQL(), notes))
		}
		opt.Log("setting up pgchaos's own schema on %s (--allow-setup)", strings.Join(need, ", "))
		if err := target.Apply(ctx, t, plan, opt.Log); err != nil {
			l.Close()
			return nil, exitcode.InfraErr(fmt.Errorf("target %s: setup: %w (the statements before it were run; `pgchaos target clean %s --allow` removes them)", t.File, err, t.File))
		}
		pre = Preflight(ctx, t)
		if need := target.NeedsSetup(pre); len(need) > 0 {
			l.Close()
			return nil, exitcode.InfraErr(fmt.Errorf("target %s: after setup the heartbeat is still not replicated on %s%s", t.File, strings.Join(need, ", "), notes))
		}
	}
	return l, nil
}

// TargetLab makes the lab value a run on t uses (lab.External over its
// nodes, containers on their engines), after a read-only preflight, for
// healing what an interrupted run left: unlike a run it does not need
// every node to answer (a stopped node is what a heal starts). The
// preflight's report says what it found. Close the lab when done.
func TargetLab(ctx context.Context, t *target.Target) (*lab.Lab, target.Report, error) {
	pre := Preflight(ctx, t)
	l, err := lab.External(ctx, externalConfig(t, pre))
	return l, pre, err
}

// Preflight is target.Preflight that also asks each engine for the
// network-tools image link faults need there.
func Preflight(ctx context.Context, t *target.Target) target.Report {
	return target.PreflightWith(ctx, t, target.DockerChecker{NetTools: lab.NetToolsImage()})
}

// externalConfig describes the target's nodes as lab.External takes them:
// containers on their engines, the user's subscriptions as links.
func externalConfig(t *target.Target, pre target.Report) lab.ExternalConfig {
	cfg := lab.ExternalConfig{Name: TargetLabName(t.File), Engine: lab.EngineNative}
	for _, n := range t.Nodes {
		cfg.Nodes = append(cfg.Nodes, lab.ExternalNode{Name: n.Name, ConnString: n.ConnString(),
			Container: n.Container, DockerHost: n.DockerHost})
	}
	for _, e := range pre.Topology {
		if e.Publisher != "" && e.Engine == target.EngineNative {
			cfg.Links = append(cfg.Links, lab.Link{Subscriber: e.Subscriber, Publisher: e.Publisher,
				Name: e.Subscription, Slot: slotOf(pre, e.Subscriber, e.Subscription)})
		}
	}
	for _, n := range pre.Facts.Nodes {
		if cfg.Postgres == "" && n.VersionNum > 0 {
			cfg.Postgres = fmt.Sprint(n.VersionNum / 10000)
		}
	}
	if t.HAProxy != nil {
		cfg.HAProxy = t.HAProxy.Address
	}
	return cfg
}

// slotOf is the slot a subscription of node reads through, as preflight
// read it (the subscription's name when it did not say).
func slotOf(pre target.Report, node, sub string) string {
	for _, n := range pre.Facts.Nodes {
		if n.Name != node {
			continue
		}
		for _, s := range n.Subscriptions {
			if s.Name == sub && s.Slot != "" {
				return s.Slot
			}
		}
	}
	return sub
}

// TargetLabName is the name a target run goes by in the fault ledger and
// the report: target-<the target file's base name>. A run heals what an
// earlier run on the same target left in its ledger.
func TargetLabName(file string) string {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	var b strings.Builder
	for _, r := range strings.ToLower(base) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	return "target-" + b.String()
}

// Why each kind of fault a target run does not do yet is refused.
var notOnTargets = map[string]string{
	scenario.FaultIsolate:  "isolate is not run on a target yet (it disconnects the node's container from its network, and reconnecting a user's container with its aliases is not done yet)",
	scenario.FaultDelay:    "delay is not run on a target yet (it needs pgchaos's link proxy or sch_netem in the node containers' network namespaces)",
	scenario.FaultFailover: "failover is not run on a target yet (it needs your HAProxy's backend and server names, which the target file does not give)",
	scenario.FaultLockRows: "lock-rows locks the tables of pgchaos's built-in workloads, which a target run does not create",
}

// Refusals checks, before anything is written, that the target can take
// every workload and fault of sc, from the preflight's report: on a
// target a workload must be kind sql (built-in kinds create tables of
// their own, which pgchaos does not put into a user's database), and a
// fault must be one target runs do and whose capability is yes on its
// node. Each refusal names the entry's file:line:col and why; the error
// is marked exitcode.BadInput.
//
// network is the Docker network the nodes' containers share ("" for none
// or several): partition and loss find a peer's address on it.
func Refusals(sc *scenario.Scenario, t *target.Target, pre target.Report, network string) error {
	var errs scenario.Errors
	add := func(pos scenario.Pos, format string, args ...any) {
		errs = append(errs, &scenario.Error{File: sc.File, Pos: pos, Msg: fmt.Sprintf(format, args...)})
	}
	if len(t.Nodes) < node.MinPrimaries || len(t.Nodes) > node.MaxPrimaries {
		errs = append(errs, &scenario.Error{File: t.File, Pos: t.Nodes[0].Pos,
			Msg: fmt.Sprintf("the target has %d nodes: pgchaos run --target takes %d to %d, as a lab has", len(t.Nodes), node.MinPrimaries, node.MaxPrimaries)})
	}
	for _, n := range pre.Facts.Nodes {
		if !slices.Contains(n.Engines, target.EngineNative) {
			errs = append(errs, &scenario.Error{File: t.File, Pos: nodePos(t, n.Name),
				Msg: fmt.Sprintf("node %s: run --target measures native logical replication, and found %s", n.Name, engines(n.Engines))})
			continue
		}
		// Lag, convergence and divergence read every ordered pair: the
		// nodes must replicate in a full mesh, as a lab's do.
		var missing []string
		for _, m := range t.Nodes {
			if m.Name == n.Name {
				continue
			}
			if !slices.ContainsFunc(pre.Topology, func(e target.Edge) bool {
				return e.Subscriber == n.Name && e.Publisher == m.Name && e.Engine == target.EngineNative
			}) {
				missing = append(missing, m.Name)
			}
		}
		if len(missing) > 0 {
			errs = append(errs, &scenario.Error{File: t.File, Pos: nodePos(t, n.Name),
				Msg: fmt.Sprintf("node %s has no native subscription to %s: run --target needs every node to subscribe to every other (see `pgchaos target check %s`)", n.Name, strings.Join(missing, ", "), t.File)})
		}
	}
	if sc.Schema != nil {
		add(sc.Schema.Pos, "schema: is for labs pgchaos builds; on a target the tables are yours and pgchaos creates none (remove schema:, or run on a lab)")
	}
	for i, w := range sc.Workloads {
		if w.Kind != scenario.KindSQL {
			add(w.Pos, "workloads[%d] (kind: %s): on a target only kind: sql runs (your own scripts on your own tables); built-in kinds create tables of their own, which pgchaos does not put into your database", i, w.Kind)
		}
	}
	for i, f := range sc.Faults {
		where := fmt.Sprintf("faults[%d] (kind: %s)", i, f.Kind)
		if why, ok := notOnTargets[f.Kind]; ok {
			add(f.Pos, "%s: %s", where, why)
			continue
		}
		if f.Node == scenario.HAProxy {
			add(f.Pos, "%s: the target names no container for haproxy", where)
			continue
		}
		on := []string{f.Node}
		if f.Node == "" {
			on = f.Between // a link fault: both ends
		}
		if (f.Kind == scenario.FaultPartition || f.Kind == scenario.FaultLoss) && len(f.Between) == 2 {
			a, _ := t.Node(f.Between[0])
			b, _ := t.Node(f.Between[1])
			if dockerhost.Key(a.DockerHost) != dockerhost.Key(b.DockerHost) {
				add(f.Pos, "%s: %s and %s run on different Docker engines (%s, %s): a link fault places rules from a helper on one engine's network, so both ends must be on one engine and network", where, a.Name, b.Name, engineOf(a), engineOf(b))
				continue
			}
		}
		if (f.Kind == scenario.FaultPartition || f.Kind == scenario.FaultLoss) && network == "" {
			add(f.Pos, "%s: link and network faults find a node's peer on the Docker network the nodes' containers share; the target's containers share none, or several, or are not all on one engine", where)
			continue
		}
		c, ok := pre.Capability(f.Kind)
		if !ok {
			add(f.Pos, "%s: preflight knows no such fault kind", where)
			continue
		}
		for _, name := range on {
			if !c.CanOn(name) {
				why := "preflight found it cannot be done there"
				for _, r := range c.Cannot {
					if r.Node == name {
						why = r.Reason
					}
				}
				add(f.Pos, "%s: cannot be done on %s: %s", where, name, why)
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *scenario.Error) int {
		if a.File != b.File {
			return strings.Compare(a.File, b.File)
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line - b.Pos.Line
		}
		return a.Pos.Col - b.Pos.Col
	})
	return exitcode.BadInputErr(fmt.Errorf("the scenario asks for what target %s cannot do; nothing was run:\n%w", t.File, errs))
}

func engineOf(n target.Node) string {
	if n.DockerHost == "" {
		return "the local engine"
	}
	return n.DockerHost
}

func nodePos(t *target.Target, name string) scenario.Pos {
	if n, ok := t.Node(name); ok {
		return n.Pos
	}
	return scenario.Pos{}
}

func engines(es []string) string {
	if len(es) == 0 {
		return "no replication"
	}
	return strings.Join(es, ", ")
}
