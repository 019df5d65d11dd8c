// Package analysis reads a run after the fact: its history (workload's
// history.jsonl, every operation with its outcome) and its fault timeline
// in, findings out: lost writes and lost updates (Witness), what each
// failover cost (Failovers, StrandedWrites, Failback), and each fault's
// effects in plain words (FaultEffects).
//
// The history is streamed, never held: memory follows a batch of keys or a
// failover's window, not the length of the run. Where a finding needs the
// nodes (which acknowledged keys does a node hold now?), it asks them
// through Nodes, the package's only database surface; Pools answers it from
// pgx pools, and tests answer it from rows held in memory.
package analysis

import (
	"context"
	"time"

	"github.com/pgchaos/pgchaos/reports"
	"github.com/pgchaos/pgchaos/scenario"
	"github.com/pgchaos/pgchaos/workload"
)

// Run is what the analysis knows of a run besides what the nodes hold now:
// where its history is, its clock, its workloads, its faults as scheduled
// and as done, and how its nodes are named.
type Run struct {
	History   string              // the history file (history.jsonl)
	Start     time.Time           // second 0: when the workers started
	Duration  time.Duration       // how long the workloads ran
	Workloads []scenario.Workload // as the scenario defines them
	Scheduled []scenario.Fault    // the faults as the scenario scheduled them
	Faults    []reports.Fault     // the faults as injected and healed, offsets from Start
	Nodes     []string            // the primaries, by name
	// ServedAs is, for a node whose ops record another name as served_by
	// (a user's node: its cluster_name), that name; "" when its ops cannot
	// be told apart (no cluster_name, or one another node shares). A node
	// not in it records its own name (a lab sets cluster_name to it).
	ServedAs map[string]string
	Proxy    string // the load balancer's target name: its ops show a failover
	// Peer names the node a failover from node sends the proxy's clients
	// to; it becomes reports.Failover.To, so with more than two primaries
	// it names them all, joined by ", ".
	Peer func(node string) string
}

// Served is the name node's ops record as served_by, or why they cannot
// be attributed to it.
func (r Run) Served(node string) (name, unknown string) {
	name, ok := r.ServedAs[node]
	if !ok {
		return node, ""
	}
	if name == "" {
		return "", "cluster_name is not set on " + node + ", so an op does not say it was served there"
	}
	for _, other := range r.Nodes {
		if other == node {
			continue
		}
		o, ok := r.ServedAs[other]
		if !ok {
			o = other
		}
		if o == name {
			return "", node + " and " + other + " have the same cluster_name (" + name + "), so an op does not say which of them served it"
		}
	}
	return name, ""
}

// Nodes is what the analysis asks the nodes, by name.
type Nodes interface {
	// MissingInserts returns the keys, of those given, that node does not
	// hold in the insert workloads' table, in the order given.
	MissingInserts(ctx context.Context, node string, keys []string) ([]string, error)
	// CounterValues returns an update-hot workload's counters on node, by
	// the key its ops record.
	CounterValues(ctx context.Context, node, workload string) (map[string]int64, error)
	// BankTotal reads a bank workload's total on node.
	BankTotal(ctx context.Context, node, workload string, accounts int) (reports.BankTotal, error)
}

// scanHistory replays the history file op by op.
func scanHistory(path string) func(fn func(workload.Op)) error {
	return func(fn func(workload.Op)) error {
		return workload.ReadHistory(path, func(op workload.Op) error { fn(op); return nil })
	}
}
