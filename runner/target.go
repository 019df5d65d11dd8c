package runner

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strconv"
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
	if s := target.DescribeServers(pre.Facts.HAProxy); s != "" {
		opt.Log("%s", s)
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
	if err := userTables(ctx, sc, t); err != nil {
		l.Close()
		return nil, err
	}
	tables := needsTables(sc)
	if need := target.NeedsSetup(pre, tables); len(need) > 0 {
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
			return nil, exitcode.BadInputErr(fmt.Errorf("target %s: pgchaos's own tables in schema %s (%s) are missing or not replicated on %s, and nothing was written. "+
				"Run this SQL on the nodes yourself, or `pgchaos target setup %s --allow`, or let the run do it with --allow-setup (or setup: allow in the target section):\n%s%s",
				t.File, target.SchemaName, ownTablesNeeded(tables), strings.Join(need, ", "), t.File, plan.SQL(), notes))
		}
		opt.Log("setting up pgchaos's own schema on %s (--allow-setup)", strings.Join(need, ", "))
		if err := target.Apply(ctx, t, plan, opt.Log); err != nil {
			l.Close()
			return nil, exitcode.InfraErr(fmt.Errorf("target %s: setup: %w (the statements before it were run; `pgchaos target clean %s --allow` removes them)", t.File, err, t.File))
		}
		pre = Preflight(ctx, t)
		if need := target.NeedsSetup(pre, tables); len(need) > 0 {
			l.Close()
			return nil, exitcode.InfraErr(fmt.Errorf("target %s: after setup pgchaos's own tables (%s) are still missing, not pgchaos's, or not replicated on %s%s", t.File, ownTablesNeeded(tables), strings.Join(need, ", "), notes))
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

// userTables checks, read-only, that each table of the user's a lock-rows
// fault names (schema.table) exists on its node and may be locked there;
// each that does not is refused at its table: (exit 2), before anything
// is written.
func userTables(ctx context.Context, sc *scenario.Scenario, t *target.Target) error {
	var errs scenario.Errors
	for i, f := range sc.Faults {
		if f.Kind != scenario.FaultLockRows || !scenario.UserTable(f.Table) {
			continue
		}
		u, err := target.LookUpTable(ctx, t, f.Node, f.Table)
		if err != nil {
			return exitcode.InfraErr(fmt.Errorf("target %s: %w", t.File, err))
		}
		switch {
		case !u.Exists:
			errs = append(errs, &scenario.Error{File: sc.File, Pos: f.TablePos,
				Msg: fmt.Sprintf("faults[%d] (kind: lock-rows): no table %s on %s (check the name: schema.table, as \\dt shows it)", i, f.Table, f.Node)})
		case !u.Lockable:
			errs = append(errs, &scenario.Error{File: sc.File, Pos: f.TablePos,
				Msg: fmt.Sprintf("faults[%d] (kind: lock-rows): the target's user may not lock %s on %s (locking its rows or the table needs UPDATE on it)", i, f.Table, f.Node)})
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return exitcode.BadInputErr(fmt.Errorf("the scenario asks for what target %s cannot do; nothing was run:\n%w", t.File, errs))
}

// needsTables reports whether sc needs the built-in workloads' tables on a
// target: a workload of a built-in kind, or a lock-rows fault (it locks
// them). A run of sql workloads needs only the heartbeat.
func needsTables(sc *scenario.Scenario) bool {
	for _, w := range sc.Workloads {
		if w.Kind != scenario.KindSQL {
			return true
		}
	}
	return slices.ContainsFunc(sc.Faults, func(f scenario.Fault) bool {
		return f.Kind == scenario.FaultLockRows && !scenario.UserTable(f.Table)
	})
}

func ownTablesNeeded(tables bool) string {
	if !tables {
		return target.HeartbeatTable
	}
	names := []string{target.HeartbeatTable}
	for _, t := range target.WorkloadTables() {
		names = append(names, t.Name)
	}
	return strings.Join(names, ", ")
}

// externalConfig describes the target's nodes as lab.External takes them:
// containers on the local engine only, the user's subscriptions of the
// target's engine (native or pglogical) as links, each with the slot
// preflight read (pglogical.subscription.sub_slot_name for pglogical).
func externalConfig(t *target.Target, pre target.Report) lab.ExternalConfig {
	engine, _ := targetEngines(pre)
	cfg := lab.ExternalConfig{Name: TargetLabName(t.File), Engine: engine}
	for _, n := range t.Nodes {
		cfg.Nodes = append(cfg.Nodes, lab.ExternalNode{Name: n.Name, ConnString: n.ConnString(),
			Container: n.Container, DockerHost: n.DockerHost})
	}
	for _, e := range pre.Topology {
		if e.Publisher != "" && e.Engine == engine {
			sub := subscriptionOf(pre, e.Subscriber, e.Subscription)
			slot := sub.Slot
			if slot == "" {
				slot = e.Subscription
			}
			cfg.Links = append(cfg.Links, lab.Link{Subscriber: e.Subscriber, Publisher: e.Publisher,
				Name: e.Subscription, Slot: slot, Port: portOf(sub)})
		}
	}
	for _, n := range pre.Facts.Nodes {
		if cfg.Postgres == "" && n.VersionNum > 0 {
			cfg.Postgres = fmt.Sprint(n.VersionNum / 10000)
		}
	}
	for i, n := range pre.Facts.Nodes {
		if i < len(cfg.Nodes) && cfg.Nodes[i].Name == n.Name {
			cfg.Nodes[i].ClusterName = n.ClusterName
		}
	}
	if t.HAProxy != nil {
		cfg.HAProxy = t.HAProxy.Address
		if h := pre.Facts.HAProxy; h.AdminOK && h.Servers.Backend != "" {
			cfg.HAProxyAdmin, cfg.HAProxyBackend, cfg.HAProxyServers = t.HAProxy.Admin, h.Servers.Backend, h.Servers.Servers
		}
	}
	return cfg
}

// targetEngines is the engine of the subscriptions matched between the
// target's nodes, native when none was (Refusals refuses that target);
// all lists every engine seen on them.
func targetEngines(pre target.Report) (engine string, all []string) {
	for _, e := range pre.Topology {
		if e.Publisher != "" && !slices.Contains(all, e.Engine) {
			all = append(all, e.Engine)
		}
	}
	slices.Sort(all)
	engine = lab.EngineNative
	if len(all) == 1 {
		engine = all[0]
	}
	return engine, all
}

// subscriptionOf is what preflight read of node's subscription sub (its
// slot, the addresses it connects to); the zero value when it read none.
func subscriptionOf(pre target.Report, node, sub string) target.Subscription {
	for _, n := range pre.Facts.Nodes {
		if n.Name != node {
			continue
		}
		for _, s := range n.Subscriptions {
			if s.Name == sub {
				return s
			}
		}
	}
	return target.Subscription{}
}

// portOf is the port a subscription connects to its publisher on, from
// the first of its addresses that names one; 0 (PostgreSQL's 5432) when
// preflight could not read its connection string.
func portOf(s target.Subscription) int {
	for _, a := range s.Addresses {
		if _, port, err := net.SplitHostPort(a); err == nil {
			if p, err := strconv.Atoi(port); err == nil && p > 0 {
				return p
			}
		}
	}
	return 0
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

// Refusals checks, before anything is written, that the target can take
// every workload and fault of sc, from the preflight's report: a
// workload of a built-in kind writes pgchaos's own tables in schema
// pgchaos (setup makes them), but the tutorial kind writes test_table,
// the user's on a target; a lock-rows fault locks one of pgchaos's
// workload tables; any other fault must be one target runs do and whose
// capability is yes on its node. Each refusal names the entry's file:line:col and why; the error
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
	// Lag, convergence and divergence are measured on the links that
	// exist (a partial mesh is fine: a pair without a subscription is
	// reported unknown); what cannot work is a node whose replication
	// pgchaos does not read, two engines at once, or no link at all.
	for _, n := range pre.Facts.Nodes {
		if !slices.Contains(n.Engines, target.EngineNative) && !slices.Contains(n.Engines, target.EnginePglogical) {
			errs = append(errs, &scenario.Error{File: t.File, Pos: nodePos(t, n.Name),
				Msg: fmt.Sprintf("node %s: run --target measures native logical replication and pglogical, and found %s", n.Name, engines(n.Engines))})
		}
	}
	switch _, all := targetEngines(pre); {
	case len(all) == 0:
		errs = append(errs, &scenario.Error{File: t.File, Pos: t.Nodes[0].Pos,
			Msg: fmt.Sprintf("no subscription of one node of the target to another was matched: run --target measures replication between the nodes (see the topology in `pgchaos target check %s`)", t.File)})
	case len(all) > 1:
		errs = append(errs, &scenario.Error{File: t.File, Pos: t.Nodes[0].Pos,
			Msg: fmt.Sprintf("the nodes replicate with %s subscriptions at once: run --target measures one engine per target (see `pgchaos target check %s`)", strings.Join(all, " and "), t.File)})
	}
	if sc.Schema != nil {
		add(sc.Schema.Pos, "schema: is for labs pgchaos builds; on a target the tables are yours, and pgchaos creates only its own, in schema %s (remove schema:, or run on a lab)", target.SchemaName)
	}
	for i, w := range sc.Workloads {
		if w.Kind == scenario.KindTutorial {
			add(w.Pos, "workloads[%d] (kind: tutorial): it writes test_table, which on a target is yours: use kind: insert (it writes pgchaos's own %s.pgchaos_insert), or kind: sql with your own script", i, target.SchemaName)
		}
	}
	for i, f := range sc.Faults {
		where := fmt.Sprintf("faults[%d] (kind: %s)", i, f.Kind)
		if sub, pub := f.PeerLink(); sub != "" {
			if !hasEdge(pre, sub, pub) {
				add(f.Pos, "%s: %s does not subscribe to %s (see the topology in `pgchaos target check %s`): there is no link to act on", where, sub, pub, t.File)
				continue
			}
		}
		if f.Kind == scenario.FaultLockRows {
			// pgchaos's own tables: setup (run before the workloads, or
			// refused with its SQL) makes them. A table of yours named
			// schema.table is looked up on its node (userTables); the
			// tutorial's bare test_table is not pgchaos's there.
			if !scenario.UserTable(f.Table) && !strings.HasPrefix(f.Table, "pgchaos_") {
				add(f.Pos, "%s: on a target a bare table name is one of pgchaos's own workload tables (pgchaos_insert, pgchaos_counter, pgchaos_bank, in schema %s); %s is yours: name it schema.table (e.g. public.%s) to lock it", where, target.SchemaName, f.Table, f.Table)
			}
			continue
		}
		if f.Node == scenario.HAProxy {
			add(f.Pos, "%s: the target names no container for haproxy", where)
			continue
		}
		on := []string{f.Node}
		switch {
		case f.Kind == scenario.FaultFailover:
			on = []string{f.From}
		case f.Node == "":
			on = f.Between // a link fault: both ends
		}
		if f.Kind == scenario.FaultDelay && f.Node != "" {
			add(f.Pos, "%s: a node-wide delay needs sch_netem in the Docker host's kernel, which pgchaos cannot check on your host before the run; delay the replication link instead (between: [a, b], which runs pgchaos's link proxy beside the publisher)", where)
			continue
		}
		link := f.Kind == scenario.FaultPartition || f.Kind == scenario.FaultLoss || f.Kind == scenario.FaultDelay
		if link && len(f.Between) == 2 {
			a, _ := t.Node(f.Between[0])
			b, _ := t.Node(f.Between[1])
			if dockerhost.Key(a.DockerHost) != dockerhost.Key(b.DockerHost) {
				add(f.Pos, "%s: %s and %s run on different Docker engines (%s, %s): a link fault places rules from a helper on one engine's network, so both ends must be on one engine and network", where, a.Name, b.Name, engineOf(a), engineOf(b))
				continue
			}
		}
		if f.Kind == scenario.FaultDelay && len(f.Between) == 2 {
			// The delay rides the delayed direction's subscription: it
			// must exist (a partial mesh may lack it).
			dirs := [][2]string{{f.Between[0], f.Between[1]}, {f.Between[1], f.Between[0]}}
			if f.Direction != "" && f.Direction != scenario.DirBoth {
				from, to, _ := strings.Cut(f.Direction, "->")
				dirs = [][2]string{{from, to}}
			}
			missing := false
			for _, d := range dirs {
				if !hasEdge(pre, d[1], d[0]) {
					add(f.Pos, "%s: %s does not subscribe to %s, so there is no %s stream to delay (see the topology in `pgchaos target check %s`)", where, d[1], d[0], scenario.Dir(d[0], d[1]), t.File)
					missing = true
				}
			}
			if missing {
				continue
			}
		}
		if link && network == "" {
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

// hasEdge reports whether the preflight matched a subscription of
// subscriber to publisher.
func hasEdge(pre target.Report, subscriber, publisher string) bool {
	return slices.ContainsFunc(pre.Topology, func(e target.Edge) bool { return e.Subscriber == subscriber && e.Publisher == publisher })
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
