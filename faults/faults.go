// Package faults injects and heals the faults a scenario schedules on a lab:
// stop, kill, restart, pause, isolate, partition, delay, loss, a manual
// failover through HAProxy, and the SQL faults that need no Docker
// (disable-subscription, kill-walsender, kill-apply-worker, kill-sessions,
// lock-rows; see NewSQL). Each kind is one type behind the small Fault
// interface; a Ledger records every fault before it is applied so that a
// normal end, an error, an interrupt or a later `pgchaos lab heal` can heal
// it. The rule: faults always heal, whichever way a run ends.
package faults

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pgchaos/pgchaos/lab"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/target"
)

// Fault is one fault on a lab. Inject applies it; Heal undoes it and is
// idempotent: healing a healed (or never injected) fault succeeds.
type Fault interface {
	Inject(ctx context.Context) error
	Heal(ctx context.Context) error
	// String names the fault for people, e.g. "partition primary1<->primary2".
	String() string
}

// Specced is implemented by every fault this package makes: the scenario
// entry it was made from, so a ledger can persist it and re-create the fault
// in another process.
type Specced interface {
	Spec() scenario.Fault
}

// Instanced is implemented by faults whose mechanism can be told apart from
// another fault of the same kind on the same target (partition, loss and
// link delay: iptables rules and proxies tagged per fault). The ledger gives
// each such fault a unique instance before injecting it and records it, so
// a nested fault's heal leaves the outer one in force.
type Instanced interface {
	Instance() string
	SetInstance(string)
}

// Stateful is implemented by faults whose heal must restore something they
// can only read before they act (a user's container's endpoint settings
// on the network isolate disconnects it from). The ledger calls Prepare
// before it writes the record, persists State in it, and hands it back
// through SetState to the fault a heal in another process re-creates.
type Stateful interface {
	// Prepare reads what the heal will need; it changes nothing. An error
	// means the fault is not injected.
	Prepare(ctx context.Context) error
	// State is what Prepare read, as JSON; nil when the fault needs none.
	State() json.RawMessage
	// SetState restores what State returned.
	SetState(json.RawMessage) error
}

// HealTimeout bounds a heal that HealContext prepares.
const HealTimeout = 60 * time.Second

// readyTimeout bounds the wait for a restarted node to answer queries.
const readyTimeout = 60 * time.Second

// HealContext returns a context for healing: it keeps parent's values but
// not its cancellation (Ctrl-C must not stop the heal it triggers) and has
// its own HealTimeout.
func HealContext(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(parent), HealTimeout)
}

// New makes the fault a scenario entry describes, on lab l. It checks the
// entry (known kind, existing nodes, sane parameters) but touches nothing.
func New(l *lab.Lab, spec scenario.Fault) (Fault, error) {
	if l == nil {
		return nil, fmt.Errorf("fault %s: no lab", spec.Kind)
	}
	node := func() (lab.Node, error) {
		n, ok := l.Node(spec.Node)
		if !ok {
			return lab.Node{}, fmt.Errorf("fault %s: node %q is not in lab %q (use primary1 or primary2)", spec.Kind, spec.Node, l.Name)
		}
		return n, nil
	}
	// A user's node without a container (lab.External) has nothing a
	// Docker fault could act on; the run's preflight refuses such faults
	// first, this keeps a ledger heal from reaching a nil client.
	container := func() (lab.Node, error) {
		n, err := node()
		if err == nil && l.IsExternal() && (n.ID == "" || l.DockerFor(n.Name) == nil) {
			err = fmt.Errorf("fault %s: node %s runs in no container pgchaos can reach", spec.Kind, n.Name)
		}
		return n, err
	}
	switch spec.Kind {
	case scenario.FaultStop, scenario.FaultKill, scenario.FaultRestart:
		n, err := container()
		if err != nil {
			return nil, err
		}
		c := lifecycle{spec: spec, node: n, docker: l.DockerFor(n.Name), ready: l}
		switch spec.Kind {
		case scenario.FaultStop:
			return &Stop{c}, nil
		case scenario.FaultKill:
			return &Kill{c}, nil
		default:
			return &Restart{c}, nil
		}
	case scenario.FaultPause:
		n, err := container()
		if err != nil {
			return nil, err
		}
		return &Pause{spec: spec, node: n, docker: l.DockerFor(n.Name)}, nil
	case scenario.FaultIsolate:
		n, err := node()
		if err != nil {
			return nil, err
		}
		if l.IsExternal() {
			// A user's container: its network and endpoint settings are
			// read by Prepare (or come from the ledger), never assumed.
			if _, err := container(); err != nil {
				return nil, err
			}
			return &Isolate{spec: spec, node: n, docker: l.DockerFor(n.Name), ready: l, external: true}, nil
		}
		return &Isolate{spec: spec, node: n, network: l.Network, docker: l.DockerFor(n.Name), ready: l}, nil
	case scenario.FaultPartition, scenario.FaultDelay, scenario.FaultLoss:
		return newNetFault(l, spec)
	case scenario.FaultDisableSubscription, scenario.FaultKillWalsender, scenario.FaultKillApplyWorker,
		scenario.FaultKillSessions, scenario.FaultLockRows:
		if _, err := node(); err != nil {
			return nil, err
		}
		link, err := sqlLink(l, spec)
		if err != nil {
			return nil, err
		}
		f, err := newSQL(l, spec, link)
		if lr, ok := f.(*LockRows); ok && l.IsExternal() && !scenario.UserTable(spec.Table) {
			// On a target pgchaos's workload tables are in its own
			// schema, and the fault's session keeps the user's
			// search_path: name the table qualified.
			lr.Schema = target.SchemaName
		}
		return f, err
	case scenario.FaultFailover:
		if _, ok := l.Node(spec.From); !ok {
			return nil, fmt.Errorf("fault failover: from %q is not a backend of lab %q (use primary1 or primary2)", spec.From, l.Name)
		}
		backend := l.Proxy.Backend
		if l.IsExternal() {
			// A user's HAProxy: the backend and server preflight mapped
			// (or the ledger recorded: SetState), nothing guessed.
			srv := l.Proxy.Servers[spec.From]
			if backend == "" {
				srv = ""
			}
			return &Failover{spec: spec, backend: backend, srv: srv, admin: l, recorded: true}, nil
		}
		if backend == "" {
			backend = "pg"
		}
		return &Failover{spec: spec, backend: backend, srv: l.Proxy.Server(spec.From), admin: l, recorded: l.IsExternal()}, nil
	}
	return nil, fmt.Errorf("fault kind %q is unknown (kinds: stop, kill, restart, pause, isolate, partition, delay, loss, failover, disable-subscription, kill-walsender, kill-apply-worker, kill-sessions, lock-rows)", spec.Kind)
}

// sqlLink is the subscription (disable-subscription, kill-apply-worker) or
// slot (kill-walsender) of the link between spec.Node and spec.Peer, as
// the lab names it; "" without a peer.
func sqlLink(l *lab.Lab, spec scenario.Fault) (string, error) {
	sub, pub := spec.PeerLink()
	if sub == "" {
		return "", nil
	}
	for _, k := range l.Links() {
		if k.Subscriber != sub || k.Publisher != pub {
			continue
		}
		if spec.Kind == scenario.FaultKillWalsender {
			return l.SlotOn(sub, pub), nil
		}
		return k.Name, nil
	}
	return "", fmt.Errorf("fault %s: %s does not subscribe to %s in lab %q: no link to act on", spec.Kind, sub, pub, l.Name)
}

// Describe gives the kind, target and parameters of a scenario fault as a
// report shows them: target "primary1", "primary1<->primary2",
// "primary1->primary2" or "haproxy/primary1".
func Describe(spec scenario.Fault) (kind, target string, params map[string]string) {
	params = map[string]string{}
	switch spec.Kind {
	case scenario.FaultFailover:
		target = "haproxy/" + spec.From
	case scenario.FaultPartition, scenario.FaultDelay, scenario.FaultLoss:
		if lk, ok := linkOf(spec); ok {
			target = lk.String()
		} else {
			target = spec.Node
		}
	default:
		target = spec.Node
	}
	if spec.Kind == scenario.FaultDelay {
		params["delay"] = spec.Delay.String()
		if spec.Jitter > 0 {
			params["jitter"] = spec.Jitter.String()
		}
	}
	if spec.Kind == scenario.FaultLockRows {
		params["table"] = spec.Table
		params["mode"] = spec.Mode
		if spec.Mode == "" {
			params["mode"] = scenario.LockRow
		}
	}
	if spec.Peer != "" {
		params["peer"] = spec.Peer
	}
	if spec.Kind == scenario.FaultLoss {
		params["loss"] = strconv.FormatFloat(spec.Loss, 'f', -1, 64) + "%"
	}
	if spec.For > 0 {
		params["for"] = spec.For.String()
	}
	if len(params) == 0 {
		params = nil
	}
	return spec.Kind, target, params
}

// link is a directed or two-way replication link between the primaries.
type link struct {
	from, to string // for one way: packets from -> to
	both     bool
}

func (k link) String() string {
	if k.both {
		a, b := k.from, k.to
		if a > b {
			a, b = b, a
		}
		return a + "<->" + b
	}
	return k.from + "->" + k.to
}

// linkOf reads the link of a partition or link-only delay/loss: a fault
// with between: (or a direction) acts on the link; one with only node: on
// the node's whole interface.
func linkOf(spec scenario.Fault) (link, bool) {
	if len(spec.Between) == 0 && (spec.Direction == "" || spec.Direction == scenario.DirBoth) && spec.Kind != scenario.FaultPartition {
		return link{}, false
	}
	a, b := lab.Primary1, lab.Primary2
	if len(spec.Between) == 2 {
		a, b = spec.Between[0], spec.Between[1]
	}
	switch spec.Direction {
	case "", scenario.DirBoth:
		return link{from: a, to: b, both: true}, true
	default:
		from, to, ok := strings.Cut(spec.Direction, "->")
		if !ok {
			return link{from: a, to: b, both: true}, true
		}
		return link{from: strings.TrimSpace(from), to: strings.TrimSpace(to)}, true
	}
}

// sortedKeys is for stable messages.
func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// describeString renders kind, target and params as String does.
func describeString(spec scenario.Fault) string {
	kind, target, params := Describe(spec)
	s := kind + " " + target
	for _, k := range sortedKeys(params) {
		if k == "for" {
			continue
		}
		s += " " + k + "=" + params[k]
	}
	return s
}
