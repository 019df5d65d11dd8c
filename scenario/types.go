// Package scenario reads, validates and plans a pgchaos scenario file: the
// lab to build, the workloads to run, the faults to inject on a schedule and
// the thresholds that decide the verdict.
package scenario

import (
	"time"

	"github.com/pgchaos/pgchaos/node"
)

// Pos is a place in the scenario file, for error messages (file:line:col).
type Pos struct {
	Line int `json:"line"`
	Col  int `json:"col"`
}

// Scenario is a validated scenario file.
type Scenario struct {
	File      string        // path as given by the user, for messages
	Name      string        // name: (default: the file's base name without extension)
	Lab       LabSpec       // lab:
	Schema    *Schema       // schema: the user's DDL, applied on every lab node before replication; nil: none
	Duration  time.Duration // duration: how long the workloads run (required, > 0)
	Seed      int64         // seed: one seeded random source for the whole run
	SeedSet   bool          // true when the file named a seed; otherwise the runner picks one and reports it
	Workloads []Workload    // workloads: at least one
	Faults    []Fault       // faults: a schedule, may be empty
	Assert    Assert        // assert: thresholds; all optional
	// Variants is variants: the labs `pgchaos compare` runs the scenario
	// on, one after another; `pgchaos run` uses Lab alone.
	Variants []Variant
}

// LabSpec is the scenario's lab: section. Zero values mean "the default".
type LabSpec struct {
	// Nodes is how many primaries the lab has, 2 (default) to 5:
	// primary1 … primaryN, in a full mesh. NodesPos is where the file
	// says so (zero when it does not).
	Nodes     int
	NodesPos  Pos
	Postgres  string // "18" (default) or "17"
	Sequences string // "interleaved" (default), "serial" or "uuid"
	Ports     Ports
	Engine    string // "native" (default) or "pglogical"
	Resolver  string // pglogical's conflict resolver; only with engine pglogical
	// RetainDeadTuples is lab.retain_dead_tuples: native subscriptions WITH
	// (retain_dead_tuples = true); only with postgres 19 and engine native.
	RetainDeadTuples bool
}

// Ports overrides the lab's host ports; 0 means the default (5442, 5443,
// 5020, 7020; primary3 … primaryN follow on from the port before). It has
// the shape of lab.Ports.
type Ports struct {
	Primary1 int
	Primary2 int
	Rest     []int // primary3 … primaryN
	HAProxy  int
	Stats    int
}

// Primaries returns the names of the scenario's lab's primaries.
func (l LabSpec) Primaries() []string { return node.PrimariesOf(l.NodeCount()) }

// NodeCount is how many primaries the lab has: Nodes, or the default.
func (l LabSpec) NodeCount() int {
	if l.Nodes == 0 {
		return node.DefaultPrimaries
	}
	return l.Nodes
}

// Target names, as workloads and faults use them.
const (
	Primary1 = node.Primary1
	Primary2 = node.Primary2
	HAProxy  = node.HAProxy
)

// Workload kinds.
const (
	KindInsert    = "insert"     // unique rows, keyed by worker and target: proves no acknowledged write is lost
	KindUpdateHot = "update-hot" // counters n = n + 1 on a few hot rows from several targets
	KindBank      = "bank"       // transfers between accounts; the total is an invariant
	KindTutorial  = "tutorial"   // the tutorial's INSERT INTO test_table (name), serial id
	// KindListAppend: transactions appending to and reading lists, checked for isolation anomalies.
	KindListAppend = "list-append"
	// KindRWRegister: transactions writing and reading registers, checked for isolation anomalies.
	KindRWRegister = "rw-register"
	// KindSQL: the user's transaction scripts (script: or scripts:), see package sqlscript.
	KindSQL = "sql"
)

// Isolation levels of isolation: (list-append, rw-register).
const (
	ReadCommitted  = "read-committed"
	RepeatableRead = "repeatable-read"
	Serializable   = "serializable"
)

// Workload is one entry of workloads:.
type Workload struct {
	Name        string   // name: (default "<kind>" or "<kind>-<n>" when the kind repeats); unique
	Kind        string   // kind: one of the Kind* constants
	Targets     []string // targets: any of the lab's primaries and haproxy (default: all of them)
	Concurrency int      // concurrency: workers per target (default 1)
	Rate        float64  // rate: ops/s per target, all workers together ("500/s"); 0 = as fast as possible
	Rows        int      // rows: update-hot's hot rows (default 10), bank's accounts (default 10)
	Keys        int      // keys: list-append's lists, rw-register's registers at a time (default 32)
	Isolation   string   // isolation: list-append and rw-register (default read-committed)
	Scripts     []Script // script: or scripts: of a sql workload, each parsed
	Pos         Pos
}

// Fault kinds.
const (
	FaultStop      = "stop"      // graceful stop of a node, started again on heal
	FaultKill      = "kill"      // SIGKILL a node, started again on heal
	FaultRestart   = "restart"   // stop + start, no duration
	FaultPause     = "pause"     // freeze a container, unpaused on heal
	FaultIsolate   = "isolate"   // cut a node off the lab network
	FaultPartition = "partition" // cut the replication link between two primaries only
	FaultDelay     = "delay"     // delay (± jitter): on the replication link through a delay proxy, node-wide with netem
	FaultLoss      = "loss"      // netem loss on a node or on the replication link
	FaultFailover  = "failover"  // HAProxy backend `from` to maint; heal = failback
)

// Directions of a link fault (partition, delay, loss on a link): both, or
// "a->b" for packets from a to b only, a and b the link's ends. The two
// named here are a two-node lab's.
const (
	DirBoth     = "both"
	DirOneToTwo = "primary1->primary2" // packets from primary1 to primary2 only
	DirTwoToOne = "primary2->primary1"
)

// Dir is the direction of a link fault from a to b only.
func Dir(from, to string) string { return from + "->" + to }

// Fault is one entry of faults:.
type Fault struct {
	Kind      string        // kind: one of the Fault* constants
	At        time.Duration // at: offset from the start of the workloads
	For       time.Duration // for: how long it holds; 0 = until the end of the run
	Node      string        // node: the target of stop, kill, restart, pause, isolate, and of node-wide delay/loss
	Between   []string      // between: two primaries, for partition and link delay/loss (default with two nodes: [primary1, primary2])
	Direction string        // direction: both (default) or one way, for link faults
	From      string        // from: the backend a failover takes out
	Delay     time.Duration // delay: for kind delay
	Jitter    time.Duration // jitter: for kind delay
	Loss      float64       // loss: percent 0–100 for kind loss ("10%")
	Table     string        // table: the table a lock-rows fault locks: one of pgchaos's, or a user's as schema.table
	TablePos  Pos           // where table: is, for a check against the nodes (a user's table must exist)
	Mode      string        // mode: row (default) or table, for lock-rows
	// Peer is peer: the other end of the replication link a
	// disable-subscription, kill-walsender or kill-apply-worker acts on:
	// the publisher of node's subscription, or (kill-walsender) the
	// subscriber node's walsender serves. Required above two primaries,
	// where node has a link to each other; "" with two.
	Peer string
	Pos  Pos
}

// Until is when the fault is healed, given the run's duration.
func (f Fault) Until(runDuration time.Duration) time.Duration {
	if f.For == 0 {
		return runDuration
	}
	return f.At + f.For
}

// Assert holds the thresholds of assert:. A nil field is not checked.
type Assert struct {
	LagP50         *time.Duration   // lag_p50: every direction's p50 one-way lag at most this
	LagP95         *time.Duration   // lag_p95
	LagP99         *time.Duration   // lag_p99
	LagMax         *time.Duration   // lag_max
	DivergentRows  *int64           // divergent_rows: rows that differ between the nodes after convergence
	LostWrites     *int64           // lost_writes: acknowledged inserts absent from a node after convergence
	LostUpdates    *int64           // lost_updates: acknowledged increments missing from update-hot counters
	Stalls         *int64           // stalls: subscriptions stuck retrying one error
	Errors         *int64           // errors: failed + unknown operations, all workloads
	Unavailability *time.Duration   // unavailability: the longest failover window through HAProxy
	Converged      *bool            // converged: true requires the nodes to converge after healing
	BankInvariant  *bool            // bank_invariant: true requires each node's bank total to be intact
	Conflicts      map[string]int64 // conflicts: {total: N, insert_exists: N, …} as PostgreSQL counted them
	// Anomalies is anomalies: {G-single: 0, lost-append: 0, …}: at most N
	// anomalies of each class named (anomaly.AllClasses), over the
	// transactional workloads.
	Anomalies map[string]int64
	// AnomaliesAll is the scalar form anomalies: N: at most N anomalies of
	// the dependency classes (anomaly.DependencyClasses) together.
	AnomaliesAll *int64
	Pos          map[string]Pos // where each assert key stood, for messages

	// UnexplainedDivergence is unexplained_divergence: divergent rows that
	// no logged conflict, history write or convergence failure accounts for.
	UnexplainedDivergence *int64
}
