package scenario

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
		return []string{"kind", "at", "for", "node"}
	case FaultKillWalsender, FaultKillApplyWorker, FaultKillSessions:
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
	if e.f.Kind != FaultLockRows {
		return
	}
	e.f.Table = e.choice("table", lockTables, "a table a lock-rows fault can lock")
	e.f.Mode = LockRow
	if _, ok := e.fields["mode"]; ok {
		e.f.Mode = e.optionalChoice("mode", lockModes, "a lock mode")
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
