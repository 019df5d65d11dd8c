package scenario

import (
	"regexp"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Fault kinds done through SQL on a node, with no Docker: they work on any
// target pgchaos can connect to as a superuser.
const (
	FaultDisableSubscription = "disable-subscription" // ALTER SUBSCRIPTION … DISABLE on node (the subscriber); heal = ENABLE
	FaultKillWalsender       = "kill-walsender"       // pg_terminate_backend of node's walsender to its peer; instant
	FaultKillApplyWorker     = "kill-apply-worker"    // pg_terminate_backend of node's apply worker; instant
	FaultKillSessions        = "kill-sessions"        // pg_terminate_backend of the workloads' sessions on node; instant
	FaultLockRows            = "lock-rows"            // a session holds a row or table lock on node for the fault's window
)

// Lock modes of a lock-rows fault.
const (
	LockRow   = "row"   // SELECT … FOR UPDATE of every row the table holds at inject
	LockTable = "table" // LOCK TABLE … IN EXCLUSIVE MODE: writes wait, reads go on
)

var (
	lockModes = []string{LockRow, LockTable}
	// lockTables are the tables a lock-rows fault may lock: the tutorial's
	// and the workloads'. pgchaos's own heartbeat table is not one (a lock
	// on it would stop lag measurement, not the workloads).
	lockTables = []string{"test_table", "pgchaos_insert", "pgchaos_counter", "pgchaos_bank"}
)

// Instant reports whether a fault kind has no window: it is over when its
// inject returns (restart, and the kill-* kinds the server heals itself),
// so it takes no for:.
func (f Fault) Instant() bool { return instantKind(f.Kind) }

func instantKind(kind string) bool {
	switch kind {
	case FaultRestart, FaultKillWalsender, FaultKillApplyWorker, FaultKillSessions:
		return true
	}
	return false
}

// sqlFaultKeys lists the keys of the SQL fault kinds (nil for another kind).
func sqlFaultKeys(kind string) []string {
	switch kind {
	case FaultDisableSubscription:
		return []string{"kind", "at", "for", "node", "peer"}
	case FaultKillWalsender, FaultKillApplyWorker:
		return []string{"kind", "at", "node", "peer"}
	case FaultKillSessions:
		return []string{"kind", "at", "node"}
	case FaultLockRows:
		return []string{"kind", "at", "for", "node", "table", "mode"}
	}
	return nil
}

// sqlFault reads the target of an SQL fault: a primary, and for lock-rows
// the table and the lock mode (row by default).
func (e *faultEntry) sqlFault() {
	noun := map[string]string{
		FaultDisableSubscription: "a subscriber",
		FaultKillWalsender:       "a publisher",
		FaultKillApplyWorker:     "a subscriber",
		FaultKillSessions:        "a node",
		FaultLockRows:            "a node",
	}[e.f.Kind]
	e.f.Node = e.choice("node", e.primaries(), noun)
	switch e.f.Kind {
	case FaultDisableSubscription, FaultKillWalsender, FaultKillApplyWorker:
		e.peer()
		return
	case FaultKillSessions:
		return
	}
	e.f.Table = e.lockTable()
	e.f.Mode = LockRow
	if _, ok := e.fields["mode"]; ok {
		e.f.Mode = e.optionalChoice("mode", lockModes, "a lock mode")
	}
}

// UserTable reports whether a lock-rows table is one the scenario names
// as schema.table: a user's, not pgchaos's.
func UserTable(table string) bool { return strings.Contains(table, ".") }

// qualifiedTable is schema.table in lower-case unquoted identifiers.
var qualifiedTable = regexp.MustCompile(`^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$`)

// lockTable reads a lock-rows fault's table: the tutorial's or a
// workload's by its bare name, or a user's as schema.table (a lock changes
// no data, and the scenario names that table explicitly). pgchaos's own
// schema is not for schema.table: its workload tables go by their bare
// names, and its heartbeat is never locked (that would stop lag
// measurement, not the workloads).
func (e *faultEntry) lockTable() string {
	v, ok := e.fields["table"]
	if ok && v.val.Kind == yaml.ScalarNode && strings.Contains(v.val.Value, ".") && !qualifiedTable.MatchString(v.val.Value) {
		e.errorf(v.val, "%s.table: %s: name a table of yours as schema.table in lower-case letters, digits and _ (as PostgreSQL folds unquoted names)", e.where, show(v.val))
		e.valid = false
		return ""
	}
	if !ok || v.val.Kind != yaml.ScalarNode || !qualifiedTable.MatchString(v.val.Value) {
		return e.choice("table", lockTables, "a table a lock-rows fault can lock (a table of yours: schema.table)")
	}
	if schema, _, _ := strings.Cut(v.val.Value, "."); schema == "pgchaos" {
		e.errorf(v.val, "%s.table: %s is in pgchaos's own schema: name its workload tables bare (%s), and its heartbeat is not locked", e.where, show(v.val), strings.Join(lockTables[1:], ", "))
		e.valid = false
		return ""
	}
	e.f.TablePos = Pos{Line: v.val.Line, Col: v.val.Column}
	return v.val.Value
}

// PeerLink is the replication link a disable-subscription,
// kill-walsender or kill-apply-worker with peer: acts on: the subscriber
// and the publisher (node is the publisher for kill-walsender, the
// subscriber for the others). Empty without a peer.
func (f Fault) PeerLink() (subscriber, publisher string) {
	if f.Peer == "" {
		return "", ""
	}
	if f.Kind == FaultKillWalsender {
		return f.Peer, f.Node
	}
	return f.Node, f.Peer
}

// peer reads the other end of the link an SQL fault acts on. With two
// primaries node has one link and peer may be left out; above two it is
// required, since node has a subscription to (and a walsender for) each
// other primary.
func (e *faultEntry) peer() {
	var others []string
	for _, p := range e.primaries() {
		if p != e.f.Node {
			others = append(others, p)
		}
	}
	role := map[string]string{
		FaultDisableSubscription: "the publisher whose subscription on " + e.f.Node + " is disabled",
		FaultKillWalsender:       "the subscriber whose walsender on " + e.f.Node + " is killed",
		FaultKillApplyWorker:     "the publisher whose apply worker on " + e.f.Node + " is killed",
	}[e.f.Kind]
	if _, ok := e.fields["peer"]; ok {
		e.f.Peer = e.optionalChoice("peer", others, role)
		return
	}
	if len(others) > 1 && e.f.Node != "" {
		e.errorf(e.n, "%s: with %d primaries %s has a link to each other one: name the link with peer: (%s; one of: %s)", e.label, len(others)+1, e.f.Node, role, strings.Join(others, ", "))
		e.valid = false
	}
}

// instantForMessage is the message for a for: on a kind without a window.
func instantForMessage(kind string) string {
	if kind == FaultRestart {
		return "a restart has no duration, so for does not apply: remove it, or use stop with for to keep the node down"
	}
	if kind == FaultKillSessions {
		return "a kill-sessions is instant (the workloads open new sessions by themselves), so for does not apply: remove it"
	}
	return "a " + kind + " is instant (the server starts a new process by itself, and pgchaos measures how long that takes), so for does not apply: remove it"
}
