// Package observe watches a run and analyses it afterwards: replication lag
// from heartbeats and WAL positions, conflicts as PostgreSQL counted and
// logged them, stalled subscriptions, and the row-exact divergence of the
// nodes. It fills the reports model and knows nothing of rendering.
package observe
