// Package observe watches a run: replication lag from heartbeats and WAL
// positions, conflicts as PostgreSQL counted and logged them, stalled
// subscriptions, and whether the nodes converged. It fills the reports
// model and knows nothing of rendering. Row-exact divergence is package
// diverge.
package observe
