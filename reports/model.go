// Package reports holds the report of a run, one Report value, and its
// views: a terminal table, JSON (schema pgchaos.report/v1), JUnit XML and
// one offline HTML page (docs/report.md). It knows nothing of databases: the
// run fills the model in.
package reports

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"
)

// Schema names the JSON layout; bump it when a field changes meaning.
const Schema = "pgchaos.report/v1"

// Duration is a time.Duration that JSON carries as milliseconds (a number),
// under field names that end in _ms.
type Duration time.Duration

// MarshalJSON writes the duration as milliseconds with microsecond precision.
func (d Duration) MarshalJSON() ([]byte, error) {
	ms := float64(time.Duration(d).Microseconds()) / 1000
	return json.Marshal(ms)
}

// UnmarshalJSON reads milliseconds. It rounds to the nanosecond, because
// milliseconds in binary floating point are inexact (0.29 ms is
// 289999.99… ns) and truncating would lose a nanosecond on a round trip.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var ms float64
	if err := json.Unmarshal(b, &ms); err != nil {
		return fmt.Errorf("duration: want milliseconds (a number), got %s", b)
	}
	*d = Duration(math.Round(ms * float64(time.Millisecond)))
	return nil
}

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// Report is everything a run found. Sections are nil when they were not
// measured (e.g. Lag in a run too short for a heartbeat).
type Report struct {
	Schema      string      `json:"schema"`
	Version     string      `json:"pgchaos_version"`
	Scenario    Scenario    `json:"scenario"`
	StartedAt   time.Time   `json:"started_at"`
	EndedAt     time.Time   `json:"ended_at"`
	Interrupted bool        `json:"interrupted"`
	Lab         Lab         `json:"lab"`
	Client      *Client     `json:"client,omitempty"`
	Workloads   []Workload  `json:"workloads"`
	Throughput  []Second    `json:"throughput,omitempty"`
	Faults      []Fault     `json:"faults"`
	Lag         *Lag        `json:"lag,omitempty"`
	Divergence  *Divergence `json:"divergence,omitempty"`
	Conflicts   *Conflicts  `json:"conflicts,omitempty"`
	Failovers   []Failover  `json:"failovers,omitempty"`
	Anomalies   []Anomalies `json:"anomalies,omitempty"` // one per list-append or rw-register workload
	Assertions  []Assertion `json:"assertions"`
	Verdict     string      `json:"verdict"` // VerdictPass, VerdictFail or VerdictNone
	Warnings    []string    `json:"warnings,omitempty"`
}

// Verdicts.
const (
	VerdictPass = "pass" // every assertion held
	VerdictFail = "fail" // at least one assertion failed
	VerdictNone = "none" // the scenario asserted nothing
)

// Scenario identifies the run.
type Scenario struct {
	Name     string   `json:"name"`
	File     string   `json:"file"`
	Seed     int64    `json:"seed"`
	Duration Duration `json:"duration_ms"`
}

// Client is the pgchaos process that drove the run: how many CPUs its Go
// code could use at once, and who decided that. On a small machine the
// client shares its cores with the servers it measures, so this is part of
// the run's setup.
type Client struct {
	GOMAXPROCS int    `json:"gomaxprocs"`
	Source     string `json:"gomaxprocs_source"` // ClientDefault, ClientFlag or ClientEnv
	GoVersion  string `json:"go_version"`
}

// Where Client.GOMAXPROCS came from.
const (
	ClientDefault = "default" // Go's own default (the CPUs the process may use, container limits included)
	ClientFlag    = "flag"    // pgchaos run --client-cpus
	ClientEnv     = "env"     // the GOMAXPROCS environment variable
)

// Lab describes the lab the run used.
type Lab struct {
	Name      string `json:"name"`
	Postgres  string `json:"postgres"` // major version asked for, "18"
	Sequences string `json:"sequences"`
	Engine    string `json:"engine,omitempty"`   // replication engine: native or pglogical
	Resolver  string `json:"resolver,omitempty"` // pglogical's conflict resolver
	Nodes     []Node `json:"nodes"`
	HAProxy   string `json:"haproxy"` // host:port clients used
	// Target is true when the nodes are the user's (pgchaos run --target):
	// Name is then target-<file>, and pgchaos touched only its own schema.
	Target bool `json:"target,omitempty"`
}

// Node is one PostgreSQL primary.
type Node struct {
	Name          string `json:"name"`
	Address       string `json:"address"`        // host:port
	User          string `json:"user,omitempty"` // on a target: the user pgchaos connected as (never a password)
	Container     string `json:"container,omitempty"`
	Image         string `json:"image"`
	ServerVersion string `json:"server_version"`
}

// Workload is one workload's results on one target.
type Workload struct {
	Workload  string           `json:"workload"` // the scenario's workload name
	Kind      string           `json:"kind"`
	Target    string           `json:"target"` // primary1, primary2 or haproxy
	Ops       int64            `json:"ops"`
	OK        int64            `json:"ok"`
	Fail      int64            `json:"fail"`
	Unknown   int64            `json:"unknown"` // the answer was lost: it may or may not have committed
	OpsPerSec float64          `json:"ops_per_sec"`
	Latency   Latency          `json:"latency"` // of ok operations
	Errors    []ErrorCount     `json:"errors,omitempty"`
	ServedBy  map[string]int64 `json:"served_by,omitempty"` // ok ops by the node that served them (through HAProxy)
}

// Latency summarises a latency histogram.
type Latency struct {
	Mean Duration `json:"mean_ms"`
	P50  Duration `json:"p50_ms"`
	P95  Duration `json:"p95_ms"`
	P99  Duration `json:"p99_ms"`
	Max  Duration `json:"max_ms"`
}

// ErrorCount counts errors of one class (a SQLSTATE or a connection class).
type ErrorCount struct {
	Class    string `json:"class"`              // e.g. "unique_violation", "connection", "timeout"
	SQLState string `json:"sqlstate,omitempty"` // e.g. "23505"
	Count    int64  `json:"count"`
}

// Second is one second of the run on one target: for the throughput timeline.
type Second struct {
	T      int    `json:"t"` // seconds since the start of the workloads
	Target string `json:"target"`
	OK     int64  `json:"ok"`
	Errors int64  `json:"errors"` // fail + unknown
}

// Fault is one fault of the timeline.
type Fault struct {
	Kind      string            `json:"kind"`
	Target    string            `json:"target"` // "primary1", "primary1<->primary2", "haproxy/primary1"
	Params    map[string]string `json:"params,omitempty"`
	Injected  Duration          `json:"injected_at_ms"` // offset from the start of the workloads
	Healed    *Duration         `json:"healed_at_ms"`   // nil: never healed (see HealError)
	HealError string            `json:"heal_error,omitempty"`
	Effects   []string          `json:"effects,omitempty"` // observed, in plain words
}

// Lag is replication lag per direction.
type Lag struct {
	Directions []LagDirection `json:"directions"`
}

// LagDirection is the lag from one node to the other.
type LagDirection struct {
	From          string       `json:"from"`
	To            string       `json:"to"`
	Samples       int          `json:"samples"` // heartbeats applied
	Missing       int          `json:"missing"` // heartbeats sent, never applied
	P50           Duration     `json:"p50_ms"`
	P95           Duration     `json:"p95_ms"`
	P99           Duration     `json:"p99_ms"`
	Max           Duration     `json:"max_ms"`
	Timeline      []LagPoint   `json:"timeline,omitempty"` // one point a second: the max lag of heartbeats sent in it
	Windows       []LagWindow  `json:"windows,omitempty"`  // per fault window
	BytesMax      int64        `json:"bytes_behind_max"`   // largest WAL distance seen while sampling
	Bytes         []BytesPoint `json:"bytes_timeline,omitempty"`
	SlotWALStatus string       `json:"slot_wal_status,omitempty"` // worst pg_replication_slots.wal_status seen
	// Unknown says why the direction has no figures at all (a target's
	// partial mesh: "no subscription from east to north"); the counts and
	// percentiles are then zero and mean nothing.
	Unknown string `json:"unknown,omitempty"`
}

// LagPoint is the max one-way lag of heartbeats sent in second T.
type LagPoint struct {
	T   int      `json:"t"`
	Max Duration `json:"max_ms"`
}

// BytesPoint is a WAL distance sample.
type BytesPoint struct {
	T     float64 `json:"t"` // seconds since start
	Bytes int64   `json:"bytes"`
}

// LagWindow is the lag while one fault held.
type LagWindow struct {
	Fault   int      `json:"fault"` // index into Report.Faults
	Samples int      `json:"samples"`
	P50     Duration `json:"p50_ms"`
	P99     Duration `json:"p99_ms"`
	Max     Duration `json:"max_ms"`
}

// Divergence is the row-exact comparison of the nodes after convergence.
type Divergence struct {
	Converged     bool     `json:"converged"`
	ConvergedIn   Duration `json:"converged_in_ms"`         // from heal/stop to both subscriptions caught up
	NotConverged  string   `json:"not_converged,omitempty"` // how far apart, when they did not
	DivergentRows int64    `json:"divergent_rows"`
	// Unexplained counts the listed rows whose Cause is CauseUnexplained;
	// nil when no cause was sought (see docs/report.md).
	Unexplained *int64            `json:"unexplained,omitempty"`
	Tables      []TableDivergence `json:"tables"`
	// Nodes are the nodes compared, in order, when there were more than
	// two; absent for two nodes, which the _primary1 and _primary2 fields
	// name (the first and second node of lab.nodes).
	Nodes []string `json:"nodes,omitempty"`
	// NotCompared lists the tables the comparison left out, and why: no
	// primary key to match rows by, keys that differ between nodes.
	NotCompared []NotCompared `json:"not_compared,omitempty"`
}

// NotCompared is a table the divergence check could not compare.
type NotCompared struct {
	Table  string `json:"table"`  // schema.table, or table in schema public
	Reason string `json:"reason"` // in plain words, naming the nodes concerned
}

// TableDivergence is one table's comparison.
type TableDivergence struct {
	Table             string         `json:"table"`
	RowsPrimary1      int64          `json:"rows_primary1"`
	RowsPrimary2      int64          `json:"rows_primary2"`
	MissingOnPrimary1 int64          `json:"missing_on_primary1"`
	MissingOnPrimary2 int64          `json:"missing_on_primary2"`
	Different         int64          `json:"different"`
	Rows              []DivergentRow `json:"rows,omitempty"` // the first ones, up to a limit
	Truncated         bool           `json:"truncated"`      // more rows differ than Rows lists
	// With more than two nodes: each node's rows and the divergent rows it
	// lacks (the _primary1 and _primary2 fields above are the first two
	// of them), and how many rows differ in all, each counted once however
	// many nodes lack it or versions it has. Absent for two nodes.
	Nodes         []TableNode `json:"nodes,omitempty"`
	DivergentRows int64       `json:"divergent_rows,omitempty"`
}

// TableNode is one node's side of a table compared across more than two nodes.
type TableNode struct {
	Node    string `json:"node"`
	Rows    int64  `json:"rows"`
	Missing int64  `json:"missing"` // divergent rows this node lacks
}

// Count is how many rows of the table differ: missing on some node or
// different, each row once.
func (t TableDivergence) Count() int64 {
	if t.Nodes != nil {
		return t.DivergentRows
	}
	return t.MissingOnPrimary1 + t.MissingOnPrimary2 + t.Different
}

// Divergence kinds. With two nodes a row is Different or missing on one
// of them; with more, Different means the nodes holding the row hold two
// versions of it or more, and a row all holders agree on is missing on the
// others: MissingOn(those nodes).
const (
	MissingOnPrimary1 = "missing_on_primary1"
	MissingOnPrimary2 = "missing_on_primary2"
	Different         = "different"
	missingOn         = "missing_on_"
)

// MissingOn is the kind of a row that the named nodes lack and every
// other node holds alike: "missing_on_primary3", or
// "missing_on_primary2,primary3" when several lack it.
func MissingOn(nodes ...string) string {
	return missingOn + strings.Join(nodes, ",")
}

// MissingNodes is the nodes a kind made by MissingOn names; nil for any
// other kind.
func MissingNodes(kind string) []string {
	rest, ok := strings.CutPrefix(kind, missingOn)
	if !ok || rest == "" {
		return nil
	}
	return strings.Split(rest, ",")
}

// DivergentRow names one row that differs.
type DivergentRow struct {
	Key        string `json:"key"`                   // the primary key value, as text
	Kind       string `json:"kind"`                  // MissingOnPrimary1, MissingOnPrimary2, Different, or MissingOn(nodes) past two nodes
	Primary1   string `json:"primary1,omitempty"`    // the row as JSON text on the first node, when present
	Primary2   string `json:"primary2,omitempty"`    // the same on the second node
	LastWriter string `json:"last_writer,omitempty"` // node whose commit was last, from commit timestamps
	// Cause is why the row differs (a Cause* code), CauseDetail the
	// evidence in words; both empty when no cause was sought.
	Cause       string `json:"cause,omitempty"`
	CauseDetail string `json:"cause_detail,omitempty"`
	// Versions groups the nodes by the version of the row they hold, when
	// more than two were compared: every node is in exactly one, and the
	// version without Row is the nodes that lack it. Absent for two nodes.
	Versions []RowVersion `json:"versions,omitempty"`
}

// RowVersion is one version of a divergent row and the nodes holding it.
type RowVersion struct {
	Nodes []string `json:"nodes"`
	Row   string   `json:"row,omitempty"` // the row as JSON text; absent: these nodes lack it
}

// Conflicts counts conflicts three ways: as PostgreSQL counted them, as it
// logged them, and as the workload saw them.
type Conflicts struct {
	Counted []ConflictCount `json:"counted"` // pg_stat_subscription_stats deltas
	// CountedUnknown says why Counted is empty because nothing could be
	// counted (the engine keeps no counters), not because nothing happened.
	CountedUnknown string          `json:"counted_unknown,omitempty"`
	Logged         []ConflictCount `json:"logged"` // server log lines
	// LoggedUnknown says which nodes' logs were not read, and why (a
	// target node without a container): Logged holds the other nodes'.
	LoggedUnknown string          `json:"logged_unknown,omitempty"`
	Samples       []LogSample     `json:"samples,omitempty"`
	Workload      WorkloadWitness `json:"workload"`
	Stalls        []Stall         `json:"stalls"`

	// Retention is what retain_dead_tuples (PostgreSQL 19) cost during the
	// run; nil when the lab's subscriptions do not retain dead tuples.
	Retention *Retention `json:"retention,omitempty"`
}

// ConflictCount is a count of one kind on one subscriber node.
type ConflictCount struct {
	Node  string `json:"node"` // the subscriber that applied (or failed to apply)
	Kind  string `json:"kind"` // insert_exists, update_origin_differs, …, apply_error
	Count int64  `json:"count"`
}

// LogSample is one conflict or apply error as the server logged it.
type LogSample struct {
	Node    string    `json:"node"`
	Time    time.Time `json:"time"`
	Kind    string    `json:"kind"`
	Key     string    `json:"key,omitempty"`
	LSN     string    `json:"finish_lsn,omitempty"`
	Message string    `json:"message"`
}

// WorkloadWitness is what the workload's own checks saw.
type WorkloadWitness struct {
	DuplicateKeys    int64        `json:"duplicate_keys"` // 23505 answers
	LostUpdates      int64        `json:"lost_updates"`   // acknowledged increments missing on the worse node
	LostUpdateRows   []LostUpdate `json:"lost_update_rows,omitempty"`
	Bank             []BankTotal  `json:"bank,omitempty"`
	LostWrites       int64        `json:"lost_writes"` // acknowledged inserts absent after convergence
	LostWriteSamples []string     `json:"lost_write_samples,omitempty"`
}

// LostUpdate is one hot row whose counter is short of its acknowledged increments.
type LostUpdate struct {
	Workload string `json:"workload"`
	Key      string `json:"key"`
	Node     string `json:"node"`
	Acked    int64  `json:"acked"`
	Value    int64  `json:"value"`
}

// BankTotal is the bank workload's total on one node.
type BankTotal struct {
	Workload string `json:"workload"`
	Node     string `json:"node"`
	Expected int64  `json:"expected"`
	Actual   int64  `json:"actual"`
}

// Stall is a subscription stuck retrying one error.
type Stall struct {
	Node         string    `json:"node"`
	Subscription string    `json:"subscription"`
	Since        time.Time `json:"since"`
	Error        string    `json:"error"`
	SkipLSN      string    `json:"skip_lsn"` // ALTER SUBSCRIPTION … SKIP (lsn = '…')
	WALBehind    int64     `json:"wal_behind_bytes"`
	Resolved     bool      `json:"resolved"`
}

// Failover is the measured effect of one manual failover.
type Failover struct {
	From             string           `json:"from"`
	To               string           `json:"to"` // the other primary; with more than two, every other one in order, joined by ", "
	At               Duration         `json:"at_ms"`
	Unavailable      Duration         `json:"unavailable_ms"` // first failed op to first ok op after, through HAProxy
	LastOKBefore     *Duration        `json:"last_ok_before_ms"`
	FirstOKAfter     *Duration        `json:"first_ok_after_ms"`
	ErrorsByClass    map[string]int64 `json:"errors_by_class,omitempty"`
	OldPrimaryWrites int64            `json:"old_primary_writes"`    // ok writes the old primary served after the failover
	StrandedWrites   int64            `json:"stranded_writes"`       // acknowledged writes on the old primary the survivor lacked before failback
	StrandedSpan     Duration         `json:"stranded_span_ms"`      // RPO in time: the span those writes cover
	StrandedOn       string           `json:"stranded_on,omitempty"` // the survivor they were counted on: with more than two primaries, the one lacking the most
	Failback         *Failback        `json:"failback,omitempty"`
	// Unknown names the figures above that could not be measured
	// ("old_primary_writes", "stranded_writes"), each with the reason; such
	// a figure is 0 in the JSON and shown as unknown.
	Unknown map[string]string `json:"unknown,omitempty"`
}

// Failback is what happened when the old primary came back.
type Failback struct {
	At        Duration `json:"at_ms"`
	Arrived   int64    `json:"arrived"`   // stranded writes that reached the survivor after failback
	Conflicts int64    `json:"conflicts"` // conflicts counted during failback
	Converged bool     `json:"converged"`
}

// Assertion is one assert: threshold checked against the report.
type Assertion struct {
	Name     string `json:"name"`     // e.g. "lag_p99", "conflicts.insert_exists"
	Expected string `json:"expected"` // e.g. "<= 2s"
	Actual   string `json:"actual"`
	Pass     bool   `json:"pass"`
}

// Retention is what keeping dead tuples for update_deleted detection
// (retain_dead_tuples, PostgreSQL 19) cost on each subscriber during the
// run: how far back the pg_conflict_detection slot held VACUUM, and the
// dead tuples that piled up on the hot table meanwhile.
type Retention struct {
	Table string          `json:"table"` // the hot table whose dead tuples were sampled
	Nodes []RetentionNode `json:"nodes"`
}

// RetentionNode is the retention on one node. A figure that could not be
// measured is absent, with the reason in its _unknown field: never 0.
type RetentionNode struct {
	Node    string `json:"node"`
	Samples int    `json:"samples"` // samples the node answered
	// SlotXminAgeMax is the largest age(xmin) of the pg_conflict_detection
	// slot seen, in transactions.
	SlotXminAgeMax     *int64 `json:"slot_xmin_age_max,omitempty"`
	SlotXminAgeUnknown string `json:"slot_xmin_age_unknown,omitempty"`
	// DeadTuplesMax is the largest n_dead_tup of the hot table seen.
	DeadTuplesMax     *int64            `json:"dead_tuples_max,omitempty"`
	DeadTuplesUnknown string            `json:"dead_tuples_unknown,omitempty"`
	Windows           []RetentionWindow `json:"windows,omitempty"`  // per fault window
	Timeline          []RetentionPoint  `json:"timeline,omitempty"` // one point a sample
}

// RetentionWindow is the retention while one fault held: the largest
// figures sampled in it; absent when no sample in the window had one.
type RetentionWindow struct {
	Fault          int    `json:"fault"` // index into Report.Faults
	SlotXminAgeMax *int64 `json:"slot_xmin_age_max,omitempty"`
	DeadTuplesMax  *int64 `json:"dead_tuples_max,omitempty"`
}

// RetentionPoint is one sample; a figure is absent when it was not
// measurable at that moment.
type RetentionPoint struct {
	T           float64 `json:"t"` // seconds since start
	SlotXminAge *int64  `json:"slot_xmin_age,omitempty"`
	DeadTuples  *int64  `json:"dead_tuples,omitempty"`
}
