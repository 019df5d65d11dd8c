package reports

// Causes of a divergent row (DivergentRow.Cause), from the evidence the run
// kept: the conflicts the nodes logged for its key, the operations of the
// history that wrote it, the fault windows and whether the nodes converged.
// analysis.ExplainDivergence assigns them; docs/report.md says what each
// one requires.
const (
	// CauseInsertCollision: both nodes inserted the key (insert_exists,
	// update_exists or multiple_unique_conflicts logged for it); the apply
	// stopped on it, and a skip drops the remote row for good.
	CauseInsertCollision = "insert_collision"
	// CauseConcurrentUpdate: both nodes updated the row before seeing the
	// other's update, and each applied the other's whole row
	// (update_origin_differs logged for it; on PostgreSQL 17, which logs
	// no such line, writes on both nodes in the history).
	CauseConcurrentUpdate = "concurrent_update"
	// CauseUpdateDelete: one node deleted the row while the other updated
	// it (update_missing, update_deleted, delete_origin_differs or
	// delete_missing logged).
	CauseUpdateDelete = "update_delete"
	// CauseStalled: written on one node, never applied on the other,
	// whose apply worker was stopped by an error (a stalled subscription:
	// later changes from that peer never arrive).
	CauseStalled = "stalled"
	// CauseNotConverged: written on one node and not yet replicated when
	// the nodes were compared: they did not converge in time.
	CauseNotConverged = "not_converged"
	// CauseUnexplained: nothing the run saw accounts for the row: a change
	// made outside replication, or a bug in PostgreSQL, the replication
	// engine or pgchaos. Assert unexplained_divergence: 0 to stop on it.
	CauseUnexplained = "unexplained"
)
