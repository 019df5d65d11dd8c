package target

import (
	"fmt"
	"slices"
	"strings"

	"github.com/pgchaos/pgchaos/scenario"
)

// Capability says whether a fault kind can be done on each node.
type Capability struct {
	Fault  string       `json:"fault"`
	Can    []string     `json:"can"`              // nodes it can be done on
	Cannot []NodeReason `json:"cannot,omitempty"` // nodes it cannot be done on, and why
	Note   string       `json:"note,omitempty"`   // a condition preflight could not check
}

// NodeReason is why something cannot be done, or measured, on a node.
type NodeReason struct {
	Node   string `json:"node"`
	Reason string `json:"reason"`
}

// Status sums a capability up: "yes" on every node, "no" on none, else
// "partly".
func (c Capability) Status() string {
	switch {
	case len(c.Cannot) == 0:
		return "yes"
	case len(c.Can) == 0:
		return "no"
	}
	return "partly"
}

// CanOn reports whether the fault can be done on node.
func (c Capability) CanOn(node string) bool { return slices.Contains(c.Can, node) }

// FaultKinds are the fault kinds a scenario can name, in the scenario
// package's order (one list, so a new kind is never missed here).
var FaultKinds = scenario.FaultKinds()

// Capabilities decides, from what preflight found, which fault kinds can
// be done on which node, and why not. It is a pure function of f.
func Capabilities(f Facts) []Capability {
	out := make([]Capability, 0, len(FaultKinds))
	for _, kind := range FaultKinds {
		c := Capability{Fault: kind, Can: []string{}}
		for _, n := range f.Nodes {
			if why := cannot(kind, n, f); why != "" {
				c.Cannot = append(c.Cannot, NodeReason{Node: n.Name, Reason: why})
			} else {
				c.Can = append(c.Can, n.Name)
			}
		}
		switch kind {
		case scenario.FaultDelay:
			c.Note = "node-wide delay needs sch_netem in the Docker host's kernel (not checked); a delay on the replication link needs both ends' containers on one engine"
		case scenario.FaultPartition, scenario.FaultLoss:
			c.Note = "on a link, both ends need a container"
		}
		out = append(out, c)
	}
	return out
}

// cannot returns why kind cannot be done on n, or "" when it can.
func cannot(kind string, n NodeFacts, f Facts) string {
	if !n.Reached {
		return "node not reached"
	}
	switch kind {
	case scenario.FaultStop, scenario.FaultKill, scenario.FaultRestart, scenario.FaultPause,
		scenario.FaultIsolate:
		if why := containerReason(n.Container); why != "" {
			return why
		}
		if kind == scenario.FaultIsolate {
			return isolateReason(n.Container)
		}
		return ""
	case scenario.FaultPartition, scenario.FaultDelay, scenario.FaultLoss:
		if why := containerReason(n.Container); why != "" {
			return why
		}
		if c := n.Container; c.NetToolsState == NetToolsMissing {
			return "the network-tools image " + c.NetTools + " is not on " + engineName(c.DockerHost) +
				" (the helper that places the rules runs from it there): build it there (`make images`) or copy it (`docker save " + c.NetTools + " | docker load` on that engine)"
		}
		return ""
	case scenario.FaultFailover:
		h := f.HAProxy
		switch {
		case h.Address == "" && h.Admin == "":
			return "no haproxy: in the target"
		case h.Admin == "":
			return "no HAProxy admin address (haproxy.admin: the runtime API, stats socket … level admin)"
		case !h.AdminOK:
			return "the HAProxy admin address did not answer: " + h.AdminError
		case n.Name == "":
			return "" // the load balancer as a whole (Measures)
		}
		if h.Servers.Server(n.Name) == "" {
			for _, r := range h.Servers.Missing {
				if r.Node == n.Name {
					return r.Reason
				}
			}
			return "no HAProxy server is known for " + n.Name + ": name it under haproxy.servers"
		}
		return ""
	}
	// The SQL faults drive native subscriptions and walsenders, or
	// pglogical's (its functions, its apply worker, the walsender of its
	// slot) on a node without native subscriptions, as the faults do.
	native := slices.Contains(n.Engines, EngineNative)
	pgl := slices.Contains(n.Engines, EnginePglogical) && !hasSubscription(n, EngineNative)
	switch kind {
	case scenario.FaultDisableSubscription:
		switch {
		case pgl && hasSubscription(n, EnginePglogical):
			if !n.Superuser {
				return "needs superuser to disable a pglogical subscription (pglogical.alter_subscription_disable; user " + n.User + " is not)"
			}
			return ""
		case !hasSubscription(n, EngineNative):
			return noNative(n, "no native subscription on this node to disable")
		}
		if !n.Superuser && !ownsAll(n, EngineNative) {
			return "needs superuser or ownership of the node's subscriptions (user " + n.User + " has neither)"
		}
	case scenario.FaultKillWalsender:
		if !(native || pgl) || len(n.Slots) == 0 {
			return noNative(n, "no logical slot on this node: no walsender serves a peer")
		}
		if !n.Superuser {
			return "needs superuser: a walsender runs as the replication user, which pg_signal_backend may not signal when it is a superuser"
		}
	case scenario.FaultKillApplyWorker:
		if !hasSubscription(n, EngineNative) && !(pgl && hasSubscription(n, EnginePglogical)) {
			return noNative(n, "no native or pglogical subscription on this node: no apply worker")
		}
		if !n.Superuser {
			return "needs superuser: the apply worker runs as the subscription's owner"
		}
	case scenario.FaultKillSessions:
		if !n.Superuser && !n.SignalBackend {
			return "needs superuser or pg_signal_backend to end the workloads' sessions"
		}
	case scenario.FaultLockRows:
		for _, t := range WorkloadTables() {
			if own, ok := ownTable(n, strings.TrimPrefix(t.Name, SchemaName+".")); !ok || !own.Marked {
				return "locks pgchaos's own workload tables, which are not set up here: run pgchaos target setup (or pgchaos run --allow-setup)"
			}
		}
	}
	return ""
}

func noNative(n NodeFacts, why string) string {
	if len(n.Engines) > 0 && !slices.Contains(n.Engines, EngineNative) {
		return "the SQL faults drive native logical replication and pglogical; this node runs " + strings.Join(n.Engines, ", ")
	}
	return why
}

func containerReason(c ContainerFacts) string {
	switch c.State {
	case ContainerRunning:
		return ""
	case ContainerNone, "":
		return "no container named (add container: to the node)"
	case ContainerStopped:
		return "container " + c.Name + " is not running"
	case ContainerNotFound:
		return "no container " + c.Name + " on " + engineName(c.DockerHost)
	}
	if c.Reason != "" {
		return "container " + c.Name + " could not be checked: " + c.Reason
	}
	return "container " + c.Name + " could not be checked"
}

// isolateReason is why a running container cannot be isolated: isolate
// disconnects it from its one network and reconnects it with the endpoint
// settings it had, which is only a cut when that network is its only one.
func isolateReason(c ContainerFacts) string {
	if c.Networks == nil {
		return "" // not inspected (a hand-made Facts): decided when the fault is made
	}
	var nets []string
	for name := range c.Networks {
		nets = append(nets, name)
	}
	slices.Sort(nets)
	switch {
	case len(nets) == 0 || (len(nets) == 1 && (nets[0] == "none" || nets[0] == "host")):
		return "container " + c.Name + " is on no Docker network it can be disconnected from (" + listOr(nets, "none") + ")"
	case len(nets) > 1:
		return fmt.Sprintf("container %s is on %d Docker networks (%s): isolate disconnects one network, and the node would stay reachable on the others", c.Name, len(nets), strings.Join(nets, ", "))
	}
	return ""
}

func engineName(host string) string {
	if host == "" {
		return "the local Docker engine"
	}
	return host
}

func hasSubscription(n NodeFacts, engine string) bool {
	for _, s := range n.Subscriptions {
		if s.Engine == engine {
			return true
		}
	}
	return false
}

func ownsAll(n NodeFacts, engine string) bool {
	for _, s := range n.Subscriptions {
		if s.Engine == engine && !s.Owned {
			return false
		}
	}
	return true
}

// Measure is one thing a run reports, and whether it can be measured on
// this target.
type Measure struct {
	Name    string       `json:"name"`
	Status  string       `json:"status"` // yes, partly, no, needs setup
	Nodes   []string     `json:"nodes"`  // where it can be measured
	Reasons []NodeReason `json:"reasons,omitempty"`
}

// Measures decides what a run would measure on the target, each unknown
// with its reason. It is a pure function of f.
func Measures(f Facts, edges []Edge) []Measure {
	type rule struct {
		name string
		why  func(n NodeFacts) string // "" = measurable on n
	}
	replicated := func(n NodeFacts) string {
		for _, e := range n.Engines {
			if e == EngineNative || e == EnginePglogical {
				return ""
			}
		}
		if len(n.Engines) > 0 {
			return strings.Join(n.Engines, ", ") + " detected, not measured: pgchaos reads native and pglogical replication only"
		}
		return "no replication detected on this node"
	}
	rules := []rule{
		{"lag (heartbeat, ms per direction)", func(n NodeFacts) string {
			if why := replicated(n); why != "" {
				return why
			}
			if !linked(n.Name, edges) {
				return "no replication to or from another node of the target was matched"
			}
			if !n.HeartbeatTable {
				return "needs pgchaos.pgchaos_heartbeat in the replication: run pgchaos target setup"
			}
			if publishes(n.Name, edges) && !heartbeatPublished(n) {
				return "pgchaos.pgchaos_heartbeat exists but no publication or replication set carries it: run pgchaos target setup"
			}
			return ""
		}},
		{"lag (bytes, pg_stat_replication)", func(n NodeFacts) string {
			if why := replicated(n); why != "" {
				return why
			}
			if !n.Superuser && !n.ReadAllStats {
				return "needs superuser or pg_read_all_stats (pg_monitor) to read the walsenders' positions"
			}
			return ""
		}},
		{"conflicts by kind (pg_stat_subscription_stats)", func(n NodeFacts) string {
			if why := replicated(n); why != "" {
				return why
			}
			if !slices.Contains(n.Engines, EngineNative) {
				return "pglogical has no statistics view: its conflicts are only in the server log"
			}
			if n.VersionNum < 180000 {
				return fmt.Sprintf("PostgreSQL %s counts apply errors only; conflicts by kind need 18", n.Version)
			}
			return ""
		}},
		{"conflict log lines", func(n NodeFacts) string {
			if why := containerReason(n.Container); why != "" {
				return "reads the server log from the container: " + why
			}
			return ""
		}},
		{"stalls (a subscription stuck on one error)", func(n NodeFacts) string {
			if !hasSubscription(n, EngineNative) && !hasSubscription(n, EnginePglogical) {
				return "no subscription on this node"
			}
			if !hasSubscription(n, EngineNative) {
				// pglogical.show_subscription_status says down, not why.
				if why := containerReason(n.Container); why != "" {
					return "pglogical's stalls are read from the server log, in the container: " + why
				}
			}
			return ""
		}},
		{"divergence (row-exact: your keyed tables and pgchaos's workload tables)", func(n NodeFacts) string {
			if why := replicated(n); why != "" {
				return why
			}
			if !n.PgchaosSchema {
				return "waits for convergence through pgchaos's heartbeat, which is not set up: run pgchaos target setup"
			}
			return ""
		}},
	}
	var out []Measure
	for _, r := range rules {
		m := Measure{Name: r.name, Nodes: []string{}}
		setup := true
		for _, n := range f.Nodes {
			why := "node not reached"
			if n.Reached {
				why = r.why(n)
			}
			if why == "" {
				m.Nodes = append(m.Nodes, n.Name)
				continue
			}
			m.Reasons = append(m.Reasons, NodeReason{Node: n.Name, Reason: why})
			setup = setup && strings.Contains(why, "target setup")
		}
		m.Status = status(len(m.Nodes), len(m.Reasons))
		if m.Status != "yes" && setup {
			m.Status = "needs setup"
		}
		out = append(out, m)
	}
	// Failover cost needs the load balancer, and a server for the node
	// failed over from.
	fo := Measure{Name: "failover cost (unavailability, lost writes)", Nodes: []string{}}
	if why := cannot(scenario.FaultFailover, NodeFacts{Reached: true}, f); why != "" {
		fo.Reasons = []NodeReason{{Node: "haproxy", Reason: why}}
	} else {
		for _, n := range f.Nodes {
			if why := cannot(scenario.FaultFailover, n, f); why != "" {
				fo.Reasons = append(fo.Reasons, NodeReason{Node: n.Name, Reason: why})
			} else {
				fo.Nodes = append(fo.Nodes, n.Name)
			}
		}
	}
	fo.Status = status(len(fo.Nodes), len(fo.Reasons))
	out = append(out, fo)
	return out
}

func status(can, cannot int) string {
	switch {
	case cannot == 0:
		return "yes"
	case can == 0:
		return "no"
	}
	return "partly"
}

func linked(node string, edges []Edge) bool {
	for _, e := range edges {
		if e.Publisher != "" && (e.Subscriber == node || e.Publisher == node) {
			return true
		}
	}
	return false
}

// heartbeatPublished: a publication, or a pglogical replication set, of
// the node carries pgchaos.pgchaos_heartbeat.
func heartbeatPublished(n NodeFacts) bool {
	for _, p := range append(append([]Publication(nil), n.Publications...), n.ReplicationSets...) {
		if p.Heartbeat {
			return true
		}
	}
	return false
}

// publishes reports whether another node of the target subscribes to
// node: only then must its heartbeat be published (a node nobody reads
// from, in a partial mesh, needs the table alone).
func publishes(node string, edges []Edge) bool {
	for _, e := range edges {
		if e.Publisher == node {
			return true
		}
	}
	return false
}
